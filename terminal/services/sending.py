"""What every money-moving service shares: opening a transaction, sending once, recording the answer.

Each path (hosted, direct entry, saved card, payout, invoice, follow-ups) follows the same steps: check
the ledger rules and the capabilities, write the operation ahead (`created`, fresh idempotency key) and
commit, mark it `sent` and commit, call the gateway once, record what came back. A request that
provably never left is `failed`; one that may have been executed without a usable answer is
`unknown`, for reconciliation or an operator, and is never sent again. Keeping these steps in one
class means a new path cannot get the order or the error mapping subtly wrong.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from terminal.domain.declines import DeclineCode, plain_words
from terminal.domain.ledger import CardSummary, Operation, Transaction, opening_reason
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.domain.scrub import contains_card_number
from terminal.gateways.base import GatewayResult, Outcome
from terminal.gateways.errors import (
    DeclinedError,
    GatewayError,
    GatewayUnavailableError,
    OutcomeUnknownError,
)
from terminal.services.journal import Journal, new_id
from terminal.services.profiles import Profile, ProfileRegistry
from terminal.store import DuplicateReferenceError

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class PaymentInputError(ValueError):
    """Input the service refuses before anything is written; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What a clerk needs to see after a money operation."""

    transaction: Transaction
    operation: Operation

    @property
    def approved(self) -> bool:
        """The gateway approved the operation."""
        return self.operation.state is OperationState.SUCCEEDED

    @property
    def message(self) -> str:
        """One or two sentences for the clerk."""
        op = self.operation
        if op.state is OperationState.SUCCEEDED:
            code = f" Approval code {op.approval_code}." if op.approval_code else ""
            return f"{op.kind.label} of {op.amount.display()} approved.{code}"
        if op.state is OperationState.DECLINED:
            words = plain_words(op.decline_code) if op.decline_code else (op.gateway_message or "Declined.")
            return f"{op.kind.label} declined. {words}"
        if op.state is OperationState.UNKNOWN:
            why = op.gateway_message or "the gateway gave no usable answer"
            return (
                f"The outcome of the {op.kind.label.lower()} is unknown ({why.rstrip('.')}). "
                "Do not charge again; it is listed under Needs attention."
            )
        if op.state is OperationState.CHALLENGE:
            waiting = "the customer" if op.kind is not OperationKind.PAYOUT else "approval"
            return f"{op.kind.label} of {op.amount.display()} is waiting for {waiting}."
        if op.state in (OperationState.CREATED, OperationState.SENT):
            return f"{op.kind.label} of {op.amount.display()} is being sent."
        return f"{op.kind.label} not sent. {op.gateway_message or op.reason}".strip()


@dataclass(frozen=True, slots=True)
class Opened:
    """A transaction just written with its opening operation, and the profile it belongs to."""

    profile: Profile
    transaction: Transaction
    operation: Operation


_FIELD_NAMES = {
    "reference": "Order reference",
    "customer_id": "Customer number",
    "customer_name": "Customer name",
    "customer_email": "Customer e-mail",
    "description": "Description",
    "reason": "Reason",
}


def refuse_card_numbers(**fields: str) -> None:
    """A card number typed into a free-text field would be stored and sent: refuse it, naming the field."""
    for field, text in fields.items():
        if contains_card_number(text):
            raise PaymentInputError(
                field,
                f"{_FIELD_NAMES[field]}: this looks like a card number; enter it in the card fields only.",
            )


def generated_reference() -> str:
    """A fresh order reference for a clerk who left the field empty."""
    return "MT" + secrets.token_hex(5).upper()


def direct_entry_reason(profile: Profile) -> str | None:
    """Why cards cannot be typed into the terminal on this profile (None when they can).

    Direct entry takes the merchant out of SAQ C-VT: an administrator turns it on per profile, and
    the gateway must accept card data from the terminal.
    """
    caps = profile.capabilities
    if not caps.direct_entry:
        return f"{caps.display_name} takes cards on its own page only; use Enter card."
    if profile.settings.get("direct_entry", "") != "on":
        return (
            f"Typing the card into the terminal is off for {profile.name}; an administrator can turn on "
            "direct entry in Settings (PCI DSS merchants only)."
        )
    return None


class MoneyCore:
    """The write-ahead journal of money calls: open, send once, record, and read outcomes back."""

    def __init__(self, journal: Journal, profiles: ProfileRegistry, *, operator: str = "clerk") -> None:
        self.journal = journal
        self.profiles = profiles
        self.operator = operator
        # Operations this process is working on now; reconciliation leaves them alone.
        self.active: set[str] = set()

    # -- opening ------------------------------------------------------------------------------
    async def open_transaction(
        self,
        profile_id: str,
        kind: OperationKind,
        amount: Money,
        *,
        merchant_reference: str = "",
        customer_id: str = "",
        customer_name: str = "",
        description: str = "",
        customer_email: str = "",
        expires_at: datetime | None = None,
        card: CardSummary | None = None,
        check: Callable[[Profile], None] | None = None,
    ) -> Opened:
        """Check the request, then write the transaction and its opening operation (state `created`).

        `check` adds the path's own checks (direct entry allowed, a saved card usable, ...); it runs
        after the amount and before anything is written, and raises PaymentInputError.
        """
        profile = self.profiles.get(profile_id)
        reason = opening_reason(kind, amount, profile.capabilities, live=profile.live)
        if reason:
            raise PaymentInputError("amount", reason)
        refuse_card_numbers(
            reference=merchant_reference,
            customer_id=customer_id,
            customer_name=customer_name,
            customer_email=customer_email,
            description=description,
        )
        if check is not None:
            check(profile)
        reference = merchant_reference.strip() or generated_reference()
        if not _REFERENCE.match(reference):
            raise PaymentInputError(
                "reference", "Order reference: use up to 40 letters, digits, dots, dashes or underscores."
            )
        tx = Transaction(
            id=new_id(),
            gateway=profile.gateway,
            profile=profile.id,
            merchant_reference=reference,
            currency=amount.currency,
            created_at=self.journal.now(),
            customer_id=customer_id.strip() or reference,
            customer_name=customer_name.strip(),
            description=description.strip(),
            card=card or CardSummary(),
            sandbox=not profile.live,
            customer_email=customer_email.strip(),
            expires_at=expires_at,
        )
        op = self.journal.new_operation(tx, kind, amount, reference, self.operator)
        tx = tx.with_operation(op)
        self.active.add(op.id)
        try:
            # The store refuses a reference already used (checked in the same write, not read before it).
            await self.journal.open(tx)
        except DuplicateReferenceError:
            self.active.discard(op.id)
            existing = await self.journal.by_reference(profile.gateway, profile.id, reference)
            used = f" on {existing.created_at:%d %b %Y}" if existing is not None else ""
            raise PaymentInputError(
                "reference",
                f"Order reference: {reference} was already used{used}; "
                "find it in History or use another reference.",
            ) from None
        except BaseException:
            self.active.discard(op.id)
            raise
        return Opened(profile, tx, op)

    # -- the one place a request is sent ------------------------------------------------------
    async def send(
        self,
        op: Operation,
        call: Callable[[], Awaitable[GatewayResult]],
        *,
        unsent: OperationState = OperationState.FAILED,
        challenge_ok: bool = False,
        pending_ok: bool = False,
    ) -> tuple[Operation, GatewayResult | None]:
        """Mark `op` sent, call the gateway once, record the answer; also returns the answer (or None).

        `unsent` is what a request that never left or was refused as malformed means: `failed` for a new
        request, `unknown` for a step of a payment already under way (a 3-D Secure completion),
        `challenge` for an approval that did not happen (the payout stays held).
        With `challenge_ok`, an answer asking for a page moves the operation to `challenge` instead of
        `unknown`; with `pending_ok`, so does a `pending` answer with a gateway reference (a link waiting
        for the customer, a payout held for approval).
        """
        op = await self.journal.move(op, OperationState.SENT)
        try:
            result = await call()
        except GatewayUnavailableError as exc:
            log.info("%s %s not sent: %s", op.kind, op.id, exc.message)
            return await self.journal.move(op, unsent, gateway_message=exc.message), None
        except OutcomeUnknownError as exc:
            log.warning("%s %s outcome unknown: %s", op.kind, op.id, exc.message)
            return await self.journal.move(op, OperationState.UNKNOWN, gateway_message=exc.message), None
        except DeclinedError as exc:
            # Sent and refused for a business reason: nothing moved, and the clerk is told why.
            log.info("%s %s declined: %s", op.kind, op.id, exc.message)
            moved = await self.journal.move(
                op,
                OperationState.DECLINED,
                decline_code=exc.decline_code or DeclineCode.OTHER,
                gateway_code=exc.gateway_code,
                gateway_message=exc.message,
            )
            return moved, None
        except GatewayError as exc:
            # Refused before it took effect (credentials, validation): nothing moved.
            log.info("%s %s refused: %s", op.kind, op.id, exc.message)
            moved = await self.journal.move(
                op, unsent, gateway_code=exc.gateway_code, gateway_message=exc.message
            )
            return moved, None
        except BaseException:
            # A bug or a cancellation after sending: we cannot know what the gateway did.
            await self.journal.move(op, OperationState.UNKNOWN, gateway_message="Interrupted while waiting")
            raise
        try:
            return await self.record_result(
                op, result, challenge_ok=challenge_ok, pending_ok=pending_ok
            ), result
        except Exception:
            # The gateway answered but the journal refused the answer: keep what we know, as unknown.
            log.exception("%s %s: the gateway answered but the answer could not be recorded", op.kind, op.id)
            moved = await self.journal.move(
                op,
                OperationState.UNKNOWN,
                gateway_reference=result.gateway_reference,
                gateway_message="The gateway answered but the terminal could not record it; check by hand.",
            )
            return moved, None

    async def record_result(
        self, op: Operation, result: GatewayResult, *, challenge_ok: bool = False, pending_ok: bool = False
    ) -> Operation:
        """Move `op` to the state `result` says, checking that the gateway echoed our amount."""
        if result.amount is not None and result.amount != op.amount:
            if op.state is OperationState.UNKNOWN:
                return op
            return await self.journal.move(
                op,
                OperationState.UNKNOWN,
                gateway_reference=result.gateway_reference,
                gateway_message=f"The gateway answered for {result.amount}, not {op.amount}; check by hand.",
            )
        outcome = {
            "gateway_reference": result.gateway_reference or op.gateway_reference,
            "approval_code": result.approval_code,
            "gateway_code": result.gateway_code,
            "gateway_message": result.gateway_message,
            "avs_result": result.avs_result,
            "cvc_result": result.cvc_result,
        }
        if result.outcome is Outcome.APPROVED:
            return await self.journal.move(op, OperationState.SUCCEEDED, **outcome)
        if result.outcome is Outcome.DECLINED:
            return await self.journal.move(
                op, OperationState.DECLINED, decline_code=result.decline_code or DeclineCode.OTHER, **outcome
            )
        page = challenge_ok and result.outcome is Outcome.CHALLENGE and result.challenge is not None
        held = pending_ok and result.outcome is Outcome.PENDING and bool(outcome["gateway_reference"])
        if (page or held) and op.state is not OperationState.UNKNOWN:
            # A page for the customer (3-D Secure) or a hold for approval: the gateway has the payment.
            return await self.journal.move(op, OperationState.CHALLENGE, **outcome)
        # Pending, challenge or unknown: not final. Reconciliation or an operator will resolve it.
        if op.state is OperationState.UNKNOWN:
            return op
        return await self.journal.move(op, OperationState.UNKNOWN, **outcome)

    async def outcome(self, op: Operation) -> PaymentOutcome:
        """The operation with its transaction as stored now (as its own write just stored it, or read)."""
        tx = self.journal.written(op) or await self.journal.get(op.transaction_id)
        return PaymentOutcome(tx, op)

    async def poll(self, op: Operation, profile_id: str, *, every_s: float, for_s: float) -> PaymentOutcome:
        """Read an operation the customer completes elsewhere (a link, an invoice) until it is final.

        Only status reads: nothing is ever sent again. Stops after `for_s`; reconciliation goes on.
        """
        gateway = self.profiles.gateway(profile_id)
        self.active.add(op.id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + for_s
        try:
            while True:
                try:
                    result = await gateway.fetch(op.gateway_reference, op.merchant_reference)
                except (GatewayUnavailableError, OutcomeUnknownError) as exc:
                    log.info("Status read of %s failed, will retry: %s", op.id, exc.message)
                else:
                    if result.outcome in (Outcome.APPROVED, Outcome.DECLINED):
                        op = await self.record_result(op, result)
                        return await self.outcome(op)
                if loop.time() >= deadline:
                    return await self.outcome(op)
                await asyncio.sleep(every_s)
        finally:
            self.active.discard(op.id)

    async def read_store(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a repository read or a small write on the journal's worker thread (never the UI thread)."""
        return await self.journal.call(fn, *args, **kwargs)

    async def current(self, tx_id: str) -> tuple[Transaction, Profile]:
        """A stored transaction and its profile."""
        tx = await self.journal.get(tx_id)
        return tx, self.profiles.get(tx.profile)


def latest(tx: Transaction, kind: OperationKind) -> Operation | None:
    """The last operation of `kind` in a transaction's journal."""
    found = [op for op in tx.operations if op.kind is kind]
    return found[-1] if found else None
