"""ETpay simulator model: sessions, request-field rules, JWT claims and status records."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Final, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt

from terminal.sim.sandbox import SimState

__all__ = [
    "BANKS",
    "CODES",
    "CURRENCY",
    "DEFAULT_RUT",
    "FUNNEL_BANKS",
    "MERCHANT_NAME",
    "SESSION_TTL",
    "ApiError",
    "EtpayState",
    "Outcome",
    "Session",
    "authenticate",
    "json_object",
    "new_session",
    "normalise_rut",
    "optional_text",
    "payment_claims",
    "return_url",
    "sign",
    "status_record",
    "system_error_claims",
]

Outcome = Literal["success", "rejected_by_bank", "cancelled_by_user", "session_expired"]

SESSION_TTL: Final = timedelta(minutes=30)
CURRENCY: Final = "CLP"
MERCHANT_NAME: Final = "Sandbox Developer Merchant"
MERCHANT_ACCOUNT_BANK: Final = "cl_estado"
MERCHANT_ACCOUNT_TYPE: Final = "cuenta_vista"
MERCHANT_ACCOUNT: Final = "12345678901"
USER_ACCOUNT: Final = "Cuenta Corriente 12345678"
DEFAULT_RUT: Final = "111111111"
# The documented Chilean bank codes (etpay-sdk user_bank_codes.py) and the names the funnel shows.
BANKS: Final[dict[str, str]] = {
    "CL_TEST": "Banco de prueba",
    "CL_ESTADO": "BancoEstado",
    "CL_SANTANDER": "Banco Santander",
    "CL_BCH": "Banco de Chile",
    "CL_BCI": "Banco BCI",
    "CL_ITAU": "Banco Itaú",
    "CL_SCOTIABANK": "Scotiabank",
    "CL_FALABELLA": "Banco Falabella",
    "cl_mach": "MACH",
}
FUNNEL_BANKS: Final = ("CL_TEST", "CL_ESTADO", "CL_SANTANDER")
# Simulator choice: ETpay publishes no code list, so each failure reason gets a stable code.
CODES: Final[dict[Outcome, str | None]] = {
    "success": None,
    "rejected_by_bank": "101",
    "cancelled_by_user": "102",
    "session_expired": "103",
}
_ORDER_ID: Final = re.compile(r"[A-Za-z0-9]{1,64}")
_RUT: Final = re.compile(r"[0-9]{1,8}[0-9K]")
_CONCAT: Final = re.compile(r"[\x21-\x7e]{1,16}")
_MAX_URL: Final = 2048
_MAX_METADATA: Final = 20


def _santiago() -> tzinfo:
    try:
        return ZoneInfo("America/Santiago")
    except ZoneInfoNotFoundError:
        # Windows without the tzdata package: Chile's standard (winter) offset is close enough.
        return timezone(timedelta(hours=-4), "CLT")


SANTIAGO: Final = _santiago()


class ApiError(Exception):
    """A refused API call: HTTP ``status`` with ``{"error": message, "field": field}``."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass
class Session:
    """One payment session: what the merchant asked for and, once answered, what the payer did."""

    session_token: str
    signature_token: str = field(repr=False)
    merchant_code: str
    merchant_order_id: str
    amount: int
    completed_url: str
    cancellation_url: str
    created: datetime
    customer_email: str | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)
    user_bank_code: str | None = None
    user_rut: str | None = None
    is_rut_block: bool = False
    webhook_url: str | None = None
    concat: str | None = None
    outcome: Outcome | None = None
    answered_at: datetime | None = None
    payment_token: str | None = None
    bank_code: str | None = None
    rut: str | None = None

    @property
    def expires(self) -> datetime:
        """When the funnel stops accepting an answer."""
        return self.created + SESSION_TTL

    def outcome_at(self, now: datetime) -> Outcome | None:
        """The final outcome, ``session_expired`` for an unanswered session past its life, else None."""
        if self.outcome is None and now >= self.expires:
            return "session_expired"
        return self.outcome


