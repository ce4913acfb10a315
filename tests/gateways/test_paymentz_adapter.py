"""The Paymentz adapter against its simulator over HTTP on 127.0.0.1: AuthToken life, direct entry (off by
default), follow-ups, inquiries, 3-D Secure, hosted checkout, recurring, saved cards and payouts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import (
    FollowUpRequest,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
    Recurring,
)
from terminal.gateways.errors import AuthenticationError, DeclinedError, NotSupportedError, ValidationError
from terminal.gateways.paymentz import PaymentzConfig, PaymentzGateway
from terminal.sim.paymentz import create_app
from terminal.sim.runner import serve_app
from tests.gateways.browser_paymentz import card, checkout, three_d_secure
from tests.gateways.conftest import new_reference, run

RETURN_URL = "http://127.0.0.1:9/pz-return"
APPROVED, CHALLENGE = "4242424242424242", "4000000000003220"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    url, stop = serve_app(create_app(), "127.0.0.1", 0)
    yield url
    stop()


@pytest.fixture
def sim(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5) as control:
        control.post("/_sim/reset").raise_for_status()
        yield control


class FakeClock:
    """The adapter's clock, moved by the test (the simulator keeps its own)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def gateway(
    base_url: str, *, direct_entry: bool = True, key: str = "sandbox-secure-key", clock: Any = None
) -> PaymentzGateway:
    config = PaymentzConfig(
        host=base_url,
        member_id="10001",
        partner_id="1",
        username="sandbox",
        terminal_id="1",
        secure_key=key,
        direct_entry=direct_entry,
    )
    return PaymentzGateway(config, clock=clock)


def kinds(sim: httpx.Client, *, effect_only: bool = False) -> list[str]:
    entries = sim.get("/_sim/ledger").json()["entries"]
    return [e["kind"] for e in entries if e["effect"] or not effect_only]


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def direct(number: str = APPROVED, minor: int = 10_000, **extra: Any) -> PaymentRequest:
    return PaymentRequest(
        amount=eur(minor),
        merchant_reference=new_reference("PZ"),
        idempotency_key=new_reference("K"),
        customer_id="C-1",
        card=card(number),
        **extra,
    )


def follow(parent: GatewayResult, minor: int) -> FollowUpRequest:
    return FollowUpRequest(
        amount=eur(minor),
        merchant_reference=new_reference("F"),
        idempotency_key=new_reference("K"),
        parent_reference=parent.gateway_reference,
    )


