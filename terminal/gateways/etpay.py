"""ETpay (Chile): pay by bank transfer on ETpay's payer funnel, confirmed by ETpay's status API.

Wire facts and the simulator's decisions: docs/gateways/etpay.md. No header authenticates: the
merchant_code and merchant_api_token travel in the JSON body. ``begin_hosted_entry`` opens a session
(POST /session/initialize) whose funnel ``{pmt_url}/session/{token}`` the web view shows. The payer's bank
moves the money there; the browser then returns to our URL with a JWT, which is checked with the session's
signature_token (``etpay_jwt``) but never trusted as payment: ``sale`` reads
``/merchant/check_payment_status`` and only that answer approves. Since the money has moved (or not)
before ``sale`` runs, any failure of that read is "outcome unknown", never "nothing was sent". ETpay has
no capture, void, refund or payout.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money
from terminal.domain.scrub import scrub_text
from terminal.gateways import etpay_jwt
from terminal.gateways.base import (
    CardToken,
    Challenge,
    Gateway,
    GatewayResult,
    HostedEntryRequest,
    Notification,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    GatewayError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.etpay_caps import (
    CAPABILITIES,
    CURRENCY,
    DISPLAY_NAME,
    SANDBOX_API_URL,
    SANDBOX_PMT_URL,
)
from terminal.gateways.etpay_status import DECLINE_WORDS, decline_code, paid_status, result_of, text
from terminal.gateways.http import GatewayHttp, HttpReply, Safety, origin_of, raise_if_server_error

__all__ = [
    "CANCELLED_QUERY",
    "CAPABILITIES",
    "CURRENCY",
    "SANDBOX_API_URL",
    "SANDBOX_PMT_URL",
    "EtpayConfig",
    "EtpayGateway",
]

INITIALIZE_PATH: Final = "/session/initialize"
STATUS_PATH: Final = "/merchant/check_payment_status"
# Added to our return URL to make the cancellation URL; ETpay then appends "&jwt=...".
CANCELLED_QUERY: Final = ("outcome", "cancelled")
# Signature keys of sessions opened here, for webhooks; sessions live 30 minutes at the simulator.
_SESSION_MEMORY: Final = timedelta(hours=24)
_SESSION_LIMIT: Final = 1000


_ORDER_ID: Final = re.compile(r"[A-Za-z0-9]{1,64}")
# Wire field names in ETpay's 400 answers -> the terminal's field names.
_FIELDS: Final = {"merchant_order_id": "reference", "order_amount": "amount"}


@dataclass(frozen=True, slots=True)
class EtpayConfig:
    """One ETpay merchant: API and payment-page addresses, merchant code, API token (kept out of repr)."""

    api_url: str
    pmt_url: str
    merchant_code: str
    api_token: str = field(repr=False)
    live: bool = False


@dataclass(frozen=True, slots=True)
class _Session:
    signature_token: str = field(repr=False)
    merchant_order_id: str
    opened: datetime


def _wire_amount(money: Money) -> int:
    """The one place an amount becomes ETpay's wire value: whole Chilean pesos (CLP has no minor unit)."""
    if money.currency != CURRENCY or money.exponent != 0:
        raise ValidationError(
            f"{DISPLAY_NAME} charges in {CURRENCY} only, not {money.currency}.", field="currency"
        )
    if money.minor <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    return money.minor


def _order_id(reference: str) -> str:
    if not _ORDER_ID.fullmatch(reference):
        raise ValidationError(
            "Order reference: ETpay accepts letters and digits only, at most 64.", field="reference"
        )
    return reference


