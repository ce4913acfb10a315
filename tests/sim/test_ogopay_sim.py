"""The OGO Pay simulator against the vendor document (shared/seeds/ogopay-003) and docs/gateways/ogopay.md.

Signatures, form parsing and request bodies are built here from the documents, never by our adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

MERCHANT, SECRET = "sandbox-merchant", "sandbox-ogo-secret"
RETURN_URL = "https://shop.example/card-tokenize-response-handler"
RETURN_FIELDS = {
    "success", "message", "token", "cardMask", "expiryMonth", "expiryYear",
    "cardType", "merchantId", "customerId", "orderId",
}  # fmt: skip
RESULT_KEYS = {
    "referenceNumber", "responseCode", "approvalCode", "date", "time",
    "invoiceNumber", "stan", "type", "transactionId", "message",
}  # fmt: skip


# -- helpers written from the vendor document ----------------------------------------------------------


def ogo_signature(secret: str, date: str, body: bytes) -> str:
    """Vendor doc: HmacSHA256 over ``date + '\\n' + body`` keyed with the secret string, Base64."""
    return base64.b64encode(
        hmac.new(secret.encode(), date.encode() + b"\n" + body, hashlib.sha256).digest()
    ).decode()


def js_iso(moment: datetime) -> str:
    """JavaScript ``toISOString()``: UTC with milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sim_now(client: httpx.Client) -> datetime:
    return datetime.fromisoformat(client.get("/_sim/clock").json()["now"])


