"""The Paymentz AuthToken: obtained with the secure key, cached, renewed before its hour ends.

``POST /transactionServices/REST/v1/authToken`` (form: partnerId, username, secure key) answers a JWT
valid one hour. The platform signs it with its own key, so the terminal cannot verify it; it only reads
``exp`` to know when to renew (falling back to one hour from receipt). A token refused with ``401`` is
dropped so the next call gets a fresh one (the caller re-sends once: a 401 means nothing was done).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlencode

from terminal.gateways.errors import AuthenticationError, OutcomeUnknownError, ValidationError
from terminal.gateways.http import GatewayHttp, Safety, raise_if_server_error
from terminal.gateways.paymentz_status import codes_of, text

__all__ = ["AUTH_PATH", "LIFETIME", "RENEW_BEFORE", "AuthTokens", "Credentials"]

AUTH_PATH: Final = "/transactionServices/REST/v1/authToken"
LIFETIME: Final = timedelta(hours=1)
# Renewed this long before it expires, so a request never leaves with a token about to lapse.
RENEW_BEFORE: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What /authToken needs: the partner, the merchant's login and member id, the secure key."""

    partner_id: str
    username: str
    member_id: str
    secure_key: str = field(repr=False)


def _expiry(token: str, received: datetime) -> datetime:
    """The token's own ``exp`` (read, not verified), capped at one hour from receipt."""
    cap = received + LIFETIME
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError, OverflowError):
        return cap
    return min(exp, cap)


class AuthTokens:
    """One merchant's AuthToken, shared by every call of one adapter."""

    def __init__(
        self, http: GatewayHttp, credentials: Credentials, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._clock = clock or (lambda: datetime.now(UTC))
        self._token = ""
        self._expires = datetime.min.replace(tzinfo=UTC)
        self._lock = asyncio.Lock()
        self.issued = 0  # how many tokens this adapter obtained (shown in diagnostics)

    @property
    def expires(self) -> datetime:
        """When the cached token lapses (the past when none is held)."""
        return self._expires

    async def get(self) -> str:
        """A token valid for at least RENEW_BEFORE more; a new one when none is cached or it is lapsing."""
        async with self._lock:
            if not self._token or self._clock() >= self._expires - RENEW_BEFORE:
                await self._obtain()
            return self._token

    def drop(self, token: str) -> None:
        """Forget `token` after the gateway refused it (401); a newer one obtained meanwhile stays."""
        if self._token == token:
            self._token = ""

    async def _obtain(self) -> None:
        c = self._credentials
        fields = {
            "authentication.partnerId": c.partner_id,
            "merchant.username": c.username,
            "authentication.sKey": c.secure_key,
            "authentication.memberId": c.member_id,
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        # Obtaining a token moves no money: a lost answer is simply asked again (Safety.READ).
        reply = await self._http.request(
            "POST", AUTH_PATH, content=urlencode(fields).encode(), headers=headers, safety=Safety.READ
        )
        raise_if_server_error(reply)
        if reply.status in (404, 405):
            raise ValidationError(
                f"There is no Paymentz API at {self._http.base_url} (HTTP {reply.status}); nothing was done.",
                field="host",
                status=reply.status,
            )
        try:
            data = reply.json()
        except OutcomeUnknownError:
            # Obtaining a token moves no money: an unreadable answer is just "not Paymentz".
            raise ValidationError(
                f"The server at {self._http.base_url} does not answer like Paymentz (HTTP {reply.status}).",
                field="host",
                status=reply.status,
            ) from None
        token = text(data.get("AuthToken"))
        if codes_of(data) != ["200"] or not token:
            raise AuthenticationError(
                "Paymentz refused the partner id, username or secure key (no AuthToken); nothing was done. "
                "Check the profile's credentials.",
                gateway_code=" | ".join(codes_of(data)),
                status=reply.status,
            )
        now = self._clock()
        self._token, self._expires = token, _expiry(token, now)
        self.issued += 1
