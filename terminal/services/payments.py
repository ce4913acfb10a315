"""The payment service: the only code that moves money.

Every money call follows the same steps (terminal/services/sending.py): check the ledger rules, write
the operation (`created`, fresh idempotency key) and commit, mark it `sent` and commit, call the gateway
once, record what came back. A request that provably never left is `failed`; one that may have been
executed without a usable answer is `unknown`, for reconciliation or an operator, and is never sent
again. This module holds hosted entry and follow-ups; direct entry and saved cards are in direct.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import Operation, RuleViolation, Transaction, follow_up_reason
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import Challenge, FollowUpRequest, HostedEntryRequest, PaymentRequest
from terminal.gateways.errors import DeclinedError, GatewayError, OutcomeUnknownError
from terminal.services.direct import CardPayments, DirectPayment
from terminal.services.sending import PaymentInputError, PaymentOutcome, refuse_card_numbers

__all__ = ["DirectPayment", "HostedPayment", "PaymentInputError", "PaymentOutcome", "PaymentService"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HostedPayment:
    """A sale or pre-authorisation waiting for the card to be typed into the gateway's page."""

    transaction: Transaction
    operation: Operation
    request: HostedEntryRequest
    challenge: Challenge


class PaymentService(CardPayments):
    """Sales, pre-authorisations and their follow-ups, written ahead and sent exactly once."""

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
        opened = await self.open_transaction(
            profile_id,
            kind,
            amount,
            merchant_reference=merchant_reference,
            customer_id=customer_id,
            customer_name=customer_name,
            description=description,
        )
        profile, tx, op = opened.profile, opened.transaction, opened.operation
        request = HostedEntryRequest(
            merchant_reference=op.merchant_reference,
            customer_id=tx.customer_id,
            customer_name=tx.customer_name,
            amount=amount,
            return_url=return_url,
            kind=kind,
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

    async def record_link(self, hosted: HostedPayment) -> HostedPayment:
        """Keep a payment page sent to the customer as a link (Charge's "Send payment link"), so that
        Payment links (F6) lists and follows it with the invoices until it is paid, refused or expired."""
        url = hosted.challenge.url or ""
        if not url:
            raise GatewayError("This gateway's payment page cannot be sent as a link.")
        await self.read_store(self.journal.repository.update_link, hosted.transaction.id, url, None)
        return replace(hosted, transaction=replace(hosted.transaction, link_url=url))

    async def complete_hosted(self, hosted: HostedPayment, fields: Mapping[str, str]) -> PaymentOutcome:
        """Read what the card page returned, then send the sale or pre-authorisation once."""
        return (await self.complete_hosted_payment(hosted, fields)).outcome

    async def complete_hosted_payment(
        self, hosted: HostedPayment, fields: Mapping[str, str], *, challenge_return_url: str = ""
    ) -> DirectPayment:
        """As complete_hosted; with `challenge_return_url`, a gateway that asks for 3-D Secure only once the
        card page's token is charged (OMPay's nonce) gets that address for its page, and the payment comes
        back waiting on it (`.challenge`), to be finished with complete_direct like a typed card's."""
        payment: DirectPayment | None = None
        try:
            payment = await self._complete_hosted(hosted, fields, challenge_return_url)
            return payment
        finally:
            if payment is None or payment.challenge is None:  # a page still open keeps it off reconciliation
                self.active.discard(hosted.operation.id)

    async def _complete_hosted(
        self, hosted: HostedPayment, fields: Mapping[str, str], challenge_return_url: str
    ) -> DirectPayment:
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
            return DirectPayment(await self.outcome(op))
        except OutcomeUnknownError as exc:
            # The page's answer could not be trusted; what the gateway says decides (reconciliation).
            op = await self.journal.move(op, OperationState.UNKNOWN, gateway_message=exc.message)
            return DirectPayment(await self.outcome(op))
        except GatewayError as exc:
            op = await self.journal.move(op, OperationState.FAILED, gateway_message=exc.message)
            return DirectPayment(await self.outcome(op))
        except Exception:
            log.exception("The card page's answer for %s could not be read", op.id)
            op = await self.journal.move(
                op,
                OperationState.FAILED,
                gateway_message="The card page's answer was unusable; nothing was charged.",
            )
            return DirectPayment(await self.outcome(op))
        # The gateway token could charge the card again: it stays in memory for this sale only.
        await self.journal.set_card(op.transaction_id, replace(token.card, token=""))
        request = PaymentRequest(
            amount=op.amount,
            merchant_reference=op.merchant_reference,
            idempotency_key=op.idempotency_key,
            customer_id=token.customer_id,
            token=token.token,
            description=hosted.transaction.description,
            return_url=challenge_return_url,
        )
        send = gateway.sale if op.kind is OperationKind.SALE else gateway.authorize
        page_ok = bool(challenge_return_url)
        op, result = await self.send(op, lambda: send(request), challenge_ok=page_ok)
        outcome = await self.outcome(op)
        if op.state is OperationState.CHALLENGE and result is not None and result.challenge is not None:
            return DirectPayment(outcome, result.challenge, result)
        return DirectPayment(outcome)

    async def follow(
        self, hosted: HostedPayment, *, every_s: float = 3.0, for_s: float = 1800.0
    ) -> PaymentOutcome:
        """Read a gateway-hosted payment (a link sent to the customer) until it is paid, refused or expired.

        Only status reads: nothing is ever sent again. Stops after `for_s`; reconciliation goes on from there.
        """
        return await self.poll(hosted.operation, hosted.transaction.profile, every_s=every_s, for_s=for_s)

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
            return await self.outcome(hosted.operation)
        op = await self.journal.move(hosted.operation, OperationState.FAILED, gateway_message=reason)
        return await self.outcome(op)

    # -- follow-ups ---------------------------------------------------------------------------
    async def capture(
        self, tx_id: str, amount: Money | None = None, *, known: Transaction | None = None
    ) -> PaymentOutcome:
        """Capture all or part of a pre-authorisation (without an amount: all that is still capturable).

        `known` is the transaction as read a moment ago (the end-of-day batch reads all of them at once):
        the capture is built from it instead of a fresh read. Nothing is lost if it is stale: the rules are
        applied again to the stored journal, under the write lock, before anything is sent.
        """
        return await self._follow_up(tx_id, OperationKind.CAPTURE, amount, known=known)

    async def void(self, tx_id: str) -> PaymentOutcome:
        """Cancel a pre-authorisation (or a same-day sale where allowed), for the amount it was opened for."""
        return await self._follow_up(tx_id, OperationKind.VOID, None)

    async def refund(self, tx_id: str, amount: Money, reason: str = "") -> PaymentOutcome:
        """Give back all or part of what was captured."""
        refuse_card_numbers(reason=reason)
        return await self._follow_up(tx_id, OperationKind.REFUND, amount, reason)

    async def _follow_up(
        self,
        tx_id: str,
        kind: OperationKind,
        amount: Money | None,
        reason: str = "",
        *,
        known: Transaction | None = None,
    ) -> PaymentOutcome:
        tx = known if known is not None and known.id == tx_id else await self.journal.get(tx_id)
        parent = tx.first_operation
        if amount is None:
            amount = tx.capturable if kind is OperationKind.CAPTURE else tx.amount
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
            # The rules again, on the stored journal under the write lock: a second window or terminal
            # capturing the same pre-authorisation at the same moment is refused here, before sending.
            caps, live = profile.capabilities, profile.live
            await self.journal.append(op, lambda tx: follow_up_reason(tx, kind, amount, caps, live=live))
            op, _ = await self.send(op, lambda: send(request))
        finally:
            self.active.discard(op.id)
        return await self.outcome(op)
