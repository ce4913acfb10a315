"""OMPay simulator model: merchants, client tokens, nonces, the vault, payments and hosted sessions.

Everything lives in memory in :class:`OmpayState`; card numbers only in nonces and vaulted cards, always
kept out of ``repr``. :class:`ApiError` is the invented error shape of docs/gateways/ompay.md
(``{"result": {"code", "description"}}`` with HTTP 400/401/404/409/422).
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from babel.numbers import get_currency_precision, list_currencies
from starlette.responses import JSONResponse

from terminal.sim.sandbox import CardOutcome, SimState, card_outcome

__all__ = [
    "AUTH_TTL",
    "DEFAULT_MERCHANTS",
    "HPP_TTL",
    "ApiError",
    "ClientToken",
    "HostedSession",
    "Merchant",
    "Nonce",
    "OmpayState",
    "Payment",
    "VaultCard",
    "brand_of",
    "format_total",
    "iso",
    "parse_total",
]

AUTH_TTL: Final = timedelta(days=7)
HPP_TTL: Final = timedelta(hours=1)
# Uses of one client token allowed within the window before it is revoked (simulator decision).
TOKEN_USE_LIMIT: Final = 50
TOKEN_USE_WINDOW: Final = timedelta(seconds=60)
_ID_ALPHABET: Final = string.ascii_uppercase + string.digits
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits


class ApiError(Exception):
    """A refusal in the simulator's error shape; ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        """``{"result": {"code", "description"}}`` with the status."""
        body = {"result": {"code": self.code, "description": self.description}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, as OMPay's timestamps are written."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def brand_of(number: str) -> tuple[str, str]:
    """(brand_code, type) as the nonce answer names them ("VISA", "Visa")."""
    if number.startswith("4"):
        return "VISA", "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or "0") <= 2720:
        return "MASTERCARD", "MasterCard"
    if number[:2] in {"34", "37"}:
        return "AMEX", "American Express"
    return "OTHER", "Other"


def parse_total(total: Any, currency: Any) -> tuple[int, str]:
    """A ``{total, currency}`` pair as (minor units, ISO code); refuses what OMPay would refuse."""
    if not isinstance(currency, str) or currency.upper() not in list_currencies():
        raise ApiError(400, "4000", "transaction.amount.currency must be an ISO 4217 code")
    code = currency.upper()
    if not isinstance(total, str) or not total or not all(c in "0123456789." for c in total):
        raise ApiError(400, "4000", 'amount total must be a decimal string such as "1.250"')
    try:
        value = Decimal(total)
    except InvalidOperation:
        raise ApiError(400, "4000", "amount total must be a decimal string") from None
    digits = int(get_currency_precision(code))
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > digits:
        raise ApiError(422, "4222", f"{code} amounts have at most {digits} decimals")
    if value <= 0:
        raise ApiError(422, "4000", "amount total must be more than zero")
    return int(value.scaleb(digits)), code


def format_total(minor: int, currency: str) -> str:
    """Minor units back to the wire's decimal string with the currency's exponent ("1.250")."""
    digits = int(get_currency_precision(currency))
    return f"{Decimal(minor).scaleb(-digits):.{digits}f}"


@dataclass(frozen=True)
class Merchant:
    """One merchant account: the Basic credentials of its server calls."""

    client_id: str
    client_secret: str = field(repr=False)


DEFAULT_MERCHANTS: Final[dict[str, Merchant]] = {
    "sandboxmerchant1": Merchant("sandboxclientid1", "sandboxsecret001"),
}


@dataclass
class ClientToken:
    """A client token: 40 opaque characters, for the browser's nonce calls."""

    value: str = field(repr=False)
    merchant_id: str
    issued: datetime
    expires: datetime
    uses: deque[datetime] = field(default_factory=deque)
    revoked: bool = False


@dataclass
class VaultCard:
    """A card kept for a returning customer; ``id`` is what ``credit_card_token`` names."""

    id: str
    merchant_id: str
    number: str = field(repr=False)
    expire_month: int
    expire_year: int
    name: str = ""

    @property
    def outcome(self) -> CardOutcome:
        """What the sandbox card table says of this card."""
        return card_outcome(self.number)


@dataclass
class Nonce:
    """A one-time reference to card details typed into the browser."""

    value: str
    merchant_id: str
    number: str = field(repr=False)
    expire_month: int
    expire_year: int
    issued: datetime
    expires: datetime
    used: bool = False


@dataclass
class Payment:
    """A payment (sale or auth) or one of its follow-ups (capture, void, refund)."""

    id: str
    merchant_id: str
    kind: str  # "payment", "capture", "void", "refund"
    intent: str  # "sale" or "auth" for payments; the follow-up's kind otherwise
    state: str
    code: str
    description: str
    amount: int
    currency: str
    invoice_number: str
    created: datetime
    card: VaultCard | None = None
    parent_id: str = ""
    session_id: str = ""
    challenge: str = ""  # 32 hex of the 3-D Secure page while pending
    return_url: str = ""
    authorisation_code: str = ""
    payer_info: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    captured_by: str = ""
    refunded: int = 0


@dataclass
class HostedSession:
    """A hosted payment page: pending -> processing -> used, or expired after an hour unused."""

    id: str  # the page's UUID; the session id is its 32 hex digits
    merchant_id: str
    intent: str
    amount: int
    currency: str
    invoice_number: str
    description: str
    return_url: str
    created: datetime
    state: str = "pending"
    payment_id: str = ""

    @property
    def session_id(self) -> str:
        """The HPP session id: the page UUID without dashes."""
        return uuid.UUID(self.id).hex


class OmpayState(SimState):
    """Everything the OMPay simulator remembers; ``reset()`` forgets all but merchants and lifetimes."""

    def __init__(self, merchants: dict[str, Merchant], *, token_ttl: timedelta, nonce_ttl: timedelta) -> None:
        super().__init__()
        self.merchants = merchants
        self.token_ttl = token_ttl
        self.nonce_ttl = nonce_ttl
        self._clear()

    def _clear(self) -> None:
        self.tokens: dict[str, ClientToken] = {}
        self.nonces: dict[str, Nonce] = {}
        self.vault: dict[str, VaultCard] = {}
        self.payments: dict[str, Payment] = {}
        self.invoices: set[tuple[str, str]] = set()
        self.sessions: dict[str, HostedSession] = {}
        self.requests: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget tokens, nonces, vault, payments, sessions, request counts, ledger and clock offset."""
        super().reset()
        self._clear()

    # -- ids ------------------------------------------------------------------------------------
    def new_payment_id(self) -> str:
        """20 uppercase alphanumerics, unique here."""
        while True:
            value = "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))
            if value not in self.payments:
                return value

    # -- client tokens -------------------------------------------------------------------------
    def issue_token(self, merchant_id: str) -> ClientToken:
        """A fresh client token for the merchant."""
        now = self.clock.now()
        value = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(40))
        token = ClientToken(value, merchant_id, now, now + self.token_ttl)
        self.tokens[value] = token
        return token

    def use_token(self, value: str, merchant_id: str) -> ClientToken:
        """Check and count one use of a client token: 401 when unknown, expired or revoked."""
        token = self.tokens.get(value)
        now = self.clock.now()
        if token is None or token.merchant_id != merchant_id:
            raise ApiError(401, "4010", "Invalid client token")
        if now >= token.expires:
            raise ApiError(401, "4011", "Client token expired")
        if token.revoked:
            raise ApiError(401, "4012", "Client token revoked")
        while token.uses and now - token.uses[0] > TOKEN_USE_WINDOW:
            token.uses.popleft()
        token.uses.append(now)
        if len(token.uses) > TOKEN_USE_LIMIT:
            token.revoked = True  # this use still answers; the next one is refused
        return token

    # -- nonces --------------------------------------------------------------------------------
    def issue_nonce(self, merchant_id: str, number: str, month: int, year: int) -> Nonce:
        """A single-use nonce for typed card details."""
        now = self.clock.now()
        for stale in [k for k, n in self.nonces.items() if n.used or now >= n.expires]:
            del self.nonces[stale]  # card numbers do not linger past their nonce
        nonce = Nonce(str(uuid.uuid4()), merchant_id, number, month, year, now, now + self.nonce_ttl)
        self.nonces[nonce.value] = nonce
        return nonce

    def spend_nonce(self, value: str, merchant_id: str) -> Nonce:
        """Use a nonce once: 422 4221 when used before, 4223 when unknown or expired."""
        nonce = self.nonces.get(value)
        if nonce is None or nonce.merchant_id != merchant_id:
            raise ApiError(422, "4223", "Unknown or expired payment nonce")
        if nonce.used:
            raise ApiError(422, "4221", "Payment nonce already used")
        if self.clock.now() >= nonce.expires:
            raise ApiError(422, "4223", "Unknown or expired payment nonce")
        nonce.used = True
        return nonce

    # -- vault and sessions ---------------------------------------------------------------------
    def keep_card(self, merchant_id: str, number: str, month: int, year: int, name: str) -> VaultCard:
        """Vault a card (every card payment does): its UUID charges it again later."""
        card = VaultCard(str(uuid.uuid4()), merchant_id, number, month, year, name)
        self.vault[card.id] = card
        return card

    def session(self, session_id: str, merchant_id: str) -> HostedSession | None:
        """A hosted session by its 32-hex id (or its UUID form), with expiry applied."""
        try:
            key = str(uuid.UUID(session_id))
        except ValueError:
            return None
        found = self.sessions.get(key)
        if found is None or found.merchant_id != merchant_id:
            return None
        if found.state == "pending" and self.clock.now() - found.created >= HPP_TTL:
            found.state = "expired"
        return found

    def payment(self, reference_id: str, merchant_id: str) -> Payment:
        """A payment of this merchant, or 404."""
        found = self.payments.get(reference_id)
        if found is None or found.merchant_id != merchant_id:
            raise ApiError(404, "4040", "Payment not found")
        if (
            found.kind == "payment"
            and found.intent == "auth"
            and found.state == "authorised"
            and self.clock.now() - found.created > AUTH_TTL
        ):
            found.state = "cancelled"  # not captured within 7 days
        return found
