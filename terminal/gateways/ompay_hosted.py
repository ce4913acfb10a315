"""OMPay's pages away from the terminal: the hosted payment page (pay-by-link) and the 3-D Secure redirect.

Both are pages at OMPay whose outcome is never taken from what the browser brings back: a hosted page is
followed by its session (``GET /hosted-payment/session/{id}``), a 3-D Secure payment by ``GET /payment/{id}``.
Kept apart from ompay.py so the adapter stays a thin sequence of calls; the wire shapes are built and read
here. Wire facts: docs/gateways/ompay.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from terminal.domain.declines import DeclineCode
from terminal.gateways.base import Challenge, GatewayResult, Outcome, PaymentRequest
from terminal.gateways.errors import OutcomeUnknownError
from terminal.gateways.http import origin_of
from terminal.gateways.ompay_status import DISPLAY_NAME, text

__all__ = [
    "challenge_of",
    "hosted_page_body",
    "hosted_page_result",
    "session_hex",
    "session_state_result",
    "transaction_of",
]


def session_hex(value: str) -> str | None:
    """A hosted page's session id (a UUID in any spelling) as 32 hex digits, or None if it is not one."""
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return None


def transaction_of(request: PaymentRequest, total: str, description: str) -> dict[str, Any]:
    """The ``transaction`` object a payment and a hosted page share; an empty description is left out."""
    transaction: dict[str, Any] = {
        "type": "1",
        "amount": {"currency": request.amount.currency, "total": total},
        "invoice_number": request.merchant_reference,
    }
    if description:
        transaction["description"] = description[:127]
    if request.return_url:
        transaction["return_url"] = request.return_url
    return transaction


# -- pay-by-link: the hosted payment page -----------------------------------------------------------------
def hosted_page_body(request: PaymentRequest, total: str) -> dict[str, Any]:
    """``POST /hosted-payment``: a sale page the customer opens from a link (no funding instrument)."""
    description = request.description or f"Order {request.merchant_reference}"
    payer_info: dict[str, Any] = {"name": request.customer_name[:60]}
    if request.customer_email:
        payer_info["email"] = request.customer_email
    return {
        "intent": "sale",
        "payer": {"payment_type": "CC", "payer_info": payer_info},
        "transaction": transaction_of(request, total, description),
    }


def hosted_page_result(data: Mapping[str, Any], request: PaymentRequest) -> GatewayResult:
    """The created page as a pending result whose reference is its session, so fetch() can follow it."""
    link = text(data.get("hosted_page_link"))
    page = link.rstrip("/").rsplit("/", 1)[-1]
    session = session_hex(page)
    if not link.startswith(("https://", "http://")) or session is None:
        raise OutcomeUnknownError(f"{DISPLAY_NAME} created a payment page without a usable link.")
    return GatewayResult(
        outcome=Outcome.PENDING,
        gateway_reference=session,
        amount=request.amount,
        merchant_reference=text(data.get("invoice_number")) or request.merchant_reference,
        link_url=link,
        raw={"invoice_number": text(data.get("invoice_number")), "session_state": "pending"},
    )


def session_state_result(data: Mapping[str, Any], session: str) -> GatewayResult | None:
    """A page's session state: expired (declined) or still pending; None once used (read its payment)."""
    state = text(data.get("session_state")).lower()
    if state == "expired":
        return GatewayResult(
            outcome=Outcome.DECLINED,
            gateway_reference=session,
            decline_code=DeclineCode.EXPIRED_SESSION,
            gateway_code="expired",
            gateway_message="The payment page expired before the customer paid.",
        )
    if state != "used":
        return GatewayResult(outcome=Outcome.PENDING, gateway_reference=session, gateway_code=state)
    return None


# -- 3-D Secure ---------------------------------------------------------------------------------------------
def challenge_of(result: GatewayResult, data: Mapping[str, Any], return_url: str) -> GatewayResult:
    """1007 Redirect: the 3-D Secure page for the web view; complete_challenge reads the outcome."""
    found = data.get("result")
    redirect = text(found.get("redirect_url")) if isinstance(found, dict) else ""
    if not redirect.startswith(("https://", "http://")) or not result.gateway_reference:
        raise OutcomeUnknownError(f"{DISPLAY_NAME} asked for 3-D Secure without a usable page address.")
    origins = {origin_of(redirect)}
    if return_url:
        origins.add(origin_of(return_url))
    challenge = Challenge(
        return_url_prefix=return_url,
        allowed_origins=frozenset(origins),
        url=redirect,
        title="3-D Secure",
        reference=result.gateway_reference,
        context={"reference_id": result.gateway_reference},
    )
    return GatewayResult(
        outcome=Outcome.CHALLENGE,
        gateway_reference=result.gateway_reference,
        amount=result.amount,
        gateway_code=result.gateway_code,
        gateway_message=result.gateway_message,
        raw=result.raw,
        challenge=challenge,
        card=result.card,
        token=result.token,
    )