def signed(
    client: httpx.Client,
    path: str,
    payload: dict[str, Any] | None = None,
    *,
    raw: bytes | None = None,
    date: str | None = None,
    merchant: str = MERCHANT,
    secret: str = SECRET,
    timeout: float = 2.0,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
    date = date or js_iso(datetime.now(UTC))
    headers = {
        "Authorization": f"OGO {merchant}:{ogo_signature(secret, date, body)}",
        "Date": date,
        "Content-Type": "application/json",
    }
    return client.post(path, content=body, headers=headers, timeout=timeout)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """Collects forms (action, method, named inputs, button labels) and the page title, like a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag in ("button", "title"):
            self._in = tag
            if tag == "button" and self.forms:
                self.forms[-1].buttons.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "button" and self.forms:
            self.forms[-1].buttons[-1] += data.strip()


def parse(page: str) -> FormParser:
    parser = FormParser()
    parser.feed(page)
    return parser


def register_form(card: str = "4242424242424242", **overrides: str) -> dict[str, str]:
    expiry_year = f"{(datetime.now(UTC).year + 3) % 100:02d}"
    form = {
        "cardHolderName": "Mr Customer",
        "cardNumber": card,
        "expiryMonth": "12",
        "expiryYear": expiry_year,
        "merchantId": MERCHANT,
        "customerId": "cust-1",
        "orderId": "add-card-1",
        "returnUrl": RETURN_URL,
    }
    return {**form, **overrides}


def answer_challenge(client: httpx.Client, page: str, button: str) -> Form:
    """Press Approve or Decline on the 3-D Secure page; return the form it auto-posts to ``returnUrl``."""
    form = next(f for f in parse(page).forms if button in f.buttons)
    assert form.method == "post"
    answer = client.post(form.action)
    assert answer.status_code == 200 and ".submit()" in answer.text  # posts itself where scripts run
    (back,) = parse(answer.text).forms
    assert back.method == "post" and back.action == RETURN_URL and "Continue" in back.buttons
    return back


def tokenise(
    client: httpx.Client, card: str = "4242424242424242", customer: str = "cust-1", **extra: str
) -> str:
    page = client.post("/registercard-html", data=register_form(card, customerId=customer, **extra))
    assert page.status_code == 200, page.text
    fields = answer_challenge(client, page.text, "Approve").fields
    assert fields["success"] == "true"
    return fields["token"]


def charge(
    client: httpx.Client, path: str, token: str, amount: int = 20050, order: str | None = None, **kw: Any
) -> httpx.Response:
    body = {
        "amount": amount,
        "token": token,
        "orderId": order or uuid.uuid4().hex[:12],
        "customerId": "cust-1",
    }
    return signed(client, path, body, **kw)


def ledger(client: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get("/_sim/ledger").json()["entries"]
    return entries


# -- version and authentication ------------------------------------------------------------------------


def test_version(ogo: httpx.Client) -> None:
    assert ogo.get("/version").json() == {"name": "OGO Pay", "version": "2.0.0"}


def test_published_hmac_vector_verifies(vector_url: str) -> None:
    secret = "AXz7ovfpCdzznQMgFUnN8IPlyH1+qAVMjF5CaYbopIc="
    date = "2019-06-02T09:30:01.561Z"
    body = (
        b'{"amount":100,"token":"3173b35fcc744fa88c5cdb425838cd08","orderId":"an-order-id","customerId":"23"}'
    )
    assert ogo_signature(secret, date, body) == "NI5HlmdhylurFACRLFuqbzWVokAldAu8lXUFzLzfsH0="
    with httpx.Client(base_url=vector_url, timeout=2.0) as client:
        client.post("/_sim/reset")
        # Take the simulator clock back to the vector's Date so that only the signature is judged.
        back = datetime.fromisoformat(date) - datetime.now(UTC)
        client.post("/_sim/clock", json={"advance_s": back.total_seconds()})
        good = signed(client, "/purchase", raw=body, date=date, merchant="vector-merchant", secret=secret)
        assert good.status_code == 400 and good.json() == {"success": False, "message": "Invalid Token"}
        headers = {
            "Authorization": "OGO vector-merchant:NI5HlmdhylurFACRLFuqbzWVokAldAu8lXUFzLzfsH0=",
            "Date": date,
        }
        assert client.post("/purchase", content=body, headers=headers).status_code == 400
        headers["Authorization"] = headers["Authorization"].replace("NI5H", "NI5h")
        bad = client.post("/purchase", content=body, headers=headers)
        assert bad.status_code == 401 and bad.json() == {"success": False, "message": "Unauthorized"}
        client.post("/_sim/reset")


@pytest.mark.parametrize(
    "spoil",
    ["signature", "merchant", "no_date", "no_auth", "scheme", "garbage_date"],
)
def test_unauthorized_requests_get_401(ogo: httpx.Client, spoil: str) -> None:
    token = tokenise(ogo)
    body = json.dumps({"amount": 100, "token": token, "orderId": "o-1", "customerId": "cust-1"}).encode()
    date = js_iso(datetime.now(UTC))
    headers = {"Authorization": f"OGO {MERCHANT}:{ogo_signature(SECRET, date, body)}", "Date": date}
    if spoil == "signature":
        headers["Authorization"] = f"OGO {MERCHANT}:{ogo_signature('not-the-secret', date, body)}"
    elif spoil == "merchant":
        headers["Authorization"] = f"OGO someone-else:{ogo_signature(SECRET, date, body)}"
    elif spoil == "no_date":
        del headers["Date"]
    elif spoil == "no_auth":
        del headers["Authorization"]
    elif spoil == "scheme":
        headers["Authorization"] = headers["Authorization"].replace("OGO ", "GCS ")
    elif spoil == "garbage_date":
        headers = {
            "Authorization": f"OGO {MERCHANT}:{ogo_signature(SECRET, 'yesterday', body)}",
            "Date": "yesterday",
        }
    response = ogo.post("/purchase", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Unauthorized"}
    assert ledger(ogo) == []


def test_date_more_than_five_minutes_off_the_sim_clock_is_refused(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    ogo.post("/_sim/clock", json={"advance_s": 301})
    assert charge(ogo, "/purchase", token).status_code == 401
    assert (
        charge(ogo, "/purchase", token, date=js_iso(sim_now(ogo) - timedelta(seconds=250))).status_code == 200
    )
    assert (
        charge(ogo, "/purchase", token, date=js_iso(sim_now(ogo) + timedelta(seconds=310))).status_code == 401
    )


def test_php_style_date_without_milliseconds_is_accepted(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    php_date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert charge(ogo, "/purchase", token, date=php_date).json()["success"] is True
    colombo = datetime.now(timezone(timedelta(hours=5, minutes=30))).isoformat(timespec="seconds")
    assert charge(ogo, "/purchase", token, date=colombo).json()["success"] is True


def test_signature_covers_the_raw_bytes_as_sent(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    pretty = (
        f'{{ "customerId": "cust-1", "orderId": "o-raw",\n  "token": "{token}", "amount": 150 }}'.encode()
    )
    assert signed(ogo, "/purchase", raw=pretty).json()["success"] is True
    date = js_iso(datetime.now(UTC))
    compact = json.dumps({"amount": 1, "token": token, "orderId": "o-2", "customerId": "cust-1"})
    auth = f"OGO {MERCHANT}:{ogo_signature(SECRET, date, compact.encode())}"
    sent = compact.replace(":", ": ").encode()  # same JSON, different bytes
    assert (
        ogo.post("/purchase", content=sent, headers={"Authorization": auth, "Date": date}).status_code == 401
    )


# -- tokenisation --------------------------------------------------------------------------------------


def test_tokenisation_challenge_then_approve_posts_the_documented_fields(ogo: httpx.Client) -> None:
    page = ogo.post("/registercard-html", data=register_form(orderId="add-card-42"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parsed = parse(page.text)
    assert "3-D Secure" in parsed.title and "OGO Pay" in parsed.title
    assert "4242424242424242" not in page.text and "4242-42xx-xxxx-4242" in page.text
    assert sorted(b for f in parsed.forms for b in f.buttons) == ["Approve", "Decline"]
    fields = answer_challenge(ogo, page.text, "Approve").fields
    assert set(fields) == RETURN_FIELDS
    assert fields["success"] == "true" and fields["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", fields["token"])
    assert fields["cardMask"] == "4242-42xx-xxxx-4242"
    assert (fields["expiryMonth"], fields["cardType"]) == ("12", "V")
    assert re.fullmatch(r"\d{2}", fields["expiryYear"])
    assert (fields["merchantId"], fields["customerId"], fields["orderId"]) == (
        MERCHANT,
        "cust-1",
        "add-card-42",
    )
    assert charge(ogo, "/purchase", fields["token"]).json()["success"] is True


def test_declined_challenge_posts_success_false_without_token(ogo: httpx.Client) -> None:
    page = ogo.post("/registercard-html", data=register_form())
    fields = answer_challenge(ogo, page.text, "Decline").fields
    assert fields["success"] == "false" and "token" not in fields
    assert fields["orderId"] == "add-card-1" and fields["cardMask"] == "4242-42xx-xxxx-4242"


def test_challenge_answers_once_and_expires_on_the_sim_clock(ogo: httpx.Client) -> None:
    page = ogo.post("/registercard-html", data=register_form()).text
    approve = next(f for f in parse(page).forms if "Approve" in f.buttons)
    assert ogo.post(approve.action).status_code == 200
    assert ogo.post(approve.action).status_code == 404
    late = ogo.post("/registercard-html", data=register_form()).text
    ogo.post("/_sim/clock", json={"advance_s": 16 * 60})
    assert answer_challenge(ogo, late, "Approve").fields["success"] == "false"


@pytest.mark.parametrize(
    ("card", "mask", "brand"),
    [
        ("5555555555554444", "5555-55xx-xxxx-4444", "M"),
        ("378282246310005", "3782-82xxxx-x0005", "A"),
        ("4000 0000 0000 3220", "4000-00xx-xxxx-3220", "V"),
        ("6200000000000005", "6200-00xx-xxxx-0005", "U"),
    ],
)
def test_card_mask_and_type(ogo: httpx.Client, card: str, mask: str, brand: str) -> None:
    page = ogo.post("/registercard-html", data=register_form(card)).text
    fields = answer_challenge(ogo, page, "Approve").fields
    assert (fields["cardMask"], fields["cardType"]) == (mask, brand)


@pytest.mark.parametrize(
    "overrides",
    [
        {"cardNumber": "4242424242424241"},
        {"merchantId": "nobody"},
        {"customerId": ""},
        {"returnUrl": "javascript:alert(1)"},
        {"expiryMonth": "13"},
        {"expiryYear": "2x"},
        {"expiryMonth": "01", "expiryYear": "20"},
    ],
)
def test_registration_errors_are_400_plain_text(ogo: httpx.Client, overrides: dict[str, str]) -> None:
    response = ogo.post("/registercard-html", data=register_form(**overrides))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain") and response.text


def test_card_holder_text_is_escaped_and_optional(ogo: httpx.Client) -> None:
    form = register_form(customerId="<b>x</b>")
    del form["cardHolderName"]
    page = ogo.post("/registercard-html", data=form)
    assert page.status_code == 200
    back = answer_challenge(ogo, page.text, "Approve")
    assert back.fields["customerId"] == "<b>x</b>" and "<b>x</b>" not in page.text


def test_registercard_json_wraps_the_page(ogo: httpx.Client) -> None:
    body = {**register_form(), "cardNumber": 4242424242424242, "expiryMonth": 12, "expiryYear": 30}
    reply = ogo.post("/registercard-json", json=body).json()
    assert (reply["success"], reply["message"]) == (True, "3DSecure Page")
    assert answer_challenge(ogo, reply["result"], "Approve").fields["expiryYear"] == "30"
    refused = ogo.post("/registercard-json", json={**body, "cardNumber": 4242424242424241})
    assert refused.status_code == 400 and refused.json()["success"] is False


# -- purchase ------------------------------------------------------------------------------------------


def test_approved_purchase_has_the_documented_shape(ogo: httpx.Client) -> None:
    response = charge(ogo, "/purchase", tokenise(ogo), amount=20050, order="100DCEFGH")
    assert response.status_code == 200
    reply = response.json()
    assert (reply["success"], reply["message"]) == (True, "Transaction successfull")
    result = reply["result"]
    assert set(result) == RESULT_KEYS
    assert re.fullmatch(r"\d{12}", result["referenceNumber"])
    assert (result["responseCode"], result["type"], result["message"]) == ("00", 200, "Approved")
    assert re.fullmatch(r"[0-9A-Za-z]{6}", result["approvalCode"])
    assert re.fullmatch(r"\d\d/\d\d", result["date"]) and re.fullmatch(r"\d\d:\d\d:\d\d", result["time"])
    assert re.fullmatch(r"\d{6}", result["invoiceNumber"])
    assert isinstance(result["stan"], int) and not isinstance(result["stan"], bool)
    assert str(uuid.UUID(result["transactionId"])) == result["transactionId"]
    (entry,) = ledger(ogo)
    assert (entry["kind"], entry["effect"], entry["amount"], entry["currency"]) == (
        "purchase",
        True,
        20050,
        "LKR",
    )
    assert (entry["orderId"], entry["transactionId"]) == ("100DCEFGH", result["transactionId"])


@pytest.mark.parametrize(
    ("card", "code", "text"),
    [
        ("4000000000000002", "05", "Do not honour"),
        ("4000000000009995", "51", "Insufficient funds"),
        ("4000000000000069", "54", "Expired card"),
        ("4000000000000127", "05", "Do not honour"),
    ],
)
def test_decline_cards(ogo: httpx.Client, card: str, code: str, text: str) -> None:
    response = charge(ogo, "/purchase", tokenise(ogo, card))
    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "message": "Declined",
        "result": {"responseCode": code, "message": text},
    }
    (entry,) = ledger(ogo)
    assert (entry["effect"], entry["outcome"], entry["responseCode"]) == (False, "declined", code)


def test_card_past_its_expiry_on_the_sim_clock_declines_54(ogo: httpx.Client) -> None:
    now = sim_now(ogo).astimezone(timezone(timedelta(hours=5, minutes=30)))
    token = tokenise(ogo, expiryMonth=f"{now.month:02d}", expiryYear=f"{now.year % 100:02d}")
    ogo.post("/_sim/clock", json={"advance_s": 40 * 86400})
    reply = charge(ogo, "/purchase", token, date=js_iso(sim_now(ogo))).json()
    assert reply["result"]["responseCode"] == "54"


def test_token_is_bound_to_its_customer(ogo: httpx.Client) -> None:
    token = tokenise(ogo, customer="cust-1")
    body = {"amount": 100, "token": token, "orderId": "o-1", "customerId": "cust-2"}
    response = signed(ogo, "/purchase", body)
    assert response.status_code == 400 and response.json() == {"success": False, "message": "Invalid Token"}
    unknown = charge(ogo, "/purchase", "0" * 32)
    assert unknown.status_code == 400 and unknown.json()["message"] == "Invalid Token"
    assert ledger(ogo) == []


def test_older_field_spellings_are_accepted(ogo: httpx.Client) -> None:
    body = {"amount": 100, "token": tokenise(ogo), "orderID": "o-old", "customerID": "cust-1"}
    assert signed(ogo, "/purchase", body).json()["success"] is True
    assert ledger(ogo)[0]["orderId"] == "o-old"


def test_duplicate_order_id_is_409_and_charges_once(ogo: httpx.Client) -> None:
    token, declining = tokenise(ogo), tokenise(ogo, "4000000000000002")
    assert charge(ogo, "/purchase", token, order="o-dup").status_code == 200
    again = charge(ogo, "/purchase", token, order="o-dup")
    assert again.status_code == 409 and again.json() == {"success": False, "message": "Duplicate orderId"}
    assert charge(ogo, "/purchase", declining, order="o-declined").json()["success"] is False
    assert charge(ogo, "/purchase", token, order="o-declined").status_code == 409
    assert charge(ogo, "/preauth", token, order="o-dup").status_code == 409
    assert [e["orderId"] for e in ledger(ogo) if e["effect"]] == ["o-dup"]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"token": "t", "orderId": "o", "customerId": "cust-1"}',
        b'{"amount": "100", "token": "t", "orderId": "o", "customerId": "cust-1"}',
        b'{"amount": 0, "token": "t", "orderId": "o", "customerId": "cust-1"}',
        b'{"amount": -5, "token": "t", "orderId": "o", "customerId": "cust-1"}',
        b'{"amount": 1.5, "token": "t", "orderId": "o", "customerId": "cust-1"}',
        b'{"amount": true, "token": "t", "orderId": "o", "customerId": "cust-1"}',
        b'{"amount": 100, "orderId": "o", "customerId": "cust-1"}',
    ],
)
def test_bad_purchase_bodies_are_400(ogo: httpx.Client, raw: bytes) -> None:
    response = signed(ogo, "/purchase", raw=raw)
    assert response.status_code == 400
    reply = response.json()
    assert reply["success"] is False and reply["message"]


# -- sandbox-only operations ---------------------------------------------------------------------------


def _tx(response: httpx.Response) -> str:
    reply = response.json()
    assert reply["success"] is True, reply
    return str(reply["result"]["transactionId"])


def _refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400
    assert response.json() == {"success": False, "message": message}


def test_preauth_then_partial_completion_once(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    auth = charge(ogo, "/preauth", token, amount=10_000)
    assert auth.json()["result"]["type"] == 100
    auth_id = _tx(auth)
    _refused(
        signed(ogo, "/completion", {"transactionId": auth_id, "amount": 10_001}),
        "Amount exceeds authorised amount",
    )
    done = signed(ogo, "/completion", {"transactionId": auth_id, "amount": 7_500})
    assert done.json()["result"]["type"] == 220 and done.json()["result"]["responseCode"] == "00"
    assert _tx(done) != auth_id
    _refused(signed(ogo, "/completion", {"transactionId": auth_id, "amount": 100}), "Already completed")
    _refused(signed(ogo, "/void", {"transactionId": auth_id}), "Already completed")
    purchase_id = _tx(charge(ogo, "/purchase", token))
    _refused(
        signed(ogo, "/completion", {"transactionId": purchase_id, "amount": 1}), "Not a pre-authorisation"
    )
    _refused(
        signed(ogo, "/completion", {"transactionId": str(uuid.uuid4()), "amount": 1}), "Transaction not found"
    )
    kinds = [(e["kind"], e["amount"], e["parent"]) for e in ledger(ogo)]
    assert kinds[:2] == [("preauth", 10_000, None), ("completion", 7_500, auth_id)]


def test_void_rules(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    auth_id = _tx(charge(ogo, "/preauth", token, amount=5_000))
    voided = signed(ogo, "/void", {"transactionId": auth_id})
    assert voided.json()["result"]["type"] == 400
    _refused(signed(ogo, "/void", {"transactionId": auth_id}), "Already voided")
    _refused(signed(ogo, "/completion", {"transactionId": auth_id, "amount": 1}), "Already voided")
    today = _tx(charge(ogo, "/purchase", token, amount=900))
    assert _tx(signed(ogo, "/void", {"transactionId": today}))
    _refused(signed(ogo, "/refund", {"transactionId": today, "amount": 1}), "Already voided")
    yesterday = _tx(charge(ogo, "/purchase", token, amount=800))
    ogo.post("/_sim/clock", json={"advance_s": 86400})
    late = signed(ogo, "/void", {"transactionId": yesterday}, date=js_iso(sim_now(ogo)))
    _refused(late, "Void period expired")
    assert [(e["kind"], e["amount"]) for e in ledger(ogo) if e["kind"] == "void"] == [
        ("void", 5_000),
        ("void", 900),
    ]


def test_refunds_partial_repeat_and_never_exceed_captured(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    purchase_id = _tx(charge(ogo, "/purchase", token, amount=1_000))
    first = signed(ogo, "/refund", {"transactionId": purchase_id, "amount": 400})
    assert first.json()["result"]["type"] == 500
    assert _tx(signed(ogo, "/refund", {"transactionId": purchase_id, "amount": 600}))
    _refused(
        signed(ogo, "/refund", {"transactionId": purchase_id, "amount": 1}),
        "Amount exceeds refundable amount",
    )
    _refused(signed(ogo, "/void", {"transactionId": purchase_id}), "Transaction has refunds")
    auth_id = _tx(charge(ogo, "/preauth", token, amount=3_000))
    _refused(signed(ogo, "/refund", {"transactionId": auth_id, "amount": 1}), "Transaction not captured")
    completion_id = _tx(signed(ogo, "/completion", {"transactionId": auth_id, "amount": 2_000}))
    _refused(
        signed(ogo, "/refund", {"transactionId": completion_id, "amount": 2_001}),
        "Amount exceeds refundable amount",
    )
    assert _tx(signed(ogo, "/refund", {"transactionId": completion_id, "amount": 2_000}))
    refunds = [(e["amount"], e["parent"]) for e in ledger(ogo) if e["kind"] == "refund"]
    assert refunds == [(400, purchase_id), (600, purchase_id), (2_000, completion_id)]


def test_settle_marks_captures_and_refunds(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    purchase_id = _tx(charge(ogo, "/purchase", token, amount=1_000))
    _tx(signed(ogo, "/refund", {"transactionId": purchase_id, "amount": 100}))
    other_id = _tx(charge(ogo, "/purchase", token, amount=500))
    _tx(charge(ogo, "/preauth", token, amount=500))
    assert ogo.post("/_sim/settle").json()["settled"] == {"captures": 2, "refunds": 1}
    _refused(signed(ogo, "/void", {"transactionId": other_id}), "Transaction already settled")
    assert ogo.post("/_sim/settle").json()["settled"] == {"captures": 0, "refunds": 0}


def test_preauth_expires_after_seven_days(ogo: httpx.Client) -> None:
    auth_id = _tx(charge(ogo, "/preauth", tokenise(ogo), amount=700))
    ogo.post("/_sim/clock", json={"advance_s": 8 * 86400})
    late = signed(ogo, "/completion", {"transactionId": auth_id, "amount": 700}, date=js_iso(sim_now(ogo)))
    _refused(late, "Authorisation expired")


def test_reset_forgets_tokens_and_transactions(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    purchase_id = _tx(charge(ogo, "/purchase", token, order="o-keep"))
    ogo.post("/_sim/reset")
    assert ledger(ogo) == []
    assert charge(ogo, "/purchase", token).json()["message"] == "Invalid Token"
    _refused(signed(ogo, "/refund", {"transactionId": purchase_id, "amount": 1}), "Transaction not found")


# -- faults on the real gateway routes -----------------------------------------------------------------


def test_timeout_after_commit_then_retry_is_a_duplicate_and_money_moved_once(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    ogo.post("/_sim/faults", json={"method": "POST", "path": "/purchase", "fault": "timeout_after_commit"})
    with pytest.raises(httpx.ReadTimeout):
        charge(ogo, "/purchase", token, order="o-timeout", timeout=0.4)
    assert charge(ogo, "/purchase", token, order="o-timeout").status_code == 409
    assert [e["orderId"] for e in ledger(ogo) if e["effect"]] == ["o-timeout"]


def test_timeout_before_commit_then_retry_charges_once(ogo: httpx.Client) -> None:
    token = tokenise(ogo)
    ogo.post(
        "/_sim/faults",
        json={"method": "POST", "path": "/purchase", "fault": "timeout_before_commit", "delay_ms": 100},
    )
    with pytest.raises(httpx.RemoteProtocolError):
        charge(ogo, "/purchase", token, order="o-retry")
    assert ledger(ogo) == []
    assert charge(ogo, "/purchase", token, order="o-retry").json()["success"] is True
    assert len([e for e in ledger(ogo) if e["effect"]]) == 1
