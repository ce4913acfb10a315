"""The ETpay simulator against the vendor document (shared/seeds/etpay-002) and docs/gateways/etpay.md.

Requests, JWT checks and form posts are built here from the documents, never by our adapter.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from terminal.sim.etpay import create_app
from terminal.sim.runner import RunningSims, serve_app
from tests.sim.etpay_helpers import (
    API_TOKEN,
    CANCELLED_URL,
    COMPLETED_URL,
    MERCHANT_CODE,
    PAYMENT_FIELDS,
    STATUS_FIELDS,
    answer,
    initialize,
    ledger,
    parse_funnel,
    path_of,
    post_raw,
    returned_jwt,
    session_body,
    status,
    verify,
)


@pytest.fixture
def etpay(sims: RunningSims) -> Iterator[httpx.Client]:
    """A client for the ETpay simulator the runner started, reset (state, ledger, faults, clock) first."""
    with httpx.Client(base_url=sims.urls["etpay"], timeout=2.0) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture(scope="module")
def strings_url() -> Iterator[str]:
    """An ETpay simulator started in the mode that mimics the notion status page ("success"/"failure")."""
    url, stop = serve_app(create_app(status_strings=True))
    yield url
    stop()


class Receiver:
    """A merchant endpoint on loopback that records every webhook body it gets."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.bodies: list[bytes] = []
        self.types: list[str] = []
        self.delay_s = delay_s
        self.lock = threading.Lock()

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        await asyncio.sleep(self.delay_s)
        with self.lock:
            self.bodies.append(body)
            self.types.append(request.headers.get("content-type", ""))
        return JSONResponse({"ok": True})

    def wait(self, count: int, seconds: float = 3.0) -> list[bytes]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.bodies) < count:
            time.sleep(0.02)
        time.sleep(0.1)  # room for an unwanted second delivery to show up
        with self.lock:
            return list(self.bodies)


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    hits = Receiver(delay_s=0.5)
    url, stop = serve_app(Starlette(routes=[Route("/hook", hits.hook, methods=["POST"])]))
    yield f"{url}/hook", hits
    stop()


# -- POST /session/initialize ---------------------------------------------------------------------------


def test_initialize_without_content_type_answers_the_documented_fields(etpay: httpx.Client) -> None:
    request = etpay.build_request("POST", "/session/initialize", content=json.dumps(session_body()).encode())
    assert "content-type" not in request.headers
    response = etpay.send(request)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "signature_token", "terms_url"}
    assert len(body["token"]) >= 32 and len(body["signature_token"]) >= 32  # usable as HS256 keys
    assert body["token"] != body["signature_token"]
    assert etpay.get(path_of(body["terms_url"])).status_code == 200
    (entry,) = ledger(etpay)
    assert entry["kind"] == "session" and entry["effect"] is False
    assert (entry["amount"], entry["currency"], entry["merchant_order_id"]) == (12345, "CLP", "order1")
    assert entry["session_token"] == body["token"]


def test_amount_as_digit_string_and_optional_fields_are_accepted(etpay: httpx.Client) -> None:
    metadata = [
        {"name": "Ticket", "value": "<b>T-9</b>", "show": True},
        {"name": "hidden", "value": 1, "show": False},
    ]
    session = initialize(
        etpay, "order2", "500", customer_email="payer@example.cl", metadata=metadata, user_bank_code=None,
        payment_webhook_url="https://merchant.example/hook", concat=None, target_flow="ignored",
    )  # fmt: skip
    page = etpay.get(f"/session/{session['token']}").text
    assert "$500 CLP" in page
    assert "&lt;b&gt;T-9&lt;/b&gt;" in page and "<b>T-9</b>" not in page and "hidden" not in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"merchant_order_id": None}, "merchant_order_id"),
        ({"merchant_order_id": "order-1"}, "merchant_order_id"),
        ({"merchant_order_id": "a" * 65}, "merchant_order_id"),
        ({"merchant_order_id": 123}, "merchant_order_id"),
        ({"order_amount": None}, "order_amount"),
        ({"order_amount": 0}, "order_amount"),
        ({"order_amount": -5}, "order_amount"),
        ({"order_amount": 10.5}, "order_amount"),
        ({"order_amount": 500.0}, "order_amount"),
        ({"order_amount": "10.50"}, "order_amount"),
        ({"order_amount": "abc"}, "order_amount"),
        ({"order_amount": True}, "order_amount"),
        ({"payment_completed_url": None}, "payment_completed_url"),
        ({"payment_completed_url": "ftp://shop.example/x"}, "payment_completed_url"),
        ({"payment_completed_url": "/relative"}, "payment_completed_url"),
        ({"payment_cancellation_url": None}, "payment_cancellation_url"),
        ({"payment_webhook_url": "not a url"}, "payment_webhook_url"),
        ({"customer_email": "nobody"}, "customer_email"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": [{"name": "a", "value": "b", "show": "yes"}]}, "metadata"),
        ({"user_bank_code": "XX_NOPE"}, "user_bank_code"),
        ({"user_rut": "abc"}, "user_rut"),
        ({"is_rut_block": "yes"}, "is_rut_block"),
        ({"is_rut_block": True}, "user_rut"),
        ({"concat": "with space"}, "concat"),
    ],
)
def test_bad_fields_are_400_naming_the_field(
    etpay: httpx.Client, overrides: dict[str, Any], field: str
) -> None:
    body = {key: value for key, value in {**session_body(), **overrides}.items() if value is not None}
    response = post_raw(etpay, "/session/initialize", body)
    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()["error"]
    assert ledger(etpay) == []


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(etpay: httpx.Client, raw: bytes) -> None:
    response = etpay.post("/session/initialize", content=raw)
    assert response.status_code == 400 and response.json()["field"] is None


