"""Invoices / pay-by-link: a link the customer pays at on the gateway's page, followed until final.

Creating an invoice is written ahead and sent once like any money call; the answer (a link, the
gateway's reference) leaves the operation in `challenge`: the customer has it now. Only status reads
follow it (refresh, follow); cancel and remind never move money, so they are not journal entries,
but a cancel that the gateway confirms ends the invoice as `failed` (nothing was paid).
"""

from __future__ import annotations

import re
from datetime import datetime

from terminal.domain.ledger import Operation, RuleViolation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import Outcome, PaymentRequest
from terminal.gateways.errors import DeclinedError
from terminal.services.payments import PaymentService
from terminal.services.profiles import Profile
from terminal.services.sending import PaymentInputError, PaymentOutcome, latest

CANCELLED = "Invoice cancelled; the link no longer takes payments."

# Deliberately loose: one @, a dot in the domain, no spaces. The gateway and the mail server decide the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvoiceService:
    """Create, follow, remind and cancel invoices (pay-by-link) on gateways that offer them."""

    def __init__(self, payments: PaymentService) -> None:
        self.payments = payments

    async def create(
        self,
        profile_id: str,
        amount: Money,
        *,
        customer_email: str,
        customer_name: str = "",
        description: str = "",
        expires_at: datetime | None = None,
        merchant_reference: str = "",
    ) -> PaymentOutcome:
        """Check, write ahead and send one invoice; the transaction carries its link once issued."""
        core = self.payments
        email = customer_email.strip()
        now = core.journal.now()

        def allowed(_profile: Profile) -> None:
            if not _EMAIL.match(email):
                raise PaymentInputError(
                    "customer_email", "Customer e-mail: enter an address like name@example.com."
                )
            if expires_at is not None:
                if expires_at.tzinfo is None:
                    raise PaymentInputError("expires_at", "Expiry: give the time with its time zone.")
                if expires_at <= now:
                    raise PaymentInputError("expires_at", "Expiry: the link must expire in the future.")

        opened = await core.open_transaction(
            profile_id,
            OperationKind.INVOICE,
            amount,
            merchant_reference=merchant_reference,
            customer_id=email,
            customer_name=customer_name,
            description=description,
            customer_email=email,
            expires_at=expires_at,
            check=allowed,
        )
        op, tx = opened.operation, opened.transaction
        request = PaymentRequest(
            amount=amount,
            merchant_reference=op.merchant_reference,
            idempotency_key=op.idempotency_key,
            customer_id=tx.customer_id,
            description=tx.description,
            customer_email=email,
            customer_name=tx.customer_name,
            expires_at=expires_at,
        )
        gateway = core.profiles.gateway(opened.profile.id)
        try:
            op, result = await core.send(op, lambda: gateway.create_invoice(request), pending_ok=True)
            if result is not None and result.link_url:
                repository = core.journal.repository
                await core.read_store(repository.update_link, tx.id, result.link_url, expires_at)
        finally:
            core.active.discard(op.id)
        return await core.outcome(op)

    async def cancel(self, tx_id: str) -> PaymentOutcome:
        """Withdraw an unpaid invoice; refused (and left as it is) when the gateway says it is paid."""
        profile, op = await self._open(tx_id)
        if not profile.capabilities.invoice_cancel:
            raise RuleViolation(f"{profile.capabilities.display_name} cannot withdraw an invoice.")
        core = self.payments
        core.active.add(op.id)
        try:
            result = await core.profiles.gateway(profile.id).cancel_invoice(op.gateway_reference)
        except DeclinedError as exc:
            raise RuleViolation(f"The invoice could not be cancelled: {exc.message}") from None
        finally:
            core.active.discard(op.id)
        if result.outcome is Outcome.APPROVED:
            op = await core.journal.move(op, OperationState.FAILED, gateway_message=CANCELLED)
        elif result.outcome is Outcome.DECLINED:
            raise RuleViolation(f"The invoice could not be cancelled: {result.gateway_message or 'refused'}")
        return await core.outcome(op)

    async def remind(self, tx_id: str) -> PaymentOutcome:
        """Ask the gateway to send the customer a reminder; nothing changes in the journal."""
        profile, op = await self._open(tx_id)
        if not profile.capabilities.invoice_remind:
            raise RuleViolation(f"{profile.capabilities.display_name} cannot send reminders.")
        await self.payments.profiles.gateway(profile.id).remind_invoice(op.gateway_reference)
        return await self.payments.outcome(op)

    async def refresh(self, tx_id: str) -> PaymentOutcome:
        """Read the invoice's status once; paid, refused or expired is recorded."""
        return await self.follow(tx_id, every_s=0.0, for_s=0.0)

    async def follow(self, tx_id: str, *, every_s: float = 3.0, for_s: float = 1800.0) -> PaymentOutcome:
        """Read the invoice until it is paid, refused or expired (status reads only, for `for_s` at most)."""
        tx = await self.payments.journal.get(tx_id)
        op = _invoice(tx, links=True)
        # Already followed here (Charge follows the link it sent): one reader records the outcome.
        if op.state is not OperationState.CHALLENGE or op.id in self.payments.active:
            return await self.payments.outcome(op)
        return await self.payments.poll(op, tx.profile, every_s=every_s, for_s=for_s)

    async def open_links(self) -> list[Transaction]:
        """Invoices and links still waiting for the customer, oldest first."""
        seen: dict[str, Transaction] = {}
        for tx, op in await self.payments.journal.unresolved():
            if op.state is OperationState.CHALLENGE and tx.link_url:
                seen.setdefault(tx.id, tx)
        return list(seen.values())

    async def _open(self, tx_id: str) -> tuple[Profile, Operation]:
        tx, profile = await self.payments.current(tx_id)
        op = _invoice(tx)
        if op.state is not OperationState.CHALLENGE or not op.gateway_reference:
            raise RuleViolation("This invoice is no longer open.")
        return profile, op


def _invoice(tx: Transaction, *, links: bool = False) -> Operation:
    """The invoice operation; with `links`, also the payment a link sent from Charge is waiting for."""
    op = latest(tx, OperationKind.INVOICE)
    if op is None and links and tx.link_url:
        op = tx.first_operation
    if op is None:
        raise RuleViolation("This transaction is not an invoice.")
    return op
