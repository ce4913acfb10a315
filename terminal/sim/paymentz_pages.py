"""Paymentz simulator browser pages: the hosted Standard Checkout, the 3-D Secure ACS, the return post.

Simulator choices: ``POST /transaction/Checkout`` (the documented form) shows a card page that posts to
``/transaction/Checkout/pay``; a challenge card then gets the sandbox 3-D Secure page at
``/transaction/acs/{paymentId}`` (the direct API's ``redirect.url`` too, POSTed ``PaReq`` and ``MD``).
Every page ends by auto-posting the return fields of the "Simulator decisions" to the merchant's
redirect URL. Refused checkout forms get an HTML error page with HTTP 400 and create nothing.
"""

from __future__ import annotations

import base64
import html
import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from terminal.sim.pages import autopost_page, challenge_page
from terminal.sim.paymentz_model import (
    INVALID_INPUT,
    PENDING_3D,
    Card,
    Payment,
    PzState,
    Refusal,
    checksum,
    parse_amount,
    wire_amount,
)
from terminal.sim.sandbox import card_outcome

__all__ = ["acs_url", "card_page", "pareq", "parse_date", "return_fields", "routes"]

_CHECKOUT_FIELDS: Final = ("toid", "totype", "amount", "description", "redirecturl", "checksum", "currency")


def acs_url(base_url: str, payment_id: str) -> str:
    return f"{base_url.rstrip('/')}/transaction/acs/{payment_id}"


def pareq(payment: Payment) -> str:
    """An opaque PaReq, as an MPI would send (the simulator only checks MD)."""
    return base64.b64encode(f"{payment.payment_id}:{payment.amount}".encode()).decode("ascii")


def parse_date(text: str, name: str) -> date:
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise Refusal(INVALID_INPUT, f"Invalid {name}") from None


def return_fields(state: PzState, payment: Payment) -> dict[str, str]:
    """What the browser posts to merchantRedirectUrl, with the callback checksum."""
    account = state.accounts[payment.member_id]
    amount = wire_amount(payment.amount, payment.currency)
    return {
        "paymentId": payment.payment_id,
        "merchantTransactionId": payment.merchant_tx_id,
        "amount": amount,
        "currency": payment.currency,
        "status": payment.status,
        "transactionStatus": payment.short,
        "checksum": checksum(
            payment.payment_id, payment.merchant_tx_id, amount, payment.short, account.secure_key
        ),
        "resultCode": payment.code,
        "resultDescription": payment.description,
    }


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;background:#f3f4f6;padding:2em}"
        "main{max-width:28em;margin:0 auto;background:#fff;border-radius:8px;padding:1.5em 2em}"
        "label{display:block;margin:.6em 0 .2em}input{font-size:1.1em;width:100%}"
        "button{margin-top:1em;font-size:1.1em;padding:.7em 2em;border:0;border-radius:6px;"
        "background:#1d4ed8;color:#fff}.badge{background:#f59e0b;padding:.2em .6em;border-radius:4px}"
        f"</style></head><body><main><span class='badge'>SANDBOX</span><h1>{html.escape(title)}</h1>"
        f"{body}</main></body></html>",
        status_code=status,
    )


def card_page(title: str, action: str, hidden: dict[str, str], summary: str) -> HTMLResponse:
    """A card form (number, expiry, CVV, holder) posting to `action`."""
    inputs = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>" for k, v in hidden.items()
    )
    body = (
        f"<p>{html.escape(summary)}</p><form id='card-form' method='post' action='{html.escape(action)}'>"
        f"{inputs}"
        "<label for='cardNumber'>Card number</label>"
        "<input id='cardNumber' name='cardNumber' autocomplete='off' inputmode='numeric'>"
        "<label for='expiryMonth'>Expiry month (MM)</label><input id='expiryMonth' name='expiryMonth'>"
        "<label for='expiryYear'>Expiry year (YYYY)</label><input id='expiryYear' name='expiryYear'>"
        "<label for='cvv'>CVV</label><input id='cvv' name='cvv' autocomplete='off'>"
        "<label for='holder'>Cardholder name</label><input id='holder' name='holder'>"
        "<button id='pay' type='submit'>Pay</button></form>"
    )
    return _page(title, body)


def error_page(message: str) -> HTMLResponse:
    return _page("Payment refused", f"<p id='error'>{html.escape(message)}</p>", status=400)


def typed_card(fields: dict[str, str]) -> Card:
    number = fields.get("cardNumber", "").replace(" ", "")
    month, year = fields.get("expiryMonth", "").strip(), fields.get("expiryYear", "").strip()
    if card_outcome(number) == "invalid":
        raise Refusal(INVALID_INPUT, "The card number is not valid.")
    if not (month.isdigit() and 1 <= int(month) <= 12 and year.isdigit() and len(year) in (2, 4)):
        raise Refusal(INVALID_INPUT, "The expiry date is not valid.")
    year = year if len(year) == 4 else "20" + year
    return Card(number, f"{int(month):02d}", year, fields.get("holder", ""))


