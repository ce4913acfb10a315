"""OGO Pay simulator: the documented wire format (docs/gateways/ogopay.md) plus its "Simulator decisions".

Simulator choices (where the vendor and the gateway notes are silent):
- Every tokenisation is challenged (3-D Secure page with Approve / Decline); the challenge lives 15 minutes
  of simulator clock and is single-use; an expired one posts back ``success=false``.
- ``cardHolderName`` is optional (OGO's integration guide calls it "optional but preferred").
- ``cardType``: ``V`` Visa, ``M`` Mastercard, ``U`` UnionPay as documented; American Express, which OGO does
  not list, gets ``A``; any other brand ``X``. ``cardMask`` keeps first 6 and last 4, 4-4-4-4 grouped
  (Amex 4-6-5). Success message ``Card tokenized successfully``.
- ``/registercard-json`` errors: HTTP 400 ``{"success": false, "message": ...}``; ``/registercard-html``
  errors: HTTP 400 text/plain.
- ``Date``: any ISO-8601 form; without an offset it is read as UTC. Auth is checked before the body.
- Token outcomes follow the SANDBOX.md card table; the "challenge" card charges as approved (its challenge
  was passed at tokenisation); a card whose expiry month has passed on the simulator clock declines 54.
- ``date``/``time``/same-day are Sri Lanka time (UTC+05:30); ``stan`` counts up from 100001;
  ``referenceNumber``, ``approvalCode`` and ``invoiceNumber`` are random.
- Invented (sandbox-only) operations and their ``type``: purchase 200, preauth 100, completion 220,
  void 400, refund 500. Each answers a fresh ``transactionId``; a void names a pre-auth or purchase, a refund
  a purchase or completion (or a completed pre-auth) as ``transactionId``. A pre-auth expires after 7 days.
- ``orderId`` is unique per merchant across purchases and pre-auths (approved or declined) -> 409.
- Refusals of those rules: HTTP 400 ``{"success": false, "message": ...}`` with "Transaction not found",
  "Not a pre-authorisation", "Already completed", "Already voided", "Authorisation expired", "Amount exceeds
  authorised amount", "Amount exceeds refundable amount", "Transaction not captured", "Transaction has
  refunds", "Transaction already settled", "Void period expired"; completions and refunds are not voidable.
- Ledger entries: kind (purchase, preauth, completion, void, refund), effect (False for declines), outcome,
  amount, currency LKR, merchantId, transactionId, parent, responseCode (+ orderId/customerId on charges).
- Settlement (``POST /_sim/settle``): captures -> settled, requested refunds -> refunded; a settled purchase
  can no longer be voided.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from terminal.sim.ogopay_cards import OgoCardPages
from terminal.sim.ogopay_model import (
    COLOMBO,
    OgoState,
    Refusal,
    Txn,
    amount_field,
    expiry_passed,
    fail,
    require_field,
)
from terminal.sim.sandbox import SimulatorApp, build_sim_app

__all__ = ["DEFAULT_MERCHANTS", "OgoPaySim", "create_app", "sign"]

DEFAULT_MERCHANTS: Final[dict[str, str]] = {"sandbox-merchant": "sandbox-ogo-secret"}
CURRENCY: Final = "LKR"
MAX_SKEW: Final = timedelta(minutes=5)
PREAUTH_TTL: Final = timedelta(days=7)
TYPES: Final[dict[str, int]] = {
    "purchase": 200,
    "preauth": 100,
    "completion": 220,
    "void": 400,
    "refund": 500,
}
DECLINES: Final[dict[str, tuple[str, str]]] = {
    "do_not_honour": ("05", "Do not honour"),
    "cvc_failed": ("05", "Do not honour"),  # OGO's card form has no CVC, so the issuer just refuses
    "insufficient_funds": ("51", "Insufficient funds"),
    "expired_card": ("54", "Expired card"),
}
_APPROVAL_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"


def sign(secret: str, date: str, body: bytes) -> str:
    """OGO's signature: base64 HMAC-SHA256, key = the secret's UTF-8 bytes, message = date, newline, body."""
    digest = hmac.new(secret.encode(), date.encode("latin-1") + b"\n" + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class OgoPaySim:
    """The signed-call handlers over one :class:`OgoState`."""

    def __init__(self, state: OgoState) -> None:
        self.state = state

    async def _verified(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The merchant id and JSON body of a correctly signed request, else a Refusal (401 or 400)."""
        raw = await request.body()
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        merchant_id, _, signature = credentials.strip().rpartition(":")
        date = request.headers.get("date", "")
        secret = self.state.merchants.get(merchant_id)
        if scheme != "OGO" or not date or secret is None or not signature.isascii():
            raise Refusal("Unauthorized", 401)
        if not hmac.compare_digest(sign(secret, date, raw).encode(), signature.encode()):
            raise Refusal("Unauthorized", 401)
        try:
            sent = datetime.fromisoformat(date.strip())
        except ValueError:
            raise Refusal("Unauthorized", 401) from None
        sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
        if abs(self.state.clock.now() - sent) > MAX_SKEW:
            raise Refusal("Unauthorized", 401)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Refusal("Invalid JSON body") from None
        if not isinstance(body, dict):
            raise Refusal("Invalid JSON body")
        return merchant_id, body

    def _result(self, kind: str, txn: Txn) -> dict[str, Any]:
        local = txn.created.astimezone(COLOMBO)
        return {
            "referenceNumber": "".join(secrets.choice("0123456789") for _ in range(12)),
            "responseCode": "00",
            "approvalCode": "".join(secrets.choice(_APPROVAL_ALPHABET) for _ in range(6)),
            "date": local.strftime("%m/%d"),
            "time": local.strftime("%H:%M:%S"),
            "invoiceNumber": f"{secrets.randbelow(1_000_000):06d}",
            "stan": self.state.next_stan(),
            "type": TYPES[kind],
            "transactionId": txn.transaction_id,
            "message": "Approved",
        }

    def _approve(
        self, kind: str, merchant_id: str, amount: int, parent: Txn | None, **fields: Any
    ) -> tuple[Txn, Response]:
        """Apply an approved operation: keep it, journal it, answer OGO's success shape."""
        txn = self.state.add_txn(kind, merchant_id, amount, parent)
        result = self._result(kind, txn)
        self.state.ledger.record(
            kind,
            amount=amount,
            currency=CURRENCY,
            outcome="approved",
            merchantId=merchant_id,
            transactionId=txn.transaction_id,
            parent=parent.transaction_id if parent else None,
            responseCode="00",
            **fields,
        )
        return txn, JSONResponse({"success": True, "message": "Transaction successfull", "result": result})

    async def purchase(self, request: Request) -> Response:
        """``POST /purchase``: charge a token."""
        return await self._charge(request, "purchase")

    async def preauth(self, request: Request) -> Response:
        """``POST /preauth`` (sandbox-only shape): authorise a token for a later completion."""
        return await self._charge(request, "preauth")

    async def _charge(self, request: Request, kind: str) -> Response:
        """Purchase or pre-auth: same request, same checks; only the ``type`` and later rules differ."""
        merchant_id, body = await self._verified(request)
        amount = amount_field(body)
        token_id = require_field(body, "token")
        order_id = require_field(body, "orderId", "orderID")
        customer_id = require_field(body, "customerId", "customerID")
        token = self.state.tokens.get(token_id)
        if token is None or token.merchant_id != merchant_id or token.customer_id != customer_id:
            raise Refusal("Invalid Token")
        if (merchant_id, order_id) in self.state.orders:
            raise Refusal("Duplicate orderId", 409)
        self.state.orders.add((merchant_id, order_id))
        outcome = token.outcome
        if expiry_passed(token.expiry_month, token.expiry_year, self.state.clock.now()):
            outcome = "expired_card"
        ids = {"orderId": order_id, "customerId": customer_id}
        if outcome in DECLINES:
            code, text = DECLINES[outcome]
            self.state.ledger.record(
                kind, effect=False, amount=amount, currency=CURRENCY, outcome="declined",
                merchantId=merchant_id, transactionId=None, parent=None, responseCode=code, **ids,
            )  # fmt: skip
            result = {"responseCode": code, "message": text}
            return JSONResponse({"success": False, "message": "Declined", "result": result})
        return self._approve(kind, merchant_id, amount, None, **ids)[1]

    def _find(self, merchant_id: str, body: dict[str, Any]) -> Txn:
        txn = self.state.txns.get(require_field(body, "transactionId"))
        if txn is None or txn.merchant_id != merchant_id:
            raise Refusal("Transaction not found")
        return txn

    async def completion(self, request: Request) -> Response:
        merchant_id, body = await self._verified(request)
        preauth = self._find(merchant_id, body)
        amount = amount_field(body)
        if preauth.kind != "preauth":
            raise Refusal("Not a pre-authorisation")
        if preauth.voided:
            raise Refusal("Already voided")
        if preauth.completed_by:
            raise Refusal("Already completed")
        if self.state.clock.now() - preauth.created > PREAUTH_TTL:
            raise Refusal("Authorisation expired")
        if amount > preauth.amount:
            raise Refusal("Amount exceeds authorised amount")
        completion, response = self._approve("completion", merchant_id, amount, preauth)
        preauth.completed_by = completion.transaction_id
        return response

    async def void(self, request: Request) -> Response:
        merchant_id, body = await self._verified(request)
        txn = self._find(merchant_id, body)
        if txn.kind not in ("preauth", "purchase"):
            raise Refusal("Only a pre-authorisation or a same-day purchase can be voided")
        if txn.voided:
            raise Refusal("Already voided")
        if txn.completed_by:
            raise Refusal("Already completed")
        if txn.kind == "purchase":
            if txn.settled:
                raise Refusal("Transaction already settled")
            if txn.refunded:
                raise Refusal("Transaction has refunds")
            if txn.created.astimezone(COLOMBO).date() != self.state.clock.now().astimezone(COLOMBO).date():
                raise Refusal("Void period expired")
        txn.voided = True
        return self._approve("void", merchant_id, txn.amount, txn)[1]

    async def refund(self, request: Request) -> Response:
        merchant_id, body = await self._verified(request)
        txn = self._find(merchant_id, body)
        amount = amount_field(body)
        if txn.kind == "preauth":
            if not txn.completed_by:
                raise Refusal("Transaction not captured")
            txn = self.state.txns[txn.completed_by]
        if txn.kind not in ("purchase", "completion"):
            raise Refusal("Only a purchase or completion can be refunded")
        if txn.voided:
            raise Refusal("Already voided")
        if amount > txn.amount - txn.refunded:
            raise Refusal("Amount exceeds refundable amount")
        txn.refunded += amount
        return self._approve("refund", merchant_id, amount, txn)[1]


def _refusals_as_json(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Turn a signed handler's Refusal into OGO's ``{"success": false, "message": ...}`` error."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Refusal as refusal:
            return fail(str(refusal), refusal.status)

    return endpoint


async def _version(request: Request) -> Response:
    return JSONResponse({"name": "OGO Pay", "version": "2.0.0"})


def create_app(merchants: dict[str, str] | None = None) -> SimulatorApp:
    """The OGO Pay simulator app; ``merchants`` maps merchantId to secret (default: the sandbox pair)."""
    state = OgoState(dict(DEFAULT_MERCHANTS if merchants is None else merchants))
    sim, cards = OgoPaySim(state), OgoCardPages(state)
    routes = [
        Route("/version", _version, methods=["GET"]),
        Route("/registercard-html", cards.register_html, methods=["POST"]),
        Route("/registercard-json", cards.register_json, methods=["POST"]),
        Route("/3ds/{challenge_id}/approve", cards.approve, methods=["POST"]),
        Route("/3ds/{challenge_id}/decline", cards.decline, methods=["POST"]),
        *(Route(f"/{op}", _refusals_as_json(getattr(sim, op)), methods=["POST"]) for op in TYPES),
    ]
    return build_sim_app(routes, state)
