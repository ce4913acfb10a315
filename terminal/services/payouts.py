"""Payouts: money sent to a typed card, or to the card of an earlier payment, exactly once.

A payout opens its own transaction and goes through the payment service's write-ahead path (one
`active` set, one error mapping, so reconciliation sees it like any other operation). Where the
gateway holds payouts for approval, the operation waits in `challenge` with its gateway reference
until `approve` releases it or `cancel` withdraws it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from terminal.domain.ledger import Operation, RuleViolation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import CardDetails, FollowUpRequest, Outcome, PaymentRequest
from terminal.gateways.errors import DeclinedError, OutcomeUnknownError
from terminal.services.direct import checked_card
from terminal.services.payments import PaymentService
from terminal.services.profiles import Profile
from terminal.services.sending import PaymentInputError, PaymentOutcome, latest

CANCELLED = "Payout cancelled before it was paid; nothing was sent to the card."


class PayoutService:
    """Payouts to a card or to an earlier payment's card, and their approval where the gateway asks."""

    def __init__(self, payments: PaymentService) -> None:
        self.payments = payments

    async def payout(
        self,
        profile_id: str,
        amount: Money,
        *,
        card: CardDetails | None = None,
        source_tx_id: str = "",
        merchant_reference: str = "",
        customer_id: str = "",
        customer_name: str = "",
        description: str = "",
    ) -> PaymentOutcome:
        """Check, write ahead and send one payout; exactly one of `card` and `source_tx_id` names the card."""
        core = self.payments
        if (card is None) == (not source_tx_id):
            raise PaymentInputError(
                "card_number", "Card: type a card or pick an earlier payment (one of them)."
            )
        source: Transaction | None = await core.journal.get(source_tx_id) if source_tx_id else None
        summary = None
        if card is not None:
            card, summary = checked_card(card, core.journal.now().date())
        elif source is not None:
            summary = replace(source.card, token="")

        def allowed(profile: Profile) -> None:
            if card is not None:
                _check_card_payout(profile)
            if source is not None:
                _check_source(source, profile)

        opened = await core.open_transaction(
            profile_id,
            OperationKind.PAYOUT,
            amount,
            merchant_reference=merchant_reference,
            customer_id=customer_id or (source.customer_id if source else ""),
            customer_name=customer_name or (source.customer_name if source else ""),
            description=description,
            card=summary,
            check=allowed,
        )
        op, tx = opened.operation, opened.transaction
        parent = source.first_operation if source is not None else None
        request = PaymentRequest(
            amount=amount,
            merchant_reference=op.merchant_reference,
            idempotency_key=op.idempotency_key,
            customer_id=tx.customer_id,
            description=tx.description,
            card=card,
            parent_reference=parent.gateway_reference if parent is not None else "",
            customer_name=tx.customer_name,
        )
        gateway = core.profiles.gateway(opened.profile.id)
        held = opened.profile.capabilities.payout_approval
        try:
            # A payout the gateway holds for approval waits in `challenge`, with its gateway reference.
            op, _ = await core.send(op, lambda: gateway.payout(request), pending_ok=held)
        finally:
            core.active.discard(op.id)
        return await core.outcome(op)

    async def approve(self, tx_id: str) -> PaymentOutcome:
        """Release a payout the gateway holds for approval (sent once, like any money call)."""
        core = self.payments
        tx, profile, op = await self._held(tx_id)
        gateway = core.profiles.gateway(profile.id)
        request = self._follow_up(tx, op, "approve")
        core.active.add(op.id)
        try:
            op, _ = await core.send(
                op, lambda: gateway.approve_payout(request), unsent=OperationState.UNKNOWN
            )
        finally:
            core.active.discard(op.id)
        return await core.outcome(op)

    async def cancel(self, tx_id: str) -> PaymentOutcome:
        """Withdraw a held payout; a refused cancel leaves it as it was and says why."""
        core = self.payments
        tx, profile, op = await self._held(tx_id)
        gateway = core.profiles.gateway(profile.id)
        request = self._follow_up(tx, op, "cancel")
        core.active.add(op.id)
        try:
            result = await gateway.cancel_payout(request)
        except DeclinedError as exc:
            raise RuleViolation(f"The payout could not be cancelled: {exc.message}") from None
        except OutcomeUnknownError as exc:
            op = await core.journal.move(op, OperationState.UNKNOWN, gateway_message=exc.message)
            return await core.outcome(op)
        finally:
            core.active.discard(op.id)
        if result.outcome is Outcome.APPROVED:
            op = await core.journal.move(op, OperationState.FAILED, gateway_message=CANCELLED)
        elif result.outcome is Outcome.DECLINED:
            raise RuleViolation(f"The payout could not be cancelled: {result.gateway_message or 'refused'}")
        return await core.outcome(op)

    async def _held(self, tx_id: str) -> tuple[Transaction, Profile, Operation]:
        tx, profile = await self.payments.current(tx_id)
        op = latest(tx, OperationKind.PAYOUT)
        if not profile.capabilities.payout_approval:
            raise RuleViolation(f"{profile.capabilities.display_name} pays out without an approval step.")
        if op is None or op.state is not OperationState.CHALLENGE or not op.gateway_reference:
            raise RuleViolation("This payout is not waiting for approval.")
        return tx, profile, op

    @staticmethod
    def _follow_up(tx: Transaction, op: Operation, step: str) -> FollowUpRequest:
        # Its own key per step, derived from the payout's so that asking twice is the same request.
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"payout:{op.idempotency_key}:{step}"))
        return FollowUpRequest(
            amount=op.amount,
            merchant_reference=op.merchant_reference,
            idempotency_key=key,
            parent_reference=op.gateway_reference,
            parent_merchant_reference=tx.merchant_reference,
        )


def _check_card_payout(profile: Profile) -> None:
    caps = profile.capabilities
    if not caps.payout_to_card:
        raise PaymentInputError("card_number", f"{caps.display_name} cannot pay out to a typed card.")
    if profile.settings.get("direct_entry", "") != "on":
        # Typing a card into the terminal is direct entry, whatever the money's direction.
        raise PaymentInputError(
            "card_number",
            f"Typing the card into the terminal is off for {profile.name}; pay out to an earlier payment, "
            "or an administrator turns on direct entry in Settings (PCI DSS merchants only).",
        )


def _check_source(source: Transaction, profile: Profile) -> None:
    caps = profile.capabilities
    if not caps.payout_to_payment:
        raise PaymentInputError("source", f"{caps.display_name} cannot pay out to an earlier payment's card.")
    first = source.first_operation
    if source.profile != profile.id:
        raise PaymentInputError("source", "Earlier payment: it was made on another gateway profile.")
    if first is None or first.kind not in (OperationKind.SALE, OperationKind.AUTHORIZE):
        raise PaymentInputError("source", "Earlier payment: pick a card payment.")
    if first.state is not OperationState.SUCCEEDED or not first.gateway_reference:
        raise PaymentInputError("source", "Earlier payment: only an approved payment can be paid out to.")