def finish(state: PzState, payment: Payment) -> HTMLResponse:
    """The auto-post of the return fields to the merchant's redirect URL."""
    return HTMLResponse(
        autopost_page(
            action=payment.redirect_url,
            fields=return_fields(state, payment),
            title="Returning to the merchant",
            message="The payment is complete; returning to the merchant.",
        )
    )


class CheckoutPages:
    """The hosted checkout and 3-D Secure pages of one simulator state."""

    def __init__(self, state: PzState, flush: Callable[[], None]) -> None:
        self.state = state
        self.flush = flush

    async def checkout(self, request: Request) -> Response:
        fields = {k: str(v) for k, v in (await request.form()).items()}
        missing = [name for name in _CHECKOUT_FIELDS if not fields.get(name, "").strip()]
        if missing:
            return error_page(f"Missing {', '.join(missing)}.")
        account = self.state.accounts.get(fields["toid"])
        if account is None:
            return error_page("Unknown merchant (toid).")
        expected = checksum(
            account.member_id,
            fields["totype"],
            fields["amount"],
            fields["description"],
            fields["redirecturl"],
            account.secure_key,
        )
        if fields["checksum"].lower() != expected:
            return error_page("Checksum mismatch.")
        if (account.member_id, fields["description"]) in self.state.by_reference:
            return error_page("Duplicate merchantTransactionId (description).")
        if fields.get("paymenttype", "DB") not in ("DB", "PA"):
            return error_page("Invalid paymenttype.")
        session = secrets.token_urlsafe(16)
        self.state.sessions[session] = fields
        summary = f"{fields['amount']} {fields['currency']} for order {fields['description']}"
        action = str(request.url_for("pz_checkout_pay"))
        return card_page("Paymentz checkout", action, {"session": session}, summary)

    async def checkout_pay(self, request: Request) -> Response:
        fields = {k: str(v) for k, v in (await request.form()).items()}
        order = self.state.sessions.pop(fields.get("session", ""), None)
        if order is None:
            return error_page("This checkout session has ended.")
        currency = order["currency"].upper()
        minor = parse_amount(order["amount"], currency)
        try:
            if minor is None or minor <= 0:
                raise Refusal(INVALID_INPUT, "Invalid amount.")
            card = typed_card(fields)
            payment = self.state.open_payment(
                self.state.accounts[order["toid"]],
                merchant_tx_id=order["description"],
                payment_type=order.get("paymenttype", "DB"),
                amount=minor,
                currency=currency,
                card=card,
                redirect_url=order["redirecturl"],
                notification_url=order.get("notificationUrl", ""),
                customer_id=order.get("customerId", ""),
            )
        except Refusal as refusal:
            return error_page(refusal.description)
        outcome = self.state.outcome_of(card)
        if outcome == "challenge":
            payment.status, payment.short = "authstarted_3D", "3D"
            payment.code, payment.description = PENDING_3D
            return self._challenge(request, payment)
        self.state.decide(payment, outcome)
        self.flush()
        return finish(self.state, payment)

    def _challenge(self, request: Request, payment: Payment) -> Response:
        approve = str(request.url_for("pz_acs_answer", payment_id=payment.payment_id, answer="approve"))
        decline = str(request.url_for("pz_acs_answer", payment_id=payment.payment_id, answer="decline"))
        card = payment.card
        mask = f"{card.number[:6]}******{card.number[-4:]}" if card else ""
        page = challenge_page(
            gateway="Paymentz",
            merchant="Sandbox merchant",
            card_mask=mask,
            approve_url=approve,
            decline_url=decline,
            details={"Amount": f"{wire_amount(payment.amount, payment.currency)} {payment.currency}"},
        )
        return HTMLResponse(page)

    async def acs(self, request: Request) -> Response:
        fields = {k: str(v) for k, v in (await request.form()).items()}
        payment = self.state.payments.get(request.path_params["payment_id"])
        if payment is None or fields.get("MD") != payment.payment_id or payment.short != "3D":
            return error_page("Unknown or finished authentication.")
        return self._challenge(request, payment)

    async def acs_answer(self, request: Request) -> Response:
        payment = self.state.payments.get(request.path_params["payment_id"])
        if payment is None or payment.short != "3D" or payment.card is None:
            return error_page("Unknown or finished authentication.")
        if request.path_params["answer"] == "approve":
            self.state.decide(payment, "approved")
        else:
            self.state.fail_authentication(payment)
        self.flush()
        return finish(self.state, payment)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/transaction/Checkout", self.checkout, methods=["POST"]),
            Route("/transaction/Checkout/pay", self.checkout_pay, methods=["POST"], name="pz_checkout_pay"),
            Route("/transaction/acs/{payment_id}", self.acs, methods=["POST"]),
            Route(
                "/transaction/acs/{payment_id}/{answer:str}",
                self.acs_answer,
                methods=["POST"],
                name="pz_acs_answer",
            ),
        ]


def routes(state: PzState, flush: Callable[[], None]) -> list[BaseRoute]:
    """The browser-facing routes."""
    return CheckoutPages(state, flush).routes()
