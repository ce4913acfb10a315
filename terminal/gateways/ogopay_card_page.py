"""OGO Pay's card page: the form the terminal serves (it posts the card straight to OGO) and OGO's answer.

The answer is an unsigned browser POST: it only names a token; nothing is paid until a signed call succeeds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from string import Template
from typing import Final

from terminal.domain.ledger import CardSummary
from terminal.domain.scrub import scrub_text
from terminal.gateways.base import CardToken, Challenge, HostedEntryRequest
from terminal.gateways.errors import DeclinedError, ValidationError
from terminal.gateways.http import origin_of
from terminal.gateways.ogopay_caps import DISPLAY_NAME

_BRANDS: Final = {"V": "Visa", "M": "Mastercard", "U": "UnionPay", "A": "American Express"}
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_\-]{8,128}$")


@cache
def _card_form_template() -> Template:
    return Template(
        files("terminal").joinpath("resources", "ogopay_card_form.html").read_text(encoding="utf-8")
    )


def card_page_challenge(
    request: HostedEntryRequest, *, action: str, merchant_id: str, gateway_origin: str, live: bool
) -> Challenge:
    """The card form for `request`, HTML-escaped, posting to OGO's /registercard-html at `action`."""
    return_origin = origin_of(request.return_url)
    values = {
        "title": f"{DISPLAY_NAME} card entry",
        "heading": f"Card payment with {DISPLAY_NAME}",
        "gateway": DISPLAY_NAME,
        "amount": request.amount.display(),
        "action": action,
        "card_holder_name": request.customer_name,
        "merchant_id": merchant_id,
        "customer_id": request.customer_id,
        "order_id": request.merchant_reference,
        "return_url": request.return_url,
    }
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    badge = "" if live else '<span class="badge">SANDBOX</span>'
    page = _card_form_template().substitute(escaped, badge=badge)
    return Challenge(
        return_url_prefix=request.return_url,
        allowed_origins=frozenset({gateway_origin, return_origin}),
        html=page,
        base_url=return_origin,
        title=values["title"],
    )


def read_card_page(request: HostedEntryRequest, fields: Mapping[str, str], *, merchant_id: str) -> CardToken:
    """Check OGO's return post belongs to this order and read its token and card summary."""
    expected = {
        "merchantId": merchant_id,
        "customerId": request.customer_id,
        "orderId": request.merchant_reference,
    }
    for name, value in expected.items():
        if fields.get(name, "") != value:
            raise ValidationError(
                "The card page answered for another order; the answer was ignored, nothing was charged.",
                field=name,
            )
    success = fields.get("success", "").strip().lower()
    if success not in ("true", "false"):
        raise ValidationError(
            "The card page's answer could not be read; nothing was charged.", field="success"
        )
    # Untrusted text shown to the clerk: short, and never a card number.
    message = scrub_text(fields.get("message", "").strip()[:200])
    if success == "false":
        raise DeclinedError(message or "3-D Secure authentication failed.")
    token = fields.get("token", "").strip()
    if not _TOKEN.match(token):
        raise ValidationError(
            "The card page returned no usable card token; nothing was charged.", field="token"
        )
    return CardToken(token=token, customer_id=request.customer_id, card=_card_summary(fields, token))


def _card_summary(fields: Mapping[str, str], token: str) -> CardSummary:
    """Brand, first six and last four from OGO's cardMask ('4242-42xx-xxxx-4242'), expiry as MM/YY."""
    compact = re.sub(r"[^0-9A-Za-z*]", "", fields.get("cardMask", ""))
    first6 = compact[:6] if len(compact) >= 10 and _ascii_digits(compact[:6]) else ""
    last4 = compact[-4:] if len(compact) >= 10 and _ascii_digits(compact[-4:]) else ""
    month, year = fields.get("expiryMonth", "").strip(), fields.get("expiryYear", "").strip()
    valid = _ascii_digits(month) and _ascii_digits(year) and len(year) == 2 and 1 <= int(month) <= 12
    expiry = f"{int(month):02d}/{year}" if valid else ""
    brand = _BRANDS.get(fields.get("cardType", "").strip().upper(), "")
    return CardSummary(brand=brand, first6=first6, last4=last4, expiry=expiry, token=token)


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also accepts '²' and other digits int() refuses or reads differently."""
    return text.isascii() and text.isdigit()
