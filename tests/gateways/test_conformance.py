"""The conformance suite: every adapter against its simulator over real HTTP on 127.0.0.1.

Each case is skipped, naming the capability, when the gateway does not declare it. Fault cases use
the simulator's control API and client timeouts of at most one second.
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from terminal.domain.capabilities import Capabilities
from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.operations import OperationKind
from terminal.domain.scrub import contains_card_number
from terminal.gateways.base import (
    CardToken,
    Challenge,
    FollowUpRequest,
    Gateway,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    GatewayUnavailableError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.registry import capabilities_of
from tests.gateways.conftest import FAULT_TIMEOUT, SimHarness, new_reference, run


def caps(sim: SimHarness) -> Capabilities:
    return capabilities_of(sim.gut.name)


def need(sim: SimHarness, *kinds: OperationKind, flags: tuple[str, ...] = ()) -> None:
    """Skip unless the gateway offers these operations and capability flags."""
    declared = caps(sim)
    for kind in kinds:
        if kind not in declared.operations:
            pytest.skip(f"{sim.gut.name} lacks capability: {kind.value}")
    for flag in flags:
        if not getattr(declared, flag):
            pytest.skip(f"{sim.gut.name} lacks capability: {flag}")


def need_cards(sim: SimHarness) -> None:
    """Skip unless sale() itself moves the money (card gateways), rather than confirming a bank transfer."""
    if sim.gut.payment_method != "card":
        pytest.skip(f"{sim.gut.name} lacks capability: card payments")


def need_bank_transfer(sim: SimHarness) -> None:
    """Skip unless the payer moves the money on the gateway's page and sale() confirms it."""
    if sim.gut.payment_method != "bank_transfer":
        pytest.skip(f"{sim.gut.name} lacks capability: bank transfer")


def payment(
    sim: SimHarness, token: str, customer_id: str, minor: int | None = None, reference: str = ""
) -> PaymentRequest:
    return PaymentRequest(
        amount=sim.gut.money(minor),
        merchant_reference=reference or new_reference(),
        idempotency_key=new_reference("K"),
        customer_id=customer_id,
        token=token,
    )


def follow_up(sim: SimHarness, parent: GatewayResult, minor: int) -> FollowUpRequest:
    return FollowUpRequest(
        amount=sim.gut.money(minor),
        merchant_reference=new_reference("F"),
        idempotency_key=new_reference("K"),
        parent_reference=parent.gateway_reference,
    )


def assert_clean(sim: SimHarness, result: GatewayResult, *tokens: str) -> None:
    """The raw copy holds no card token, no secret and no card number."""
    text = json.dumps(dict(result.raw))
    for value in (*tokens, *sim.gut.all_secrets):
        assert value not in text
    assert not contains_card_number(text), text


def assert_approved(sim: SimHarness, result: GatewayResult, minor: int, *tokens: str) -> None:
    assert result.outcome is Outcome.APPROVED, result
    assert result.gateway_reference
    assert result.amount == sim.gut.money(minor)
    assert_clean(sim, result, *tokens)


# -- connection and credentials -------------------------------------------------------------------
def test_connection(sim: SimHarness) -> None:
    async def scenario() -> str:
        gateway = sim.gateway()
        try:
            return await gateway.test_connection()
        finally:
            await gateway.aclose()

    assert run(scenario())


def test_wrong_credentials_are_refused_and_nothing_moves(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)

    async def scenario() -> None:
        good, bad = sim.gateway(), sim.gateway(wrong_credentials=True)
        try:
            card = await sim.token(good)
            with pytest.raises(AuthenticationError):
                await bad.sale(payment(sim, card.token, card.customer_id))
        finally:
            await good.aclose()
            await bad.aclose()

    run(scenario())
    assert sim.effects() == []


