"""OMPay (Oman): client token -> card page -> one-time nonce -> server payment; vault; hosted payment page.

Wire facts and the simulator's decisions: docs/gateways/ompay.md. Server calls carry HTTP Basic
(client id : client secret) under ``/v1/merchants/{merchantId}``. Card entry is a page the terminal serves
(``ompay_page``) whose script posts the card to ``/credit-card-nonce`` with a client token fetched fresh for
that page; only the nonce reaches Python. A payment's 3-D Secure (``1007`` Redirect) is shown in the web view
and its result is read with ``GET /payment/{id}``, never taken from the return URL. OMPay has no lookup by
merchant reference: a create whose answer is lost stays "outcome unknown" for an operator. The hosted
page's and the 3-D Secure redirect's wire shapes are built and read in ``ompay_hosted``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import (
    CardToken,
    Challenge,
    FollowUpRequest,
    Gateway,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
    Recurring,
)
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    NotSupportedError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.http import GatewayHttp, HttpReply, Safety, raise_if_server_error
from terminal.gateways.ompay_caps import CAPABILITIES, CURRENCIES, LIVE_URL
from terminal.gateways.ompay_hosted import (
    challenge_of,
    hosted_page_body,
    hosted_page_result,
    session_hex,
    session_state_result,
    transaction_of,
)
from terminal.gateways.ompay_page import card_page_challenge, nonce_of, read_card_page
from terminal.gateways.ompay_status import (
    DISPLAY_NAME,
    REDIRECT_CODE,
    error_of,
    follow_up_of,
    refusal,
    result_of,
    text,
    wire_amount,
)

__all__ = ["CAPABILITIES", "CURRENCIES", "LIVE_URL", "OmpayConfig", "OmpayGateway"]


_RESULTS: Final = {"capture": "captured", "void": "voided", "refund": "refunded"}
_PAYMENT_ID: Final = re.compile(r"^[A-Za-z0-9]{1,64}$")


@dataclass(frozen=True, slots=True)
class OmpayConfig:
    """One OMPay merchant: address, merchant id, client id, client secret (out of repr), options."""

    base_url: str
    merchant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    direct_entry: bool = False
    live: bool = False


def _body(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class OmpayGateway(Gateway):
    """OMPay behind the common contract."""

    capabilities = CAPABILITIES

    def __init__(
        self,
        config: OmpayConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        parts = urlsplit(config.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("OMPay address: enter an https:// URL.", field="base_url")
        if config.live and parts.scheme != "https":
            raise ValidationError("OMPay address: a live profile must use https://.", field="base_url")
        for name, label, value in (
            ("merchant_id", "merchant id", config.merchant_id),
            ("client_id", "client id", config.client_id),
        ):
            if not re.fullmatch(r"[A-Za-z0-9]{4,64}", value):
                raise ValidationError(f"OMPay {label}: letters and digits as OMPay issued them.", field=name)
        if not config.client_secret:
            raise ValidationError(
                "OMPay client secret: enter the secret from the dashboard.", field="client_secret"
            )
        self.config = config
        self._secrets = (config.client_secret,)
        self._prefix = f"/v1/merchants/{quote(config.merchant_id, safe='')}"
        credentials = f"{config.client_id}:{config.client_secret}".encode()
        self._basic = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._http = GatewayHttp(
            "ompay",
            config.base_url,
            timeout=timeout,
            transport=transport,
            secrets=(config.client_secret, self._basic.split(" ", 1)[1]),
            display_name=DISPLAY_NAME,
        )

    # -- connection and client tokens -------------------------------------------------------------
    async def test_connection(self) -> str:
        """A client token proves the address and the credentials without moving money."""
        await self._client_token()
        return "OMPay reachable, credentials accepted"

    async def _client_token(self) -> str:
        # A client token moves no money: a lost answer is asked again (Safety.READ).
        reply = await self._call(
            "POST", "/client_token", b"grant_type=client_credentials", form=True, safety=Safety.READ
        )
        token = text(reply.json().get("accessToken"))
        if not token:
            raise ValidationError(
                f"The server at {self.config.base_url} does not answer like OMPay.", field="base_url"
            )
        return token

    # -- card entry -----------------------------------------------------------------------------------
    async def begin_hosted_entry(self, request: HostedEntryRequest) -> Challenge:
        """The terminal's card page with a fresh client token; its script asks OMPay for a nonce."""
        self._currency(request.amount)
        token = await self._client_token()
        return card_page_challenge(
            request,
            nonce_url=f"{self._http.base_url}{self._prefix}/credit-card-nonce",
            client_token=token,
            live=self.config.live,
        )

    async def complete_hosted_entry(
        self, request: HostedEntryRequest, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> CardToken:
        """The nonce the page posted back; nothing is charged until sale() or authorize() uses it."""
        return read_card_page(request, fields)

    # -- payments ---------------------------------------------------------------------------------------
    async def sale(self, request: PaymentRequest) -> GatewayResult:
        """``POST /payment`` with ``intent: sale`` (authorise and capture)."""
        return await self._pay("sale", request)

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        """``POST /payment`` with ``intent: auth``."""
        return await self._pay("auth", request)

    def _currency(self, amount: Money) -> str:
        if amount.currency not in CURRENCIES:
            raise ValidationError(
                f"{DISPLAY_NAME} charges in OMR or USD, not {amount.currency}.", field="currency"
            )
        return wire_amount(amount)

    def _instrument(self, request: PaymentRequest) -> dict[str, Any]:
        """Exactly one funding instrument: typed card (direct entry), nonce, or vaulted card id."""
        name = request.customer_name[:60]
        if request.card is not None:
            if request.token:
                raise ValidationError("Give either a card or a saved card, not both.", field="card")
            if not self.config.direct_entry:
                raise NotSupportedError(
                    "Direct card entry is off for this OMPay profile; use the card page, "
                    "or ask an administrator to enable it (PCI DSS merchants only)."
                )
            card = request.card
            return {
                "credit_card": {
                    "number": card.number,
                    "expire_month": card.expiry_month,
                    "expire_year": card.expiry_year,
                    "cvv2": card.cvc,
                    "name": (card.holder or name)[:60],
                }
            }
        nonce = nonce_of(request.token)
        if nonce is not None:
            return {"credit_card_nonce": {"nonce": nonce, "name": name}}
        try:
            vault_id = str(uuid.UUID(request.token))
        except ValueError:
            raise ValidationError(
                "No usable card for this payment; nothing was charged.", field="token"
            ) from None
        return {"credit_card_token": {"credit_card_id": vault_id}}

    async def _pay(self, intent: str, request: PaymentRequest) -> GatewayResult:
        total = self._currency(request.amount)
        if not request.merchant_reference or len(request.merchant_reference) > 64:
            raise ValidationError(
                "An order reference of at most 64 characters is required.", field="reference"
            )
        payer_info: dict[str, Any] = {"name": request.customer_name[:60]}
        if request.customer_email:
            payer_info["email"] = request.customer_email
        body = {
            "intent": intent,
            "payer": {
                "payment_type": "CC",
                "funding_instrument": self._instrument(request),
                "payer_info": payer_info,
            },
            "payee": {"merchant_id": self.config.merchant_id},
            "transaction": transaction_of(request, total, request.description),
            "custom": {"field1": request.customer_id[:64]},
        }
        reply = await self._call("POST", "/payment", _body(body))
        if reply.status != 200:
            self._refused_payment(reply)
        keep = request.save_card or request.recurring is Recurring.INITIAL
        result = result_of(reply.json(), request.amount, self._secrets, keep_card=keep)
        if result.outcome is Outcome.PENDING and result.gateway_code == REDIRECT_CODE:
            return challenge_of(result, reply.json(), request.return_url)
        if result.outcome not in (Outcome.APPROVED, Outcome.DECLINED) or not result.gateway_reference:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered without a final result ({result.gateway_code or 'no code'}); "
                "the payment may have been made. Check it in the OMPay dashboard.",
            )
        return result

    async def complete_challenge(
        self, result: GatewayResult, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> GatewayResult:
        """After 3-D Secure: the state read with GET; the return URL's parameters are never believed."""
        reference = result.gateway_reference
        if not reference:
            raise ValidationError("No OMPay payment to complete.", field="reference")
        found = await self._get(f"/payment/{quote(reference, safe='')}", result.amount)
        token = result.token if found.outcome is Outcome.APPROVED else ""
        return replace(found, token=token)

    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """A payment by its id, or a hosted page by its session: pending, used (the payment) or expired."""
        if not gateway_reference:
            raise NotSupportedError(
                f"{DISPLAY_NAME} cannot look a payment up by order reference; check the OMPay dashboard."
            )
        session = session_hex(gateway_reference) if len(gateway_reference) >= 32 else None
        if session is not None:
            return await self._hosted_status(session)
        if not _PAYMENT_ID.match(gateway_reference):
            raise ValidationError("Not an OMPay payment id.", field="reference")
        return await self._get(f"/payment/{gateway_reference}", None)

    async def fetch_follow_up(
        self, kind: OperationKind, gateway_reference: str, merchant_reference: str, parent_reference: str
    ) -> GatewayResult:
        """A capture, void or refund whose answer was lost, judged from its payment (a READ, asked again).

        The follow-up's own id was in the lost answer; the payment's state tells (ompay_status.follow_up_of).
        """
        if gateway_reference or kind not in _RESULTS or not _PAYMENT_ID.match(parent_reference):
            return await self.fetch(gateway_reference, merchant_reference)
        reply = await self._call("GET", f"/payment/{parent_reference}", None, safety=Safety.READ)
        if reply.status != 200:
            self._refused_payment(reply)
        return follow_up_of(kind, reply.json(), self._secrets)

    # -- follow-ups ---------------------------------------------------------------------------------------
    async def capture(self, request: FollowUpRequest) -> GatewayResult:
        """All or part of an authorisation, once."""
        return await self._follow_up("capture", request, with_amount=True)

    async def void(self, request: FollowUpRequest) -> GatewayResult:
        """An authorisation not captured yet."""
        return await self._follow_up("void", request, with_amount=False)

    async def refund(self, request: FollowUpRequest) -> GatewayResult:
        """All or part of a sale or capture; partial refunds repeat up to the captured amount."""
        return await self._follow_up("refund", request, with_amount=True)

    async def _follow_up(self, verb: str, request: FollowUpRequest, *, with_amount: bool) -> GatewayResult:
        parent = request.parent_reference
        if not _PAYMENT_ID.match(parent):
            raise ValidationError("The original payment has no OMPay id.", field="reference")
        body: dict[str, Any] = {"invoice_number": request.merchant_reference[:64]}
        if with_amount:
            body["amount"] = self._currency(request.amount)
        if request.reason:
            body["custom"] = {"field1": request.reason[:64]}
        reply = await self._call("POST", f"/payment/{parent}/{verb}", _body(body))
        if reply.status in (404, 409, 422):
            code, words = error_of(reply, self._secrets)
            if code == "4222":
                raise ValidationError(
                    f"{DISPLAY_NAME} refused the amount: {words}", field="amount", gateway_code=code
                )
            raise DeclinedError(
                f"{DISPLAY_NAME} refused the {verb}: {words}", gateway_code=code, status=reply.status
            )
        if reply.status != 200:
            self._refused_payment(reply)
        result = result_of(reply.json(), request.amount, self._secrets)
        if result.outcome is not Outcome.APPROVED or not result.gateway_reference:
            raise OutcomeUnknownError(f"{DISPLAY_NAME} answered the {verb} without a readable result.")
        return result

    # -- pay-by-link: the hosted payment page -------------------------------------------------------------
    async def create_invoice(self, request: PaymentRequest) -> GatewayResult:
        """``POST /hosted-payment``: a page the customer opens from a link; fetch() follows its session."""
        body = hosted_page_body(request, self._currency(request.amount))
        reply = await self._call("POST", "/hosted-payment", _body(body))
        if reply.status != 200:
            self._refused_payment(reply)
        return hosted_page_result(reply.json(), request)

    async def _hosted_status(self, session: str) -> GatewayResult:
        reply = await self._call("GET", f"/hosted-payment/session/{session}", None)
        if reply.status != 200:
            self._refused_payment(reply)
        found = session_state_result(reply.json(), session)
        if found is not None:
            return found
        page = str(uuid.UUID(session))
        return await self._get(f"/payment/session/{page}", None)

    # -- transport -------------------------------------------------------------------------------------------
    async def _get(self, path: str, sent: Money | None) -> GatewayResult:
        reply = await self._call("GET", path, None)
        if reply.status != 200:
            self._refused_payment(reply)
        return result_of(reply.json(), sent, self._secrets)

    async def _call(
        self,
        method: str,
        path: str,
        content: bytes | None,
        *,
        form: bool = False,
        safety: Safety | None = None,
    ) -> HttpReply:
        """One Basic-authenticated call; the statuses every call shares (401, 5xx, 3xx) are judged here.

        A GET (payment and page status) is a READ, repeated after a lost answer; a POST moves money
        (OMPay de-duplicates nothing) unless the caller says otherwise.
        """
        if safety is None:
            safety = Safety.READ if method == "GET" else Safety.MONEY
        headers = {"Authorization": self._basic, "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        reply = await self._http.request(
            method, self._prefix + path, content=content, headers=headers, safety=safety
        )
        raise_if_server_error(reply)
        if reply.status == 401:
            raise AuthenticationError(
                f"{DISPLAY_NAME} refused the client id or secret (Unauthorized); nothing was done. "
                "Check the profile's credentials.",
                gateway_code=error_of(reply, self._secrets)[0],
                status=401,
            )
        if 300 <= reply.status < 400 or reply.status == 408:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered HTTP {reply.status} instead of a result; "
                "the operation may have been executed.",
                status=reply.status,
            )
        return reply

    def _refused_payment(self, reply: HttpReply) -> None:
        """A 4xx answer: the request was refused and nothing happened."""
        raise refusal(reply, self._secrets, self.config.base_url)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
