"""The payment service: the only code that moves money.

Every money call follows the same steps: check the ledger rules, write the operation (`created`,
fresh idempotency key) and commit, mark it `sent` and commit, call the gateway once, record what
came back. A request that provably never left is `failed`; one that may have been executed without
a usable answer is `unknown`, for reconciliation or an operator, and is never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from terminal.domain.declines import DeclineCode, plain_words
from terminal.domain.ledger import Operation, RuleViolation, Transaction, follow_up_reason, opening_reason
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.domain.scrub import contains_card_number
from terminal.gateways.base import (
    Challenge,
    FollowUpRequest,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.errors import (
    DeclinedError,
    GatewayError,
    GatewayUnavailableError,
    OutcomeUnknownError,
)
from terminal.services.journal import Journal, new_id
from terminal.services.profiles import ProfileRegistry

log = logging.getLogger(__name__)

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class PaymentInputError(ValueError):
    """Input the service refuses before anything is written; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class HostedPayment:
    """A sale or pre-authorisation waiting for the card to be typed into the gateway's page."""

    transaction: Transaction
    operation: Operation
    request: HostedEntryRequest
    challenge: Challenge


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
        return f"{op.kind.label} not sent. {op.gateway_message or op.reason}".strip()


_FIELD_NAMES = {
    "reference": "Order reference",
    "customer_id": "Customer number",
    "customer_name": "Customer name",
    "description": "Description",
    "reason": "Reason",
}


def _refuse_card_numbers(**fields: str) -> None:
    """A card number typed into a free-text field would be stored and sent: refuse it, naming the field."""
    for field, text in fields.items():
        if contains_card_number(text):
            raise PaymentInputError(
                field,
                f"{_FIELD_NAMES[field]}: this looks like a card number; enter it on the card page only.",
            )


def _generated_reference() -> str:
    return "MT" + secrets.token_hex(5).upper()