# -- AuthToken ------------------------------------------------------------------------------------------
def test_token_is_obtained_once_and_cached(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            await pz.test_connection()
            await pz.test_connection()
            assert pz.tokens.issued == 1
        finally:
            await pz.aclose()

    run(scenario())
    assert kinds(sim) == ["authToken"]


def test_token_is_renewed_before_its_hour_ends(base_url: str, sim: httpx.Client) -> None:
    clock = FakeClock()

    async def scenario() -> None:
        pz = gateway(base_url, clock=clock)
        try:
            await pz.test_connection()
            clock.now += timedelta(minutes=54)
            await pz.test_connection()
            assert pz.tokens.issued == 1  # still more than five minutes left
            clock.now += timedelta(minutes=2)
            await pz.test_connection()
            assert pz.tokens.issued == 2
        finally:
            await pz.aclose()

    run(scenario())
    assert kinds(sim) == ["authToken", "authToken"]  # never refused


def test_token_refused_with_401_is_renewed_once_and_the_call_succeeds(
    base_url: str, sim: httpx.Client
) -> None:
    async def scenario() -> GatewayResult:
        pz = gateway(base_url)
        try:
            await pz.test_connection()
            sim.post("/_sim/clock", json={"advance_s": 3700}).raise_for_status()  # the gateway says expired
            return await pz.sale(direct())
        finally:
            await pz.aclose()

    assert run(scenario()).outcome is Outcome.APPROVED
    assert kinds(sim) == ["authToken", "authFailed", "authToken", "DB"]


def test_wrong_secure_key_gets_no_token(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> None:
        pz = gateway(base_url, key="wrong-key")
        try:
            with pytest.raises(AuthenticationError):
                await pz.sale(direct())
        finally:
            await pz.aclose()

    run(scenario())
    assert kinds(sim) == []


# -- direct entry and follow-ups ------------------------------------------------------------------------
def test_direct_entry_is_off_unless_the_profile_enables_it(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> None:
        pz = gateway(base_url, direct_entry=False)
        try:
            with pytest.raises(NotSupportedError, match="Direct card entry is off"):
                await pz.sale(direct())
            with pytest.raises(NotSupportedError):
                await pz.create_token(card(APPROVED), "C-1")
        finally:
            await pz.aclose()

    run(scenario())
    assert kinds(sim) == []


def test_direct_sale_never_puts_the_card_in_the_result(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> GatewayResult:
        pz = gateway(base_url)
        try:
            return await pz.sale(direct(minor=1234))
        finally:
            await pz.aclose()

    result = run(scenario())
    assert result.outcome is Outcome.APPROVED and result.amount == eur(1234)
    assert result.card is not None and result.card.last4 == "4242" and result.card.brand == "Visa"
    assert APPROVED not in repr(result.raw) and "123" not in str(result.raw.get("card", {}))


def test_preauth_capture_partial_reverse_and_one_refund(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            auth = await pz.authorize(direct(minor=10_000))
            assert auth.outcome is Outcome.APPROVED and auth.kind == "authorize"
            captured = await pz.capture(follow(auth, 6_000))
            assert captured.amount == eur(6_000)
            with pytest.raises(DeclinedError):
                await pz.void(follow(auth, 10_000))  # RV only while not captured
            refund = await pz.refund(follow(auth, 2_000))
            assert refund.outcome is Outcome.APPROVED and refund.amount == eur(2_000)
            with pytest.raises(DeclinedError) as second:
                await pz.refund(follow(auth, 1_000))
            assert second.value.gateway_code == "10006"
            other = await pz.authorize(direct(minor=5_000))
            voided = await pz.void(follow(other, 5_000))
            assert voided.outcome is Outcome.APPROVED
        finally:
            await pz.aclose()

    run(scenario())
    assert kinds(sim, effect_only=True) == ["PA", "CP", "RF", "PA", "RV"]


def test_inquiry_by_payment_id_and_by_merchant_transaction_id(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> tuple[GatewayResult, GatewayResult, GatewayResult, GatewayResult]:
        pz = gateway(base_url)
        try:
            request = direct(minor=777)
            sale = await pz.sale(request)
            by_id = await pz.fetch(sale.gateway_reference, "")
            by_reference = await pz.fetch("", request.merchant_reference)
            missing = await pz.fetch("", "NEVER-USED")
            return sale, by_id, by_reference, missing
        finally:
            await pz.aclose()

    sale, by_id, by_reference, missing = run(scenario())
    for found in (by_id, by_reference):
        assert (found.outcome, found.gateway_reference, found.amount) == (
            Outcome.APPROVED,
            sale.gateway_reference,
            eur(777),
        )
    assert missing.outcome is Outcome.PENDING and missing.gateway_code == "10026"


@pytest.mark.parametrize(
    ("number", "code"),
    [("4000000000000002", DeclineCode.DO_NOT_HONOUR), ("4000000000000127", DeclineCode.CVC_FAILED)],
)
def test_direct_declines_are_normalised(
    base_url: str, sim: httpx.Client, number: str, code: DeclineCode
) -> None:
    async def scenario() -> GatewayResult:
        pz = gateway(base_url)
        try:
            return await pz.sale(direct(number))
        finally:
            await pz.aclose()

    result = run(scenario())
    assert (result.outcome, result.decline_code) == (Outcome.DECLINED, code)
    assert kinds(sim, effect_only=True) == []


def test_invalid_card_number_names_the_field(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            with pytest.raises(ValidationError) as refused:
                await pz.sale(direct("4242424242424241"))
            assert refused.value.field == "card_number"
        finally:
            await pz.aclose()

    run(scenario())


# -- 3-D Secure and the hosted checkout ------------------------------------------------------------------
@pytest.mark.parametrize("approve", [True, False])
def test_3ds_redirect_then_inquiry_decides(base_url: str, sim: httpx.Client, approve: bool) -> None:
    async def scenario() -> tuple[GatewayResult, GatewayResult, dict[str, str]]:
        pz = gateway(base_url)
        try:
            first = await pz.sale(direct(CHALLENGE, 2_500, return_url=RETURN_URL))
            assert first.outcome is Outcome.CHALLENGE and first.challenge is not None
            assert first.challenge.return_url_prefix == RETURN_URL
            action, fields = await three_d_secure(first.challenge, approve=approve)
            assert action == RETURN_URL
            # A forged "approved" return changes nothing: the inquiry decides.
            forged = {**fields, "transactionStatus": "Y", "status": "capturesuccess"}
            return first, await pz.complete_challenge(first, forged, first.challenge.context), fields
        finally:
            await pz.aclose()

    first, final, fields = run(scenario())
    assert fields["paymentId"] == first.gateway_reference
    if approve:
        assert (final.outcome, final.amount) == (Outcome.APPROVED, eur(2_500))
        assert kinds(sim, effect_only=True) == ["DB"]
    else:
        assert (final.outcome, final.decline_code) == (Outcome.DECLINED, DeclineCode.AUTHENTICATION_FAILED)
        assert kinds(sim, effect_only=True) == []


@pytest.mark.parametrize(
    ("page", "effects"), [(OperationKind.SALE, ["DB"]), (OperationKind.AUTHORIZE, ["PA", "CP"])]
)
def test_hosted_checkout_with_3ds_then_sale(
    base_url: str, sim: httpx.Client, page: OperationKind, effects: list[str]
) -> None:
    """A sale page takes the sale itself (DB); a page that only pre-authorised is captured by sale()."""
    request = HostedEntryRequest(new_reference("HC"), "C-5", "Ada", eur(4_000), RETURN_URL, kind=page)

    async def scenario() -> GatewayResult:
        pz = gateway(base_url, direct_entry=False)  # the hosted page needs no direct entry
        try:
            challenge = await pz.begin_hosted_entry(request)
            assert challenge.html and "sandbox-secure-key" not in challenge.html
            _, fields = await checkout(challenge, CHALLENGE)
            token = await pz.complete_hosted_entry(request, fields, challenge.context)
            assert token.card.last4 == "3220"
            sale = PaymentRequest(eur(4_000), request.merchant_reference, "K1", "C-5", token=token.token)
            return await pz.sale(sale)
        finally:
            await pz.aclose()

    result = run(scenario())
    assert (result.outcome, result.amount, result.kind) == (Outcome.APPROVED, eur(4_000), "sale")
    assert kinds(sim, effect_only=True) == effects


# -- recurring, saved cards, payouts ----------------------------------------------------------------------
def test_recurring_initial_then_repeated_without_the_card(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> tuple[GatewayResult, GatewayResult]:
        pz = gateway(base_url)
        try:
            initial = await pz.sale(direct(minor=990, recurring=Recurring.INITIAL))
            assert initial.token == initial.gateway_reference
            repeat = PaymentRequest(
                eur(990), new_reference("RP"), "K2", "C-1", token=initial.token, recurring=Recurring.REPEATED
            )
            return initial, await pz.sale(repeat)
        finally:
            await pz.aclose()

    initial, repeated = run(scenario())
    assert repeated.outcome is Outcome.APPROVED and repeated.gateway_reference != initial.gateway_reference
    assert kinds(sim, effect_only=True) == ["DB", "DB"]


def test_saved_card_pay_with_token_then_delete(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            saved = await pz.sale(direct(minor=100, save_card=True))
            assert saved.token and saved.token not in repr(saved.raw)
            token = await pz.create_token(card("5555555555554444"), "C-2")
            assert token.card.last4 == "4444" and token.card.brand == "Mastercard"
            paid = await pz.sale(
                PaymentRequest(eur(250), new_reference("TK"), "K3", "C-2", token=token.token)
            )
            assert paid.outcome is Outcome.APPROVED and paid.amount == eur(250)
            await pz.delete_token(token.token)
            with pytest.raises(ValidationError) as gone:
                await pz.sale(PaymentRequest(eur(250), new_reference("TK"), "K4", "C-2", token=token.token))
            assert gone.value.field == "token"
        finally:
            await pz.aclose()

    run(scenario())
    assert kinds(sim, effect_only=True) == ["DB", "DB"]


def test_payouts_to_a_card_and_to_an_earlier_payment(base_url: str, sim: httpx.Client) -> None:
    async def scenario() -> list[GatewayResult]:
        pz = gateway(base_url)
        try:
            sale = await pz.sale(direct(minor=3_000))
            to_card = await pz.payout(direct(minor=1_000))
            to_payment = await pz.payout(
                PaymentRequest(
                    eur(500), new_reference("PO"), "K5", "C-1", parent_reference=sale.gateway_reference
                )
            )
            declined = await pz.payout(direct("4000000000009995", 700))
            return [to_card, to_payment, declined]
        finally:
            await pz.aclose()

    to_card, to_payment, declined = run(scenario())
    assert (to_card.outcome, to_card.kind, to_card.amount) == (Outcome.APPROVED, "payout", eur(1_000))
    assert (to_payment.outcome, to_payment.amount) == (Outcome.APPROVED, eur(500))
    assert (declined.outcome, declined.decline_code) == (Outcome.DECLINED, DeclineCode.INSUFFICIENT_FUNDS)
    entries = [e for e in sim.get("/_sim/ledger").json()["entries"] if e["kind"] == "payout"]
    assert [(e["amount"], e["effect"]) for e in entries] == [(1_000, True), (500, True), (700, False)]
