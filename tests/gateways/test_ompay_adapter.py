"""The OMPay adapter against its simulator over real HTTP: Basic auth, a fresh client token per card page,
nonce reuse and expiry, the vault, direct entry (off by default), 3-D Secure read by GET, three-decimal OMR,
pay-by-link followed by its session status."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.gateways.base import (
    CardDetails,
    FollowUpRequest,
    Gateway,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.errors import AuthenticationError, DeclinedError, NotSupportedError, ValidationError
from terminal.gateways.ompay_status import wire_amount
from terminal.gateways.registry import build_gateway
from terminal.sim.ompay import create_app
from terminal.sim.runner import serve_app
from tests.gateways import browser_ompay
from tests.gateways.conftest import new_reference, run

RETURN_URL = "http://127.0.0.1:9/ompay-return"
SETTINGS = {"merchant_id": "sandboxmerchant1", "client_id": "sandboxclientid1"}
SECRETS = {"client_secret": "sandboxsecret001"}
YEAR = date.today().year + 2


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    url, stop = serve_app(create_app())
    yield url
    stop()


@pytest.fixture
def control(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


def gateway(base_url: str, **settings: str) -> Gateway:
    return build_gateway("ompay", {**SETTINGS, "base_url": base_url, **settings}, SECRETS, live=False)


def entry(minor: int = 1250, reference: str = "") -> HostedEntryRequest:
    return HostedEntryRequest(
        reference or new_reference(), "C-1", "Ada Lovelace", Money(minor, "OMR"), RETURN_URL
    )


def payment(token: str = "", minor: int = 1250, **extra: Any) -> PaymentRequest:
    return PaymentRequest(
        Money(minor, "OMR"), new_reference(), new_reference("K"), "C-1", token=token, **extra
    )


async def card_token(gw: Gateway, card: str = "4242 4242 4242 4242") -> str:
    request = entry()
    challenge = await gw.begin_hosted_entry(request)
    fields = await browser_ompay.enter_card(challenge, card)
    assert set(fields) == {"nonce", "brand", "last4", "expire_month", "expire_year", "order_id"}
    return (await gw.complete_hosted_entry(request, fields, challenge.context)).token


def effects(control: httpx.Client, kind: str) -> list[dict[str, Any]]:
    entries = control.get("/_sim/ledger").json()["entries"]
    return [e for e in entries if e["kind"] == kind and e["effect"]]


def test_wire_amounts_use_the_currency_exponent() -> None:
    assert wire_amount(Money(1250, "OMR")) == "1.250"
    assert wire_amount(Money(1000, "USD")) == "10.00"
    assert wire_amount(Money(5, "OMR")) == "0.005"
    with pytest.raises(ValidationError):
        wire_amount(Money(0, "OMR"))


def test_each_card_page_gets_a_fresh_client_token(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> list[str]:
        gw = gateway(base_url)
        try:
            pages = [await gw.begin_hosted_entry(entry()) for _ in range(2)]
        finally:
            await gw.aclose()
        return [browser_ompay.read_page(p).card_form["data-client-token"] for p in pages]

    first, second = run(scenario())
    assert first != second
    assert control.get("/_sim/requests").json()["requests"]["client_token"] == 2


def test_card_page_is_ours_and_allows_only_the_gateway_and_return_origins(
    base_url: str, control: httpx.Client
) -> None:
    async def scenario() -> Any:
        gw = gateway(base_url)
        try:
            return await gw.begin_hosted_entry(entry(reference="ORDER<1>"))
        finally:
            await gw.aclose()

    challenge = run(scenario())
    assert challenge.url is None and challenge.html and challenge.base_url == "http://127.0.0.1:9"
    assert challenge.allowed_origins == frozenset({base_url, "http://127.0.0.1:9"})
    assert "ORDER&lt;1&gt;" in challenge.html and "ORDER<1>" not in challenge.html
    assert "1.250" in challenge.html  # OMR shown with its three decimals


def test_sale_of_1_250_omr_sends_1_250(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> GatewayResult:
        gw = gateway(base_url)
        try:
            return await gw.sale(payment(await card_token(gw)))
        finally:
            await gw.aclose()

    result = run(scenario())
    assert result.outcome is Outcome.APPROVED and result.amount == Money(1250, "OMR")
    assert result.card is not None and result.card.last4 == "4242" and not result.token
    assert "(vault id)" in str(result.raw)
    [sale] = effects(control, "sale")
    assert (sale["total"], sale["amount"], sale["currency"], sale["funding"]) == (
        "1.250",
        1250,
        "OMR",
        "credit_card_nonce",
    )


def test_nonce_reuse_is_refused_and_charges_once(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> None:
        gw = gateway(base_url)
        try:
            token = await card_token(gw)
            assert (await gw.sale(payment(token))).outcome is Outcome.APPROVED
            with pytest.raises(ValidationError) as refused:
                await gw.sale(payment(token))
            assert (refused.value.field, refused.value.gateway_code) == ("token", "4221")
        finally:
            await gw.aclose()

    run(scenario())
    assert len(effects(control, "sale")) == 1


def test_expired_nonce_is_refused_on_the_simulator_clock(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> None:
        gw = gateway(base_url)
        try:
            token = await card_token(gw)
            control.post("/_sim/clock", json={"advance_s": 3 * 3600 + 5}).raise_for_status()
            with pytest.raises(ValidationError) as refused:
                await gw.sale(payment(token))
            assert (refused.value.field, refused.value.gateway_code) == ("token", "4223")
        finally:
            await gw.aclose()

    run(scenario())
    assert effects(control, "sale") == []


def test_saved_card_returns_a_vault_id_that_charges_again(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> tuple[GatewayResult, GatewayResult]:
        gw = gateway(base_url)
        try:
            first = await gw.sale(payment(await card_token(gw), save_card=True))
            again = await gw.authorize(payment(first.token, minor=3000))
            return first, again
        finally:
            await gw.aclose()

    first, again = run(scenario())
    assert uuid.UUID(first.token) and first.token not in str(first.raw)
    assert again.outcome is Outcome.APPROVED and again.card is not None and again.card.last4 == "4242"
    assert [e["funding"] for e in effects(control, "sale") + effects(control, "auth")] == [
        "credit_card_nonce",
        "credit_card_token",
    ]


def test_direct_entry_is_off_by_default_and_works_when_enabled(base_url: str, control: httpx.Client) -> None:
    card = CardDetails("4111111111111111", 12, YEAR, "123", "Ada")

    async def scenario() -> GatewayResult:
        off, on = gateway(base_url), gateway(base_url, direct_entry="on")
        try:
            with pytest.raises(NotSupportedError):
                await off.sale(payment(card=card))
            return await on.sale(payment(card=card, save_card=True))
        finally:
            await off.aclose()
            await on.aclose()

    result = run(scenario())
    assert result.outcome is Outcome.APPROVED and result.token
    assert "4111111111111111" not in str(result.raw) and "123" not in str(result.raw.get("payer"))
    assert len(effects(control, "sale")) == 1
    assert control.get("/_sim/requests").json()["requests"]["payment"] == 1  # the refused one never left


@pytest.mark.parametrize(
    ("card", "code"),
    [("4000 0000 0000 0002", DeclineCode.DO_NOT_HONOUR), ("4000 0000 0000 0127", DeclineCode.CVC_FAILED)],
)
def test_declines_are_normalised(base_url: str, control: httpx.Client, card: str, code: DeclineCode) -> None:
    async def scenario() -> GatewayResult:
        gw = gateway(base_url)
        try:
            return await gw.sale(payment(await card_token(gw, card)))
        finally:
            await gw.aclose()

    result = run(scenario())
    assert (result.outcome, result.decline_code) == (Outcome.DECLINED, code)


def _three_d_secure(
    base_url: str, answer: str, forged: dict[str, str] | None = None
) -> tuple[GatewayResult, GatewayResult]:
    async def scenario() -> tuple[GatewayResult, GatewayResult]:
        gw = gateway(base_url)
        try:
            token = await card_token(gw, "4000 0000 0000 3220")
            started = await gw.authorize(payment(token, return_url=RETURN_URL, save_card=True))
            assert started.outcome is Outcome.CHALLENGE and started.challenge is not None
            page = started.challenge
            assert page.url and page.return_url_prefix == RETURN_URL and base_url in page.allowed_origins
            async with httpx.AsyncClient(timeout=5.0) as browser:
                assert (await browser.get(page.url)).status_code == 200
                back = await browser.post(f"{page.url}/{answer}")
            assert back.status_code == 303 and back.headers["location"].startswith(RETURN_URL)
            fields = dict(httpx.URL(back.headers["location"]).params)
            assert fields["reference_id"] == started.gateway_reference
            return started, await gw.complete_challenge(started, forged or fields, page.context)
        finally:
            await gw.aclose()

    return run(scenario())


def test_three_d_secure_approved_is_read_with_get(base_url: str, control: httpx.Client) -> None:
    started, done = _three_d_secure(base_url, "approve")
    assert done.outcome is Outcome.APPROVED and done.gateway_reference == started.gateway_reference
    assert done.token and done.amount == Money(1250, "OMR")
    assert len(effects(control, "auth")) == 1


def test_three_d_secure_declined_is_authentication_failed(base_url: str, control: httpx.Client) -> None:
    _, done = _three_d_secure(base_url, "decline")
    assert (done.outcome, done.decline_code, done.token) == (
        Outcome.DECLINED,
        DeclineCode.AUTHENTICATION_FAILED,
        "",
    )
    assert effects(control, "auth") == []


def test_three_d_secure_return_parameters_are_not_believed(base_url: str, control: httpx.Client) -> None:
    """A return URL naming another (approved) payment does not approve this declined one."""
    _, done = _three_d_secure(
        base_url, "decline", forged={"reference_id": "SOMEOTHERPAYMENT0001", "state": "captured"}
    )
    assert done.outcome is Outcome.DECLINED


def test_capture_partial_void_and_refunds_up_to_captured(base_url: str, control: httpx.Client) -> None:
    def follow(parent: GatewayResult, minor: int) -> FollowUpRequest:
        return FollowUpRequest(
            Money(minor, "OMR"), new_reference("F"), new_reference("K"), parent.gateway_reference
        )

    async def scenario() -> None:
        gw = gateway(base_url)
        try:
            auth = await gw.authorize(payment(await card_token(gw), minor=10_000))
            capture = await gw.capture(follow(auth, 6_000))
            assert capture.outcome is Outcome.APPROVED and capture.amount == Money(6_000, "OMR")
            for part in (2_500, 3_500):  # refunds name the authorisation, as the service does
                assert (await gw.refund(follow(auth, part))).outcome is Outcome.APPROVED
            with pytest.raises(DeclinedError):
                await gw.refund(follow(auth, 1))
            with pytest.raises(DeclinedError):
                await gw.void(follow(auth, 10_000))
            other = await gw.authorize(payment(await card_token(gw)))
            assert (await gw.void(follow(other, 1250))).outcome is Outcome.APPROVED
        finally:
            await gw.aclose()

    run(scenario())
    assert [e["amount"] for e in effects(control, "refund")] == [2_500, 3_500]
    assert len(effects(control, "void")) == 1


def test_wrong_secret_is_an_authentication_error(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> None:
        gw = build_gateway(
            "ompay", {**SETTINGS, "base_url": base_url}, {"client_secret": "x" * 16}, live=False
        )
        try:
            with pytest.raises(AuthenticationError):
                await gw.test_connection()
        finally:
            await gw.aclose()

    run(scenario())
    expected = "Basic " + base64.b64encode(b"sandboxclientid1:sandboxsecret001").decode()
    assert expected.startswith("Basic c2FuZGJveGNsaWVudGlkMTpz")  # RFC 7617: base64(client id ":" secret)


def _pay_link(link: str, card: str) -> None:
    form = {"number": card, "expire_month": "12", "expire_year": str(YEAR), "cvv2": "123"}
    assert httpx.post(link, data=form, timeout=5).status_code == 303


def test_pay_by_link_is_followed_until_used(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> list[GatewayResult]:
        gw = gateway(base_url)
        try:
            invoice = await gw.create_invoice(
                payment(minor=5_500, return_url=RETURN_URL, customer_name="Ada")
            )
            assert invoice.outcome is Outcome.PENDING and invoice.link_url.startswith(base_url)
            seen = [await gw.fetch(invoice.gateway_reference, "")]
            _pay_link(invoice.link_url, "4242424242424242")
            for _ in range(5):  # bounded: the page is paid already, the first read after says so
                seen.append(await gw.fetch(invoice.gateway_reference, ""))
                if seen[-1].outcome is not Outcome.PENDING:
                    break
            return seen
        finally:
            await gw.aclose()

    first, *rest = run(scenario())
    assert first.outcome is Outcome.PENDING
    assert rest[-1].outcome is Outcome.APPROVED and rest[-1].amount == Money(5_500, "OMR")
    assert len(rest[-1].gateway_reference) == 20  # the payment's id, for later refunds
    assert [e["total"] for e in effects(control, "sale")] == ["5.500"]


def test_pay_by_link_expires_unused(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> GatewayResult:
        gw = gateway(base_url)
        try:
            invoice = await gw.create_invoice(payment(return_url=RETURN_URL))
            control.post("/_sim/clock", json={"advance_s": 3601}).raise_for_status()
            return await gw.fetch(invoice.gateway_reference, "")
        finally:
            await gw.aclose()

    result = run(scenario())
    assert (result.outcome, result.decline_code) == (Outcome.DECLINED, DeclineCode.EXPIRED_SESSION)


def test_no_lookup_by_order_reference(base_url: str) -> None:
    async def scenario() -> None:
        gw = gateway(base_url)
        try:
            with pytest.raises(NotSupportedError):
                await gw.fetch("", "ORDER1")
        finally:
            await gw.aclose()

    run(scenario())
