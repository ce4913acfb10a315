"""OMPay simulator: the v1 REST API of docs/gateways/ompay.md plus its "Simulator decisions".

Paths live under ``/v1/merchants/{merchantId}``. Server calls carry HTTP Basic (client id : client secret);
the browser's ``/credit-card-nonce`` carries ``Bearer <client token>`` and answers CORS, since the card page
that calls it is served by the merchant, not by OMPay.

Simulator choices beyond the doc's decisions (codes are invented, in the decisions' error shape):
- 400 ``4000`` malformed request; 401 ``4010`` bad credentials or client token (``4011`` expired,
  ``4012`` revoked); 404 ``4040`` unknown payment or session; 409 ``4090`` duplicate ``invoice_number``
  (unique per merchant), ``4091`` a follow-up the payment's state forbids; 422 ``4220`` invalid card
  details, ``4221`` nonce already used, ``4222`` too many decimals, ``4223`` unknown or expired nonce,
  ``4224`` amount over the authorised/refundable amount, ``4226`` unknown vaulted card.
- A failed 3-D Secure page declines with ``2099``. An expired card (simulator clock) declines ``2004``.
- The hosted page's session id is its page UUID's 32 hex digits; a payment made on it carries the UUID as
  its ``session_id`` (``GET /payment/session/{uuid}``).
- ``create_app(token_ttl=..., nonce_ttl=...)`` sets the client-token (8 h) and nonce (3 h) lifetimes.
- ``GET /_sim/requests`` (loopback only) counts the API requests received, by operation.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from terminal.sim.control import is_loopback
from terminal.sim.ompay_model import (
    DEFAULT_MERCHANTS,
    ApiError,
    HostedSession,
    Merchant,
    OmpayState,
    brand_of,
    iso,
    parse_total,
)
from terminal.sim.ompay_pages import OmpayPages
from terminal.sim.ompay_payments import PaymentEngine, card_fields, text
from terminal.sim.sandbox import SimulatorApp, build_sim_app

__all__ = ["DEFAULT_MERCHANTS", "OmpaySim", "create_app"]

PREFIX: Final = "/v1/merchants/{merchant_id}"
TOKEN_TTL: Final = timedelta(hours=8)
NONCE_TTL: Final = timedelta(hours=3)
_CORS_HEADERS: Final = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}

_Handler = Callable[[Request], Awaitable[Response]]


def _cors(request: Request) -> dict[str, str]:
    return {**_CORS_HEADERS, "Access-Control-Allow-Origin": request.headers.get("origin") or "*"}


class OmpaySim:
    """The API handlers over one :class:`OmpayState`."""

    def __init__(self, state: OmpayState) -> None:
        self.state = state
        self.engine = PaymentEngine(state)

    def _base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _count(self, name: str) -> None:
        self.state.requests[name] += 1

    def _basic(self, request: Request) -> str:
        """The merchant id of a request with its correct Basic credentials, else 401."""
        merchant_id = str(request.path_params["merchant_id"])
        merchant: Merchant | None = self.state.merchants.get(merchant_id)
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        if (
            merchant is None
            or scheme.lower() != "basic"
            or not hmac.compare_digest(client_id.encode(), merchant.client_id.encode())
            or not hmac.compare_digest(secret.encode(), merchant.client_secret.encode())
        ):
            raise ApiError(401, "4010", "Unauthorized")
        return merchant_id

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "4000", "Body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "4000", "Body must be a JSON object")
        return body

    # -- tokens and nonces ----------------------------------------------------------------------------
    async def client_token(self, request: Request) -> Response:
        """``POST /client_token``: a fresh client token (body ``grant_type=client_credentials``)."""
        self._count("client_token")
        merchant_id = self._basic(request)
        token = self.state.issue_token(merchant_id)
        return JSONResponse(
            {
                "accessToken": token.value,
                "tokenType": "Bearer",
                "expiresOn": iso(token.expires),
                "issuedOn": iso(token.issued),
            }
        )

    async def nonce_preflight(self, request: Request) -> Response:
        """CORS preflight of the browser's nonce call."""
        return Response(status_code=204, headers=_cors(request))

    async def nonce(self, request: Request) -> Response:
        """``POST /credit-card-nonce`` with the client token: card details in, a one-time nonce out."""
        self._count("credit_card_nonce")
        headers = _cors(request)
        try:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer":
                raise ApiError(401, "4010", "Invalid client token")
            merchant_id = request.path_params["merchant_id"]
            self.state.use_token(value.strip(), merchant_id)
            body = await self._json(request)
            number, month, year = card_fields(body, self.state.clock.now())
            nonce = self.state.issue_nonce(merchant_id, number, month, year)
        except ApiError as error:
            return error.response(headers)
        brand_code, brand = brand_of(number)
        data = {
            "brand_code": brand_code,
            "credit_card_nonce": nonce.value,
            "last4": number[-4:],
            "type": brand,
            "expire_month": month,
            "expire_year": year,
            "expires_on": iso(nonce.expires),
            "issued_on": iso(nonce.issued),
        }
        return JSONResponse({"data": data}, headers=headers)

    # -- payments ----------------------------------------------------------------------------------------
    async def create_payment(self, request: Request) -> Response:
        """``POST /payment``."""
        self._count("payment")
        merchant_id = self._basic(request)
        payment = self.engine.create(merchant_id, await self._json(request))
        return JSONResponse(self.engine.as_json(payment, self._base(request)))

    async def get_payment(self, request: Request) -> Response:
        """``GET /payment/{reference_id}``."""
        self._count("get_payment")
        merchant_id = self._basic(request)
        payment = self.state.payment(request.path_params["reference_id"], merchant_id)
        return JSONResponse(self.engine.as_json(payment, self._base(request)))

    async def payment_by_session(self, request: Request) -> Response:
        """``GET /payment/session/{session_id}``: the payment with its authorisation/capture actions."""
        self._count("payment_session")
        merchant_id = self._basic(request)
        wanted = request.path_params["session_id"]
        try:
            wanted = str(uuid.UUID(wanted))
        except ValueError:
            raise ApiError(404, "4040", "Payment session not found") from None
        found = [
            p
            for p in self.state.payments.values()
            if p.kind == "payment" and p.session_id == wanted and p.merchant_id == merchant_id
        ]
        if not found:
            raise ApiError(404, "4040", "Payment session not found")
        payment = self.state.payment(found[-1].id, merchant_id)
        return JSONResponse(self.engine.as_json(payment, self._base(request), actions=True))

    def _follow_up(self, name: str) -> _Handler:
        async def handler(request: Request) -> Response:
            self._count(name)
            merchant_id = self._basic(request)
            body = await self._json(request)
            verb = getattr(self.engine, name)
            follow = verb(merchant_id, request.path_params["reference_id"], body)
            return JSONResponse(self.engine.as_json(follow, self._base(request)))

        return handler

    # -- hosted payment page ---------------------------------------------------------------------------
    async def create_hosted(self, request: Request) -> Response:
        """``POST /hosted-payment``: a session whose page the payer opens from a link."""
        self._count("hosted_payment")
        merchant_id = self._basic(request)
        body = await self._json(request)
        transaction = body.get("transaction")
        if not isinstance(transaction, dict) or not isinstance(transaction.get("amount"), dict):
            raise ApiError(400, "4000", "transaction.amount is required")
        amount, currency = parse_total(
            transaction["amount"].get("total"), transaction["amount"].get("currency")
        )
        intent = text(body.get("intent")).lower() or "sale"
        if intent not in ("sale", "auth"):
            raise ApiError(400, "4000", "intent must be sale or auth")
        invoice = text(transaction.get("invoice_number"))
        if not invoice or len(invoice) > 64:
            raise ApiError(400, "4000", "transaction.invoice_number is required (at most 64 characters)")
        if (merchant_id, invoice) in self.state.invoices:
            raise ApiError(409, "4090", f"Duplicate invoice_number {invoice}")
        self.state.invoices.add((merchant_id, invoice))
        session = HostedSession(
            id=str(uuid.uuid4()),
            merchant_id=merchant_id,
            intent=intent,
            amount=amount,
            currency=currency,
            invoice_number=invoice,
            description=text(transaction.get("description")),
            return_url=text(transaction.get("return_url")),
            created=self.state.clock.now(),
        )
        self.state.sessions[session.id] = session
        link = f"{self._base(request)}/v1/merchants/{merchant_id}/hosted-payment/page/{session.id}"
        return JSONResponse({"invoice_number": invoice, "hosted_page_link": link})

    async def hosted_status(self, request: Request) -> Response:
        """``GET /hosted-payment/session/{session_id}``: pending, processing, used or expired."""
        self._count("hosted_session")
        merchant_id = self._basic(request)
        session = self.state.session(request.path_params["session_id"], merchant_id)
        if session is None:
            raise ApiError(404, "4040", "Hosted payment session not found")
        return JSONResponse({"session_id": session.session_id, "session_state": session.state})

    async def request_counts(self, request: Request) -> Response:
        """``GET /_sim/requests``: API requests received by operation (loopback only)."""
        if not is_loopback(request.client.host if request.client else None):
            return JSONResponse({"ok": False, "error": "loopback only"}, status_code=403)
        return JSONResponse({"ok": True, "requests": dict(self.state.requests)})


