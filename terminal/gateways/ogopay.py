"""OGO Pay (Sri Lanka): 3-D Secure card tokenisation on OGO's form, then signed server-side token charges.

Wire facts and the simulator's decisions: docs/gateways/ogopay.md. Signed calls carry
``Authorization: OGO <merchantId>:<base64 HMAC-SHA256>`` over ``Date + "\\n" + body`` with the secret's
UTF-8 bytes as the key; the body bytes signed are the bytes sent. Only ``/purchase`` is published;
``/preauth``, ``/completion``, ``/void`` and ``/refund`` follow the simulator's invented shapes and are
therefore sandbox-only. OGO has no status lookup, so an unanswered purchase stays "outcome unknown".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from terminal.domain.declines import from_iso8583
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.domain.scrub import scrub_mapping, scrub_text
from terminal.gateways.base import (
    CardToken,
    Challenge,
    FollowUpRequest,
    Gateway,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    NotSupportedError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.http import GatewayHttp, HttpReply, Safety, origin_of, raise_if_server_error
from terminal.gateways.ogopay_caps import CAPABILITIES, CURRENCY, DISPLAY_NAME, LIVE_URL, TEST_URL
from terminal.gateways.ogopay_card_page import card_page_challenge, read_card_page

__all__ = [
    "CAPABILITIES",
    "CURRENCY",
    "LIVE_URL",
    "TEST_URL",
    "OgoPayConfig",
    "OgoPayGateway",
    "iso_date",
    "sign",
]

log = logging.getLogger(__name__)

# PCI-15: above this the terminal warns that its clock disagrees with the gateway's.
SKEW_WARNING_S: Final = 60.0


# A follow-up refused because the request itself was malformed, not for a business reason.
_MALFORMED: Final = re.compile(r"required|must be|invalid json", re.IGNORECASE)


def sign(secret: str, date: str, body: bytes) -> str:
    """OGO's signature: base64(HMAC-SHA256(key=secret's UTF-8 bytes, as given, msg=date + '\\n' + body))."""
    digest = hmac.new(secret.encode("utf-8"), date.encode("utf-8") + b"\n" + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def iso_date(moment: datetime) -> str:
    """JavaScript's toISOString(): UTC with milliseconds and a Z ('2019-06-02T09:30:01.561Z')."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _wire_body(fields: Mapping[str, Any]) -> bytes:
    """Compact JSON in the given key order, as JSON.stringify writes it; these bytes are signed and sent."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _wire_amount(money: Money) -> int:
    """The one place an amount becomes OGO's wire value: integer LKR minor units (cents)."""
    if money.currency != CURRENCY:
        raise ValidationError(
            f"{DISPLAY_NAME} charges in {CURRENCY} only, not {money.currency}.", field="currency"
        )
    if money.minor <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    return money.minor


@dataclass(frozen=True, slots=True)
class OgoPayConfig:
    """One OGO Pay merchant account: where, who, and the HMAC secret (kept out of repr)."""

    base_url: str
    merchant_id: str
    secret: str = field(repr=False)
    live: bool = False


