"""OMPay's card page: served by the terminal, its script posts the card straight to ``/credit-card-nonce``.

The page carries a fresh client token (Bearer) and the nonce address in data attributes, so its one inline
script is static and allowed by hash. Only the nonce (with brand, last four and expiry) is posted back to
the terminal's return URL; the card number and CVC never leave the browser except to OMPay.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from string import Template
from typing import Final

from terminal.domain.ledger import CardSummary
from terminal.gateways.base import CardToken, Challenge, HostedEntryRequest
from terminal.gateways.errors import ValidationError
from terminal.gateways.http import origin_of
from terminal.gateways.ompay_status import DISPLAY_NAME

__all__ = ["NONCE_PREFIX", "card_page_challenge", "nonce_of", "read_card_page"]

# A nonce handed to sale()/authorize() is marked, so it is never mistaken for a vaulted card id (both UUIDs).
NONCE_PREFIX: Final = "nonce:"
_DIGITS4: Final = re.compile(r"^[0-9]{4}$")


@cache
def _template() -> Template:
    return Template(
        files("terminal").joinpath("resources", "ompay_card_form.html").read_text(encoding="utf-8")
    )


def card_page_challenge(
    request: HostedEntryRequest, *, nonce_url: str, client_token: str, live: bool
) -> Challenge:
    """The card page for `request`, every value HTML-escaped, with a client token for this page only."""
    return_origin = origin_of(request.return_url)
    values = {
        "title": f"{DISPLAY_NAME} card entry",
        "heading": f"Card payment with {DISPLAY_NAME}",
        "gateway": DISPLAY_NAME,
        "amount": request.amount.display(),
        "customer_name": request.customer_name or request.customer_id,
        "order_id": request.merchant_reference,
        "nonce_url": nonce_url,
        "client_token": client_token,
        "return_url": request.return_url,
    }
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    badge = "" if live else '<span class="badge">SANDBOX</span>'
    return Challenge(
        return_url_prefix=request.return_url,
        allowed_origins=frozenset({origin_of(nonce_url), return_origin}),
        html=_template().substitute(escaped, badge=badge),
        base_url=return_origin,
        title=values["title"],
    )


def nonce_of(token: str) -> str | None:
    """The nonce inside a token this module made, or None when `token` is something else (a vault id)."""
    if not token.startswith(NONCE_PREFIX):
        return None
    value = token.removeprefix(NONCE_PREFIX)
    try:
        return str(uuid.UUID(value)) if len(value) == 36 else None
    except ValueError:
        return None


def read_card_page(request: HostedEntryRequest, fields: Mapping[str, str]) -> CardToken:
    """The page's post: a nonce for this order (untrusted: only the payment call proves it)."""
    if fields.get("order_id", "") != request.merchant_reference:
        raise ValidationError(
            "The card page answered for another order; the answer was ignored, nothing was charged.",
            field="order_id",
        )
    raw = fields.get("nonce", "").strip()
    nonce = nonce_of(NONCE_PREFIX + raw)
    if nonce is None:
        raise ValidationError(
            "The card page returned no usable card reference; nothing was charged.", field="nonce"
        )
    last4 = fields.get("last4", "").strip()
    month, year = fields.get("expire_month", "").strip(), fields.get("expire_year", "").strip()
    expiry = ""
    if month.isascii() and month.isdigit() and 1 <= int(month) <= 12 and year.isascii() and year.isdigit():
        expiry = f"{int(month):02d}/{year[-2:]}"
    card = CardSummary(
        brand=fields.get("brand", "").strip()[:40],
        last4=last4 if _DIGITS4.match(last4) else "",
        expiry=expiry,
    )
    return CardToken(token=NONCE_PREFIX + nonce, customer_id=request.customer_id, card=card)
