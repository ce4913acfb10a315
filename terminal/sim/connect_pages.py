"""Connect simulator's browser pages: the hosted checkout's card form and the 3-D Secure challenge.

The hosted checkout lives at ``{host}/hostedcheckout/{id}`` (its ``partialRedirectUrl`` is that without
the scheme; the real platform's address is ``"https://payment." + partialRedirectUrl``). Paying creates
the payment on the page, as Connect's hosted checkout does; the browser then returns to ``returnUrl``
with ``RETURNMAC`` and ``hostedCheckoutId`` (a direct payment's 3-D Secure return carries ``RETURNMAC``
and ``paymentId``). Nothing the browser carries is proof: the merchant reads the result with the API.
"""

from __future__ import annotations

import contextlib
import html
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from terminal.sim.connect_model import DECLINES, ConnectState, HostedCheckout, Payment, Refusal
from terminal.sim.connect_payments import ConnectOps, dig
from terminal.sim.pages import challenge_page

__all__ = ["ConnectPages"]

_FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Worldline Connect sandbox checkout</title>
<style>body{{font-family:system-ui,sans-serif;background:#f3f4f6;padding:2em 1em}}
main{{max-width:26em;margin:0 auto;background:#fff;border-radius:8px;padding:1.5em 2em}}
label{{display:block;margin:.6em 0 .2em}}input{{width:100%;font-size:1.1em;padding:.4em}}
.badge{{background:#f59e0b;font-weight:bold;padding:.2em .6em;border-radius:4px}}
.error{{color:#b91c1c}}button{{font-size:1.1em;padding:.7em 1.4em;margin-top:1em}}</style></head>
<body><main><span class="badge">SANDBOX</span><h1>Pay {amount}</h1><p>Order {reference}</p>
<p class="error" id="error">{error}</p>
<form method="post" action="/hostedcheckout/{id}/pay" autocomplete="off">
<label for="cardNumber">Card number</label><input id="cardNumber" name="cardNumber" inputmode="numeric">
<label for="expiryDate">Expiry (MMYY)</label><input id="expiryDate" name="expiryDate" inputmode="numeric">
<label for="cvv">CVV</label><input id="cvv" name="cvv" inputmode="numeric">
<label for="cardholderName">Cardholder</label><input id="cardholderName" name="cardholderName">
<button id="pay" type="submit">Pay</button></form>
<form method="post" action="/hostedcheckout/{id}/cancel">
<button id="cancel" type="submit">Cancel</button></form>
</main></body></html>"""


def _with_query(url: str, fields: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(fields)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class ConnectPages:
    """The hosted checkout and 3-D Secure pages over one state."""

    def __init__(self, state: ConnectState, ops: ConnectOps) -> None:
        self.state, self.ops = state, ops

    def _checkout(self, request: Request) -> HostedCheckout | None:
        return self.state.checkouts.get(request.path_params["checkout_id"])

    def _form(self, checkout: HostedCheckout, error: str = "") -> HTMLResponse:
        money = dig(checkout.request, "order", "amountOfMoney") or {}
        values = {
            "amount": f"{money.get('amount', '')} {money.get('currencyCode', '')} (minor units)",
            "reference": str(dig(checkout.request, "order", "references", "merchantReference") or ""),
            "error": error,
            "id": checkout.id,
        }
        return HTMLResponse(_FORM.format(**{k: html.escape(v, quote=True) for k, v in values.items()}))

    def _back(self, checkout: HostedCheckout) -> Response:
        url = str(dig(checkout.request, "hostedCheckoutSpecificInput", "returnUrl") or "")
        fields = {"RETURNMAC": checkout.returnmac, "hostedCheckoutId": checkout.id}
        return RedirectResponse(_with_query(url, fields), status_code=303)

    async def show(self, request: Request) -> Response:
        checkout = self._checkout(request)
        if checkout is None or checkout.status != "IN_PROGRESS":
            return HTMLResponse("<h1>This checkout is no longer available.</h1>", status_code=404)
        return self._form(checkout)

    async def pay(self, request: Request) -> Response:
        """Create the payment the checkout describes with the typed card (MOTO or ECOMMERCE as asked)."""
        checkout = self._checkout(request)
        if checkout is None or checkout.status != "IN_PROGRESS":
            return HTMLResponse("<h1>This checkout is no longer available.</h1>", status_code=404)
        form = await request.form()
        card = {
            name: str(form.get(name, "")).strip()
            for name in ("cardNumber", "expiryDate", "cvv", "cardholderName")
        }
        specific = dict(checkout.request.get("cardPaymentMethodSpecificInput") or {})
        specific["card"] = card
        specific.setdefault("returnUrl", dig(checkout.request, "hostedCheckoutSpecificInput", "returnUrl"))
        body: dict[str, Any] = {
            "order": checkout.request.get("order"),
            "cardPaymentMethodSpecificInput": specific,
        }
        try:
            _, answer = self.ops.create_payment(checkout.merchant, body, hosted=checkout.id)
        except Refusal as refusal:
            if refusal.status == 400:
                return self._form(checkout, f"{refusal.message} ({refusal.prop})")
            payment = dig(refusal.extra, "paymentResult", "payment", "id")
            if not payment:
                return self._form(checkout, refusal.message)
            answer = {"payment": {"id": payment}}
        checkout.payment = str(answer["payment"]["id"])
        checkout.status = "PAYMENT_CREATED"
        p = self.state.payments[checkout.payment]
        if p.status == "REDIRECTED":
            return RedirectResponse(f"/threedsecure/{p.id}", status_code=303)
        return self._back(checkout)

    async def cancel(self, request: Request) -> Response:
        checkout = self._checkout(request)
        if checkout is None or checkout.status != "IN_PROGRESS":
            return HTMLResponse("<h1>This checkout is no longer available.</h1>", status_code=404)
        checkout.status = "CANCELLED_BY_CONSUMER"
        return self._back(checkout)

    # -- 3-D Secure ---------------------------------------------------------------------------------
    def _challenged(self, request: Request) -> Payment | None:
        p = self.state.payments.get(request.path_params["payment_id"])
        return p if p is not None and p.status == "REDIRECTED" else None

    async def challenge(self, request: Request) -> Response:
        p = self._challenged(request)
        if p is None:
            return HTMLResponse("<h1>No authentication is waiting for this payment.</h1>", status_code=404)
        page = challenge_page(
            gateway="Worldline Connect",
            merchant=p.merchant,
            card_mask=p.card.masked,
            approve_url=f"/threedsecure/{p.id}/approve",
            decline_url=f"/threedsecure/{p.id}/decline",
            details={"Amount": f"{p.amount} {p.currency} (minor units)", "Order": p.reference},
        )
        return HTMLResponse(page)

    async def answer(self, request: Request) -> Response:
        """Approve concludes the payment as asked; Decline rejects it (authentication failed)."""
        p = self._challenged(request)
        if p is None:
            return HTMLResponse("<h1>No authentication is waiting for this payment.</h1>", status_code=404)
        if request.path_params["answer"] == "approve":
            # A declined card leaves the payment REJECTED, which the merchant reads.
            with contextlib.suppress(Refusal):
                self.ops.conclude(p, p.after_challenge)
        else:
            p.decline = DECLINES["authentication_failed"]
            self.state.move_payment(p, "REJECTED")
        checkout = self.state.checkouts.get(p.hosted_checkout)
        if checkout is not None:
            return self._back(checkout)
        url = _with_query(p.return_url, {"RETURNMAC": p.returnmac, "paymentId": p.id})
        return RedirectResponse(url, status_code=303)
