"""OGO Pay simulator, card side: ``/registercard-html|json`` and the sandbox 3-D Secure challenge.

The card number lives only in a pending :class:`Challenge`; what leaves is a token, a mask and a brand.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from terminal.sim.ogopay_model import (
    CardToken,
    Challenge,
    OgoState,
    Refusal,
    expiry_passed,
    fail,
    require_field,
    text_field,
)
from terminal.sim.pages import autopost_page, challenge_page
from terminal.sim.sandbox import card_outcome, luhn_valid

__all__ = ["CHALLENGE_TTL", "OgoCardPages", "card_mask", "card_type"]

CHALLENGE_TTL: Final = timedelta(minutes=15)
_REGISTER_FIELDS: Final = ("cardNumber", "expiryMonth", "expiryYear", "customerId", "orderId", "returnUrl")


def card_type(number: str) -> str:
    """OGO's one-letter brand code (``A`` and ``X`` are simulator choices)."""
    if number.startswith("4"):
        return "V"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4]) <= 2720:
        return "M"
    if number[:2] in {"34", "37"}:
        return "A"
    return "U" if number.startswith("62") else "X"


def card_mask(number: str) -> str:
    """First 6 and last 4 digits, the rest ``x``, grouped like ``4242-42xx-xxxx-4242``."""
    masked = number[:6] + "x" * (len(number) - 10) + number[-4:]
    sizes = (4, 6, 5) if len(number) == 15 and number[:2] in {"34", "37"} else (4,) * ((len(number) + 3) // 4)
    groups, start = [], 0
    for size in sizes:
        groups.append(masked[start : start + size])
        start += size
    return "-".join(group for group in groups if group)


def parse_registration(state: OgoState, body: dict[str, Any]) -> Challenge:
    """A pending challenge for a valid registration, else a Refusal saying what is wrong."""
    merchant_id = require_field(body, "merchantId")
    if merchant_id not in state.merchants:
        raise Refusal("Unknown merchant")
    for name in _REGISTER_FIELDS:
        require_field(body, name)
    return_url = text_field(body, "returnUrl")
    parts = urlsplit(return_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Refusal("returnUrl must be an http(s) URL")
    number = "".join(text_field(body, "cardNumber").split())
    if not luhn_valid(number) or card_outcome(number) == "invalid":
        raise Refusal("Invalid card number")
    month, year = text_field(body, "expiryMonth").zfill(2), text_field(body, "expiryYear").zfill(2)
    if not (
        month.isdigit() and year.isdigit() and len(month) == 2 and len(year) == 2 and 1 <= int(month) <= 12
    ):
        raise Refusal("Invalid expiry date")
    if expiry_passed(month, year, state.clock.now()):
        raise Refusal("Card expired")
    return Challenge(
        merchant_id=merchant_id,
        customer_id=text_field(body, "customerId"),
        order_id=text_field(body, "orderId"),
        return_url=return_url,
        card_number=number,
        expiry_month=month,
        expiry_year=year,
        created=state.clock.now(),
    )


class OgoCardPages:
    """Tokenisation handlers over one :class:`OgoState`."""

    def __init__(self, state: OgoState) -> None:
        self.state = state

    def _challenge_html(self, request: Request, challenge: Challenge) -> str:
        challenge_id = secrets.token_urlsafe(16)
        self.state.add_challenge(challenge_id, challenge, CHALLENGE_TTL)
        base = f"{str(request.base_url).rstrip('/')}/3ds/{challenge_id}"
        return challenge_page(
            gateway="OGO Pay",
            merchant=challenge.merchant_id,
            card_mask=card_mask(challenge.card_number),
            approve_url=f"{base}/approve",
            decline_url=f"{base}/decline",
        )

    async def register_html(self, request: Request) -> Response:
        """``POST /registercard-html``: the 3-D Secure page, or 400 with a plain-text reason."""
        form = await request.form()
        body = {key: value for key, value in form.items() if isinstance(value, str)}
        try:
            challenge = parse_registration(self.state, body)
        except Refusal as refusal:
            return PlainTextResponse(str(refusal), status_code=refusal.status)
        return HTMLResponse(self._challenge_html(request, challenge))

    async def register_json(self, request: Request) -> Response:
        """``POST /registercard-json``: the same page wrapped in ``{success, message, result}``."""
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise Refusal("Invalid JSON body")
            challenge = parse_registration(self.state, body)
        except (ValueError, UnicodeDecodeError):
            return fail("Invalid JSON body")
        except Refusal as refusal:
            return fail(str(refusal), refusal.status)
        html_page = self._challenge_html(request, challenge)
        return JSONResponse({"success": True, "message": "3DSecure Page", "result": html_page})

    async def approve(self, request: Request) -> Response:
        """The payer passed the 3-D Secure check."""
        return self._answer(request, approved=True)

    async def decline(self, request: Request) -> Response:
        """The payer failed the 3-D Secure check."""
        return self._answer(request, approved=False)

    def _answer(self, request: Request, *, approved: bool) -> Response:
        challenge = self.state.challenges.pop(request.path_params["challenge_id"], None)
        if challenge is None:
            return PlainTextResponse("Unknown or finished 3-D Secure session", status_code=404)
        fields = {
            "success": "false",
            "message": "3-D Secure authentication failed",
            "cardMask": card_mask(challenge.card_number),
            "expiryMonth": challenge.expiry_month,
            "expiryYear": challenge.expiry_year,
            "cardType": card_type(challenge.card_number),
            "merchantId": challenge.merchant_id,
            "customerId": challenge.customer_id,
            "orderId": challenge.order_id,
        }
        if self.state.clock.now() - challenge.created > CHALLENGE_TTL:
            fields["message"] = "3-D Secure session expired"
        elif approved:
            token = uuid.uuid4().hex
            self.state.tokens[token] = CardToken(
                merchant_id=challenge.merchant_id,
                customer_id=challenge.customer_id,
                outcome=card_outcome(challenge.card_number),
                expiry_month=challenge.expiry_month,
                expiry_year=challenge.expiry_year,
            )
            fields = {**fields, "success": "true", "message": "Card tokenized successfully", "token": token}
        page = autopost_page(
            action=challenge.return_url,
            fields=fields,
            title="Returning to the merchant",
            message=fields["message"],
        )
        return HTMLResponse(page)
