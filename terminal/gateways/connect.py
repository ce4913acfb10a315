"""Worldline (Ingenico) Connect: server API v1, v1HMAC-signed, on the GlobalCollect or Ogone platform.

Wire facts and the simulator's decisions: docs/gateways/connect.md. Every call is signed (connect_auth)
and carries ``X-GCS-ServerMetaInfo``; every POST carries ``X-GCS-Idempotence-Key`` = the operation's
idempotency key, which the service keeps with the operation, so a retry (even after a restart) is
recognised by Connect. Card entry is either Connect's hosted checkout in the web view (which itself creates
the sale or pre-authorisation the clerk chose; ``sale``/``authorize`` then confirm it) or, when the
profile enables direct entry, the card in a MOTO ``POST /payments``. The platform style decides how a
pre-authorisation is captured: GlobalCollect approves it once, Ogone takes several partial captures.
An unanswered operation is found again by its merchantReference (``GET /payments?merchantReference=``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from terminal.gateways.base import (
    CardDetails,
    CardToken,
    Challenge,
    FollowUpRequest,
    Gateway,
    GatewayResult,
    HostedEntryRequest,
    Notification,
    PaymentRequest,
)
from terminal.gateways.connect_accounts import ConnectAccounts
from terminal.gateways.connect_auth import (
    authorization_header,
    rfc1123,
    server_meta_info,
    sign,
    string_to_sign,
)
from terminal.gateways.connect_caps import (
    CAPABILITIES,
    CURRENCY,
    DISPLAY_NAME,
    ENDPOINTS,
    GLOBALCOLLECT,
    OGONE,
    capabilities_for,
)
from terminal.gateways.connect_flows import ConnectFlows
from terminal.gateways.connect_webhooks import verify_webhook
from terminal.gateways.errors import NotSupportedError, ValidationError
from terminal.gateways.http import GatewayHttp, HttpReply, Safety

__all__ = [
    "CAPABILITIES",
    "CURRENCY",
    "ENDPOINTS",
    "GLOBALCOLLECT",
    "OGONE",
    "ConnectConfig",
    "ConnectGateway",
    "capabilities_for",
]


@dataclass(frozen=True, slots=True)
class ConnectConfig:
    """One Connect merchant: endpoint, ids, platform style, direct entry; secrets kept out of repr."""

    endpoint: str
    merchant_id: str
    api_key_id: str
    secret_api_key: str = field(repr=False)
    platform_style: str = GLOBALCOLLECT
    direct_entry: bool = False
    webhook_key_id: str = ""
    webhook_secret: str = field(default="", repr=False)
    live: bool = False


class ConnectGateway(Gateway):
    """Worldline Connect behind the common contract (the flows themselves live in connect_flows)."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        config: ConnectConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        parts = urlsplit(config.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("Connect endpoint: enter an https:// URL.", field="endpoint")
        if config.live and parts.scheme != "https":
            raise ValidationError("Connect endpoint: a live profile must use https://.", field="endpoint")
        if not config.merchant_id.strip():
            raise ValidationError(
                "Connect merchant id: enter the id Worldline gave you.", field="merchant_id"
            )
        if not config.api_key_id.strip():
            raise ValidationError("Connect API key id: enter the key id.", field="api_key_id")
        if not config.secret_api_key:
            raise ValidationError("Connect secret API key: enter the secret API key.", field="secret_api_key")
        if config.platform_style not in (GLOBALCOLLECT, OGONE):
            raise ValidationError("Connect platform: choose globalcollect or ogone.", field="platform_style")
        self.config = config
        self.capabilities = capabilities_for(config.platform_style)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._base_path = parts.path.rstrip("/")
        self._meta = server_meta_info()
        self._http = GatewayHttp(
            "connect",
            config.endpoint,
            timeout=timeout,
            transport=transport,
            secrets=(config.secret_api_key, config.webhook_secret),
            display_name=DISPLAY_NAME,
        )
        self.flows = ConnectFlows(self)
        self.accounts = ConnectAccounts(self)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log or a raw copy."""
        return tuple(s for s in (self.config.secret_api_key, self.config.webhook_secret) if s)

    @property
    def ogone(self) -> bool:
        """Whether captures are Ogone-style (several partial /capture calls) rather than one /approve."""
        return self.config.platform_style == OGONE

    # -- the signed call ------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str = "",
        query: Mapping[str, str] | None = None,
    ) -> HttpReply:
        """One signed request to ``/v1/{merchantId}{path}``; POSTs carry the idempotency key given.

        Retry safety (terminal/gateways/retry.py): a GET is a READ; a POST is IDEMPOTENT, because Connect
        replays the first answer to the same X-GCS-Idempotence-Key and path (24 h), and every key the
        adapter sends is stable: the operation's own key (kept in the journal, so the same after a
        restart) or one derived from what the request is for. Anything else (DELETE) is never repeated.
        """
        resource = f"{self._base_path}/v1/{quote(self.config.merchant_id, safe='')}{path}"
        if query:
            resource += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
        content = json.dumps(body, separators=(",", ":")).encode("utf-8") if body is not None else None
        date = rfc1123(self._clock())
        headers = {"Date": date, "X-GCS-ServerMetaInfo": self._meta, "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if method == "POST":
            if not idempotency_key:
                raise ValidationError("Every Connect POST needs an idempotency key.", field="idempotency_key")
            headers["X-GCS-Idempotence-Key"] = idempotency_key
        text = string_to_sign(method, headers.get("Content-Type", ""), date, headers, resource)
        headers["Authorization"] = authorization_header(
            self.config.api_key_id, sign(self.config.secret_api_key, text)
        )
        safety = {"GET": Safety.READ, "POST": Safety.IDEMPOTENT}.get(method, Safety.MONEY)
        return await self._http.request(method, resource, content=content, headers=headers, safety=safety)

    # -- contract verbs (thin: the flows module does the work) ------------------------------------------
    async def test_connection(self) -> str:
        return await self.flows.test_connection()

    async def sale(self, request: PaymentRequest) -> GatewayResult:
        return await self.flows.pay(request, hold=False)

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        return await self.flows.pay(request, hold=True)

    async def capture(self, request: FollowUpRequest) -> GatewayResult:
        return await self.flows.capture(request)

    async def void(self, request: FollowUpRequest) -> GatewayResult:
        return await self.flows.void(request)

    async def refund(self, request: FollowUpRequest) -> GatewayResult:
        return await self.flows.refund(request)

    async def payout(self, request: PaymentRequest) -> GatewayResult:
        return await self.accounts.payout(request)

    async def approve_payout(self, request: FollowUpRequest) -> GatewayResult:
        return await self.accounts.payout_action(request, "approve")

    async def cancel_payout(self, request: FollowUpRequest) -> GatewayResult:
        return await self.accounts.payout_action(request, "cancel")

    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        return await self.accounts.fetch(gateway_reference, merchant_reference)

    async def complete_challenge(
        self, result: GatewayResult, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> GatewayResult:
        return await self.flows.complete_challenge(result, fields, context)

    async def create_token(self, card: CardDetails, customer_id: str) -> CardToken:
        return await self.accounts.create_token(card, customer_id)

    async def delete_token(self, token: str, customer_id: str = "") -> None:
        await self.accounts.delete_token(token)

    async def token_from_payment(self, gateway_reference: str, customer_id: str = "") -> CardToken:
        """Keep the card of an earlier payment (GlobalCollect only): ``POST /payments/{id}/tokenize``."""
        return await self.accounts.token_from_payment(gateway_reference, customer_id)

    async def create_client_session(self, tokens: tuple[str, ...] = ()) -> Mapping[str, Any]:
        """``POST /sessions``: a Client API session (2 hours) for a device that encrypts the card itself."""
        return await self.accounts.client_session(tokens)

    async def begin_hosted_entry(self, request: HostedEntryRequest) -> Challenge:
        return await self.flows.begin_hosted(request)

    async def complete_hosted_entry(
        self, request: HostedEntryRequest, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> CardToken:
        return await self.flows.complete_hosted(request, fields, context or {})

    async def verify_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """A webhook: X-GCS-Signature over the raw body with the profile's webhook secret, key id checked."""
        if not self.config.webhook_secret or not self.config.webhook_key_id:
            raise NotSupportedError("This Connect profile has no webhook key id and secret configured.")
        return verify_webhook(headers, body, {self.config.webhook_key_id: self.config.webhook_secret})

    async def aclose(self) -> None:
        await self._http.aclose()
