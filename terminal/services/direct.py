"""Card payments without the gateway's card page: a card typed into the terminal, or a saved card.

Direct entry is for PCI DSS merchants only (an administrator turns it on per profile). The card
(`CardDetails`) lives in memory for one request: it goes into the PaymentRequest and nowhere else; the
store keeps brand, first six, last four and expiry, and a gateway token only when the clerk asked to
save the card (or for the first payment of a recurring series). 3-D Secure comes back as a Challenge
for the web view, completed with `complete_direct` through the gateway's own signed answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from terminal.domain.cards import CardError, brand_of, check_cvc, check_expiry, check_number, first6_last4
from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import CardDetails, Challenge, GatewayResult, PaymentRequest, Recurring
from terminal.gateways.errors import NotSupportedError
from terminal.services.profiles import Profile
from terminal.services.sending import (
    MoneyCore,
    Opened,
    PaymentInputError,
    PaymentOutcome,
    direct_entry_reason,
)

log = logging.getLogger(__name__)

_CARD_KINDS = (OperationKind.SALE, OperationKind.AUTHORIZE)


@dataclass(frozen=True, slots=True)
class DirectPayment:
    """A direct or saved-card payment: its outcome so far, and the 3-D Secure page when one is needed."""

    outcome: PaymentOutcome
    challenge: Challenge | None = None
    # The gateway's answer that asked for the page; complete_direct hands it back to the adapter.
    result: GatewayResult | None = None
    # Keep the token the gateway returns after the page (save card, recurring INITIAL).
    keep_token: bool = False

    @property
    def operation(self) -> Operation:
        """The sale or pre-authorisation."""
        return self.outcome.operation

    @property
    def transaction(self) -> Transaction:
        """Its transaction."""
        return self.outcome.transaction


def checked_card(card: CardDetails, today: date) -> tuple[CardDetails, CardSummary]:
    """The card with its number reduced to digits, and what may be kept of it; PaymentInputError naming
    the field (card_number, expiry or cvc) otherwise. No message carries the digits typed."""
    try:
        number = check_number(card.number)
        month, year = check_expiry(card.expiry_month, card.expiry_year, today)
        cvc = check_cvc(card.cvc, brand_of(number))
    except CardError as exc:
        raise PaymentInputError(exc.field, exc.message) from None
    first6, last4 = first6_last4(number)
    summary = CardSummary(
        brand=brand_of(number).label, first6=first6, last4=last4, expiry=f"{month:02d}/{year % 100:02d}"
    )
    clean = replace(
        card, number=number, expiry_month=month, expiry_year=year, cvc=cvc, holder=card.holder.strip()
    )
    return clean, summary


def _card_kind(kind: OperationKind) -> None:
    if kind not in _CARD_KINDS:
        raise PaymentInputError("kind", "Type: a card payment is a sale or a pre-authorisation.")


class CardPayments(MoneyCore):
    """Direct entry and saved cards, on the shared write-ahead path of MoneyCore."""

    async def charge_direct(
        self,
        profile_id: str,
        kind: OperationKind,
        amount: Money,
        card: CardDetails,
        *,
        return_url: str,
        merchant_reference: str = "",
        customer_id: str = "",
        customer_name: str = "",
        description: str = "",
        save_card: bool = False,
        recurring: Recurring = Recurring.NONE,
    ) -> DirectPayment:
        """Check the typed card, write the payment ahead, send it once; 3-D Secure comes back as a page."""
        _card_kind(kind)
        clean, summary = checked_card(card, self.journal.now().date())

        def allowed(profile: Profile) -> None:
            reason = direct_entry_reason(profile)
            if reason:
                raise PaymentInputError("entry", reason)
            caps = profile.capabilities
            if save_card and not caps.saved_cards:
                raise PaymentInputError("save_card", f"Save card: {caps.display_name} does not keep cards.")
            if recurring is not Recurring.NONE and not caps.recurring:
                raise PaymentInputError(
                    "save_card", f"Recurring: {caps.display_name} offers no recurring payments."
                )

        opened = await self.open_transaction(
            profile_id,
            kind,
            amount,
            merchant_reference=merchant_reference,
            customer_id=customer_id,
            customer_name=customer_name or clean.holder,
            description=description,
            card=summary,
            check=allowed,
        )
        request = self._request(opened, return_url, card=clean, save_card=save_card, recurring=recurring)
        return await self._send_card(opened, request, keep_token=save_card or recurring is Recurring.INITIAL)

    async def charge_saved(
        self,
        profile_id: str,
        kind: OperationKind,
        amount: Money,
        source_tx_id: str,
        *,
        return_url: str,
        merchant_reference: str = "",
        description: str = "",
    ) -> DirectPayment:
        """Charge the card saved with an earlier payment of the same customer on the same profile."""
        _card_kind(kind)
        source = await self.journal.get(source_tx_id)

        def usable(profile: Profile) -> None:
            caps = profile.capabilities
            if not (caps.saved_cards or caps.recurring):
                raise PaymentInputError("saved_card", f"Saved card: {caps.display_name} does not keep cards.")
            if source.profile != profile.id:
                raise PaymentInputError("saved_card", "Saved card: it was saved on another gateway profile.")
            if not source.card.token:
                raise PaymentInputError("saved_card", "Saved card: this card is no longer saved.")

        opened = await self.open_transaction(
            profile_id,
            kind,
            amount,
            merchant_reference=merchant_reference,
            customer_id=source.customer_id,
            customer_name=source.customer_name,
            description=description,
            card=replace(source.card, token=""),
            check=usable,
        )
        # A gateway with a recurring series but no card store charges the token as a repeat.
        repeat = Recurring.NONE if opened.profile.capabilities.saved_cards else Recurring.REPEATED
        request = self._request(opened, return_url, token=source.card.token, recurring=repeat)
        return await self._send_card(opened, request, keep_token=False)

    async def complete_direct(self, payment: DirectPayment, fields: Mapping[str, str]) -> PaymentOutcome:
        """After the 3-D Secure page returned: the gateway's own answer decides, read once."""
        op = payment.operation
        if payment.result is None or payment.challenge is None or op.state is not OperationState.CHALLENGE:
            raise ValueError("this payment is not waiting for 3-D Secure")
        first = payment.result
        challenge = payment.challenge
        gateway = self.profiles.gateway(payment.transaction.profile)
        self.active.add(op.id)
        try:
            # The payment is already at the gateway: a completion that never left leaves it unknown.
            op, result = await self.send(
                op,
                lambda: gateway.complete_challenge(first, fields, challenge.context),
                unsent=OperationState.UNKNOWN,
            )
            await self._keep_token(op, result, payment.keep_token)
        finally:
            self.active.discard(op.id)
        return await self.outcome(op)

    async def cancel_direct(self, payment: DirectPayment) -> PaymentOutcome:
        """The clerk closed the 3-D Secure page: the gateway holds the payment, so it decides (lookup)."""
        self.active.discard(payment.operation.id)
        return await self.outcome(payment.operation)

    async def saved_cards(self, profile_id: str, customer_id: str) -> list[Transaction]:
        """Earlier payments of this customer on this profile whose card the gateway keeps (newest first)."""
        customer = customer_id.strip()
        if not customer or not self.profiles.get(profile_id).capabilities.saved_cards:
            return []
        return await self.read_store(self.journal.repository.saved_cards, profile_id, customer)

    async def forget_card(self, tx_id: str) -> None:
        """Delete the saved card at the gateway, then the token here (kept if the gateway cannot be asked)."""
        tx = await self.journal.get(tx_id)
        if not tx.card.token:
            return
        try:
            await self.profiles.gateway(tx.profile).delete_token(tx.card.token, tx.customer_id)
        except NotSupportedError:
            # The gateway cannot delete it (it lapses there); the terminal forgets it all the same.
            log.info("%s keeps saved cards until they lapse; forgetting it here only", tx.gateway)
        await self.journal.set_card(tx.id, replace(tx.card, token=""))

    # -- shared by both paths -----------------------------------------------------------------
    @staticmethod
    def _request(
        opened: Opened,
        return_url: str,
        *,
        card: CardDetails | None = None,
        token: str = "",
        save_card: bool = False,
        recurring: Recurring = Recurring.NONE,
    ) -> PaymentRequest:
        op, tx = opened.operation, opened.transaction
        return PaymentRequest(
            amount=op.amount,
            merchant_reference=op.merchant_reference,
            idempotency_key=op.idempotency_key,
            customer_id=tx.customer_id,
            token=token,
            description=tx.description,
            card=card,
            save_card=save_card,
            recurring=recurring,
            return_url=return_url,
            customer_name=tx.customer_name,
        )

    async def _send_card(self, opened: Opened, request: PaymentRequest, *, keep_token: bool) -> DirectPayment:
        op = opened.operation
        gateway = self.profiles.gateway(opened.profile.id)
        send = gateway.sale if op.kind is OperationKind.SALE else gateway.authorize
        try:
            op, result = await self.send(op, lambda: send(request), challenge_ok=True)
            await self._keep_token(op, result, keep_token)
        finally:
            if op.state is not OperationState.CHALLENGE:
                self.active.discard(op.id)
        outcome = await self.outcome(op)
        if op.state is OperationState.CHALLENGE and result is not None:
            return DirectPayment(outcome, result.challenge, result, keep_token)
        return DirectPayment(outcome)

    async def _keep_token(self, op: Operation, result: GatewayResult | None, keep: bool) -> None:
        """Store the gateway's token for the card only when the clerk asked for it (never card data)."""
        if not keep or result is None or not result.token:
            return
        if op.state not in (OperationState.SUCCEEDED, OperationState.CHALLENGE):
            return
        tx = await self.journal.get(op.transaction_id)
        await self.journal.set_card(tx.id, replace(tx.card, token=result.token))