@pytest.mark.parametrize(
    "credentials",
    [
        {"merchant_api_token": "wrong"},
        {"merchant_code": "someone_else"},
        {"merchant_code": None},
        {"merchant_api_token": None},
        {"merchant_api_token": 42},
    ],
)
def test_wrong_or_missing_credentials_are_401(etpay: httpx.Client, credentials: dict[str, Any]) -> None:
    body = {key: value for key, value in {**session_body(), **credentials}.items() if value is not None}
    response = post_raw(etpay, "/session/initialize", body)
    assert (response.status_code, response.json()) == (401, {"error": "invalid credentials"})
    assert ledger(etpay) == []


# -- funnel and answers ---------------------------------------------------------------------------------


def test_funnel_shows_merchant_order_amount_banks_rut_and_three_buttons(etpay: httpx.Client) -> None:
    token = initialize(etpay, "ABC123", 1234567)["token"]
    response = etpay.get(f"/session/{token}")
    assert response.status_code == 200 and "ETpay sandbox" in response.text
    funnel = parse_funnel(response.text)
    assert funnel.texts["merchant"] == "Sandbox Developer Merchant"
    assert funnel.texts["order"] == "ABC123" and funnel.texts["amount"] == "$1.234.567 CLP"
    assert funnel.options["CL_TEST"] == "Banco de prueba" and len(funnel.options) == 3
    assert "rut" in funnel.inputs and funnel.method == "post"
    assert {name: path_of(url) for name, url in funnel.buttons.items()} == {
        choice: f"/session/{token}/{choice}" for choice in ("pay", "reject", "cancel")
    }


def test_pay_redirects_to_completed_url_with_a_jwt_signed_with_the_signature_token(
    etpay: httpx.Client,
) -> None:
    session = initialize(etpay, "paid1", 15000)
    before = int(time.time())
    response = answer(etpay, session["token"], "pay", rut="12.345.678-5")
    claims = verify(returned_jwt(response, COMPLETED_URL), session["signature_token"])
    assert set(claims) == PAYMENT_FIELDS | {"reason", "code"}
    assert claims["session_token"] == session["token"]
    assert (
        claims["merchant_account_bank"] == "cl_estado" and claims["merchant_account_type"] == "cuenta_vista"
    )
    assert isinstance(claims["merchant_account"], str) and claims["merchant_account"]
    assert claims["merchant_name"] == "Sandbox Developer Merchant" and claims["merchant_currency"] == "CLP"
    assert claims["merchant_order_id"] == "paid1" and claims["merchant_amount"] == 15000
    assert claims["user_bank"] == "Banco de prueba" and claims["user_rut"] == "123456785"
    assert claims["user_account"] == "Cuenta Corriente 12345678" and claims["payment_process"] == "auto"
    assert claims["payment_status"] is True and claims["payment_token"]
    assert before - 2 <= claims["iat"] <= time.time() + 2
    with pytest.raises(jwt.InvalidSignatureError):
        verify(returned_jwt(response, COMPLETED_URL), session["token"])
    payments = [entry for entry in ledger(etpay) if entry["effect"]]
    assert [(e["kind"], e["amount"], e["currency"], e["merchant_order_id"]) for e in payments] == [
        ("payment", 15000, "CLP", "paid1")
    ]
    assert payments[0]["session_token"] == session["token"]
    assert payments[0]["payment_token"] == claims["payment_token"]