def _with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({name: value})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _wire_body(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class EtpayGateway(Gateway):
    """ETpay behind the common contract: a session per payment, its funnel in the web view, status reads."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        config: EtpayConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        for name, label, url in (
            ("api_url", "API", config.api_url),
            ("pmt_url", "payment page", config.pmt_url),
        ):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValidationError(f"ETpay {label} address: enter an https:// URL.", field=name)
            if config.live and parts.scheme != "https":
                raise ValidationError(f"ETpay {label} address: a live profile must use https://.", field=name)
        if not config.merchant_code.strip():
            raise ValidationError(
                "ETpay merchant code: enter the code ETpay gave you.", field="merchant_code"
            )
        if not config.api_token:
            raise ValidationError(
                "ETpay API token: enter the token ETpay gave you.", field="merchant_api_token"
            )
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pmt_url = config.pmt_url.rstrip("/")
        self._secrets = (config.api_token,)
        self._http = GatewayHttp(
            "etpay",
            config.api_url,
            timeout=timeout,
            transport=transport,
            secrets=self._secrets,
            display_name=DISPLAY_NAME,
        )
        self._sessions: dict[str, _Session] = {}

    # -- connection -------------------------------------------------------------------------
    async def test_connection(self) -> str:
        """ETpay has no ping: a status read for a made-up order id checks the address and credentials."""
        try:
            # Any readable list will do: an order id that was never used simply has no attempts.
            await self._status(merchant_order_id="MTPING" + secrets.token_hex(8).upper())
        except OutcomeUnknownError as exc:
            if exc.status is None or not 200 <= exc.status < 300:
                raise
            raise ValidationError(
                f"The server at {self.config.api_url} does not answer like ETpay (HTTP {exc.status}).",
                field="api_url",
                status=exc.status,
            ) from None
        return "ETpay reachable, credentials accepted"

    # -- the payer's funnel -------------------------------------------------------------------
    async def begin_hosted_entry(self, request: HostedEntryRequest) -> Challenge:
        """Open a session (POST /session/initialize); the challenge is ETpay's funnel for it."""
        order_id = _order_id(request.merchant_reference)
        amount = _wire_amount(request.amount)
        body = {
            "merchant_code": self.config.merchant_code,
            "merchant_api_token": self.config.api_token,
            "merchant_order_id": order_id,
            "order_amount": amount,
            "payment_completed_url": request.return_url,
            "payment_cancellation_url": _with_query(request.return_url, *CANCELLED_QUERY),
        }
        data = (await self._post(INITIALIZE_PATH, body)).json()
        token, signature = data.get("token"), data.get("signature_token")
        if not isinstance(token, str) or not token or not isinstance(signature, str) or not signature:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered without a usable session; one may have been opened. "
                "The terminal will look it up by the order reference."
            )
        self._remember(token, signature, order_id)
        return Challenge(
            return_url_prefix=request.return_url,
            allowed_origins=frozenset({origin_of(self._pmt_url), origin_of(request.return_url)}),
            url=f"{self._pmt_url}/session/{quote(token, safe='')}",
            title="ETpay bank transfer",
            reference=token,
            context={"session_token": token, "signature_token": signature},
        )

    async def complete_hosted_entry(
        self, request: HostedEntryRequest, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> CardToken:
        """Read the return's JWT (HOOK-4): a verified success only names the session ``sale`` confirms."""
        context = context or {}
        session_token = context.get("session_token", "")
        signature = context.get("signature_token", "")
        if not session_token or not signature:
            raise OutcomeUnknownError(
                "The payment session's keys are missing, so the page's answer cannot be checked; "
                "the terminal will check with ETpay."
            )
        self._remember(session_token, signature, request.merchant_reference)
        verdict = etpay_jwt.read_return(fields.get("jwt", ""), signature, session_token)
        if verdict.kind == "system_error":
            return await self._system_error(request, session_token)
        claims = verdict.claims
        if (
            verdict.kind != "payment"
            or claims.get("session_token") != session_token
            or claims.get("merchant_order_id") != request.merchant_reference
        ):
            raise OutcomeUnknownError(
                "The payment page's answer could not be verified; the terminal will check with ETpay."
            )
        if claims.get("system_error") is True:
            return await self._system_error(request, session_token)
        if paid_status(claims.get("payment_status")) is not False:
            # Paid, or a status this terminal cannot read: the status API decides in sale().
            return CardToken(session_token, request.customer_id, CardSummary(brand="Bank transfer"))
        reason = text(claims.get("reason"))
        code = decline_code(reason, cancelled_url=fields.get(CANCELLED_QUERY[0]) == CANCELLED_QUERY[1])
        raise DeclinedError(
            DECLINE_WORDS[code], gateway_code=text(claims.get("code")) or reason, decline_code=code
        )

    async def _system_error(self, request: HostedEntryRequest, session_token: str) -> CardToken:
        """The system-error token's key is in the funnel URL, so ETpay's status decides what it means."""
        try:
            result = result_of(await self._status(session_token=session_token), session_token, None, ())
        except GatewayError as exc:
            raise OutcomeUnknownError(
                f"ETpay reported a system error and could not be asked to confirm it ({exc.message}); "
                "the terminal will check with ETpay."
            ) from None
        if result.outcome is Outcome.APPROVED:
            return CardToken(session_token, request.customer_id, CardSummary(brand="Bank transfer"))
        # Failed (expired, say) or never paid: the page is over and nothing was paid.
        code = result.decline_code or DeclineCode.OTHER
        raise DeclinedError(
            DECLINE_WORDS[code]
            if code is not DeclineCode.OTHER
            else "ETpay reported a system error; the payment was not made.",
            gateway_code=result.gateway_code or "system_error",
            decline_code=code,
        )

    # -- money ----------------------------------------------------------------------------------
    async def sale(self, request: PaymentRequest) -> GatewayResult:
        """Confirm the session's transfer with the status API; every failure here leaves it unknown."""
        try:
            sent = Money(_wire_amount(request.amount), CURRENCY)
            if not request.token:
                raise ValidationError("No ETpay session to confirm.", field="token")
            attempts = await self._status(session_token=request.token)
            mine = [a for a in attempts if a.get("session_token") in (None, request.token)]
            return result_of(mine, request.token, sent, self._secrets)
        except OutcomeUnknownError:
            raise
        except GatewayError as exc:
            # The payer may already have paid on the funnel: a refused read proves nothing about it.
            raise OutcomeUnknownError(
                f"The transfer could not be confirmed with {DISPLAY_NAME}: {exc.message} "
                "The payer may have paid; the terminal will check again.",
                gateway_code=exc.gateway_code,
                status=exc.status,
            ) from None

    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """Status by session token when known, else by order id (how an unanswered session open resolves)."""
        if gateway_reference:
            attempts = await self._status(session_token=gateway_reference)
            attempts = [a for a in attempts if a.get("session_token") in (None, gateway_reference)]
        elif merchant_reference:
            attempts = await self._status(merchant_order_id=_order_id(merchant_reference))
        else:
            raise ValidationError("Nothing to look up: no session token and no order reference.")
        if merchant_reference:
            attempts = [a for a in attempts if a.get("merchant_order_id") in (None, merchant_reference)]
        return result_of(attempts, gateway_reference, None, self._secrets)

    async def verify_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """ETpay's webhook: ``{"jwt": ...}`` or a raw JWT, signed with a session's signature_token."""
        token = _webhook_token(body)
        session_token = etpay_jwt.unverified_claim(token, "session_token")
        session = self._sessions.get(session_token) if session_token else None
        if session is None:
            raise AuthenticationError(
                "ETpay notification for a payment session this terminal did not open (or has forgotten)."
            )
        try:
            claims = etpay_jwt.decode(token, session.signature_token)
        except etpay_jwt.TokenRefusedError:
            raise AuthenticationError("ETpay notification whose signature does not verify.") from None
        if claims.get("session_token") != session_token or claims.get("merchant_order_id") not in (
            None,
            session.merchant_order_id,
        ):
            raise AuthenticationError("ETpay notification that names another payment.")
        return Notification(
            gateway_reference=session_token, merchant_reference=session.merchant_order_id, event="payment"
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    # -- internals --------------------------------------------------------------------------------
    def _remember(self, session_token: str, signature_token: str, order_id: str) -> None:
        now = self._clock()
        for old in [k for k, s in self._sessions.items() if now - s.opened > _SESSION_MEMORY]:
            del self._sessions[old]
        self._sessions.pop(session_token, None)
        self._sessions[session_token] = _Session(signature_token, order_id, now)
        while len(self._sessions) > _SESSION_LIMIT:
            del self._sessions[next(iter(self._sessions))]

    async def _post(self, path: str, fields: Mapping[str, Any], safety: Safety = Safety.MONEY) -> HttpReply:
        """Send one JSON body; the status classes both calls share are judged here."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        body = _wire_body(fields)
        reply = await self._http.request("POST", path, content=body, headers=headers, safety=safety)
        raise_if_server_error(reply)
        if reply.status == 401:
            raise AuthenticationError(
                f"{DISPLAY_NAME} refused the merchant code or API token; nothing was done. "
                "Check the profile's credentials.",
                gateway_code=_error(reply, self._secrets)[0],
                status=401,
            )
        if reply.status == 400:
            message, wire_field = _error(reply, self._secrets)
            raise ValidationError(
                f"{DISPLAY_NAME} refused the request: {message}",
                field=_FIELDS.get(wire_field, wire_field),
                gateway_code=wire_field,
                status=400,
            )
        if reply.status in (404, 405):
            raise ValidationError(
                f"There is no {DISPLAY_NAME} API at {self.config.api_url} (HTTP {reply.status}); "
                "nothing was done.",
                field="api_url",
                status=reply.status,
            )
        if 300 <= reply.status < 400 or reply.status == 408:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered HTTP {reply.status} instead of a result; "
                "the operation may have been executed.",
                status=reply.status,
            )
        if not 200 <= reply.status < 300:
            message = _error(reply, self._secrets)[0]
            raise ValidationError(
                f"{DISPLAY_NAME} refused the request (HTTP {reply.status}): {message}",
                status=reply.status,
            )
        return reply

    async def _status(self, **query: str) -> list[dict[str, Any]]:
        """POST /merchant/check_payment_status: the attempts ETpay lists (a JSON array)."""
        body = {
            "merchant_code": self.config.merchant_code,
            "merchant_api_token": self.config.api_token,
            **query,
        }
        reply = await self._post(STATUS_PATH, body, Safety.READ)  # a status read moves no money
        try:
            data = json.loads(reply.body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict) and "session_token" in data:
            data = [data]  # one attempt sent bare rather than in a list
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} sent an unreadable status answer (HTTP {reply.status}); "
                "the payment's outcome is not known yet.",
                status=reply.status,
            )
        return data


def _error(reply: HttpReply, secrets_: tuple[str, ...]) -> tuple[str, str]:
    """ETpay's ``{"error", "field"}`` body as (message, field), or a short safe excerpt of another body."""
    try:
        data = reply.json()
    except OutcomeUnknownError:
        data = {}
    message = text(data.get("error")) or text(data.get("message")) or reply.text().strip()
    return scrub_text(message[:200], secrets_) or f"HTTP {reply.status}", text(data.get("field"))


def _webhook_token(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return ""
        value = data.get("jwt") if isinstance(data, dict) else None
        return value.strip() if isinstance(value, str) else ""
    return text
