"""Worldline (Ingenico) Connect simulator: server API v1 as docs/gateways/connect.md describes it, wire
compatible with Worldline's own Python SDK (``connect-sdk-python3``), plus the doc's "Simulator decisions".

Simulator choices (where the vendor and the gateway notes are silent):
- Credentials: API key id ``sandboxkeyid0001`` / secret ``sandbox-connect-secret`` for merchant ``1234``;
  a key works for its own merchant only. v1HMAC as documented; the signed query may be percent-encoded
  (as sent) or decoded; ``Date`` within 5 minutes of the simulator clock. Failures: 403, code ``9002``.
- Platform style: ``create_app(platform="globalcollect")`` (default: PRE_AUTHORIZATION or
  ``requiresApproval`` -> PENDING_APPROVAL 600, ``/approve`` -> CAPTURE_REQUESTED 800 -> PAID 1000 at
  settlement) or ``"ogone"`` (PENDING_CAPTURE 5, several partial ``/capture`` calls, CAPTURED 9). As the
  vendor document says, card payouts exist on Ogone only, tokenize-from-payment on GlobalCollect only,
  and Ogone requires ``returnUrl`` on every card payment.
- Business refusals (wrong status, amount over what remains) are HTTP 409 with codes ``410110``/``410120``;
  a merchantReference used before is HTTP 400 ``21000150``; the SANDBOX.md decline cards are HTTP 402 with
  ``paymentResult`` (REJECTED, statusCode 100 / Ogone 2): ``430330`` do not honour, ``430285`` insufficient
  funds, ``430306`` expired, ``430424`` CVV, ``430340`` 3-D Secure failed.
- Idempotence: a POST's ``X-GCS-Idempotence-Key`` is kept per merchant and path; the same key replays the
  first answer with ``X-GCS-Idempotence-Request-Timestamp`` (epoch ms); a duplicate while the first is
  still running gets 409 code ``1409``. 5xx answers are not kept.
- Payouts wait in PENDING_APPROVAL until ``/approve``; refunds are REFUND_REQUESTED at once.
- Webhooks: ``POST /_sim/webhooks {"url"}`` (loopback only) first sends the endpoint-verification GET and
  keeps the URL only if the value is echoed; then every status change is POSTed, signed with key id
  ``sandbox-webhook-key`` / secret ``sandbox-webhook-secret``.
- Ledger kinds: sale, authorization, approve, capture, cancel, cancelapproval, refund, refund_cancel,
  payout (held, no effect), payout_approve, payout_cancel, payout_cancelapproval, token, redirect.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import parse_qs, unquote

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from terminal.sim.connect_model import GLOBALCOLLECT, OGONE, ConnectState, HostedCheckout, Refusal
from terminal.sim.connect_pages import ConnectPages
from terminal.sim.connect_payments import ConnectOps, dig
from terminal.sim.control import is_loopback
from terminal.sim.sandbox import SimulatorApp, build_sim_app

__all__ = ["DEFAULT_KEYS", "GLOBALCOLLECT", "OGONE", "create_app"]

DEFAULT_KEYS: Final[dict[str, tuple[str, str]]] = {"sandboxkeyid0001": ("sandbox-connect-secret", "1234")}
MAX_SKEW: Final = timedelta(minutes=5)
_AUTH: Final = re.compile(r"GCS v1HMAC:([^:]+):(.+)")
_FOLDED: Final = re.compile(r"\r?\n[ \t]*")

Handler = Callable[[str, Request, dict[str, Any]], Awaitable[tuple[int, Any]]]


def _sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


class ConnectSim:
    """Signed API calls: authentication, idempotence, JSON in and out, over :class:`ConnectOps`."""

    def __init__(self, state: ConnectState) -> None:
        self.state = state
        self.ops = ConnectOps(state)
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: list[dict[str, Any]] = []
        state.notify = self._notify

    # -- authentication ---------------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> str:
        """The merchant of a correctly signed request, else Refusal 403 / 9002."""
        refused = Refusal(403, "9002", "MISSING_OR_INVALID_AUTHORIZATION")
        match = _AUTH.fullmatch(request.headers.get("authorization", ""))
        key = self.state.keys.get(match.group(1)) if match else None
        date = request.headers.get("date", "")
        if match is None or key is None or not date:
            raise refused
        secret, merchant = key
        if request.path_params.get("merchant") != merchant:
            raise refused
        try:
            sent = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise refused from None
        if sent.tzinfo is None or abs(self.state.clock.now() - sent.astimezone(UTC)) > MAX_SKEW:
            raise refused
        gcs = sorted(
            (name.lower(), _FOLDED.sub(" ", value).strip())
            for name, value in request.headers.items()
            if name.lower().startswith("x-gcs")
        )
        head = [request.method, request.headers.get("content-type", ""), date, *(f"{n}:{v}" for n, v in gcs)]
        path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?")[0]
        query = request.scope.get("query_string", b"").decode("latin-1")
        forms = [path + (f"?{query}" if query else "")]
        if query:
            forms.append(f"{path}?{unquote(query)}")
        for form in forms:
            expected = _sign(secret, "".join(line + "\n" for line in (*head, form)))
            if hmac.compare_digest(expected.encode(), match.group(2).encode()):
                return merchant
        raise refused

    def api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: auth, JSON body, idempotence replay on POST, Refusals as Connect error bodies."""

        async def endpoint(request: Request) -> Response:
            try:
                merchant = self._authenticate(request)
                raw = await request.body()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except (ValueError, UnicodeDecodeError):
                    raise Refusal(400, "20000000", "INVALID JSON IN REQUEST BODY") from None
                if not isinstance(body, dict):
                    raise Refusal(400, "20000000", "REQUEST BODY IS NOT A JSON OBJECT")
                key = request.headers.get("x-gcs-idempotence-key", "")
                if request.method == "POST" and key:
                    return await self._idempotent(
                        (merchant, key, request.url.path), handler, merchant, request, body
                    )
                status, answer = await handler(merchant, request, body)
                return _reply(status, answer)
            except Refusal as refusal:
                return refusal.response()

        return endpoint

    async def _idempotent(
        self,
        slot: tuple[str, str, str],
        handler: Handler,
        merchant: str,
        request: Request,
        body: dict[str, Any],
    ) -> Response:
        if slot in self.state.replays:
            kept = self.state.replays[slot]
            if kept is None:
                raise Refusal(409, "1409", "DUPLICATE REQUEST IN PROGRESS")
            status, content, stamp = kept
            headers = {"X-GCS-Idempotence-Request-Timestamp": str(stamp)}
            return Response(
                content or None,
                status_code=status,
                headers=headers,
                media_type="application/json" if content else None,
            )
        self.state.replays[slot] = None
        stamp = int(time.time() * 1000)
        try:
            status, answer = await handler(merchant, request, body)
            response = _reply(status, answer)
        except Refusal as refusal:
            response = refusal.response()
        except BaseException:
            del self.state.replays[slot]
            raise
        if response.status_code >= 500:
            del self.state.replays[slot]
        else:
            self.state.replays[slot] = (response.status_code, bytes(response.body), stamp)
        return response

    # -- webhooks ---------------------------------------------------------------------------------------
    def _notify(self, event_type: str, merchant: str, kind: str, obj: dict[str, Any]) -> None:
        url = self.state.webhook_url
        if not url:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        now = self.state.clock.now()
        event = {
            "apiVersion": "v1",
            "id": str(uuid.uuid4()),
            "created": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000",
            "merchantId": merchant,
            "type": event_type,
            kind: obj,
        }
        body = json.dumps(event, indent=2).encode()
        key_id = self.state.webhook_key_id
        secret = self.state.webhook_keys[key_id]
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        headers = {"Content-Type": "application/json", "X-GCS-Signature": signature, "X-GCS-KeyId": key_id}
        task = loop.create_task(self._deliver(url, body, headers, event_type))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: bytes, headers: dict[str, str], event_type: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                status = (await client.post(url, content=body, headers=headers)).status_code
        except httpx.HTTPError as exc:
            status = 0
            event_type += f" ({type(exc).__name__})"
        self.deliveries.append({"type": event_type, "status": status})

    async def configure_webhooks(self, request: Request) -> Response:
        """``POST /_sim/webhooks {"url": ...}``: verify the endpoint (echo GET), then deliver events there."""
        if not is_loopback(request.client.host if request.client else None):
            return JSONResponse({"ok": False, "error": "loopback clients only"}, status_code=403)
        if request.method == "GET":
            return JSONResponse({"ok": True, "url": self.state.webhook_url, "deliveries": self.deliveries})
        url = str((await request.json()).get("url") or "")
        if not url:
            self.state.webhook_url = ""
            return JSONResponse({"ok": True, "url": ""})
        challenge = secrets.token_urlsafe(16)
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                answer = await client.get(url, headers={"X-GCS-Webhooks-Endpoint-Verification": challenge})
            verified = answer.status_code == 200 and answer.text == challenge
        except httpx.HTTPError:
            verified = False
        if verified:
            self.state.webhook_url = url
        return JSONResponse({"ok": verified, "verified": verified, "url": self.state.webhook_url})

    # -- handlers ---------------------------------------------------------------------------------------
    async def create_payment(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        status, answer = self.ops.create_payment(merchant, body)
        redirect = dig(answer, "merchantAction", "redirectData")
        if isinstance(redirect, dict):
            redirect["redirectURL"] = f"{_origin(request)}{redirect['redirectURL']}"
        return status, answer

    async def find_payments(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        query = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
        found = [
            p
            for p in self.state.payments.values()
            if p.merchant == merchant
            and query.get("merchantReference", p.reference) == p.reference
            and query.get("merchantOrderId", str(p.order_id)) == str(p.order_id)
        ]
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
        page = [self.state.payment_json(p) for p in found[offset : offset + limit]]
        return 200, {"payments": page, "offset": offset, "limit": limit, "totalCount": len(found)}

    async def get_payment(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        p = self.ops.payment(merchant, request.path_params["id"])
        answer: dict[str, Any] = {**self.state.payment_json(p)}
        if p.hosted_checkout:
            answer["hostedCheckoutSpecificOutput"] = {"hostedCheckoutId": p.hosted_checkout}
        return 200, answer

    async def payment_action(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        action, payment_id = request.path_params["action"], request.path_params["id"]
        if action == "approve":
            return self.ops.approve(merchant, payment_id, body)
        if action == "capture":
            return self.ops.capture(merchant, payment_id, body)
        if action == "finalizecapture":
            return self.ops.finalize_capture(merchant, payment_id)
        if action == "cancel":
            return self.ops.cancel(merchant, payment_id)
        if action == "cancelapproval":
            return self.ops.cancel_approval(merchant, payment_id)
        if action == "refund":
            return self.ops.refund(merchant, payment_id, body)
        if action == "tokenize":
            return self.ops.tokenize(merchant, payment_id)
        raise Refusal(404, "1002", "UNKNOWN_RESOURCE")

    async def list_of_payment(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        p = self.ops.payment(merchant, request.path_params["id"])
        if request.path_params["what"] == "captures":
            return 200, {"captures": [self.state.capture_json(self.state.captures[c]) for c in p.captures]}
        refunds = [self.state.refund_json(r) for r in self.state.refunds.values() if r.payment == p.id]
        return 200, {"refunds": refunds}

    async def get_capture(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        c = self.state.captures.get(request.path_params["id"])
        if c is None or self.state.payments[c.payment].merchant != merchant:
            raise Refusal(404, "1002", "UNKNOWN_CAPTURE_ID")
        if request.method == "POST":  # /captures/{id}/refund
            return self.ops.refund(merchant, c.payment, body)
        return 200, self.state.capture_json(c)

    async def refunds(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        refund_id, action = request.path_params.get("id"), request.path_params.get("action")
        if refund_id is None:
            query = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
            found = [
                self.state.refund_json(r)
                for r in self.state.refunds.values()
                if self.state.payments[r.payment].merchant == merchant
                and query.get("merchantReference", r.reference) == r.reference
            ]
            return 200, {"refunds": found, "offset": 0, "limit": len(found), "totalCount": len(found)}
        r = self.ops.refund_of(merchant, refund_id)
        if action is None:
            return 200, self.state.refund_json(r)
        if action == "cancel":
            return self.ops.cancel_refund(merchant, refund_id)
        if action == "approve" and r.status == "PENDING_APPROVAL":
            self.state.move_refund(r, "REFUND_REQUESTED")
            return 204, None
        if action == "cancelapproval" and r.status == "REFUND_REQUESTED":
            self.state.move_refund(r, "PENDING_APPROVAL")
            return 204, None
        raise Refusal(409, "410110", f"REFUND STATUS {r.status} DOES NOT ALLOW {action.upper()}")

    async def payouts(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        payout_id, action = request.path_params.get("id"), request.path_params.get("action")
        if payout_id is None and request.method == "POST":
            return self.ops.create_payout(merchant, body)
        if payout_id is None:
            query = {k: v[-1] for k, v in parse_qs(request.url.query).items()}
            found = [
                self.state.payout_json(o)
                for o in self.state.payouts.values()
                if o.merchant == merchant and query.get("merchantReference", o.reference) == o.reference
            ]
            return 200, {"payouts": found, "offset": 0, "limit": len(found), "totalCount": len(found)}
        if action is None:
            return 200, self.state.payout_json(self.ops.payout(merchant, payout_id))
        if action not in ("approve", "cancel", "cancelapproval"):
            raise Refusal(404, "1002", "UNKNOWN_RESOURCE")
        return self.ops.payout_action(merchant, payout_id, action)

    async def tokens(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        token_id = request.path_params.get("id")
        if token_id is None:
            return self.ops.create_token(merchant, body)
        if request.method == "DELETE":
            self.ops.delete_token(merchant, token_id)
            return 204, None
        return 200, self.ops.get_token(merchant, token_id)

    async def hosted(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        checkout_id = request.path_params.get("id")
        if checkout_id is None:
            return_url = dig(body, "hostedCheckoutSpecificInput", "returnUrl")
            if not isinstance(return_url, str) or not return_url:
                raise Refusal(
                    400, "20000000", "PARAMETER_NOT_FOUND_IN_REQUEST", "hostedCheckoutSpecificInput.returnUrl"
                )
            created = HostedCheckout(str(uuid.uuid4()), merchant, secrets.token_hex(16), body)
            self.state.checkouts[created.id] = created
            host = _origin(request).split("://", 1)[1]
            return 201, {
                "RETURNMAC": created.returnmac,
                "hostedCheckoutId": created.id,
                "partialRedirectUrl": f"{host}/hostedcheckout/{created.id}",
                "merchantReference": str(dig(body, "order", "references", "merchantReference") or ""),
            }
        checkout = self.state.checkouts.get(checkout_id)
        if checkout is None or checkout.merchant != merchant:
            raise Refusal(404, "1002", "UNKNOWN_HOSTED_CHECKOUT_ID")
        if request.method == "DELETE":
            checkout.status = "CANCELLED_BY_CONSUMER" if checkout.status == "IN_PROGRESS" else checkout.status
            return 204, None
        answer: dict[str, Any] = {"status": checkout.status}
        if checkout.payment:
            p = self.state.payments[checkout.payment]
            category = {
                "REJECTED": "REJECTED",
                "REDIRECTED": "STATUS_UNKNOWN",
                "CREATED": "STATUS_UNKNOWN",
            }.get(p.status, "SUCCESSFUL")
            answer["createdPaymentOutput"] = {
                "payment": self.state.payment_json(p),
                "paymentStatusCategory": category,
                "tokenizationSucceeded": bool(p.token),
                **({"tokens": p.token} if p.token else {}),
            }
        return 200, answer

    async def sessions(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        session_id = uuid.uuid4().hex
        self.state.sessions[session_id] = self.state.clock.now() + timedelta(hours=2)
        origin = _origin(request)
        return 201, {
            "clientSessionId": session_id,
            "customerId": f"{merchant}-{secrets.token_hex(8)}",
            "clientApiUrl": f"{origin}/client",
            "assetUrl": f"{origin}/assets",
            "region": "EU",
            "invalidTokens": [t for t in body.get("tokens") or [] if t not in self.state.tokens],
        }

    async def test_connection(self, merchant: str, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"result": "OK"}


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _reply(status: int, answer: Any) -> Response:
    if status == 204 or answer is None:
        return Response(status_code=204)
    return JSONResponse(answer, status_code=status)


def create_app(
    keys: dict[str, tuple[str, str]] | None = None, *, platform: str = GLOBALCOLLECT
) -> SimulatorApp:
    """The Connect simulator; ``keys`` maps API key id to (secret, merchant id); ``platform`` its style."""
    if platform not in (GLOBALCOLLECT, OGONE):
        raise ValueError(f"platform must be {GLOBALCOLLECT!r} or {OGONE!r}")
    state = ConnectState(dict(DEFAULT_KEYS if keys is None else keys), platform)
    sim = ConnectSim(state)
    pages = ConnectPages(state, sim.ops)
    v1 = "/v1/{merchant}"
    routes = [
        Route(f"{v1}/services/testconnection", sim.api(sim.test_connection), methods=["GET"]),
        Route(f"{v1}/payments", sim.api(sim.create_payment), methods=["POST"]),
        Route(f"{v1}/payments", sim.api(sim.find_payments), methods=["GET"]),
        Route(f"{v1}/payments/{{id}}", sim.api(sim.get_payment), methods=["GET"]),
        Route(f"{v1}/payments/{{id}}/{{what:str}}", sim.api(sim.list_of_payment), methods=["GET"]),
        Route(f"{v1}/payments/{{id}}/{{action}}", sim.api(sim.payment_action), methods=["POST"]),
        Route(f"{v1}/captures/{{id}}", sim.api(sim.get_capture), methods=["GET"]),
        Route(f"{v1}/captures/{{id}}/refund", sim.api(sim.get_capture), methods=["POST"]),
        Route(f"{v1}/refunds", sim.api(sim.refunds), methods=["GET"]),
        Route(f"{v1}/refunds/{{id}}", sim.api(sim.refunds), methods=["GET"]),
        Route(f"{v1}/refunds/{{id}}/{{action}}", sim.api(sim.refunds), methods=["POST"]),
        Route(f"{v1}/payouts", sim.api(sim.payouts), methods=["GET", "POST"]),
        Route(f"{v1}/payouts/{{id}}", sim.api(sim.payouts), methods=["GET"]),
        Route(f"{v1}/payouts/{{id}}/{{action}}", sim.api(sim.payouts), methods=["POST"]),
        Route(f"{v1}/tokens", sim.api(sim.tokens), methods=["POST"]),
        Route(f"{v1}/tokens/{{id}}", sim.api(sim.tokens), methods=["GET", "DELETE"]),
        Route(f"{v1}/hostedcheckouts", sim.api(sim.hosted), methods=["POST"]),
        Route(f"{v1}/hostedcheckouts/{{id}}", sim.api(sim.hosted), methods=["GET", "DELETE"]),
        Route(f"{v1}/sessions", sim.api(sim.sessions), methods=["POST"]),
        Route("/hostedcheckout/{checkout_id}", pages.show, methods=["GET"]),
        Route("/hostedcheckout/{checkout_id}/pay", pages.pay, methods=["POST"]),
        Route("/hostedcheckout/{checkout_id}/cancel", pages.cancel, methods=["POST"]),
        Route("/threedsecure/{payment_id}", pages.challenge, methods=["GET"]),
        Route("/threedsecure/{payment_id}/{answer:str}", pages.answer, methods=["POST"]),
        Route("/_sim/webhooks", sim.configure_webhooks, methods=["GET", "POST"]),
    ]
    return build_sim_app(routes, state)