@pytest.mark.parametrize(
    ("choice", "reason", "kind"),
    [("reject", "rejected_by_bank", "payment"), ("cancel", "cancelled_by_user", "cancellation")],
)
def test_reject_and_cancel_go_to_the_cancellation_url(
    etpay: httpx.Client, choice: str, reason: str, kind: str
) -> None:
    session = initialize(etpay)
    response = answer(etpay, session["token"], choice, bank="CL_ESTADO")
    claims = verify(returned_jwt(response, CANCELLED_URL), session["signature_token"])
    assert (
        claims["payment_status"] is False
        and claims["reason"] == reason
        and claims["user_bank"] == "BancoEstado"
    )
    assert [(e["kind"], e["effect"]) for e in ledger(etpay)] == [("session", False), (kind, False)]


def test_cancel_needs_no_valid_form(etpay: httpx.Client) -> None:
    session = initialize(etpay)
    response = etpay.post(f"/session/{session['token']}/cancel", data={"rut": "nonsense"})
    assert (
        verify(returned_jwt(response, CANCELLED_URL), session["signature_token"])["payment_status"] is False
    )


def test_a_malformed_rut_or_bank_reshows_the_funnel_and_keeps_the_session_open(etpay: httpx.Client) -> None:
    token = initialize(etpay)["token"]
    bad_rut = answer(etpay, token, "pay", rut="12x")
    assert bad_rut.status_code == 400 and "RUT" in parse_funnel(bad_rut.text).texts["error"]
    assert answer(etpay, token, "pay", bank="XX").status_code == 400
    assert answer(etpay, token, "pay").status_code == 303


def test_merchant_fixed_bank_and_blocked_rut_win_over_the_form(etpay: httpx.Client) -> None:
    session = initialize(etpay, user_bank_code="cl_santander", user_rut="11.111.111-1", is_rut_block=True)
    funnel = parse_funnel(etpay.get(f"/session/{session['token']}").text)
    assert funnel.options == {"CL_SANTANDER": "Banco Santander"}
    assert funnel.inputs["rut"]["value"] == "111111111" and "readonly" in funnel.inputs["rut"]
    response = answer(etpay, session["token"], "pay", bank="CL_TEST", rut="22.222.222-2")
    claims = verify(returned_jwt(response, COMPLETED_URL), session["signature_token"])
    assert (claims["user_bank"], claims["user_rut"]) == ("Banco Santander", "111111111")


@pytest.mark.parametrize(
    ("completed", "concat", "expected"),
    [
        (COMPLETED_URL, None, COMPLETED_URL + "?jwt="),
        (COMPLETED_URL + "?order=7", None, COMPLETED_URL + "?order=7&jwt="),
        (COMPLETED_URL + "?order=7&token=", "", COMPLETED_URL + "?order=7&token=&jwt="),
        (COMPLETED_URL + "?order=7", "&token=", COMPLETED_URL + "?order=7&token="),
        (COMPLETED_URL + "/", "?token=", COMPLETED_URL + "/?token="),
    ],
)
def test_jwt_is_appended_as_url_plus_concat(
    etpay: httpx.Client, completed: str, concat: str | None, expected: str
) -> None:
    session = initialize(etpay, payment_completed_url=completed, concat=concat)
    token = returned_jwt(answer(etpay, session["token"], "pay"), expected, concat="")
    assert verify(token, session["signature_token"])["payment_status"] is True


def test_expired_session_returns_a_system_error_signed_with_the_session_token(etpay: httpx.Client) -> None:
    session = initialize(etpay, "late1")
    etpay.post("/_sim/clock", json={"advance_s": 29 * 60})
    assert etpay.get(f"/session/{session['token']}").status_code == 200
    etpay.post("/_sim/clock", json={"advance_s": 61})
    page = etpay.get(f"/session/{session['token']}")
    assert page.status_code == 410 and "expired" in page.text
    assert path_of(parse_funnel(page.text).buttons["return"]) == f"/session/{session['token']}/cancel"
    now = datetime.fromisoformat(etpay.get("/_sim/clock").json()["now"])
    response = answer(etpay, session["token"], "pay")  # pressed on a page loaded before the expiry
    token = returned_jwt(response, CANCELLED_URL)
    claims = verify(token, session["token"])
    assert set(claims) == {"session_token", "system_error", "iat"}
    assert claims["session_token"] == session["token"] and claims["system_error"] is True
    assert abs(claims["iat"] - now.timestamp()) < 5
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token, session["signature_token"])
    (record,) = status(etpay, merchant_order_id="late1").json()
    assert record["payment_status"] is False and record["reason"] == "session_expired"
    assert [e for e in ledger(etpay) if e["effect"]] == []


