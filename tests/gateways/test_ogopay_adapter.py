"""OGO Pay adapter details the simulator cannot provoke: odd answers, integrity checks, the return post,
the card page, live-profile limits and the registry. Odd answers come from a canned server over real HTTP.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from terminal.domain.capabilities import Support
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import FollowUpRequest, HostedEntryRequest, Outcome, PaymentRequest
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    NotSupportedError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.ogopay import CAPABILITIES, OgoPayConfig, OgoPayGateway
from terminal.gateways.registry import (
    GATEWAYS,
    SECRET_FIELDS,
    SETTINGS_FIELDS,
    build_gateway,
    capabilities_of,
)
from terminal.sim.runner import serve_app
from tests.gateways.conftest import run
from tests.support.form_browser import forms_of

SECRET = "canned-secret-value"
APPROVED = {"responseCode": "00", "approvalCode": "3jcPVy", "transactionId": "t-123", "message": "Approved"}


@dataclass
class Canned:
    """A server that answers every request with the next queued (status, body, headers)."""

    url: str = ""
    answers: list[tuple[int, bytes | str | dict[str, Any], dict[str, str]]] = field(default_factory=list)
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)

    def queue(
        self, status: int, body: bytes | str | dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.answers.append((status, body, headers or {}))


@pytest.fixture(scope="module")
def canned_server() -> Iterator[Canned]:
    canned = Canned()

    async def answer(request: Request) -> Response:
        canned.seen.append((request.method, request.url.path, await request.body()))
        status, body, headers = canned.answers.pop(0) if canned.answers else (500, "nothing queued", {})
        if isinstance(body, dict):
            import json

            body, headers = json.dumps(body), {"content-type": "application/json", **headers}
        return Response(body, status_code=status, headers=headers)

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    url, stop = serve_app(app)
    canned.url = url
    yield canned
    stop()


@pytest.fixture
def canned(canned_server: Canned) -> Canned:
    canned_server.answers.clear()
    canned_server.seen.clear()
    return canned_server


def gateway_for(url: str, *, live: bool = False, clock: Any = None) -> OgoPayGateway:
    return OgoPayGateway(OgoPayConfig(url, "m-1", SECRET, live=live), clock=clock)


def sale_request(minor: int = 5000, currency: str = "LKR") -> PaymentRequest:
    return PaymentRequest(Money(minor, currency), "ORDER-1", "k", "C-1", "0123456789abcdef0123456789abcdef")


def follow(minor: int = 5000) -> FollowUpRequest:
    return FollowUpRequest(Money(minor, "LKR"), "ORDER-1-V1", "k", "t-123")


def call(gateway: OgoPayGateway, verb: str, request: Any) -> Any:
    async def scenario() -> Any:
        try:
            return await getattr(gateway, verb)(request)
        finally:
            await gateway.aclose()

    return run(scenario())


# -- answers ------------------------------------------------------------------------------------------
def test_approved_purchase_is_read(canned: Canned) -> None:
    canned.queue(
        200, {"success": True, "message": "Transaction successfull", "result": {**APPROVED, "stan": 9}}
    )
    result = call(gateway_for(canned.url), "sale", sale_request())
    assert result.outcome is Outcome.APPROVED
    assert (result.gateway_reference, result.approval_code, result.gateway_code) == ("t-123", "3jcPVy", "00")
    assert result.amount == Money(5000, "LKR")
    assert result.raw["result"]["stan"] == 9


def test_decline_is_normalised(canned: Canned) -> None:
    result_body = {"responseCode": "51", "message": "Insufficient funds"}
    canned.queue(200, {"success": False, "message": "Declined", "result": result_body})
    result = call(gateway_for(canned.url), "sale", sale_request())
    assert result.outcome is Outcome.DECLINED
    assert result.decline_code is not None and result.decline_code.value == "insufficient_funds"
    assert (result.gateway_code, result.gateway_message) == ("51", "Insufficient funds")
    assert result.amount is None


@pytest.mark.parametrize(
    "extra",
    [{"amount": 4999}, {"amount": "5000"}, {"currency": "USD"}],
    ids=["other-amount", "amount-as-text", "other-currency"],
)
def test_echo_that_contradicts_the_request_is_unknown(canned: Canned, extra: dict[str, Any]) -> None:
    canned.queue(200, {"success": True, "message": "ok", "result": {**APPROVED, **extra}})
    with pytest.raises(OutcomeUnknownError):
        call(gateway_for(canned.url), "sale", sale_request())


def test_matching_echo_is_accepted(canned: Canned) -> None:
    canned.queue(
        200, {"success": True, "message": "ok", "result": {**APPROVED, "amount": 5000, "currency": "LKR"}}
    )
    assert call(gateway_for(canned.url), "sale", sale_request()).outcome is Outcome.APPROVED


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, "<html>Service temporarily unavailable</html>"),
        (200, {"success": True, "message": "ok", "result": {"responseCode": "00"}}),
        (200, {"message": "no success flag"}),
        (200, "[1, 2]"),
        (502, "<html>Bad gateway</html>"),
        (500, {"success": False, "message": "Internal error"}),
        (302, ""),
    ],
    ids=["html-200", "no-transaction-id", "no-success", "json-array", "html-502", "json-500", "redirect"],
)
def test_unusable_answers_are_unknown(canned: Canned, status: int, body: Any) -> None:
    canned.queue(status, body, {"location": "https://elsewhere.example/"} if status == 302 else None)
    with pytest.raises(OutcomeUnknownError):
        call(gateway_for(canned.url), "sale", sale_request())


def test_unauthorized_is_an_authentication_error(canned: Canned) -> None:
    canned.queue(401, {"success": False, "message": "Unauthorized"})
    with pytest.raises(AuthenticationError) as refused:
        call(gateway_for(canned.url), "sale", sale_request())
    assert "nothing was done" in refused.value.message


def test_unauthorized_with_a_skewed_clock_says_so(canned: Canned) -> None:
    canned.queue(401, {"success": False, "message": "Unauthorized"})
    # The server stamps its own Date header; our clock runs ten minutes behind it.
    gateway = gateway_for(canned.url, clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(AuthenticationError) as refused:
        call(gateway, "sale", sale_request())
    assert "clock is 10 minutes behind" in refused.value.message
    assert gateway.clock_skew_s is not None and 590 < gateway.clock_skew_s < 610


def test_invalid_token_names_the_token(canned: Canned) -> None:
    canned.queue(400, {"success": False, "message": "Invalid Token"})
    with pytest.raises(ValidationError) as refused:
        call(gateway_for(canned.url), "sale", sale_request())
    assert refused.value.field == "token"


def test_duplicate_order_names_the_order(canned: Canned) -> None:
    canned.queue(409, {"success": False, "message": "Duplicate orderId"})
    with pytest.raises(ValidationError) as refused:
        call(gateway_for(canned.url), "sale", sale_request())
    assert refused.value.field == "orderId"


def test_follow_up_refusals_are_declines_unless_malformed(canned: Canned) -> None:
    canned.queue(400, {"success": False, "message": "Already voided"})
    with pytest.raises(DeclinedError, match="Already voided"):
        call(gateway_for(canned.url), "void", follow())
    canned.queue(400, {"success": False, "message": "transactionId is required"})
    with pytest.raises(ValidationError):
        call(gateway_for(canned.url), "void", follow())


def test_missing_endpoint_is_not_supported(canned: Canned) -> None:
    canned.queue(404, "Not Found")
    with pytest.raises(NotSupportedError):
        call(gateway_for(canned.url), "authorize", sale_request())


def test_follow_up_bodies(canned: Canned) -> None:
    for _ in range(3):
        canned.queue(200, {"success": True, "message": "ok", "result": APPROVED})
    gateway = gateway_for(canned.url)

    async def scenario() -> None:
        try:
            await gateway.capture(follow(4000))
            await gateway.void(follow())
            await gateway.refund(follow(1500))
        finally:
            await gateway.aclose()

    run(scenario())
    assert [(path, body) for _, path, body in canned.seen] == [
        ("/completion", b'{"transactionId":"t-123","amount":4000}'),
        ("/void", b'{"transactionId":"t-123"}'),
        ("/refund", b'{"transactionId":"t-123","amount":1500}'),
    ]


# -- refused before sending ---------------------------------------------------------------------------
def test_other_currency_is_refused_locally(canned: Canned) -> None:
    with pytest.raises(ValidationError) as refused:
        call(gateway_for(canned.url), "sale", sale_request(currency="USD"))
    assert refused.value.field == "currency"
    assert canned.seen == []


@pytest.mark.parametrize("verb", ["authorize", "capture", "void", "refund"])
def test_live_profile_refuses_sandbox_only_operations(canned: Canned, verb: str) -> None:
    request = sale_request() if verb == "authorize" else follow()
    gateway = OgoPayGateway(OgoPayConfig("https://127.0.0.1:9", "m-1", SECRET, live=True))
    with pytest.raises(NotSupportedError, match="not published"):
        call(gateway, verb, request)


def test_live_profile_needs_https() -> None:
    with pytest.raises(ValidationError) as refused:
        OgoPayGateway(OgoPayConfig("http://live-ipg.ogo.exchange", "m-1", SECRET, live=True))
    assert refused.value.field == "base_url"


def test_fetch_is_not_supported() -> None:
    gateway = gateway_for("http://127.0.0.1:9")

    async def scenario() -> None:
        try:
            with pytest.raises(NotSupportedError):
                await gateway.fetch("t-1", "ORDER-1")
        finally:
            await gateway.aclose()

    run(scenario())


def test_secret_stays_out_of_repr() -> None:
    assert SECRET not in repr(OgoPayConfig("https://x.example", "m-1", SECRET))


# -- the card page and the return post ----------------------------------------------------------------
HOSTED = HostedEntryRequest(
    merchant_reference="ORDER-7",
    customer_id="C-7",
    customer_name='Ann "<script>alert(1)</script>" Lee',
    amount=Money(125_050, "LKR"),
    return_url="http://127.0.0.1:5555/return/abc",
)


def begin(url: str = "https://test-ipg.ogo.exchange") -> Any:
    gateway = gateway_for(url)

    async def scenario() -> Any:
        try:
            return await gateway.begin_hosted_entry(HOSTED)
        finally:
            await gateway.aclose()

    return run(scenario())


def test_card_page_posts_to_ogo_with_our_hidden_fields() -> None:
    challenge = begin()
    assert challenge.html and challenge.url is None
    assert challenge.base_url == "http://127.0.0.1:5555"
    assert challenge.return_url_prefix == HOSTED.return_url
    assert challenge.allowed_origins == {"https://test-ipg.ogo.exchange", "http://127.0.0.1:5555"}
    [form] = forms_of(challenge.html, challenge.base_url)
    assert (form.method, form.action) == ("post", "https://test-ipg.ogo.exchange/registercard-html")
    assert form.fields == {
        "cardHolderName": HOSTED.customer_name,
        "cardNumber": "",
        "expiryMonth": "",
        "expiryYear": "",
        "merchantId": "m-1",
        "customerId": "C-7",
        "orderId": "ORDER-7",
        "returnUrl": HOSTED.return_url,
    }
    assert "Continue to 3-D Secure" in challenge.html
    assert "<script>alert(1)</script>" not in challenge.html
    assert html.escape(HOSTED.customer_name) in challenge.html
    assert re.search(r'<input id="cardNumber"[^>]*inputmode="numeric"[^>]*autocomplete="off"', challenge.html)
    assert re.search(r'<input id="cardNumber"[^>]*autofocus', challenge.html, re.S)
    assert "1,250.50" in challenge.html
    assert not re.search(r'name="(cvc|cvv|securityCode)"', challenge.html, re.I)


RETURNED = {
    "success": "true",
    "message": "Card tokenized successfully",
    "token": "3173b35fcc744fa88c5cdb425838cd08",
    "cardMask": "4242-42xx-xxxx-4242",
    "expiryMonth": "12",
    "expiryYear": "29",
    "cardType": "V",
    "merchantId": "m-1",
    "customerId": "C-7",
    "orderId": "ORDER-7",
}


def complete(fields: dict[str, str]) -> Any:
    gateway = gateway_for("http://127.0.0.1:9")

    async def scenario() -> Any:
        try:
            return await gateway.complete_hosted_entry(HOSTED, fields)
        finally:
            await gateway.aclose()

    return run(scenario())


def test_return_post_becomes_a_card_token() -> None:
    token = complete(RETURNED)
    assert token.token == RETURNED["token"]
    assert token.customer_id == "C-7"
    card = token.card
    assert (card.brand, card.first6, card.last4, card.expiry, card.token) == (
        "Visa", "424242", "4242", "12/29", RETURNED["token"],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "brand"), [("M", "Mastercard"), ("U", "UnionPay"), ("A", "American Express")]
)
def test_card_types(code: str, brand: str) -> None:
    assert complete({**RETURNED, "cardType": code}).card.brand == brand


@pytest.mark.parametrize("name", ["merchantId", "customerId", "orderId"])
def test_return_post_for_another_order_is_refused(name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        complete({**RETURNED, name: "someone-else"})
    assert refused.value.field == name


def test_failed_3ds_is_a_decline() -> None:
    fields = {**RETURNED, "success": "false", "message": "3-D Secure authentication failed"}
    del fields["token"]
    with pytest.raises(DeclinedError, match="3-D Secure"):
        complete(fields)


@pytest.mark.parametrize("broken", [{"token": ""}, {"success": "maybe"}])
def test_unreadable_return_post_is_refused(broken: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        complete({**RETURNED, **broken})


# -- capabilities and registry ------------------------------------------------------------------------
def test_capabilities() -> None:
    assert CAPABILITIES.operations[OperationKind.SALE] is Support.DOCUMENTED
    for kind in (OperationKind.AUTHORIZE, OperationKind.CAPTURE, OperationKind.VOID, OperationKind.REFUND):
        assert CAPABILITIES.operations[kind] is Support.SANDBOX_ONLY
        assert CAPABILITIES.unavailable_reason(kind, live=True)
        assert CAPABILITIES.unavailable_reason(kind, live=False) is None
    assert CAPABILITIES.currencies == {"LKR"}
    assert not CAPABILITIES.lookup_by_reference
    assert CAPABILITIES.hosted_entry and not CAPABILITIES.direct_entry


def test_registry() -> None:
    assert "ogopay" in GATEWAYS
    assert capabilities_of("ogopay") is CAPABILITIES
    assert SETTINGS_FIELDS["ogopay"] == ("base_url", "merchant_id")
    assert SECRET_FIELDS["ogopay"] == ("secret",)
    with pytest.raises(KeyError):
        capabilities_of("nope")
    with pytest.raises(ValidationError) as missing:
        build_gateway("ogopay", {"base_url": "https://x.example"}, {"secret": "s"}, live=False)
    assert missing.value.field == "merchant_id"
    with pytest.raises(ValidationError) as missing:
        build_gateway("ogopay", {"base_url": "https://x.example", "merchant_id": "m"}, {}, live=True)
    assert missing.value.field == "secret"


def test_no_adapter_takes_a_card_number() -> None:
    """ARCH-1 (a): no parameter or field in terminal/gateways is named like a card number, CVC or track."""
    # A CVC *result* (match / no match) is what the gateway reports, not the code itself.
    forbidden = re.compile(r"(^|_)(pan|card_?number|cvc|cvv|track)(?!_result)(_|$)", re.I)
    # ARCH-2: the one exception is base.CardDetails, direct entry's in-memory card (off by default).
    root = Path(__file__).resolve().parents[2] / "terminal" / "gateways"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = {
            id(child)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.name == "CardDetails" and path.name == "base.py"
            for child in node.body
        }
        for node in ast.walk(tree):
            if id(node) in exempt:
                continue
            names: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in names:
                assert not forbidden.search(name), f"{path.name}: {name}"
