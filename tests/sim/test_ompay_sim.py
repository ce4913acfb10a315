"""The OMPay simulator against docs/gateways/ompay.md and its "Simulator decisions", over real HTTP,
independently of the adapter: Basic and Bearer auth, client-token life and revocation, single-use expiring
nonces (CORS for the browser), amounts with the currency's exponent, the vault, 3-D Secure, the follow-up
rules and the hosted payment page."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from terminal.sim.ompay import create_app
from terminal.sim.runner import serve_app

API = "/v1/merchants/sandboxmerchant1"
BASIC = {"Authorization": "Basic " + base64.b64encode(b"sandboxclientid1:sandboxsecret001").decode()}
YEAR = date.today().year + 2


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    url, stop = serve_app(create_app())
    yield url
    stop()


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5.0) as c:
        c.post("/_sim/reset").raise_for_status()
        yield c


def token(client: httpx.Client) -> str:
    reply = client.post(f"{API}/client_token", headers=BASIC, content=b"grant_type=client_credentials")
    assert reply.status_code == 200, reply.text
    value: str = reply.json()["accessToken"]
    return value


def nonce(
    client: httpx.Client, card: str = "4242424242424242", bearer: str = "", **extra: Any
) -> httpx.Response:
    body = {"number": card, "expire_month": 12, "expire_year": YEAR, "cvv2": "123", **extra}
    headers = {"Authorization": "Bearer " + (bearer or token(client)), "Origin": "http://127.0.0.1:5555"}
    return client.post(f"{API}/credit-card-nonce", json=body, headers=headers)


def pay(
    client: httpx.Client, instrument: dict[str, Any], *, intent: str = "sale", total: str = "1.250",
    currency: str = "OMR", invoice: str = "", return_url: str = "",
) -> httpx.Response:  # fmt: skip
    transaction: dict[str, Any] = {
        "type": "1",
        "amount": {"currency": currency, "total": total},
        "invoice_number": invoice or uuid.uuid4().hex[:12],
    }
    if return_url:
        transaction["return_url"] = return_url
    body = {"intent": intent, "payer": {"payment_type": "CC", "funding_instrument": instrument},
            "transaction": transaction}  # fmt: skip
    return client.post(f"{API}/payment", json=body, headers=BASIC)


def with_nonce(client: httpx.Client, card: str = "4242424242424242") -> dict[str, Any]:
    value = nonce(client, card).json()["data"]["credit_card_nonce"]
    return {"credit_card_nonce": {"nonce": value, "name": "Ada"}}


def effects(client: httpx.Client, kind: str) -> list[dict[str, Any]]:
    entries = client.get("/_sim/ledger").json()["entries"]
    return [e for e in entries if e["kind"] == kind and e["effect"]]


def advance(client: httpx.Client, seconds: float) -> None:
    client.post("/_sim/clock", json={"advance_s": seconds}).raise_for_status()


def test_client_token_is_40_opaque_characters_for_8_hours(client: httpx.Client) -> None:
    reply = client.post(f"{API}/client_token", headers=BASIC, content=b"grant_type=client_credentials")
    data = reply.json()
    assert data["tokenType"] == "Bearer" and re.fullmatch(r"[A-Za-z0-9]{40}", data["accessToken"])
    assert data["issuedOn"].endswith("Z") and data["expiresOn"].endswith("Z")
    bearer = data["accessToken"]
    assert nonce(client, bearer=bearer).status_code == 200
    advance(client, 8 * 3600 + 1)
    refused = nonce(client, bearer=bearer)
    assert refused.status_code == 401 and refused.json()["result"]["code"] == "4011"


def test_wrong_basic_credentials_are_401(client: httpx.Client) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(b"sandboxclientid1:wrong").decode()}
    reply = client.post(f"{API}/client_token", headers=wrong)
    assert reply.status_code == 401 and reply.json()["result"]["code"] == "4010"
    assert client.post(f"{API}/payment", json={}, headers={}).status_code == 401
    assert client.post("/v1/merchants/othermerchant0001/client_token", headers=BASIC).status_code == 401


def test_a_token_used_more_than_50_times_in_a_minute_is_revoked(client: httpx.Client) -> None:
    bearer = token(client)
    codes = [nonce(client, bearer=bearer).status_code for _ in range(51)]
    assert codes == [200] * 51
    refused = nonce(client, bearer=bearer)
    assert refused.status_code == 401 and refused.json()["result"]["code"] == "4012"
    assert nonce(client).status_code == 200  # a fresh token works


def test_nonce_answers_cors_and_describes_the_card(client: httpx.Client) -> None:
    preflight = client.options(
        f"{API}/credit-card-nonce",
        headers={"Origin": "http://127.0.0.1:5555", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:5555"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    reply = nonce(client, "5555555555554444")
    data = reply.json()["data"]
    assert reply.headers["access-control-allow-origin"] == "http://127.0.0.1:5555"
    assert uuid.UUID(data["credit_card_nonce"]).version == 4
    assert (data["brand_code"], data["last4"], data["expire_year"]) == ("MASTERCARD", "4444", YEAR)
    assert "5555555555554444" not in reply.text
    bad = nonce(client, "4242424242424241")
    assert bad.status_code == 422 and bad.json()["result"]["code"] == "4220"


def test_nonce_is_single_use(client: httpx.Client) -> None:
    instrument = with_nonce(client)
    assert pay(client, instrument).json()["state"] == "captured"
    again = pay(client, instrument)
    assert again.status_code == 422 and again.json()["result"]["code"] == "4221"
    assert len(effects(client, "sale")) == 1


def test_nonce_expires_after_3_hours(client: httpx.Client) -> None:
    instrument = with_nonce(client)
    advance(client, 3 * 3600 + 1)
    late = pay(client, instrument)
    assert late.status_code == 422 and late.json()["result"]["code"] == "4223"
    assert effects(client, "sale") == []


def test_amounts_carry_the_currency_exponent(client: httpx.Client) -> None:
    ok = pay(client, with_nonce(client), total="1.250")
    assert ok.json()["transaction"]["amount"] == {"currency": "OMR", "total": "1.250"}
    [sale] = effects(client, "sale")
    assert (sale["amount"], sale["currency"], sale["total"]) == (1250, "OMR", "1.250")
    too_fine = pay(client, with_nonce(client), total="1.2500")
    assert too_fine.status_code == 422 and too_fine.json()["result"]["code"] == "4222"
    usd = pay(client, with_nonce(client), total="10.001", currency="USD")
    assert usd.status_code == 422 and usd.json()["result"]["code"] == "4222"


def test_declines_are_200_with_declined_state(client: httpx.Client) -> None:
    for card, code in (("4000000000000002", "2000"), ("4000000000009995", "2001"),
                       ("4000000000000069", "2004"), ("4000000000000127", "2010")):  # fmt: skip
        reply = pay(client, with_nonce(client, card))
        assert reply.status_code == 200
        assert (reply.json()["state"], reply.json()["result"]["code"]) == ("declined", code)
    assert effects(client, "sale") == []


def test_duplicate_invoice_number_is_409_and_spends_nothing(client: httpx.Client) -> None:
    assert pay(client, with_nonce(client), invoice="INV-1").status_code == 200
    instrument = with_nonce(client)
    assert pay(client, instrument, invoice="INV-1").status_code == 409
    assert pay(client, instrument, invoice="INV-2").status_code == 200  # the nonce was not burnt


def test_vaulted_card_charges_a_returning_customer(client: httpx.Client) -> None:
    card = {"credit_card": {"number": "4111111111111111", "expire_month": 12, "expire_year": YEAR,
                            "cvv2": "123", "name": "Ada"}}  # fmt: skip
    first = pay(client, card).json()
    vault_id = first["payer"]["funding_instrument"]["credit_card"]["id"]
    assert uuid.UUID(vault_id)
    assert first["payer"]["funding_instrument"]["credit_card"]["last4"] == "1111"
    again = pay(client, {"credit_card_token": {"credit_card_id": vault_id}}, total="2.000").json()
    assert again["state"] == "captured"
    assert [e["amount"] for e in effects(client, "sale")] == [1250, 2000]
    unknown = pay(client, {"credit_card_token": {"credit_card_id": str(uuid.uuid4())}})
    assert unknown.status_code == 422 and unknown.json()["result"]["code"] == "4226"


def test_three_d_secure_redirect_then_get(client: httpx.Client) -> None:
    created = pay(client, with_nonce(client, "4000000000003220"), return_url="http://127.0.0.1:9/back?x=1")
    data = created.json()
    assert (data["state"], data["result"]["code"], data["result"]["description"]) == (
        "pending",
        "1007",
        "Redirect",
    )
    redirect = data["result"]["redirect_url"]
    assert data["result"]["authenticate_url"].endswith(redirect.rsplit("/", 1)[1])
    assert effects(client, "sale") == []
    page = client.get(redirect)
    assert page.status_code == 200 and 'id="approve"' in page.text and "3220" in page.text
    back = client.post(redirect + "/approve")
    assert back.status_code == 303
    location = back.headers["location"]
    assert (
        location.startswith("http://127.0.0.1:9/back?x=1&session_id=")
        and f"reference_id={data['id']}" in location
    )
    read = client.get(f"{API}/payment/{data['id']}", headers=BASIC).json()
    assert read["state"] == "captured" and read["result"]["code"] == "0000"
    session_id = location.split("session_id=")[1].split("&")[0]
    by_session = client.get(f"{API}/payment/session/{session_id}", headers=BASIC).json()
    assert by_session["result"]["actions"]["authorization"]["id"] == data["id"]
    assert len(effects(client, "sale")) == 1
    assert client.post(redirect + "/approve").status_code == 404  # answered once


def test_capture_void_refund_rules(client: httpx.Client) -> None:
    auth = pay(client, with_nonce(client), intent="auth", total="10.000").json()
    assert auth["state"] == "authorised"
    ref = auth["id"]
    over = client.post(f"{API}/payment/{ref}/capture", json={"amount": "10.001"}, headers=BASIC)
    assert over.status_code == 422 and over.json()["result"]["code"] == "4224"
    capture = client.post(f"{API}/payment/{ref}/capture", json={"amount": "6.000"}, headers=BASIC).json()
    assert (capture["state"], capture["reference_id"]) == ("captured", ref) and capture["id"] != ref
    assert (
        client.post(f"{API}/payment/{ref}/capture", json={"amount": "1.000"}, headers=BASIC).status_code
        == 409
    )
    assert client.post(f"{API}/payment/{ref}/void", json={}, headers=BASIC).status_code == 409
    for part in ("2.500", "3.500"):
        refund = client.post(f"{API}/payment/{ref}/refund", json={"amount": part}, headers=BASIC)
        assert refund.json()["state"] == "refunded"
    more = client.post(f"{API}/payment/{capture['id']}/refund", json={"amount": "0.001"}, headers=BASIC)
    assert more.status_code == 409
    assert [e["amount"] for e in effects(client, "refund")] == [2500, 3500]
    other = pay(client, with_nonce(client), intent="auth").json()
    void = client.post(f"{API}/payment/{other['id']}/void", json={}, headers=BASIC).json()
    assert void["state"] == "voided"
    sale = pay(client, with_nonce(client)).json()
    assert client.post(f"{API}/payment/{sale['id']}/void", json={}, headers=BASIC).status_code == 409
    assert (
        client.post(f"{API}/payment/NOSUCHPAYMENT0000000/refund", json={}, headers=BASIC).status_code == 404
    )


def test_authorisation_lapses_after_7_days(client: httpx.Client) -> None:
    auth = pay(client, with_nonce(client), intent="auth").json()
    advance(client, 7 * 86400 + 60)
    late = client.post(f"{API}/payment/{auth['id']}/capture", json={}, headers=BASIC)
    assert late.status_code == 409 and "expired" in late.json()["result"]["description"].lower()
    assert effects(client, "capture") == []


def _hosted(client: httpx.Client, total: str = "5.500") -> tuple[str, str]:
    body = {"intent": "sale", "transaction": {"amount": {"currency": "OMR", "total": total},
            "invoice_number": uuid.uuid4().hex[:10], "return_url": "http://127.0.0.1:9/hpp"}}  # fmt: skip
    data = client.post(f"{API}/hosted-payment", json=body, headers=BASIC).json()
    link = data["hosted_page_link"]
    assert re.search(rf"{API}/hosted-payment/page/[0-9a-f-]{{36}}$", link)
    return link, uuid.UUID(link.rsplit("/", 1)[1]).hex


def _state(client: httpx.Client, session: str) -> str:
    data = client.get(f"{API}/hosted-payment/session/{session}", headers=BASIC).json()
    assert data["session_id"] == session
    state: str = data["session_state"]
    return state


def test_hosted_page_pending_then_used(client: httpx.Client) -> None:
    link, session = _hosted(client)
    assert _state(client, session) == "pending"
    assert 'id="pay"' in client.get(link).text
    card = {"number": "4242424242424242", "expire_month": "12", "expire_year": str(YEAR), "cvv2": "123"}
    wrong = client.post(link, data={**card, "number": "4242424242424241"})
    assert wrong.status_code == 200 and 'id="error"' in wrong.text  # shown again, nothing lost
    assert _state(client, session) == "pending"
    paid = client.post(link, data=card)
    assert paid.status_code == 303 and paid.headers["location"].startswith(
        "http://127.0.0.1:9/hpp?session_id="
    )
    assert _state(client, session) == "used"
    payment = client.get(f"{API}/payment/session/{uuid.UUID(session)}", headers=BASIC).json()
    assert payment["state"] == "captured" and payment["transaction"]["amount"]["total"] == "5.500"
    assert client.post(link, data=card).status_code == 410
    assert [e["amount"] for e in effects(client, "sale")] == [5500]


def test_hosted_page_with_3ds_is_processing_until_answered(client: httpx.Client) -> None:
    link, session = _hosted(client)
    card = {"number": "4000000000003220", "expire_month": "12", "expire_year": str(YEAR), "cvv2": "123"}
    challenge = client.post(link, data=card)
    assert challenge.status_code == 303 and "/v1/redirect/" in challenge.headers["location"]
    assert _state(client, session) == "processing"
    client.post(challenge.headers["location"] + "/decline")
    assert _state(client, session) == "used"
    payment = client.get(f"{API}/payment/session/{session}", headers=BASIC).json()
    assert (payment["state"], payment["result"]["code"]) == ("declined", "2099")


def test_hosted_page_expires_after_an_hour(client: httpx.Client) -> None:
    link, session = _hosted(client)
    advance(client, 3600)
    assert _state(client, session) == "expired"
    assert client.get(link).status_code == 410


def test_request_counts_are_kept(client: httpx.Client) -> None:
    pay(client, with_nonce(client))
    counts = client.get("/_sim/requests").json()["requests"]
    assert counts["payment"] == 1 and counts["credit_card_nonce"] == 1 and counts["client_token"] == 1
