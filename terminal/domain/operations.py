"""Kinds and states of operations: the vocabulary of the ledger's journal."""

from __future__ import annotations

from enum import StrEnum


class OperationKind(StrEnum):
    """One money-moving call on a transaction."""

    SALE = "sale"
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    PAYOUT = "payout"
    INVOICE = "invoice"

    @property
    def label(self) -> str:
        """The word a clerk sees."""
        return _LABELS[self]

    @property
    def opens_transaction(self) -> bool:
        """Whether this kind starts a transaction (the others follow one up)."""
        return self in (
            OperationKind.SALE,
            OperationKind.AUTHORIZE,
            OperationKind.PAYOUT,
            OperationKind.INVOICE,
        )


_LABELS = {
    OperationKind.SALE: "Sale",
    OperationKind.AUTHORIZE: "Pre-authorisation",
    OperationKind.CAPTURE: "Capture",
    OperationKind.VOID: "Void",
    OperationKind.REFUND: "Refund",
    OperationKind.PAYOUT: "Payout",
    OperationKind.INVOICE: "Invoice",
}


class OperationState(StrEnum):
    """Where one operation stands: created → sent → succeeded | declined | failed | unknown."""

    CREATED = "created"
    SENT = "sent"
    CHALLENGE = "challenge"
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """A final state never changes again (unknown is not final: an operator or lookup resolves it)."""
        return self in (OperationState.SUCCEEDED, OperationState.DECLINED, OperationState.FAILED)

    @property
    def needs_resolution(self) -> bool:
        """Written or sent, but we do not know what the gateway did."""
        return self in (OperationState.CREATED, OperationState.SENT, OperationState.UNKNOWN)


# Which state may follow which; anything else is a bug in the caller.
ALLOWED_TRANSITIONS: dict[OperationState, frozenset[OperationState]] = {
    OperationState.CREATED: frozenset(
        {OperationState.SENT, OperationState.FAILED, OperationState.UNKNOWN, OperationState.CHALLENGE}
    ),
    OperationState.SENT: frozenset(
        {
            OperationState.SUCCEEDED,
            OperationState.DECLINED,
            OperationState.FAILED,
            OperationState.UNKNOWN,
            OperationState.CHALLENGE,
        }
    ),
    OperationState.CHALLENGE: frozenset(
        {
            OperationState.SENT,
            OperationState.SUCCEEDED,
            OperationState.DECLINED,
            OperationState.FAILED,
            OperationState.UNKNOWN,
        }
    ),
    OperationState.UNKNOWN: frozenset(
        {OperationState.SUCCEEDED, OperationState.DECLINED, OperationState.FAILED}
    ),
    OperationState.SUCCEEDED: frozenset(),
    OperationState.DECLINED: frozenset(),
    OperationState.FAILED: frozenset(),
}


class TransitionError(ValueError):
    """An operation was asked to move to a state that cannot follow its current one."""


def check_transition(current: OperationState, new: OperationState) -> None:
    """Raise TransitionError unless `new` may follow `current`."""
    if new not in ALLOWED_TRANSITIONS[current]:
        raise TransitionError(f"An operation cannot go from {current} to {new}.")
