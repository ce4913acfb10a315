"""Reverse: one action that undoes a payment, choosing void or refund from the live state.

A clerk asked to "take the payment back" should not need to know whether the money was captured yet.
The choice is read from the ledger rules and the gateway's capabilities only (never the gateway's name):
a pre-authorisation nothing was captured from is voided; money captured is refunded (what remains
refundable); where the gateway cannot refund it but may still void it (void after capture), it is voided.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.domain.capabilities import Capabilities
from terminal.domain.ledger import RuleViolation, Transaction, follow_up_reason
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.services.payments import PaymentOutcome, PaymentService


@dataclass(frozen=True, slots=True)
class ReversalPlan:
    """What Reverse would send now: a void (amount None) or a refund of `amount`, and why that one."""

    kind: OperationKind
    amount: Money | None
    why: str

    @property
    def summary(self) -> str:
        """'Refund 12.50 LKR' or 'Void the pre-authorisation', for a button or a confirmation."""
        if self.kind is OperationKind.REFUND and self.amount is not None:
            return f"Refund {self.amount}"
        return "Void the payment"


def plan_reversal(tx: Transaction, caps: Capabilities, *, live: bool) -> ReversalPlan:
    """The void or refund that reverses `tx` now; RuleViolation (saying why) when neither can be sent."""
    void_reason = follow_up_reason(tx, OperationKind.VOID, None, caps, live=live)
    if not tx.captured.minor:
        if void_reason:
            raise RuleViolation(f"It cannot be reversed: {void_reason}")
        return ReversalPlan(OperationKind.VOID, None, "Nothing was captured, so the reservation is voided.")
    refund_reason = follow_up_reason(tx, OperationKind.REFUND, tx.refundable, caps, live=live)
    if refund_reason is None:
        return ReversalPlan(
            OperationKind.REFUND,
            tx.refundable,
            f"Money was captured, so what remains ({tx.refundable}) is refunded.",
        )
    if void_reason is None:
        return ReversalPlan(
            OperationKind.VOID, None, f"It cannot be refunded ({refund_reason.rstrip('.')}), so it is voided."
        )
    raise RuleViolation(f"It cannot be reversed: {refund_reason}")


async def reverse(
    payments: PaymentService, tx_id: str, reason: str = ""
) -> tuple[OperationKind, PaymentOutcome]:
    """Void or refund `tx_id`, whichever the live state allows; returns the kind chosen and its outcome.

    The transaction is read afresh (another screen may have moved it), and the chosen call goes through
    the payment service, which checks the rules again and writes the operation before sending it.
    """
    tx = await payments.journal.get(tx_id)
    profile = payments.profiles.get(tx.profile)
    plan = plan_reversal(tx, profile.capabilities, live=profile.live)
    if plan.kind is OperationKind.REFUND:
        assert plan.amount is not None
        return plan.kind, await payments.refund(tx_id, plan.amount, reason)
    return plan.kind, await payments.void(tx_id)
