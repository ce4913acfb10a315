"""OMPay simulator, browser side: the 3-D Secure page behind ``redirect_url`` and the hosted payment page.

Both end by sending the browser (303) to the payment's return URL with
``?session_id=<uuid>&reference_id=<id>`` (simulator decision): those parameters are untrusted, the
merchant reads the state with GET.
"""

from __future__ import annotations

import html
from typing import Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from terminal.sim.ompay_model import ApiError, HostedSession, OmpayState, Payment, format_total
from terminal.sim.ompay_payments import THREE_DS_FAILED, PaymentEngine, card_fields, text
from terminal.sim.pages import challenge_page

__all__ = ["OmpayPages"]

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0;padding:2em 1em;color:#111827}"
    "main{max-width:28em;margin:0 auto;background:#fff;border-radius:8px;padding:1.5em 2em}"
    ".badge{background:#f59e0b;font-weight:bold;padding:.2em .6em;border-radius:4px}"
    "label{display:block;font-weight:600;margin:1em 0 .3em}input{font-size:1.1em;padding:.4em;width:100%}"
    "button{margin-top:1.5em;width:100%;font-size:1.2em;padding:.8em;background:#1d4ed8;color:#fff;border:0}"
    ".error{color:#b91c1c}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style>{_STYLE}</style></head><body><main><span class="badge">SANDBOX</span>{body}</main>'
        "</body></html>"
    )
    return HTMLResponse(page, status_code=status)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class OmpayPages:
    """The pages a payer's browser sees."""

    def __init__(self, state: OmpayState, engine: PaymentEngine) -> None:
        self.state = state
        self.engine = engine

    # -- 3-D Secure ---------------------------------------------------------------------------------
    def _pending(self, request: Request) -> Payment | None:
        challenge = request.path_params["challenge"]
        return next(
            (p for p in self.state.payments.values() if p.challenge and p.challenge == challenge), None
        )

    async def challenge(self, request: Request) -> Response:
        """``GET /v1/redirect/{hex}`` (and ``/v1/authenticate/{hex}``): Approve / Decline."""
        payment = self._pending(request)
        if payment is None or payment.card is None:
            return _page("3-D Secure", "<h1>Unknown or finished 3-D Secure session</h1>", 404)
        base = f"{str(request.base_url).rstrip('/')}/v1/redirect/{payment.challenge}"
        masked = f"{payment.card.number[:6]}{'x' * (len(payment.card.number) - 10)}{payment.card.number[-4:]}"
        return HTMLResponse(
            challenge_page(
                gateway="OMPay",
                merchant=payment.merchant_id,
                card_mask=masked,
                approve_url=f"{base}/approve",
                decline_url=f"{base}/decline",
                details={"Amount": f"{format_total(payment.amount, payment.currency)} {payment.currency}"},
            )
        )

    async def approve(self, request: Request) -> Response:
        """The payer passed 3-D Secure: the payment is applied."""
        return self._answer(request, approved=True)

    async def decline(self, request: Request) -> Response:
        """The payer failed 3-D Secure: nothing moves."""
        return self._answer(request, approved=False)

    def _answer(self, request: Request, *, approved: bool) -> Response:
        payment = self._pending(request)
        if payment is None:
            return _page("3-D Secure", "<h1>Unknown or finished 3-D Secure session</h1>", 404)
        if approved:
            self.engine.approve(payment, funding="3ds")
        else:
            self.engine.decline(payment, THREE_DS_FAILED, funding="3ds")
        session = self._session_of(payment)
        if session is not None:
            session.state = "used"
        return self._back(payment)

    def _back(self, payment: Payment) -> Response:
        if not payment.return_url:
            words = "approved" if payment.state in ("captured", "authorised") else "not approved"
            return _page("Payment finished", f"<h1>Payment {words}</h1><p>You may close this page.</p>")
        target = _with_query(payment.return_url, session_id=payment.session_id, reference_id=payment.id)
        return RedirectResponse(target, status_code=303)

    def _session_of(self, payment: Payment) -> HostedSession | None:
        return self.state.sessions.get(payment.session_id)

    # -- hosted payment page ------------------------------------------------------------------------
    def _hosted(self, request: Request) -> HostedSession | None:
        return self.state.session(request.path_params["page_id"], request.path_params["merchant_id"])

    async def hosted_page(self, request: Request) -> Response:
        """``GET .../hosted-payment/page/{uuid}``: the simulator's card form for the session."""
        session = self._hosted(request)
        if session is None:
            return _page("Payment", "<h1>Unknown payment page</h1>", 404)
        if session.state != "pending":
            return _page("Payment", f"<h1>This payment page is {html.escape(session.state)}</h1>", 410)
        return self._form(session, "")

    def _form(self, session: HostedSession, error: str) -> HTMLResponse:
        amount = f"{format_total(session.amount, session.currency)} {session.currency}"
        fields = "".join(
            f'<label for="{name}">{label}</label><input id="{name}" name="{name}" autocomplete="off">'
            for name, label in (
                ("name", "Name on card"),
                ("number", "Card number"),
                ("expire_month", "Expiry month (MM)"),
                ("expire_year", "Expiry year (YYYY)"),
                ("cvv2", "Security code"),
            )
        )
        problem = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
        body = (
            f"<h1>Pay {html.escape(amount)}</h1><p>{html.escape(session.description)}</p>{problem}"
            f'<form id="hpp" method="post">{fields}<button id="pay" type="submit">Pay</button></form>'
        )
        return _page("OMPay payment", body)

    async def hosted_pay(self, request: Request) -> Response:
        """``POST .../hosted-payment/page/{uuid}``: the same card rules as the API, then back to the shop."""
        session = self._hosted(request)
        if session is None:
            return _page("Payment", "<h1>Unknown payment page</h1>", 404)
        if session.state != "pending":
            return _page("Payment", f"<h1>This payment page is {html.escape(session.state)}</h1>", 410)
        form = await request.form()
        data = {key: value for key, value in form.items() if isinstance(value, str)}
        try:
            number, month, year = card_fields(data, self.state.clock.now())
        except ApiError as error:
            return self._form(session, error.description)
        session.state = "processing"
        card = self.state.keep_card(session.merchant_id, number, month, year, text(data.get("name")))
        payment = self.engine.open(
            session.merchant_id,
            session.intent,
            card,
            session.amount,
            session.currency,
            session.invoice_number,
            return_url=session.return_url,
            funding="hosted_page",
            session_id=session.id,
        )
        session.payment_id = payment.id
        if payment.state == "pending":
            return RedirectResponse(
                f"{str(request.base_url).rstrip('/')}/v1/redirect/{payment.challenge}", 303
            )
        session.state = "used"
        return self._back(payment)
