"""Paymentz simulator invoices: ``/invoiceServices/REST/v1/{generate, cancel, remind, inquiry}`` and the
payment page behind ``transactionUrl``.

Simulator choices (docs 2.9 leaves the bodies open): ``generate`` takes ``merchantOrderId``,
``orderDescription``, ``amount``, ``currency``, ``merchantRedirectUrl``, ``notificationUrl``,
``customer.email`` and ``invoiceExpirationPeriod`` (hours, default 48), checksum
``memberId|secureKey|orderDescription|amount|merchantRedirectUrl``. ``cancel``, ``remind`` and ``inquiry``
take ``invoiceId`` with checksum ``memberId|secureKey|invoiceId``. Answers carry
``statusInvoiceResult{code, description}`` and ``invoice{invoiceId, transactionUrl, QR_Code (the text to
encode), expirationPeriod, amount, currency, status, merchantOrderId, paymentId}``. Statuses: generated ->
mailsent (remind) -> processed (paid: a normal DB sale under merchantOrderId) | cancelled | expired
(simulator clock). Refusals: ``10026`` unknown invoice, ``10007`` cannot cancel/remind in this status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from terminal.sim import paymentz_pages
from terminal.sim.paymentz_model import INVALID_INPUT, Account, PzState, Refusal, checksum, parse_amount

__all__ = ["routes"]

PREFIX = "/invoiceServices/REST/v1"
_Handler = Callable[[Request, dict[str, str], Account], Awaitable[dict[str, Any]]]
_Guard = Callable[[_Handler], Callable[[Request], Awaitable[Response]]]


class InvoiceDesk:
    """The invoices of one simulator state."""

    def __init__(self, state: PzState, flush: Callable[[], None]) -> None:
        self.state = state
        self.flush = flush

    def need(self, fields: dict[str, str], name: str) -> str:
        value = fields.get(name, "").strip()
        if not value:
            raise Refusal(INVALID_INPUT, f"Invalid or missing {name}")
        return value

    def view(self, invoice: dict[str, Any]) -> dict[str, Any]:
        if invoice["status"] in ("generated", "mailsent") and self.state.clock.now() >= invoice["expires"]:
            invoice["status"] = "expired"
        shown = {k: v for k, v in invoice.items() if k not in ("expires", "member", "redirect", "notify")}
        return {"statusInvoiceResult": {"code": "00001", "description": "Success"}, "invoice": shown}

    def lookup(self, fields: dict[str, str], account: Account) -> dict[str, Any]:
        invoice_id = self.need(fields, "invoiceId")
        if fields.get("authentication.checksum", "").lower() != checksum(
            account.member_id, account.secure_key, invoice_id
        ):
            raise Refusal("30086", "Checksum mismatch")
        invoice = self.state.invoices.get(invoice_id)
        if invoice is None or invoice["member"] != account.member_id:
            raise Refusal("10026", "Record not found: unknown invoiceId")
        return invoice

    async def generate(self, request: Request, fields: dict[str, str], account: Account) -> dict[str, Any]:
        currency = self.need(fields, "currency").upper()
        amount = self.need(fields, "amount")
        minor = parse_amount(amount, currency)
        if minor is None or minor <= 0:
            raise Refusal(INVALID_INPUT, "Invalid amount")
        description, redirect = self.need(fields, "orderDescription"), fields.get("merchantRedirectUrl", "")
        order = self.need(fields, "merchantOrderId")
        if fields.get("authentication.checksum", "").lower() != checksum(
            account.member_id, account.secure_key, description, amount, redirect
        ):
            raise Refusal("30086", "Checksum mismatch")
        if (account.member_id, order) in self.state.by_reference or any(
            i["merchantOrderId"] == order for i in self.state.invoices.values()
        ):
            raise Refusal("30091", "Duplicate merchantOrderId")
        hours = fields.get("invoiceExpirationPeriod", "48")
        if not hours.isdigit() or not 1 <= int(hours) <= 24 * 90:
            raise Refusal(INVALID_INPUT, "Invalid invoiceExpirationPeriod")
        invoice_id = "INV" + self.state.next_id()
        url = f"{str(request.base_url).rstrip('/')}/invoice/pay/{invoice_id}"
        self.state.invoices[invoice_id] = {
            "invoiceId": invoice_id,
            "transactionUrl": url,
            "QR_Code": url,
            "expirationPeriod": hours,
            "amount": amount,
            "currency": currency,
            "status": "generated",
            "merchantOrderId": order,
            "paymentId": "",
            "expires": self.state.clock.now() + timedelta(hours=int(hours)),
            "member": account.member_id,
            "redirect": redirect,
            "notify": fields.get("notificationUrl", ""),
        }
        self.state.ledger.record(
            "invoice", effect=False, amount=minor, currency=currency, invoiceId=invoice_id
        )
        return self.view(self.state.invoices[invoice_id])

    async def cancel(self, request: Request, fields: dict[str, str], account: Account) -> dict[str, Any]:
        invoice = self.lookup(fields, account)
        self.view(invoice)
        if invoice["status"] not in ("generated", "mailsent"):
            raise Refusal("10007", f"Cannot cancel an invoice that is {invoice['status']}")
        invoice["status"] = "cancelled"
        return self.view(invoice)

    async def remind(self, request: Request, fields: dict[str, str], account: Account) -> dict[str, Any]:
        invoice = self.lookup(fields, account)
        self.view(invoice)
        if invoice["status"] not in ("generated", "mailsent"):
            raise Refusal("10007", f"Cannot remind an invoice that is {invoice['status']}")
        invoice["status"] = "mailsent"
        return self.view(invoice)

    async def inquiry(self, request: Request, fields: dict[str, str], account: Account) -> dict[str, Any]:
        return self.view(self.lookup(fields, account))

    async def pay_page(self, request: Request) -> Response:
        invoice = self.state.invoices.get(request.path_params["invoice_id"])
        if invoice is None or self.view(invoice)["invoice"]["status"] not in ("generated", "mailsent"):
            return paymentz_pages.error_page("This invoice cannot be paid.")
        return paymentz_pages.card_page(
            "Paymentz invoice",
            str(request.url),
            {},
            f"Invoice {invoice['invoiceId']}: {invoice['amount']} {invoice['currency']}",
        )

    async def pay(self, request: Request) -> Response:
        invoice = self.state.invoices.get(request.path_params["invoice_id"])
        if invoice is None or self.view(invoice)["invoice"]["status"] not in ("generated", "mailsent"):
            return paymentz_pages.error_page("This invoice cannot be paid.")
        fields = {k: str(v) for k, v in (await request.form()).items()}
        try:
            card = paymentz_pages.typed_card(fields)
            payment = self.state.open_payment(
                self.state.accounts[invoice["member"]],
                merchant_tx_id=invoice["merchantOrderId"],
                payment_type="DB",
                amount=parse_amount(invoice["amount"], invoice["currency"]) or 0,
                currency=invoice["currency"],
                card=card,
                redirect_url=invoice["redirect"],
                notification_url=invoice["notify"],
            )
        except Refusal as refusal:
            return paymentz_pages.error_page(refusal.description)
        outcome = self.state.outcome_of(card)
        # Invoice pages carry no 3-D Secure step in the sandbox: the challenge card pays as approved.
        self.state.decide(payment, "approved" if outcome == "challenge" else outcome)
        if payment.short == "Y":
            invoice["status"], invoice["paymentId"] = "processed", payment.payment_id
        self.flush()
        if payment.redirect_url:
            return paymentz_pages.finish(self.state, payment)
        return HTMLResponse(f"<p id='result'>{payment.description}</p>")

    def routes(self, guarded: _Guard) -> list[BaseRoute]:
        table = {
            "generate": self.generate,
            "cancel": self.cancel,
            "remind": self.remind,
            "inquiry": self.inquiry,
        }
        return [
            *(Route(f"{PREFIX}/{name}", guarded(h), methods=["POST"]) for name, h in table.items()),
            Route("/invoice/pay/{invoice_id}", self.pay_page, methods=["GET"]),
            Route("/invoice/pay/{invoice_id}", self.pay, methods=["POST"]),
        ]


def routes(state: PzState, guarded: _Guard, flush: Callable[[], None]) -> list[BaseRoute]:
    """The invoice API (behind the AuthToken guard) and the customer's payment page."""
    return InvoiceDesk(state, flush).routes(guarded)