class OgoPayGateway(Gateway):
    """OGO Pay behind the common contract; card entry on OGO's form, money moved with signed token calls."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        config: OgoPayConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        parts = urlsplit(config.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("OGO Pay address: enter an https:// URL.", field="base_url")
        if config.live and parts.scheme != "https":
            raise ValidationError("OGO Pay address: a live profile must use https://.", field="base_url")
        if not config.merchant_id.strip():
            raise ValidationError("OGO Pay merchant id: enter the id OGO gave you.", field="merchant_id")
        if not config.secret:
            raise ValidationError("OGO Pay secret: enter the secret key OGO gave you.", field="secret")
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._http = GatewayHttp(
            "ogopay",
            config.base_url,
            timeout=timeout,
            transport=transport,
            secrets=(config.secret,),
            display_name=DISPLAY_NAME,
        )
        # Gateway clock minus ours, from the last answer's Date header (None until one arrives).
        self.clock_skew_s: float | None = None

    # -- connection -------------------------------------------------------------------------
    async def test_connection(self) -> str:
        """GET /version. OGO has no signed call free of side effects: credentials show at the first charge."""
        reply = await self._http.request(
            "GET", "/version", headers={"Accept": "application/json"}, safety=Safety.READ
        )
        raise_if_server_error(reply)
        try:
            data = reply.json() if reply.status == 200 else {}
        except OutcomeUnknownError:
            data = {}  # reading the version moves no money: an unreadable answer is just "not OGO"
        name, version = data.get("name"), data.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or "OGO" not in name.upper():
            raise ValidationError(
                f"The server at {self.config.base_url} does not answer like OGO Pay (HTTP {reply.status}).",
                field="base_url",
                status=reply.status,
            )
        return f"{name} {version}"

    # -- card entry ---------------------------------------------------------------------------
    async def begin_hosted_entry(self, request: HostedEntryRequest) -> Challenge:
        """OGO's card form, served by the terminal's loopback listener, posting to /registercard-html."""
        return card_page_challenge(
            request,
            action=f"{self._http.base_url}/registercard-html",
            merchant_id=self.config.merchant_id,
            gateway_origin=origin_of(self._http.base_url),
            live=self.config.live,
        )

    async def complete_hosted_entry(
        self, request: HostedEntryRequest, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> CardToken:
        """Read OGO's unsigned return post: it names a token; nothing is paid until a signed call succeeds."""
        return read_card_page(request, fields, merchant_id=self.config.merchant_id)

    # -- money ----------------------------------------------------------------------------------
    async def sale(self, request: PaymentRequest) -> GatewayResult:
        """POST /purchase with the token (documented)."""
        return await self._charge("/purchase", OperationKind.SALE, request)

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        """POST /preauth (sandbox-only shape, like /purchase)."""
        return await self._charge("/preauth", OperationKind.AUTHORIZE, request)

    async def capture(self, request: FollowUpRequest) -> GatewayResult:
        """POST /completion {transactionId, amount} (sandbox-only)."""
        fields = {"transactionId": _parent(request), "amount": _wire_amount(request.amount)}
        return await self._follow_up("/completion", OperationKind.CAPTURE, fields, request.amount)

    async def void(self, request: FollowUpRequest) -> GatewayResult:
        """POST /void {transactionId} (sandbox-only): a pre-authorisation, or a purchase on its own day."""
        fields = {"transactionId": _parent(request)}
        return await self._follow_up("/void", OperationKind.VOID, fields, request.amount)

    async def refund(self, request: FollowUpRequest) -> GatewayResult:
        """POST /refund {transactionId, amount} (sandbox-only); partial refunds may repeat."""
        fields = {"transactionId": _parent(request), "amount": _wire_amount(request.amount)}
        return await self._follow_up("/refund", OperationKind.REFUND, fields, request.amount)

    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """OGO has no status inquiry: an unanswered operation is resolved by an operator."""
        raise NotSupportedError(
            f"{DISPLAY_NAME} has no status lookup; check the transaction in the OGO merchant portal."
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    # -- internals --------------------------------------------------------------------------------
    def _check_offered(self, kind: OperationKind) -> None:
        reason = CAPABILITIES.unavailable_reason(kind, live=self.config.live)
        if reason:
            raise NotSupportedError(reason)

    async def _charge(self, path: str, kind: OperationKind, request: PaymentRequest) -> GatewayResult:
        self._check_offered(kind)
        if not request.merchant_reference:
            raise ValidationError("An order reference is required.", field="orderId")
        if not request.customer_id:
            raise ValidationError("A customer id is required.", field="customerId")
        fields = {
            "amount": _wire_amount(request.amount),
            "token": request.token,
            "orderId": request.merchant_reference,
            "customerId": request.customer_id,
        }
        reply = await self._signed_post(path, fields)
        if reply.status == 409:
            raise ValidationError(
                f"The order reference {request.merchant_reference} was already used at {DISPLAY_NAME}; "
                "nothing was charged. Use a new reference.",
                field="orderId",
                status=409,
            )
        if reply.status == 400:
            message = _message(reply)
            if message.lower() == "invalid token":
                raise ValidationError(
                    f"{DISPLAY_NAME} did not accept the card token for this customer (Invalid Token); "
                    "nothing was charged.",
                    field="token",
                    gateway_code=message,
                    status=400,
                )
            field_name = "amount" if "amount" in message.lower() else ""
            raise ValidationError(
                f"{DISPLAY_NAME} refused the request: {message}",
                field=field_name,
                gateway_code=message,
                status=400,
            )
        return self._result(reply, request.amount)

    async def _follow_up(
        self, path: str, kind: OperationKind, fields: Mapping[str, Any], amount: Money
    ) -> GatewayResult:
        self._check_offered(kind)
        reply = await self._signed_post(path, fields)
        if reply.status in (400, 409):
            message = _message(reply)
            if _MALFORMED.search(message):
                raise ValidationError(
                    f"{DISPLAY_NAME} refused the request: {message}",
                    gateway_code=message,
                    status=reply.status,
                )
            raise DeclinedError(
                f"{DISPLAY_NAME} refused the {kind.label.lower()}: {message}",
                gateway_code=message,
                status=reply.status,
            )
        return self._result(reply, amount)

    async def _signed_post(self, path: str, fields: Mapping[str, Any]) -> HttpReply:
        """Sign and send; the status classes every call shares are judged here (401, 404, 5xx, 3xx)."""
        body = _wire_body(fields)
        date = iso_date(self._clock())
        headers = {
            "Authorization": f"OGO {self.config.merchant_id}:{sign(self.config.secret, date, body)}",
            "Date": date,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        reply = await self._http.request("POST", path, content=body, headers=headers)
        self._note_clock(reply)
        raise_if_server_error(reply)
        if reply.status == 401:
            raise AuthenticationError(self._auth_message(), gateway_code=_message(reply), status=401)
        if reply.status in (404, 405):
            raise NotSupportedError(
                f"{DISPLAY_NAME} at {self.config.base_url} does not offer {path}; nothing was done.",
                status=reply.status,
            )
        if 300 <= reply.status < 400 or reply.status == 408:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered HTTP {reply.status} instead of a result; "
                "the operation may have been executed.",
                status=reply.status,
            )
        if reply.status not in (200, 400, 409):
            raise ValidationError(
                f"{DISPLAY_NAME} refused the request (HTTP {reply.status}): {_message(reply)}",
                status=reply.status,
            )
        return reply

    def _auth_message(self) -> str:
        skew = self.clock_skew_s
        if skew is not None and abs(skew) > 300:
            return (
                f"{DISPLAY_NAME} refused the request: this computer's clock is {abs(skew) / 60:.0f} minutes "
                f"{'behind' if skew > 0 else 'ahead of'} the gateway's. Correct it; nothing was done."
            )
        return (
            f"{DISPLAY_NAME} refused the merchant id or secret (Unauthorized); nothing was done. "
            "Check the profile's credentials and the computer's clock."
        )

    def _note_clock(self, reply: HttpReply) -> None:
        stamp = reply.headers.get("date")
        if not stamp:
            return
        try:
            theirs = parsedate_to_datetime(stamp)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is None:
            theirs = theirs.replace(tzinfo=UTC)
        self.clock_skew_s = (theirs - self._clock()).total_seconds()
        if abs(self.clock_skew_s) > SKEW_WARNING_S:
            log.warning("%s clock differs from this computer's by %.0f s", DISPLAY_NAME, self.clock_skew_s)

    def _result(self, reply: HttpReply, sent: Money) -> GatewayResult:
        """Read a 200 answer: approved with a transactionId, declined with a response code, else unknown."""
        data = reply.json()
        raw = scrub_mapping(data, (self.config.secret,))
        success = data.get("success")
        message = data.get("message")
        result = data.get("result")
        if not isinstance(success, bool) or not isinstance(result, dict | None):
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} sent an answer without a readable result; "
                "the operation may have been executed.",
                status=reply.status,
            )
        result = result or {}
        code = _text(result.get("responseCode"))
        gateway_message = _text(result.get("message")) or _text(message)
        if not success:
            return GatewayResult(
                outcome=Outcome.DECLINED,
                decline_code=from_iso8583(code),
                gateway_code=code,
                gateway_message=gateway_message,
                raw=raw,
            )
        reference = _text(result.get("transactionId"))
        if not reference:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} approved the operation but sent no transaction id; "
                "check it in the OGO portal.",
                status=reply.status,
            )
        _check_echo(result, sent)
        return GatewayResult(
            outcome=Outcome.APPROVED,
            gateway_reference=reference,
            amount=sent,
            approval_code=_text(result.get("approvalCode")),
            gateway_code=code,
            gateway_message=gateway_message,
            raw=raw,
        )


def _check_echo(result: Mapping[str, Any], sent: Money) -> None:
    """OGO does not echo amounts; should an answer carry one, it must be what was sent (integrity check)."""
    if "amount" in result:
        echoed = result["amount"]
        if type(echoed) is not int or echoed != sent.minor:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered for amount {echoed!r} minor units, not the {sent.minor} sent; "
                "check the transaction by hand."
            )
    if "currency" in result and str(result["currency"]).upper() != sent.currency:
        raise OutcomeUnknownError(
            f"{DISPLAY_NAME} answered in {result['currency']!r}, not {sent.currency}; "
            "check the transaction by hand."
        )


def _parent(request: FollowUpRequest) -> str:
    if not request.parent_reference:
        raise ValidationError("The original transaction has no OGO transaction id.", field="transactionId")
    return request.parent_reference


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()


def _message(reply: HttpReply) -> str:
    """OGO's error message from a JSON error body, or a short safe excerpt of a text one."""
    try:
        message = _text(reply.json().get("message"))
    except OutcomeUnknownError:
        message = ""
    if not message:
        message = reply.text().strip()
    # The message reaches the clerk and the journal: keep it short and free of card data and secrets.
    return scrub_text(message[:200]) or f"HTTP {reply.status}"