def test_unreachable_gateway_is_unavailable(sim: SimHarness) -> None:
    """A stopped simulator refuses the connection: provably nothing was sent."""
    base_url, stop = sim.gut.start_simulator()
    stop()

    async def scenario() -> None:
        gateway = sim.gut.build(base_url, timeout=FAULT_TIMEOUT)
        try:
            with pytest.raises(GatewayUnavailableError):
                await gateway.test_connection()
            if OperationKind.SALE in caps(sim).operations and sim.gut.payment_method == "card":
                with pytest.raises(GatewayUnavailableError):
                    await gateway.sale(payment(sim, "0" * 32, "C1"))
        finally:
            await gateway.aclose()

    run(scenario())


# -- sales ------------------------------------------------------------------------------------------
def test_sale_approved(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)

    async def scenario() -> tuple[GatewayResult, str]:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway)
            assert card.card.last4 == sim.gut.approved_card[-4:]
            return await gateway.sale(payment(sim, card.token, card.customer_id)), card.token
        finally:
            await gateway.aclose()

    result, token = run(scenario())
    assert_approved(sim, result, sim.gut.amount_minor, token)
    [charge] = sim.effects(OperationKind.SALE)
    assert charge["amount"] == sim.gut.amount_minor
    assert charge["currency"] == sim.gut.currency


@pytest.mark.parametrize(
    "code", [DeclineCode.DO_NOT_HONOUR, DeclineCode.INSUFFICIENT_FUNDS, DeclineCode.EXPIRED_CARD], ids=str
)
def test_sale_declined(sim: SimHarness, code: DeclineCode) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)
    card_number = sim.gut.decline_cards.get(code)
    if card_number is None:
        pytest.skip(f"{sim.gut.name} has no test card for {code}")

    async def scenario() -> tuple[GatewayResult, str]:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway, card_number)
            return await gateway.sale(payment(sim, card.token, card.customer_id)), card.token
        finally:
            await gateway.aclose()

    result, token = run(scenario())
    assert result.outcome is Outcome.DECLINED
    assert result.decline_code is code
    assert result.gateway_code
    assert_clean(sim, result, token)
    assert sim.effects() == []


def test_duplicate_reference_is_refused_and_charges_once(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)
    reference = new_reference("DUP")

    async def scenario() -> None:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway)
            first = await gateway.sale(payment(sim, card.token, card.customer_id, reference=reference))
            assert first.outcome is Outcome.APPROVED
            with pytest.raises(ValidationError) as refused:
                await gateway.sale(payment(sim, card.token, card.customer_id, reference=reference))
            assert refused.value.field
        finally:
            await gateway.aclose()

    run(scenario())
    assert len(sim.effects(OperationKind.SALE)) == 1


# -- pre-authorisation and follow-ups ------------------------------------------------------------------
def test_authorize_capture_partial_then_refund_in_two_parts(sim: SimHarness) -> None:
    need(
        sim,
        OperationKind.AUTHORIZE,
        OperationKind.CAPTURE,
        OperationKind.REFUND,
        flags=("partial_capture", "partial_refund", "multiple_refund"),
    )
    authorised, captured, first_refund = 100_000, 60_000, 25_000

    async def scenario() -> list[GatewayResult]:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway)
            auth = await gateway.authorize(payment(sim, card.token, card.customer_id, authorised))
            assert_approved(sim, auth, authorised, card.token)
            capture = await gateway.capture(follow_up(sim, auth, captured))
            assert_approved(sim, capture, captured, card.token)
            part = await gateway.refund(follow_up(sim, capture, first_refund))
            rest = await gateway.refund(follow_up(sim, capture, captured - first_refund))
            return [part, rest]
        finally:
            await gateway.aclose()

    part, rest = run(scenario())
    assert_approved(sim, part, first_refund)
    assert_approved(sim, rest, captured - first_refund)
    assert [e["amount"] for e in sim.effects(OperationKind.CAPTURE)] == [captured]
    assert [e["amount"] for e in sim.effects(OperationKind.REFUND)] == [first_refund, captured - first_refund]