class PaymentService:
    """Sales, pre-authorisations and their follow-ups, written ahead and sent exactly once."""

    def __init__(self, journal: Journal, profiles: ProfileRegistry, *, operator: str = "clerk") -> None:
        self.journal = journal
        self.profiles = profiles
        self.operator = operator
        # Operations this process is working on now; reconciliation leaves them alone.
        self.active: set[str] = set()

    # -- opening a payment through the gateway's card page ----------------------------------
    async def begin_hosted(
        self,
        profile_id: str,
        kind: OperationKind,
        amount: Money,
        *,
        return_url: str,
        merchant_reference: str = "",
        customer_id: str = "",
        customer_name: str = "",
        description: str = "",
    ) -> HostedPayment:
        """Check the request, write the transaction (state `challenge`) and get the card page for it."""
        profile = self.profiles.get(profile_id)
        caps = profile.capabilities
        reason = opening_reason(kind, amount, caps, live=profile.live)
        if reason:
            raise PaymentInputError("amount", reason)
        _refuse_card_numbers(
            reference=merchant_reference,
            customer_id=customer_id,
            customer_name=customer_name,
            description=description,
        )
        reference = merchant_reference.strip() or _generated_reference()
        if not _REFERENCE.match(reference):
            raise PaymentInputError(
                "reference", "Order reference: use up to 40 letters, digits, dots, dashes or underscores."
            )
        existing = await self.journal.by_reference(profile.gateway, profile.id, reference)
        if existing is not None:
            raise PaymentInputError(
                "reference",
                f"Order reference: {reference} was already used on {existing.created_at:%d %b %Y}; "
                "find it in History or use another reference.",
            )
        customer = customer_id.strip() or reference
        tx = Transaction(
            id=new_id(),
            gateway=profile.gateway,
            profile=profile.id,
            merchant_reference=reference,
            currency=amount.currency,
            created_at=self.journal.now(),
            customer_id=customer,
            customer_name=customer_name.strip(),
            description=description.strip(),
            sandbox=not profile.live,
        )
        op = self.journal.new_operation(tx, kind, amount, reference, self.operator)
        tx = tx.with_operation(op)
        self.active.add(op.id)
        await self.journal.open(tx)
        request = HostedEntryRequest(
            merchant_reference=reference,
            customer_id=customer,
            customer_name=tx.customer_name,
            amount=amount,
            return_url=return_url,
        )
        try:
            challenge = await self.profiles.gateway(profile.id).begin_hosted_entry(request)
        except GatewayError as exc:
            self.active.discard(op.id)
            # A lost answer may have opened a payment session: reconciliation looks it up by reference.
            unknown = isinstance(exc, OutcomeUnknownError)
            state = OperationState.UNKNOWN if unknown else OperationState.FAILED
            await self.journal.move(op, state, gateway_message=exc.message)
            raise
        op = await self.journal.move(op, OperationState.CHALLENGE, gateway_reference=challenge.reference)
        return HostedPayment(tx.with_operation(op), op, request, challenge)

    async def complete_hosted(self, hosted: HostedPayment, fields: Mapping[str, str]) -> PaymentOutcome:
        """Read what the card page returned, then send the sale or pre-authorisation once."""
        try:
            return await self._complete_hosted(hosted, fields)
        finally:
            self.active.discard(hosted.operation.id)

    async def _complete_hosted(self, hosted: HostedPayment, fields: Mapping[str, str]) -> PaymentOutcome:
        op = hosted.operation
        gateway = self.profiles.gateway(hosted.transaction.profile)
        try:
            token = await gateway.complete_hosted_entry(hosted.request, fields, hosted.challenge.context)
        except DeclinedError as exc:
            # Card pages decline at 3-D Secure; bank pages say themselves why (rejected, cancelled).
            op = await self.journal.move(
                op,
                OperationState.DECLINED,
                decline_code=exc.decline_code or DeclineCode.AUTHENTICATION_FAILED,
                gateway_code=exc.gateway_code,
                gateway_message=exc.message,
            )
            return await self._outcome(op)
        except OutcomeUnknownError as exc:
            # The page's answer could not be trusted; what the gateway says decides (reconciliation).
            op = await self.journal.move(op, OperationState.UNKNOWN, gateway_message=exc.message)
            return await self._outcome(op)
        except GatewayError as exc:
            op = await self.journal.move(op, OperationState.FAILED, gateway_message=exc.message)
            return await self._outcome(op)
        except Exception:
            log.exception("The card page's answer for %s could not be read", op.id)
            op = await self.journal.move(
                op,
                OperationState.FAILED,
                gateway_message="The card page's answer was unusable; nothing was charged.",
            )
            return await self._outcome(op)
        # The gateway token could charge the card again: it stays in memory for this sale only.
        await self.journal.set_card(op.transaction_id, replace(token.card, token=""))
        request = PaymentRequest(
            amount=op.amount,
            merchant_reference=op.merchant_reference,
            idempotency_key=op.idempotency_key,
            customer_id=token.customer_id,
            token=token.token,
            description=hosted.transaction.description,
        )
        send = gateway.sale if op.kind is OperationKind.SALE else gateway.authorize
        op = await self._send(op, lambda: send(request))
        return await self._outcome(op)

    async def follow(
        self, hosted: HostedPayment, *, every_s: float = 3.0, for_s: float = 1800.0
    ) -> PaymentOutcome:
        """Read a gateway-hosted payment (a link sent to the customer) until it is paid, refused or expired.

        Only status reads: nothing is ever sent again. Stops after `for_s`; reconciliation goes on from there.
        """
        op = hosted.operation
        gateway = self.profiles.gateway(hosted.transaction.profile)
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
                        return await self._outcome(op)
                if loop.time() >= deadline:
                    return await self._outcome(op)
                await asyncio.sleep(every_s)
        finally:
            self.active.discard(op.id)

    async def cancel_hosted(
        self, hosted: HostedPayment, reason: str = "Card entry cancelled"
    ) -> PaymentOutcome:
        """The clerk closed the page before any money call: recorded as failed, nothing sent.

        A page that belongs to a gateway session (a bank page) is left to the gateway: the customer may
        still pay it, and reconciliation reads its outcome.
        """
        self.active.discard(hosted.operation.id)
        if hosted.operation.gateway_reference:
            # A gateway session exists (bank page): the customer may still pay it; let the gateway decide.
            return await self._outcome(hosted.operation)
        op = await self.journal.move(hosted.operation, OperationState.FAILED, gateway_message=reason)
        return await self._outcome(op)

    # -- follow-ups ---------------------------------------------------------------------------
    async def capture(self, tx_id: str, amount: Money) -> PaymentOutcome:
        """Capture all or part of a pre-authorisation."""
        return await self._follow_up(tx_id, OperationKind.CAPTURE, amount)

    async def void(self, tx_id: str) -> PaymentOutcome:
        """Cancel a pre-authorisation (or a same-day sale where allowed), for the amount it was opened for."""
        return await self._follow_up(tx_id, OperationKind.VOID, None)

    async def refund(self, tx_id: str, amount: Money, reason: str = "") -> PaymentOutcome:
        """Give back all or part of what was captured."""
        _refuse_card_numbers(reason=reason)
        return await self._follow_up(tx_id, OperationKind.REFUND, amount, reason)

    async def _follow_up(
        self, tx_id: str, kind: OperationKind, amount: Money | None, reason: str = ""
    ) -> PaymentOutcome:
        tx = await self.journal.get(tx_id)
        parent = tx.first_operation
        amount = amount if amount is not None else tx.amount
        profile = self.profiles.get(tx.profile)
        why_not = follow_up_reason(tx, kind, amount, profile.capabilities, live=profile.live)
        if why_not:
            raise RuleViolation(why_not)
        assert parent is not None  # the rules refuse a transaction without operations
        number = sum(1 for o in tx.operations if o.kind is kind) + 1
        reference = f"{tx.merchant_reference}-{kind.value[0].upper()}{number}"
        op = self.journal.new_operation(tx, kind, amount, reference, self.operator, reason)
        request = FollowUpRequest(
            amount=amount,
            merchant_reference=reference,
            idempotency_key=op.idempotency_key,
            parent_reference=parent.gateway_reference,
            parent_merchant_reference=parent.merchant_reference,
            reason=reason,
        )
        gateway = self.profiles.gateway(profile.id)
        send = {
            OperationKind.CAPTURE: gateway.capture,
            OperationKind.VOID: gateway.void,
            OperationKind.REFUND: gateway.refund,
        }[kind]
        self.active.add(op.id)
        try:
            await self.journal.append(op)
            op = await self._send(op, lambda: send(request))
        finally:
            self.active.discard(op.id)
        return await self._outcome(op)

    # -- the one place a request is sent ------------------------------------------------------
    async def _send(self, op: Operation, call: Callable[[], Awaitable[GatewayResult]]) -> Operation:
        op = await self.journal.move(op, OperationState.SENT)
        try:
            result = await call()
        except GatewayUnavailableError as exc:
            log.info("%s %s not sent: %s", op.kind, op.id, exc.message)
            return await self.journal.move(op, OperationState.FAILED, gateway_message=exc.message)
        except OutcomeUnknownError as exc:
            log.warning("%s %s outcome unknown: %s", op.kind, op.id, exc.message)
            return await self.journal.move(op, OperationState.UNKNOWN, gateway_message=exc.message)
        except DeclinedError as exc:
            # Sent and refused for a business reason: nothing moved, and the clerk is told why.
            log.info("%s %s declined: %s", op.kind, op.id, exc.message)
            return await self.journal.move(
                op,
                OperationState.DECLINED,
                decline_code=exc.decline_code or DeclineCode.OTHER,
                gateway_code=exc.gateway_code,
                gateway_message=exc.message,
            )
        except GatewayError as exc:
            # Refused before it took effect (credentials, validation): nothing moved.
            log.info("%s %s refused: %s", op.kind, op.id, exc.message)
            return await self.journal.move(
                op, OperationState.FAILED, gateway_code=exc.gateway_code, gateway_message=exc.message
            )
        except BaseException:
            # A bug or a cancellation after sending: we cannot know what the gateway did.
            await self.journal.move(op, OperationState.UNKNOWN, gateway_message="Interrupted while waiting")
            raise
        try:
            return await self.record_result(op, result)
        except Exception:
            # The gateway answered but the journal refused the answer: keep what we know, as unknown.
            log.exception("%s %s: the gateway answered but the answer could not be recorded", op.kind, op.id)
            return await self.journal.move(
                op,
                OperationState.UNKNOWN,
                gateway_reference=result.gateway_reference,
                gateway_message="The gateway answered but the terminal could not record it; check by hand.",
            )

    async def record_result(self, op: Operation, result: GatewayResult) -> Operation:
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
        # Pending, challenge or unknown: not final. Reconciliation or an operator will resolve it.
        if op.state is OperationState.UNKNOWN:
            return op
        return await self.journal.move(op, OperationState.UNKNOWN, **outcome)

    async def _outcome(self, op: Operation) -> PaymentOutcome:
        tx = await self.journal.get(op.transaction_id)
        return PaymentOutcome(tx, op)