def _errors_as_json(handler: _Handler) -> _Handler:
    """Turn an ApiError into the simulator's ``{"result": {code, description}}`` answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()

    return endpoint


def create_app(
    merchants: dict[str, Merchant] | None = None,
    *,
    token_ttl: timedelta = TOKEN_TTL,
    nonce_ttl: timedelta = NONCE_TTL,
) -> SimulatorApp:
    """The OMPay simulator app; ``merchants`` maps merchant id to Basic credentials (default: sandbox)."""
    state = OmpayState(
        dict(DEFAULT_MERCHANTS if merchants is None else merchants), token_ttl=token_ttl, nonce_ttl=nonce_ttl
    )
    sim = OmpaySim(state)
    pages = OmpayPages(state, sim.engine)
    api = _errors_as_json
    routes = [
        Route("/_sim/requests", sim.request_counts, methods=["GET"]),
        Route(f"{PREFIX}/client_token", api(sim.client_token), methods=["POST"]),
        Route(f"{PREFIX}/credit-card-nonce", sim.nonce, methods=["POST"]),
        Route(f"{PREFIX}/credit-card-nonce", sim.nonce_preflight, methods=["OPTIONS"]),
        Route(f"{PREFIX}/payment", api(sim.create_payment), methods=["POST"]),
        Route(f"{PREFIX}/payment/session/{{session_id}}", api(sim.payment_by_session), methods=["GET"]),
        Route(f"{PREFIX}/payment/{{reference_id}}", api(sim.get_payment), methods=["GET"]),
        *(
            Route(f"{PREFIX}/payment/{{reference_id}}/{verb}", api(sim._follow_up(verb)), methods=["POST"])
            for verb in ("capture", "void", "refund")
        ),
        Route(f"{PREFIX}/hosted-payment", api(sim.create_hosted), methods=["POST"]),
        Route(f"{PREFIX}/hosted-payment/session/{{session_id}}", api(sim.hosted_status), methods=["GET"]),
        Route(f"{PREFIX}/hosted-payment/page/{{page_id}}", pages.hosted_page, methods=["GET"]),
        Route(f"{PREFIX}/hosted-payment/page/{{page_id}}", pages.hosted_pay, methods=["POST"]),
        Route("/v1/redirect/{challenge}", pages.challenge, methods=["GET"]),
        Route("/v1/authenticate/{challenge}", pages.challenge, methods=["GET"]),
        Route("/v1/redirect/{challenge}/approve", pages.approve, methods=["POST"]),
        Route("/v1/redirect/{challenge}/decline", pages.decline, methods=["POST"]),
    ]
    return build_sim_app(routes, state)