def test_an_unanswered_expired_session_reads_as_failure(etpay: httpx.Client) -> None:
    token = initialize(etpay)["token"]
    assert status(etpay, session_token=token).json()[0]["payment_status"] is None
    etpay.post("/_sim/clock", json={"advance_s": 30 * 60})
    (record,) = status(etpay, session_token=token).json()
    assert (record["payment_status"], record["reason"], record["payment_token"]) == (
        False,
        "session_expired",
        None,
    )


def test_a_session_is_answered_once(etpay: httpx.Client) -> None:
    token = initialize(etpay)["token"]
    assert answer(etpay, token, "pay").status_code == 303
    for choice in ("pay", "reject", "cancel"):
        again = answer(etpay, token, choice)
        assert again.status_code == 409 and "already been answered" in again.text
    assert etpay.get(f"/session/{token}").status_code == 409
    assert len([e for e in ledger(etpay) if e["effect"]]) == 1


def test_unknown_session_pages_are_404(etpay: httpx.Client) -> None:
    assert etpay.get("/session/no-such-token").status_code == 404
    assert answer(etpay, "no-such-token", "pay").status_code == 404
    token = initialize(etpay)["token"]
    assert answer(etpay, token, "steal").status_code == 404


# -- POST /merchant/check_payment_status ----------------------------------------------------------------


def test_status_lists_every_attempt_of_an_order(etpay: httpx.Client) -> None:
    paid, rejected, pending = (initialize(etpay, "multi1", 9990, customer_email="a@b.cl") for _ in range(3))
    answer(etpay, rejected["token"], "reject")
    location = answer(etpay, paid["token"], "pay").headers["location"]
    payment_token = verify(location.split("?jwt=")[1], paid["signature_token"])["payment_token"]
    records = status(etpay, merchant_order_id="multi1", merchant_code=MERCHANT_CODE).json()
    assert [r["session_token"] for r in records] == [paid["token"], rejected["token"], pending["token"]]
    assert all(set(record) == STATUS_FIELDS for record in records)
    ok, ko, waiting = records
    assert ok["payment_status"] is True and ok["payment_token"] == payment_token and ok["reason"] is None
    assert (ok["merchant_amount"], ok["merchant_currency"], ok["user_bank"]) == (
        9990,
        "CLP",
        "Banco de prueba",
    )
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d", ok["payment_date"]) and ok["confirmated_at"]
    assert ok["validationWeb"] is True and ok["validationMail"] is True
    assert (ko["payment_status"], ko["reason"], ko["confirmated_at"]) == (False, "rejected_by_bank", None)
    assert waiting["payment_status"] is None and waiting["payment_token"] is None
    assert waiting["payment_date"] is None and waiting["reason"] is None
    assert [r["session_token"] for r in status(etpay, session_token=rejected["token"]).json()] == [
        rejected["token"]
    ]
    assert [r["session_token"] for r in status(etpay, payment_token=payment_token).json()] == [paid["token"]]
    assert status(etpay, merchant_order_id="multi1", session_token=pending["token"]).json() == [waiting]


def test_status_of_unknown_keys_is_an_empty_array(etpay: httpx.Client) -> None:
    initialize(etpay, "known1")
    for keys in ({"merchant_order_id": "nobody"}, {"session_token": "x"}, {"payment_token": "y"}):
        response = status(etpay, **keys)
        assert (response.status_code, response.json()) == (200, [])


def test_status_refusals(etpay: httpx.Client) -> None:
    assert status(etpay).status_code == 400
    assert status(etpay, merchant_order_id="").status_code == 400
    body = {"merchant_api_token": "wrong", "merchant_order_id": "x"}
    assert post_raw(etpay, "/merchant/check_payment_status", body).status_code == 401
    body = {"merchant_code": "other", "merchant_api_token": API_TOKEN, "merchant_order_id": "x"}
    assert post_raw(etpay, "/merchant/check_payment_status", body).status_code == 401
    assert post_raw(etpay, "/merchant/check_payment_status", {"merchant_order_id": "x"}).status_code == 401


