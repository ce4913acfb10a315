"""Paymentz back office verbs: saved cards (registrations), payouts, invoices, the transaction list, and
verification of notifications. Money verbs live in ``paymentz.py``; transport in ``paymentz_core.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.gateways import paymentz_checksum as cs
from terminal.gateways.base import (
    CardDetails,
    CardToken,
    GatewayResult,
    Notification,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.errors import AuthenticationError, DeclinedError, ValidationError
from terminal.gateways.http import Safety
from terminal.gateways.paymentz_core import API, DISPLAY_NAME, PaymentzCore, read_amount, wire_amount
from terminal.gateways.paymentz_status import Verdict, text, verdict_of

__all__ = ["INVOICE_API", "INVOICE_PREFIX", "PaymentzBackOffice", "card_fields"]

INVOICE_API: Final = "/invoiceServices/REST/v1"
# An invoice's gateway reference: tells fetch() to ask the invoice service rather than the payment API.
INVOICE_PREFIX: Final = "invoice:"
_PAGE_SIZE: Final = 100
_MAX_PAGES: Final = 200
_PENDING_INVOICE: Final = frozenset({"generated", "mailsent", "smssent", "regenerated"})


def card_fields(card: CardDetails) -> dict[str, str]:
    """The card as the wire wants it; lives only in the request body."""
    fields = {
        "card.number": card.number.replace(" ", ""),
        "card.expiryMonth": f"{card.expiry_month:02d}",
        "card.expiryYear": f"{card.expiry_year:04d}",
        "card.cvv": card.cvc,
    }
    if card.holder:
        fields["card.holder"] = card.holder
    return fields


class PaymentzBackOffice(PaymentzCore):
    """Registrations, payouts, invoices, lists and notifications."""

    # -- saved cards -------------------------------------------------------------------------------
    async def create_token(self, card: CardDetails, customer_id: str) -> CardToken:
        """POST /registrations: keep a typed card at Paymentz (checksum memberId|secureKey|cardNumber)."""
        self._require_direct_entry()
        fields = card_fields(card)
        key = self.config.secure_key
        checksum = cs.registration(self.config.member_id, key, fields["card.number"])
        data = await self._post(
            f"{API}/registrations",
            {**self._authentication(checksum), **fields, "customer.customerId": customer_id},
        )
        token = text(data.get("registrationId"))
        if not token:
            raise ValidationError(f"{DISPLAY_NAME} did not register the card: {self._description(data)}.")
        summary = self._result(data, None, outcome=Outcome.PENDING).card or CardSummary()
        return CardToken(token=token, customer_id=customer_id, card=summary)

    async def delete_token(self, token: str, customer_id: str = "") -> None:
        """POST /paywithtoken/{registrationId} paymentType=DL; an unknown token is already gone."""
        checksum = cs.reference_only(self.config.member_id, self.config.secure_key, token)
        data = await self._post(
            f"{API}/paywithtoken/{token}", {**self._authentication(checksum), "paymentType": "DL"}
        )
        if verdict_of(data) is Verdict.REFUSED:
            raise DeclinedError(f"{DISPLAY_NAME} did not delete the card: {self._description(data)}.")

    # -- payouts --------------------------------------------------------------------------------
    async def payout(self, request: PaymentRequest) -> GatewayResult:
        """POST /payout to a typed card or to the card of an earlier payment (``paymentId``)."""
        amount = wire_amount(request.amount)
        checksum = cs.payout(
            self.config.member_id, request.merchant_reference, amount, self.config.secure_key
        )
        fields = {
            **self._authentication(checksum),
            "merchantTransactionId": request.merchant_reference,
            "amount": amount,
            "currency": request.amount.currency,
        }
        if request.card is not None:
            self._require_direct_entry()
            fields.update(card_fields(request.card))
        elif request.parent_reference:
            fields["paymentId"] = request.parent_reference
        else:
            raise ValidationError("A payout needs a card or an earlier payment.", field="card")
        return self._result(await self._post(f"{API}/payout", fields), request.amount)

    # -- invoices -------------------------------------------------------------------------------
    async def create_invoice(self, request: PaymentRequest) -> GatewayResult:
        """POST invoiceServices generate: a payment link (and the QR code's text) for the customer."""
        amount = wire_amount(request.amount)
        description = request.description or request.merchant_reference
        checksum = cs.invoice_generate(
            self.config.member_id, self.config.secure_key, description, amount, request.return_url
        )
        fields = {
            **self._authentication(checksum),
            "merchantOrderId": request.merchant_reference,
            "orderDescription": description,
            "amount": amount,
            "currency": request.amount.currency,
            "merchantRedirectUrl": request.return_url,
            "invoiceExpirationPeriod": str(_hours_until(request.expires_at)),
        }
        if request.customer_email:
            fields["customer.email"] = request.customer_email
        data = await self._post(f"{INVOICE_API}/generate", fields)
        invoice = data.get("invoice") if isinstance(data.get("invoice"), dict) else {}
        assert isinstance(invoice, dict)
        invoice_id, link = text(invoice.get("invoiceId")), text(invoice.get("transactionUrl"))
        if not invoice_id or not link:
            raise ValidationError(f"{DISPLAY_NAME} did not create the invoice: {self._description(data)}.")
        return GatewayResult(
            outcome=Outcome.PENDING,
            gateway_reference=INVOICE_PREFIX + invoice_id,
            amount=request.amount,
            gateway_code=text(invoice.get("status")),
            gateway_message=f"Invoice {invoice_id} sent; waiting for the customer to pay.",
            raw=self._raw(data),
            merchant_reference=request.merchant_reference,
            link_url=link,
            kind="invoice",
        )

    async def cancel_invoice(self, gateway_reference: str) -> GatewayResult:
        """POST invoiceServices cancel."""
        return await self._invoice_action("cancel", gateway_reference)

    async def remind_invoice(self, gateway_reference: str) -> GatewayResult:
        """POST invoiceServices remind (the platform e-mails the customer again)."""
        return await self._invoice_action("remind", gateway_reference)

    async def _invoice_action(self, action: str, gateway_reference: str) -> GatewayResult:
        data = await self._invoice_call(action, gateway_reference)
        invoice = data.get("invoice") if isinstance(data.get("invoice"), dict) else {}
        assert isinstance(invoice, dict)
        return GatewayResult(
            outcome=Outcome.APPROVED,
            gateway_reference=gateway_reference,
            gateway_code=text(invoice.get("status")),
            gateway_message=f"Invoice {text(invoice.get('invoiceId'))} is {text(invoice.get('status'))}.",
            raw=self._raw(data),
            link_url=text(invoice.get("transactionUrl")),
            kind="invoice",
        )

    async def _invoice_call(self, action: str, gateway_reference: str) -> dict[str, Any]:
        invoice_id = gateway_reference.removeprefix(INVOICE_PREFIX)
        if not invoice_id:
            raise ValidationError("No invoice number to act on.", field="invoice")
        checksum = cs.invoice_action(self.config.member_id, self.config.secure_key, invoice_id)
        safety = Safety.READ if action == "inquiry" else Safety.MONEY
        data = await self._post(
            f"{INVOICE_API}/{action}", {**self._authentication(checksum), "invoiceId": invoice_id}, safety
        )
        verdict = verdict_of(data)
        if verdict is Verdict.NOT_FOUND:
            raise ValidationError(f"{DISPLAY_NAME} knows no invoice {invoice_id}.", field="invoice")
        if verdict is Verdict.REFUSED:
            raise DeclinedError(f"{DISPLAY_NAME} refused to {action} the invoice: {self._description(data)}.")
        return data

    async def _fetch_invoice(self, gateway_reference: str) -> GatewayResult:
        """Invoice inquiry: pending while unpaid, the payment's own inquiry once processed."""
        data = await self._invoice_call("inquiry", gateway_reference)
        invoice = data.get("invoice") if isinstance(data.get("invoice"), dict) else {}
        assert isinstance(invoice, dict)
        status, payment_id = text(invoice.get("status")).lower(), text(invoice.get("paymentId"))
        common: dict[str, Any] = {
            "gateway_reference": gateway_reference,
            "gateway_code": status,
            "raw": self._raw(data),
            "merchant_reference": text(invoice.get("merchantOrderId")),
            "link_url": text(invoice.get("transactionUrl")),
            "kind": "invoice",
        }
        if status == "processed" and payment_id:
            return await self._inquiry(payment_id, by_reference=False)
        if status == "cancelled":
            return GatewayResult(
                outcome=Outcome.DECLINED,
                decline_code=DeclineCode.OTHER,
                gateway_message="The invoice was cancelled; nothing was paid.",
                **common,
            )
        if status == "expired":
            return GatewayResult(
                outcome=Outcome.DECLINED,
                decline_code=DeclineCode.EXPIRED_SESSION,
                gateway_message="The invoice expired unpaid.",
                **common,
            )
        # generated, mailsent, smssent, or a status this terminal does not know: still waiting.
        return GatewayResult(outcome=Outcome.PENDING, gateway_message=f"Invoice {status}.", **common)

    async def _inquiry(self, reference: str, *, by_reference: bool) -> GatewayResult:
        """IN by paymentId or merchantTransactionId; PaymentzGateway provides it."""
        raise NotImplementedError

    # -- transaction list -------------------------------------------------------------------------
    async def list_transactions(self, since: datetime, until: datetime) -> list[GatewayResult]:
        """POST /getTransactionList for the days of [since, until), paged; captures and refunds as entries."""
        if until <= since:
            return []
        checksum = cs.transaction_list(self.config.member_id, self.config.secure_key)
        last_day = until - timedelta(microseconds=1)
        results: list[GatewayResult] = []
        for page in range(1, _MAX_PAGES + 1):
            fields = {
                **self._authentication(checksum),
                "pagination.fromdate": since.astimezone(UTC).strftime("%d/%m/%Y"),
                "pagination.todate": last_day.astimezone(UTC).strftime("%d/%m/%Y"),
                "pagination.page": str(page),
                "pagination.pageSize": str(_PAGE_SIZE),
            }
            data = await self._post(f"{API}/getTransactionList", fields, Safety.READ)
            rows = data.get("transactions") if isinstance(data.get("transactions"), list) else []
            assert isinstance(rows, list)
            for row in rows:
                if isinstance(row, dict) and _within(row, since, until):
                    results.extend(self._entries(row))
            paging = data.get("pagination") if isinstance(data.get("pagination"), dict) else {}
            assert isinstance(paging, dict)
            total = (
                int(text(paging.get("totalRecords")) or 0)
                if text(paging.get("totalRecords")).isdigit()
                else 0
            )
            if len(rows) < _PAGE_SIZE or page * _PAGE_SIZE >= total:
                break
        return results

    def _entries(self, row: Mapping[str, Any]) -> list[GatewayResult]:
        """One list row: the opening payment, plus its capture and refund when it has them."""
        opening = self._result(row, None)
        entries = [opening]
        currency = row.get("currency")
        for name, kind in (("capturedAmount", "capture"), ("refundedAmount", "refund")):
            amount = read_amount(row.get(name), currency)
            if amount is None or amount.minor == 0:
                continue
            if kind == "capture" and text(row.get("paymentType")) != "PA":
                continue  # a sale's capture is the sale itself
            entries.append(
                GatewayResult(
                    outcome=Outcome.APPROVED,
                    gateway_reference=opening.gateway_reference,
                    amount=amount,
                    merchant_reference=opening.merchant_reference,
                    kind=kind,
                    raw=opening.raw,
                )
            )
        return entries

    # -- notifications ----------------------------------------------------------------------------
    async def verify_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Recompute md5(paymentId|merchantTransactionId|amount|transactionStatus|secureKey); only names what
        to read again (the caller runs an inquiry; the body itself is never trusted as a result)."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise AuthenticationError("Paymentz notification that is not a JSON object.")
        payment_id, reference = text(data.get("paymentId")), text(data.get("merchantTransactionId"))
        amount, status = text(data.get("amount")), text(data.get("transactionStatus"))
        expected = cs.notification(payment_id, reference, amount, status, self.config.secure_key)
        if not payment_id or not cs.matches(expected, text(data.get("checksum"))):
            raise AuthenticationError("Paymentz notification whose checksum does not verify.")
        return Notification(gateway_reference=payment_id, merchant_reference=reference, event=status)


def _hours_until(expires_at: datetime | None) -> int:
    """The invoice's lifetime in whole hours (at least one; 48 when the clerk chose none)."""
    if expires_at is None:
        return 48
    seconds = (expires_at - datetime.now(UTC)).total_seconds()
    return max(1, math.ceil(seconds / 3600))


def _within(row: Mapping[str, Any], since: datetime, until: datetime) -> bool:
    """Rows carry 'yyyy-MM-dd HH:mm:ss' (UTC at the simulator); keep those inside [since, until)."""
    try:
        when = datetime.strptime(text(row.get("timestamp")), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return True  # a row without a readable time is shown rather than hidden
    return since <= when < until
