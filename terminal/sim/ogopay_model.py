"""OGO Pay simulator model: its in-memory state (challenges, tokens, transactions) and request-field rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from starlette.responses import JSONResponse

from terminal.sim.sandbox import CardOutcome, SimState

__all__ = [
    "COLOMBO",
    "CardToken",
    "Challenge",
    "OgoState",
    "Refusal",
    "Txn",
    "amount_field",
    "expiry_passed",
    "fail",
    "require_field",
    "text_field",
]

# OGO is a Sri Lankan gateway: its dates, times and "same day" are local (no DST there).
COLOMBO: Final = timezone(timedelta(hours=5, minutes=30), "Asia/Colombo")


class Refusal(Exception):
    """A request the simulator refuses; ``str()`` is the message the client sees."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def fail(message: str, status: int = 400) -> JSONResponse:
    """OGO's error body ``{"success": false, "message": ...}``."""
    return JSONResponse({"success": False, "message": message}, status_code=status)


def text_field(body: dict[str, Any], *names: str) -> str:
    """The first of ``names`` present as a non-empty string or number (the docs show both)."""
    for name in names:
        value = body.get(name)
        if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def require_field(body: dict[str, Any], *names: str) -> str:
    """Like :func:`text_field`, refusing the request when the field is missing."""
    value = text_field(body, *names)
    if not value:
        raise Refusal(f"{names[0]} is required")
    return value


def amount_field(body: dict[str, Any]) -> int:
    """The positive integer ``amount`` in minor units, else a refusal."""
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Refusal("amount must be a positive integer in minor units")
    return amount


def expiry_passed(month: str, year: str, now: datetime) -> bool:
    """A card is valid through the end of its expiry month (in Sri Lanka time)."""
    local = now.astimezone(COLOMBO)
    return (2000 + int(year), int(month)) < (local.year, local.month)


@dataclass
class Challenge:
    """A tokenisation waiting for its 3-D Secure answer; the only place the card number lives."""

    merchant_id: str
    customer_id: str
    order_id: str
    return_url: str
    # Kept out of repr so that no log line or traceback can show it.
    card_number: str = field(repr=False)
    expiry_month: str
    expiry_year: str
    created: datetime


@dataclass(frozen=True)
class CardToken:
    """What a token stands for: bound to merchant and customer, remembering the sandbox card outcome."""

    merchant_id: str
    customer_id: str
    outcome: CardOutcome
    expiry_month: str
    expiry_year: str


@dataclass
class Txn:
    """One applied operation (purchase, preauth, completion, void or refund) and what happened to it since."""

    transaction_id: str
    kind: str
    merchant_id: str
    amount: int
    created: datetime
    parent_id: str | None = None
    completed_by: str | None = None
    voided: bool = False
    refunded: int = 0
    settled: bool = False


class OgoState(SimState):
    """Everything the OGO Pay simulator remembers; ``reset()`` forgets it all but the merchants."""

    def __init__(self, merchants: dict[str, str]) -> None:
        super().__init__()
        self.merchants = merchants
        self._clear()

    def _clear(self) -> None:
        self.challenges: dict[str, Challenge] = {}
        self.tokens: dict[str, CardToken] = {}
        self.txns: dict[str, Txn] = {}
        self.orders: set[tuple[str, str]] = set()
        self._stan = 100_000

    def reset(self) -> None:
        """Forget challenges, tokens, transactions, orders, ledger and clock offset."""
        super().reset()
        self._clear()

    def next_stan(self) -> int:
        """The next system trace audit number."""
        self._stan += 1
        return self._stan

    def add_challenge(self, challenge_id: str, challenge: Challenge, ttl: timedelta) -> None:
        """Keep a challenge, dropping those nobody answered in time so card numbers do not linger."""
        now = self.clock.now()
        for stale in [key for key, old in self.challenges.items() if now - old.created > ttl]:
            del self.challenges[stale]
        self.challenges[challenge_id] = challenge

    def add_txn(self, kind: str, merchant_id: str, amount: int, parent: Txn | None) -> Txn:
        """Create and keep a new transaction with a fresh UUID."""
        txn = Txn(
            transaction_id=str(uuid.uuid4()),
            kind=kind,
            merchant_id=merchant_id,
            amount=amount,
            created=self.clock.now(),
            parent_id=parent.transaction_id if parent else None,
        )
        self.txns[txn.transaction_id] = txn
        return txn

    def settle(self) -> dict[str, int]:
        """Captures (purchases, completions) become settled and requested refunds refunded."""
        counts = {"captures": 0, "refunds": 0}
        for txn in self.txns.values():
            if txn.settled or txn.voided or txn.kind not in ("purchase", "completion", "refund"):
                continue
            txn.settled = True
            counts["refunds" if txn.kind == "refund" else "captures"] += 1
        return counts