def test_authorize_then_void(sim: SimHarness) -> None:
    need(sim, OperationKind.AUTHORIZE, OperationKind.VOID)

    async def scenario() -> GatewayResult:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway)
            auth = await gateway.authorize(payment(sim, card.token, card.customer_id))
            assert auth.outcome is Outcome.APPROVED
            return await gateway.void(follow_up(sim, auth, sim.gut.amount_minor))
        finally:
            await gateway.aclose()

    assert_approved(sim, run(scenario()), sim.gut.amount_minor)
    assert len(sim.effects(OperationKind.VOID)) == 1


def test_sale_then_void(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE, OperationKind.VOID, flags=("void_after_capture",))

    async def scenario() -> GatewayResult:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway)
            sale = await gateway.sale(payment(sim, card.token, card.customer_id))
            assert sale.outcome is Outcome.APPROVED
            return await gateway.void(follow_up(sim, sale, sim.gut.amount_minor))
        finally:
            await gateway.aclose()

    assert_approved(sim, run(scenario()), sim.gut.amount_minor)
    assert len(sim.effects(OperationKind.VOID)) == 1


def test_over_capture_is_refused_by_the_gateway(sim: SimHarness) -> None:
    need(sim, OperationKind.AUTHORIZE, OperationKind.CAPTURE)

    async def scenario() -> None:
        gateway = sim.gateway()
        try:
            card = await sim.token(gateway)
            auth = await gateway.authorize(payment(sim, card.token, card.customer_id, 50_000))
            with pytest.raises(DeclinedError):
                await gateway.capture(follow_up(sim, auth, 50_001))
        finally:
            await gateway.aclose()

    run(scenario())
    assert sim.effects(OperationKind.CAPTURE) == []


# -- faults -------------------------------------------------------------------------------------------
def _sale_under_fault(sim: SimHarness, fault: str, delay_ms: int | None = None) -> None:
    """Tokenise, arm `fault` on the sale path, sell with short timeouts: the outcome must be unknown."""

    async def scenario() -> None:
        gateway = sim.gateway(timeout=FAULT_TIMEOUT)
        try:
            card = await sim.token(gateway)
            sim.arm(OperationKind.SALE, fault, delay_ms=delay_ms)
            with pytest.raises(OutcomeUnknownError) as unknown:
                await gateway.sale(payment(sim, card.token, card.customer_id))
            assert card.token not in unknown.value.message
        finally:
            await gateway.aclose()

    run(scenario())


def test_timeout_after_commit_is_unknown_and_charged_once(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)
    _sale_under_fault(sim, "timeout_after_commit", delay_ms=1500)
    assert len(sim.effects(OperationKind.SALE)) == 1


def test_reset_after_commit_is_unknown(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)
    _sale_under_fault(sim, "reset_after_commit")
    assert len(sim.effects(OperationKind.SALE)) == 1


def test_http_503_is_unknown_and_has_no_effect(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)
    _sale_under_fault(sim, "http_503")
    assert sim.effects() == []


def test_malformed_json_is_unknown(sim: SimHarness) -> None:
    need(sim, OperationKind.SALE)
    need_cards(sim)
    _sale_under_fault(sim, "malformed_json")
    assert len(sim.effects(OperationKind.SALE)) == 1


def test_timeout_on_a_follow_up_is_unknown(sim: SimHarness) -> None:
    need(sim, OperationKind.AUTHORIZE, OperationKind.CAPTURE)

    async def scenario() -> None:
        gateway = sim.gateway(timeout=FAULT_TIMEOUT)
        try:
            card = await sim.token(gateway)
            auth = await gateway.authorize(payment(sim, card.token, card.customer_id))
            sim.arm(OperationKind.CAPTURE, "timeout_after_commit", delay_ms=1500)
            with pytest.raises(OutcomeUnknownError):
                await gateway.capture(follow_up(sim, auth, sim.gut.amount_minor))
        finally:
            await gateway.aclose()

    run(scenario())
    assert len(sim.effects(OperationKind.CAPTURE)) == 1