def test_status_strings_mode(strings_url: str) -> None:
    with httpx.Client(base_url=strings_url, timeout=2.0) as client:
        client.post("/_sim/reset")
        paid, failed, pending = (initialize(client, "strings1") for _ in range(3))
        answer(client, paid["token"], "pay")
        answer(client, failed["token"], "cancel")
        statuses = [r["payment_status"] for r in status(client, merchant_order_id="strings1").json()]
        assert statuses == ["success", "failure", "pending"]
        claims = verify(
            answer(client, pending["token"], "pay").headers["location"].split("jwt=")[1],
            pending["signature_token"],
        )
        assert claims["payment_status"] is True  # JWTs always carry the boolean


# -- webhook --------------------------------------------------------------------------------------------


def test_webhook_is_posted_once_as_json_without_delaying_the_redirect(
    etpay: httpx.Client, receiver: tuple[str, Receiver]
) -> None:
    hook_url, hits = receiver
    session = initialize(etpay, payment_webhook_url=hook_url)
    started = time.monotonic()
    response = answer(etpay, session["token"], "pay")
    assert time.monotonic() - started < hits.delay_s  # the receiver is slow; the payer does not wait for it
    token = returned_jwt(response, COMPLETED_URL)
    assert [json.loads(body) for body in hits.wait(1)] == [{"jwt": token}]
    assert hits.types == ["application/json"]


@pytest.mark.parametrize(
    ("hook_url", "called"),
    [
        ("http://192.0.2.1:9/hook", False),
        ("https://merchant.example/hook", False),
        ("http://localhost.example.com/hook", False),
        ("http://localhost:9/hook", True),
        ("http://[::1]:9/hook", True),
        ("http://127.0.0.2:9/hook", True),
    ],
)
def test_webhook_is_only_ever_sent_to_loopback(
    etpay: httpx.Client, monkeypatch: pytest.MonkeyPatch, hook_url: str, called: bool
) -> None:
    calls: list[str] = []

    async def record(url: str, token: str) -> None:
        calls.append(url)

    # The simulator runs in this process, so its module global can be swapped for a recorder.
    monkeypatch.setattr("terminal.sim.etpay._post_webhook", record)
    session = initialize(etpay, payment_webhook_url=hook_url)
    assert answer(etpay, session["token"], "pay").status_code == 303
    deadline = time.monotonic() + 0.5
    while called and not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ([hook_url] if called else [])


# -- faults, reset, settle --------------------------------------------------------------------------------


def test_timeout_after_commit_on_initialize_leaves_a_session_found_by_order_id(etpay: httpx.Client) -> None:
    fault = {"method": "POST", "path": "/session/initialize", "fault": "timeout_after_commit"}
    etpay.post("/_sim/faults", json=fault).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        post_raw(etpay, "/session/initialize", session_body("lost1"), timeout=0.4)
    (record,) = status(etpay, merchant_order_id="lost1").json()
    assert record["payment_status"] is None and record["merchant_amount"] == 12345
    assert etpay.get(f"/session/{record['session_token']}").status_code == 200


def test_timeout_before_commit_on_initialize_leaves_nothing(etpay: httpx.Client) -> None:
    fault = {
        "method": "POST",
        "path": "/session/initialize",
        "fault": "timeout_before_commit",
        "delay_ms": 50,
    }
    etpay.post("/_sim/faults", json=fault).raise_for_status()
    with pytest.raises(httpx.TransportError):
        post_raw(etpay, "/session/initialize", session_body("never1"), timeout=1.0)
    assert status(etpay, merchant_order_id="never1").json() == []


def test_status_endpoint_is_faultable(etpay: httpx.Client) -> None:
    initialize(etpay, "flaky1")
    fault = {"method": "POST", "path": "/merchant/check_payment_status", "fault": "http_503"}
    etpay.post("/_sim/faults", json=fault).raise_for_status()
    assert status(etpay, merchant_order_id="flaky1").status_code == 503
    assert len(status(etpay, merchant_order_id="flaky1").json()) == 1


def test_reset_forgets_and_settle_has_nothing_to_do(etpay: httpx.Client) -> None:
    token = initialize(etpay, "gone1")["token"]
    answer(etpay, token, "pay")
    assert etpay.post("/_sim/settle").json() == {"ok": True, "settled": {}}
    etpay.post("/_sim/reset").raise_for_status()
    assert status(etpay, merchant_order_id="gone1").json() == [] and ledger(etpay) == []
    assert etpay.get(f"/session/{token}").status_code == 404