class EtpayState(SimState):
    """Everything the ETpay simulator remembers; ``reset()`` forgets it all but the merchants."""

    def __init__(self, merchants: dict[str, str], *, status_strings: bool) -> None:
        super().__init__()
        self.merchants = merchants
        self.status_strings = status_strings
        self.sessions: dict[str, Session] = {}
        # Strong references, or the loop may drop a webhook task before it runs.
        self.webhooks: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        """Forget sessions, ledger and clock offset."""
        super().reset()
        self.sessions.clear()


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object whatever the Content-Type (the SDK sends none), else a 400."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object")
    return body


def optional_text(body: dict[str, Any], name: str) -> str | None:
    """A string field, None when absent, null or empty; any other type is a 400."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(f"{name} must be a string", name)
    return value


def authenticate(merchants: dict[str, str], body: dict[str, Any], *, code_required: bool) -> str:
    """The merchant_code whose merchant_api_token the body carries, else a 401."""
    token, code = body.get("merchant_api_token"), body.get("merchant_code")
    if isinstance(token, str) and token and (isinstance(code, str) or (code is None and not code_required)):
        for known_code, known_token in merchants.items():
            # Constant-time, so the answer time does not hint at a partial match.
            token_ok = hmac.compare_digest(known_token.encode(), token.encode())
            if token_ok and (code is None or known_code == code):
                return known_code
    raise ApiError("invalid credentials", status=401)


def _amount(value: object) -> int:
    # The SDK README types order_amount as a string while its example sends an int: take both forms.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ApiError("order_amount must be a positive whole number of pesos", "order_amount")
    return value


def _url(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = optional_text(body, name)
    if value is None:
        if required:
            raise ApiError(f"{name} is required", name)
        return None
    parts = urlsplit(value)
    bad = len(value) > _MAX_URL or any(ch.isspace() for ch in value) or parts.fragment
    if bad or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(f"{name} must be an absolute http(s) URL without a fragment", name)
    return value


def normalise_rut(value: str) -> str | None:
    """A RUT without dots, dash or spaces, check digit upper-cased; None when it is not RUT-shaped."""
    rut = "".join(ch for ch in value if ch not in ".- ").upper()
    return rut if _RUT.fullmatch(rut) else None


def _metadata(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > _MAX_METADATA:
        raise ApiError(f"metadata must be a list of at most {_MAX_METADATA} items", "metadata")
    items = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        shown = item.get("show", False) if isinstance(item, dict) else None
        raw = item.get("value") if isinstance(item, dict) else None
        ok_value = isinstance(raw, str | int | float) and not isinstance(raw, bool) and len(str(raw)) <= 255
        if not (isinstance(name, str) and 0 < len(name) <= 64 and ok_value and isinstance(shown, bool)):
            raise ApiError("metadata items are {name, value, show (boolean)}", "metadata")
        items.append({"name": name, "value": raw, "show": shown})
    return items


def new_session(merchant_code: str, body: dict[str, Any], now: datetime, tokens: tuple[str, str]) -> Session:
    """A session from a ``/session/initialize`` body, or an ApiError naming the first bad field."""
    order_id = body.get("merchant_order_id")
    if not isinstance(order_id, str) or not _ORDER_ID.fullmatch(order_id):
        raise ApiError("merchant_order_id must be 1 to 64 letters or digits", "merchant_order_id")
    amount = _amount(body.get("order_amount"))
    completed = _url(body, "payment_completed_url", required=True)
    cancelled = _url(body, "payment_cancellation_url", required=True)
    webhook = _url(body, "payment_webhook_url", required=False)
    email = optional_text(body, "customer_email")
    if email is not None:
        local, at, domain = email.rpartition("@")
        if not (at and local and "." in domain and len(email) <= 254) or any(ch.isspace() for ch in email):
            raise ApiError("customer_email must be an e-mail address", "customer_email")
    bank = optional_text(body, "user_bank_code")
    if bank is not None:
        bank = next((code for code in BANKS if code.lower() == bank.lower()), None)
        if bank is None:
            raise ApiError("user_bank_code is not a known Chilean bank code", "user_bank_code")
    rut_text = optional_text(body, "user_rut")
    rut = normalise_rut(rut_text) if rut_text is not None else None
    if rut_text is not None and rut is None:
        raise ApiError("user_rut must be a RUT such as 11.111.111-1", "user_rut")
    blocked = body.get("is_rut_block")
    if blocked is not None and not isinstance(blocked, bool):
        raise ApiError("is_rut_block must be a boolean", "is_rut_block")
    if blocked and rut is None:
        raise ApiError("is_rut_block needs user_rut", "user_rut")
    concat = optional_text(body, "concat")
    if concat is not None and not _CONCAT.fullmatch(concat):
        raise ApiError("concat must be 1 to 16 visible ASCII characters", "concat")
    assert completed is not None and cancelled is not None  # required=True never returns None
    return Session(
        session_token=tokens[0],
        signature_token=tokens[1],
        merchant_code=merchant_code,
        merchant_order_id=order_id,
        amount=amount,
        completed_url=completed,
        cancellation_url=cancelled,
        created=now,
        customer_email=email,
        metadata=_metadata(body.get("metadata")),
        user_bank_code=bank,
        user_rut=rut,
        is_rut_block=bool(blocked),
        webhook_url=webhook,
        concat=concat,
    )


def return_url(base: str, concat: str | None, token: str) -> str:
    """``base + concat + jwt``; without concat ``?jwt=``, or ``&jwt=`` when ``base`` has a query."""
    if concat is None and base.endswith(("?", "&")):
        concat = "jwt="
    elif concat is None:
        concat = "&jwt=" if "?" in base else "?jwt="
    return base + concat + token


def payment_claims(session: Session, now: datetime) -> dict[str, Any]:
    """The JWT payload of an answered session (the documented fields plus ``reason`` and ``code``)."""
    assert session.outcome is not None and session.bank_code is not None
    return {
        "session_token": session.session_token,
        "merchant_account_bank": MERCHANT_ACCOUNT_BANK,
        "merchant_account_type": MERCHANT_ACCOUNT_TYPE,
        "merchant_account": MERCHANT_ACCOUNT,
        "merchant_name": MERCHANT_NAME,
        "merchant_currency": CURRENCY,
        "merchant_order_id": session.merchant_order_id,
        "merchant_amount": session.amount,
        "user_bank": BANKS[session.bank_code],
        "user_rut": session.rut,
        "user_account": USER_ACCOUNT,
        "payment_token": session.payment_token,
        "payment_status": session.outcome == "success",
        "payment_process": "auto",
        "reason": None if session.outcome == "success" else session.outcome,
        "code": CODES[session.outcome],
        "iat": int(now.timestamp()),
    }


def system_error_claims(session: Session, now: datetime) -> dict[str, Any]:
    """The payload of the system-error JWT (signed with the session_token, not the signature_token)."""
    return {"session_token": session.session_token, "system_error": True, "iat": int(now.timestamp())}


def sign(claims: dict[str, Any], key: str) -> str:
    """An HS256 JWT."""
    return jwt.encode(claims, key, algorithm="HS256")


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(SANTIAGO).strftime("%d-%m-%Y %H:%M:%S") if moment else None


def status_record(session: Session, now: datetime, *, strings: bool) -> dict[str, Any]:
    """One attempt as ``/merchant/check_payment_status`` lists it; a pending one has a null status."""
    outcome = session.outcome_at(now)
    status: bool | str | None = None if outcome is None else outcome == "success"
    if strings:
        status = "pending" if outcome is None else ("success" if outcome == "success" else "failure")
    finished = session.answered_at or (session.expires if outcome else None)
    return {
        "payment_token": session.payment_token,
        "session_token": session.session_token,
        "merchant_order_id": session.merchant_order_id,
        "merchant_amount": session.amount,
        "merchant_currency": CURRENCY,
        "user_bank": BANKS[session.bank_code] if session.bank_code else None,
        "user_rut": session.rut or session.user_rut,
        "user_account": USER_ACCOUNT if session.bank_code else None,
        "payment_status": status,
        "payment_date": _local(finished),
        "validationWeb": session.outcome is not None,
        "validationMail": outcome == "success" and session.customer_email is not None,
        "reason": None if outcome in (None, "success") else outcome,
        "code": CODES[outcome] if outcome else None,
        "confirmated_at": _local(session.answered_at) if outcome == "success" else None,
    }