# -- bank transfers: the payer pays on the gateway's page, sale() confirms it -----------------------------
def _sale_after(request: HostedEntryRequest, token: CardToken) -> PaymentRequest:
    """The sale the service sends once the page has returned: same order, same amount."""
    return PaymentRequest(
        amount=request.amount,
        merchant_reference=request.merchant_reference,
        idempotency_key=new_reference("K"),
        customer_id=token.customer_id,
        token=token.token,
    )


def _page_request(sim: SimHarness) -> HostedEntryRequest:
    return HostedEntryRequest(
        merchant_reference=new_reference(),
        customer_id=new_reference("C"),
        customer_name="Test Payer",
        amount=sim.gut.money(),
        return_url=sim.gut.return_url,
    )


async def _open_page(sim: SimHarness, gateway: Gateway) -> tuple[HostedEntryRequest, Challenge]:
    request = _page_request(sim)
    challenge = await gateway.begin_hosted_entry(request)
    assert challenge.url and challenge.reference
    return request, challenge


async def _answer(sim: SimHarness, challenge: Challenge, action: str) -> dict[str, str]:
    assert sim.gut.page_answer is not None
    return await sim.gut.page_answer(challenge, action)


def test_bank_transfer_paid_on_the_page_is_confirmed_by_sale(sim: SimHarness) -> None:
    need_bank_transfer(sim)

    async def scenario() -> tuple[GatewayResult, CardToken, Challenge]:
        gateway = sim.gateway()
        try:
            request, challenge = await _open_page(sim, gateway)
            fields = await _answer(sim, challenge, sim.gut.approved_card)
            token = await gateway.complete_hosted_entry(request, fields, challenge.context)
            return await gateway.sale(_sale_after(request, token)), token, challenge
        finally:
            await gateway.aclose()

    result, token, challenge = run(scenario())
    assert_approved(sim, result, sim.gut.amount_minor, token.token)
    assert result.gateway_reference == challenge.reference
    [paid] = sim.effects(OperationKind.SALE)
    assert (paid["amount"], paid["currency"]) == (sim.gut.amount_minor, sim.gut.currency)


@pytest.mark.parametrize("code", [DeclineCode.DO_NOT_HONOUR, DeclineCode.CANCELLED_BY_PAYER], ids=str)
def test_bank_transfer_declined_on_the_page(sim: SimHarness, code: DeclineCode) -> None:
    need_bank_transfer(sim)
    action = sim.gut.page_declines.get(code)
    if action is None:
        pytest.skip(f"{sim.gut.name} has no page answer for {code}")

    async def scenario() -> GatewayResult:
        gateway = sim.gateway()
        try:
            request, challenge = await _open_page(sim, gateway)
            fields = await _answer(sim, challenge, action)
            with pytest.raises(DeclinedError) as declined:
                await gateway.complete_hosted_entry(request, fields, challenge.context)
            assert declined.value.decline_code is code
            # The gateway's own record agrees, as reconciliation would read it.
            return await gateway.fetch(challenge.reference, request.merchant_reference)
        finally:
            await gateway.aclose()

    looked_up = run(scenario())
    assert (looked_up.outcome, looked_up.decline_code) == (Outcome.DECLINED, code)
    assert sim.effects() == []


def test_bank_transfer_forged_return_is_unknown_and_nothing_is_paid(sim: SimHarness) -> None:
    """HOOK-4: a return claiming payment, not signed with the session's key, marks nothing paid."""
    need_bank_transfer(sim)
    assert sim.gut.forged_answer is not None
    forge = sim.gut.forged_answer

    async def scenario() -> tuple[GatewayResult, GatewayResult]:
        gateway = sim.gateway()
        try:
            request, challenge = await _open_page(sim, gateway)
            with pytest.raises(OutcomeUnknownError):
                await gateway.complete_hosted_entry(request, forge(challenge, request), challenge.context)
            # Even a sale sent regardless is only a status read: the gateway says not paid.
            token = CardToken(challenge.reference, request.customer_id, CardSummary())
            sale = await gateway.sale(_sale_after(request, token))
            return sale, await gateway.fetch(challenge.reference, request.merchant_reference)
        finally:
            await gateway.aclose()

    sale, looked_up = run(scenario())
    assert sale.outcome is Outcome.PENDING
    assert looked_up.outcome is Outcome.PENDING
    assert sim.effects() == []


