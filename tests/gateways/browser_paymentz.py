"""The customer's (or clerk's) browser for Paymentz, without a web engine: the hosted checkout form the
adapter built -> the simulator's card page -> 3-D Secure when the card asks for it -> the auto-posted
return fields. Also the 3-D Secure redirect of a direct payment, and card registration for the harness.

Only tests hold card numbers, and only here.
"""

from __future__ import annotations

from datetime import date

import httpx

from terminal.gateways.base import CardDetails, CardToken, Challenge, Gateway
from tests.support.form_browser import Form, form_with_button, forms_of


def card(number: str, *, cvc: str = "123", holder: str = "Ada Lovelace") -> CardDetails:
    """A typed card with an expiry two years ahead."""
    return CardDetails(
        number=number.replace(" ", ""),
        expiry_month=12,
        expiry_year=date.today().year + 2,
        cvc=cvc,
        holder=holder,
    )


async def register(gateway: Gateway, card_number: str, reference: str, customer_id: str) -> CardToken:
    """Card in, token out: POST /registrations (direct entry on)."""
    return await gateway.create_token(card(card_number), customer_id)


async def _submit(
    client: httpx.AsyncClient, form: Form, extra: dict[str, str] | None = None
) -> httpx.Response:
    answer = await client.post(form.action, data={**form.fields, **(extra or {})})
    assert answer.status_code == 200, answer.text
    return answer


async def _after_page(
    client: httpx.AsyncClient, page: httpx.Response, approve: bool
) -> tuple[str, dict[str, str]]:
    """Press Approve/Decline when the page is the 3-D Secure one; return the final auto-post."""
    if 'id="approve"' in page.text:
        form = form_with_button(page.text, str(page.url), "approve" if approve else "decline")
        page = await _submit(client, form)
    final = forms_of(page.text, str(page.url))[0]
    return final.action, final.fields


async def checkout(
    challenge: Challenge, card_number: str, *, approve: bool = True, expiry_year: str = ""
) -> tuple[str, dict[str, str]]:
    """Load the checkout form, type the card, pass (or fail) 3-D Secure: (return action, fields)."""
    assert challenge.html is not None
    [start] = forms_of(challenge.html, challenge.base_url or "")
    assert start.method == "post" and start.action.endswith("/transaction/Checkout")
    typed = {
        "cardNumber": card_number.replace(" ", ""),
        "expiryMonth": "12",
        "expiryYear": expiry_year or str(date.today().year + 2),
        "cvv": "123",
        "holder": "Ada Lovelace",
    }
    async with httpx.AsyncClient(timeout=5.0) as client:
        card_page = await _submit(client, start)
        card_form = forms_of(card_page.text, str(card_page.url))[0]
        page = await _submit(client, card_form, typed)
        return await _after_page(client, page, approve)


async def three_d_secure(challenge: Challenge, *, approve: bool = True) -> tuple[str, dict[str, str]]:
    """Follow a direct payment's 3-D Secure redirect (POST with PaReq/MD) and answer the ACS page."""
    assert challenge.html is not None
    [redirect] = forms_of(challenge.html, challenge.base_url or "")
    assert redirect.method == "post" and {"PaReq", "MD"} <= set(redirect.fields)
    async with httpx.AsyncClient(timeout=5.0) as client:
        page = await _submit(client, redirect)
        return await _after_page(client, page, approve)