def test_bank_transfer_wrong_credentials_open_no_session(sim: SimHarness) -> None:
    need_bank_transfer(sim)

    async def scenario() -> None:
        gateway = sim.gateway(wrong_credentials=True)
        try:
            with pytest.raises(AuthenticationError):
                await gateway.begin_hosted_entry(_page_request(sim))
            # A refused confirmation read proves nothing about a transfer the payer may have made.
            with pytest.raises(OutcomeUnknownError):
                await gateway.sale(payment(sim, "some-session", "C1"))
        finally:
            await gateway.aclose()

    run(scenario())
    assert sim.ledger() == []


def test_bank_transfer_unreachable_gateway(sim: SimHarness) -> None:
    need_bank_transfer(sim)
    base_url, stop = sim.gut.start_simulator()
    stop()

    async def scenario() -> None:
        gateway = sim.gut.build(base_url, timeout=FAULT_TIMEOUT)
        try:
            with pytest.raises(GatewayUnavailableError):
                await gateway.begin_hosted_entry(_page_request(sim))
            with pytest.raises(OutcomeUnknownError):
                await gateway.sale(payment(sim, "some-session", "C1"))
        finally:
            await gateway.aclose()

    run(scenario())


def test_bank_transfer_unanswered_session_open_is_found_by_reference(sim: SimHarness) -> None:
    need_bank_transfer(sim)
    request = _page_request(sim)

    async def scenario() -> GatewayResult:
        gateway = sim.gateway(timeout=FAULT_TIMEOUT)
        try:
            sim.arm_path(sim.gut.open_path, "timeout_after_commit", delay_ms=1500)
            with pytest.raises(OutcomeUnknownError):
                await gateway.begin_hosted_entry(request)
            return await gateway.fetch("", request.merchant_reference)
        finally:
            await gateway.aclose()

    found = run(scenario())
    assert found.outcome is Outcome.PENDING
    assert found.gateway_reference
    assert found.gateway_reference not in json.dumps(dict(found.raw))
    assert sim.effects() == []


@pytest.mark.parametrize("fault", ["http_503", "malformed_json", "reset_after_commit"])
def test_bank_transfer_failed_confirmation_is_unknown_then_resolves(sim: SimHarness, fault: str) -> None:
    need_bank_transfer(sim)

    async def scenario() -> GatewayResult:
        gateway = sim.gateway(timeout=FAULT_TIMEOUT)
        try:
            request, challenge = await _open_page(sim, gateway)
            fields = await _answer(sim, challenge, sim.gut.approved_card)
            token = await gateway.complete_hosted_entry(request, fields, challenge.context)
            # Confirming is a read: the retry policy asks again by itself (IDEM-4)...
            sim.arm(OperationKind.SALE, fault)
            retried = await gateway.sale(_sale_after(request, token))
            assert retried.outcome is Outcome.APPROVED
            # ...up to its bound; past it the outcome is unknown, and a later read settles it.
            sim.arm(OperationKind.SALE, fault, times=3)
            with pytest.raises(OutcomeUnknownError) as unknown:
                await gateway.sale(_sale_after(request, token))
            assert token.token not in unknown.value.message
            return await gateway.sale(_sale_after(request, token))
        finally:
            await gateway.aclose()

    assert run(scenario()).outcome is Outcome.APPROVED
    assert len(sim.effects(OperationKind.SALE)) == 1


def test_no_socket_left_listening_after_stop(sim: SimHarness) -> None:
    """Guards the 'unreachable' case: a stopped simulator's port really refuses connections."""
    base_url, stop = sim.gut.start_simulator()
    stop()
    port = httpx.URL(base_url).port
    assert port is not None
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.settimeout(1.0)
        probe.connect(("127.0.0.1", port))
