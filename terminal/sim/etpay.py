"""ETpay simulator: the documented wire format (docs/gateways/etpay.md) plus its "Simulator decisions".

Simulator choices (where the vendor and the gateway notes are silent):
- Bodies are JSON whatever the Content-Type. Order of checks: JSON object (400), credentials (401
  ``{"error": "invalid credentials"}``), then fields (400 ``{"error", "field"}``; ``field`` is null for a
  body that is not a JSON object). Null or empty optional fields count as absent; unknown fields
  (``target_flow``, ``customer_phone``) are ignored.
- ``order_amount``: a positive JSON integer, or a string of ASCII digits (the SDK README types it as a
  string); decimals, ``"500.0"``, booleans, zero and negatives are 400. ``merchant_order_id``: a string of
  1-64 ASCII letters/digits; it need not be unique (several attempts per order).
- ``payment_completed_url`` and ``payment_cancellation_url`` are required (SDK README), absolute http(s), no
  fragment. ``user_bank_code`` must be a documented CL code (case-insensitive) and fixes the funnel's bank;
  ``user_rut`` is RUT-shaped (dots/dash allowed, stored bare, e.g. ``111111111``) and prefills the funnel;
  ``is_rut_block`` (boolean, needs ``user_rut``) locks it. ``concat``: 1-16 visible ASCII characters.
- ``token``, ``signature_token`` and ``payment_token`` are random URL-safe strings (the first two 43
  characters, so each is a 32-byte-plus HS256 key); ``terms_url`` is ``BASE_URL/terms``.
- A session lives 30 minutes of simulator clock and takes one answer (Pay, Reject, Cancel); a second answer,
  or a visit after the answer, gets a 409 "already answered" page. An unknown session gets a 404 page.
- An expired session shows a 410 page whose "Return to the merchant" button (as any answer after expiry)
  sends the payer to ``payment_cancellation_url`` with the system-error JWT ``{session_token, system_error:
  true, iat}`` signed with the session_token. Pay/Reject/Cancel mint a ``payment_token`` and a JWT signed with
  the signature_token; it carries the documented fields plus ``reason`` and ``code``.
- Failure reasons and codes: ``rejected_by_bank`` "101", ``cancelled_by_user`` "102", ``session_expired``
  "103"; success has null reason and code. ``iat`` is simulator-clock unix seconds.
- The return is an HTTP 303 to ``url + concat + jwt`` (``?jwt=`` / ``&jwt=`` without concat). The webhook
  (same JWT, ``{"jwt": ...}`` JSON, once, 3 s timeout, loopback hosts only) goes out after every answer.
- Status: the attempts of the authenticated merchant matching every given key, oldest first, ``[]`` when
  none. ``payment_status`` is true/false, or null while pending (strings: "success"/"failure"/"pending"); an
  unanswered session past its 30 minutes reads as failure ``session_expired``. ``payment_date`` (answer or
  expiry) and ``confirmated_at`` (success only) are Santiago time ``dd-mm-yyyy HH:MM:SS``. ``validationWeb``:
  the payer came back through the funnel; ``validationMail``: paid and ``customer_email`` was given.
- Ledger: ``session`` (effect False) per initialize; ``payment`` per Pay (effect True) or Reject (False);
  ``cancellation`` and ``expiry`` (False). Each names merchant_order_id, session_token, payment_token,
  outcome.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from terminal.sim.control import is_loopback
from terminal.sim.etpay_model import (
    BANKS,
    CURRENCY,
    DEFAULT_RUT,
    ApiError,
    EtpayState,
    Outcome,
    Session,
    authenticate,
    json_object,
    new_session,
    normalise_rut,
    optional_text,
    payment_claims,
    return_url,
    sign,
    status_record,
    system_error_claims,
)
from terminal.sim.etpay_pages import funnel_page, notice_page
from terminal.sim.sandbox import SimulatorApp, build_sim_app

__all__ = ["DEFAULT_MERCHANTS", "WEBHOOK_TIMEOUT_S", "EtpaySim", "create_app"]

DEFAULT_MERCHANTS: Final[dict[str, str]] = {"sandbox_merchant": "sandbox-api-token"}
WEBHOOK_TIMEOUT_S: Final = 3.0
_ANSWERS: Final[dict[str, Outcome]] = {
    "pay": "success",
    "reject": "rejected_by_bank",
    "cancel": "cancelled_by_user",
}
_LOOKUP_KEYS: Final = ("session_token", "merchant_order_id", "payment_token")
_NO_STORE: Final = {"Cache-Control": "no-store"}
_log = logging.getLogger(__name__)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_NO_STORE)


def _loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname
    return host is not None and (host.lower() == "localhost" or is_loopback(host))


async def _post_webhook(url: str, token: str) -> None:
    """Deliver one notification; any failure is dropped (the merchant confirms through the status API)."""
    try:
        # trust_env=False: a proxy setting must not route a loopback call anywhere else.
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, trust_env=False) as client:
            await client.post(url, json={"jwt": token})
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        # Only the error class: the URL and the token are the merchant's business.
        _log.debug("ETpay sandbox webhook not delivered: %s", type(exc).__name__)


class EtpaySim:
    """The API, funnel and answer handlers over one :class:`EtpayState`."""

    def __init__(self, state: EtpayState) -> None:
        self.state = state

    async def initialize(self, request: Request) -> Response:
        """``POST /session/initialize``: a new session, answered ``{token, signature_token, terms_url}``."""
        body = json_object(await request.body())
        merchant_code = authenticate(self.state.merchants, body, code_required=True)
        tokens = (secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        session = new_session(merchant_code, body, self.state.clock.now(), tokens)
        self.state.sessions[session.session_token] = session
        self.state.ledger.record(
            "session",
            effect=False,
            amount=session.amount,
            currency=CURRENCY,
            merchant_code=merchant_code,
            merchant_order_id=session.merchant_order_id,
            session_token=session.session_token,
        )
        answer = {
            "token": session.session_token,
            "signature_token": session.signature_token,
            "terms_url": f"{_base(request)}/terms",
        }
        return JSONResponse(answer)

    async def check_payment_status(self, request: Request) -> Response:
        """``POST /merchant/check_payment_status``: a JSON array of the matching attempts."""
        body = json_object(await request.body())
        merchant_code = authenticate(self.state.merchants, body, code_required=False)
        wanted = {key: value for key in _LOOKUP_KEYS if (value := optional_text(body, key)) is not None}
        if not wanted:
            raise ApiError(
                "one of session_token, merchant_order_id or payment_token is required", "session_token"
            )
        now = self.state.clock.now()
        found = [
            status_record(session, now, strings=self.state.status_strings)
            for session in self.state.sessions.values()
            if session.merchant_code == merchant_code
            and all(getattr(session, key) == value for key, value in wanted.items())
        ]
        return JSONResponse(found)

    async def funnel(self, request: Request) -> Response:
        """``GET /session/{token}``: the payer's page (or why it cannot be used)."""
        token = request.path_params["token"]
        session = self.state.sessions.get(token)
        if session is None:
            return _page(notice_page("Unknown payment session", "This payment link is not valid."), 404)
        if session.outcome is not None:
            return _page(
                notice_page("Already answered", "This payment session has already been answered."), 409
            )
        action_base = f"{_base(request)}/session/{token}"
        if self.state.clock.now() >= session.expires:
            message = "This payment session has expired. No money was moved."
            return _page(notice_page("Session expired", message, f"{action_base}/cancel"), 410)
        return _page(funnel_page(session, action_base))

    async def answer(self, request: Request) -> Response:
        """``POST /session/{token}/pay|reject|cancel``: settle the session, then 303 back to the merchant."""
        choice, token = request.path_params["answer"], request.path_params["token"]
        session = self.state.sessions.get(token)
        if choice not in _ANSWERS or session is None:
            return _page(notice_page("Unknown payment session", "This payment link is not valid."), 404)
        if session.outcome is not None:
            return _page(
                notice_page("Already answered", "This payment session has already been answered."), 409
            )
        now = self.state.clock.now()
        if now >= session.expires:
            jwt_token, target = self._expire(session, now), session.cancellation_url
        else:
            form = await request.form()
            payer = self._payer(session, form, cancelling=choice == "cancel")
            if isinstance(payer, str):
                return _page(funnel_page(session, f"{_base(request)}/session/{token}", payer), 400)
            jwt_token = self._settle(session, _ANSWERS[choice], payer, now)
            target = session.completed_url if session.outcome == "success" else session.cancellation_url
        if session.webhook_url is not None and _loopback_url(session.webhook_url):
            # A task of its own, so the payer's redirect never waits for the merchant's server.
            task = asyncio.get_running_loop().create_task(_post_webhook(session.webhook_url, jwt_token))
            self.state.webhooks.add(task)
            task.add_done_callback(self.state.webhooks.discard)
        return RedirectResponse(return_url(target, session.concat, jwt_token), status_code=303)

    @staticmethod
    def _payer(session: Session, form: FormData, *, cancelling: bool) -> tuple[str, str] | str:
        """The (bank code, RUT) the payer chose, or the message to show when the form is wrong."""
        bank_text, rut_text = form.get("bank"), form.get("rut")
        bank = session.user_bank_code
        if bank is None:
            text = bank_text.strip() if isinstance(bank_text, str) and bank_text.strip() else "CL_TEST"
            bank = next((code for code in BANKS if code.lower() == text.lower()), None)
        rut = session.user_rut if session.is_rut_block else None
        if rut is None:
            typed = rut_text.strip() if isinstance(rut_text, str) else ""
            rut = normalise_rut(typed) if typed else session.user_rut or DEFAULT_RUT
        if cancelling:
            # Leaving needs no valid form: keep what makes sense, fall back to the sandbox defaults.
            return bank or "CL_TEST", rut or session.user_rut or DEFAULT_RUT
        if bank is None:
            return "Choose one of the listed banks."
        if rut is None:
            return "Enter a RUT such as 11.111.111-1."
        return bank, rut

    def _settle(self, session: Session, outcome: Outcome, payer: tuple[str, str], now: datetime) -> str:
        """Record the payer's answer; returns the JWT signed with the signature_token."""
        session.outcome, session.answered_at = outcome, now
        session.bank_code, session.rut = payer
        session.payment_token = secrets.token_urlsafe(24)
        self.state.ledger.record(
            "cancellation" if outcome == "cancelled_by_user" else "payment",
            effect=outcome == "success",
            amount=session.amount,
            currency=CURRENCY,
            merchant_code=session.merchant_code,
            merchant_order_id=session.merchant_order_id,
            session_token=session.session_token,
            payment_token=session.payment_token,
            outcome=outcome,
        )
        return sign(payment_claims(session, now), session.signature_token)

    def _expire(self, session: Session, now: datetime) -> str:
        """Close an expired session; returns the system-error JWT signed with the session_token."""
        session.outcome, session.answered_at = "session_expired", now
        self.state.ledger.record(
            "expiry",
            effect=False,
            amount=session.amount,
            currency=CURRENCY,
            merchant_code=session.merchant_code,
            merchant_order_id=session.merchant_order_id,
            session_token=session.session_token,
            payment_token=None,
            outcome="session_expired",
        )
        return sign(system_error_claims(session, now), session.session_token)


async def _terms(request: Request) -> Response:
    message = "Sandbox terms: this simulator contacts no bank and moves no money."
    return _page(notice_page("Terms and conditions", message))


def _api(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn an ApiError into ``{"error": ..., "field": ...}`` with its status (401 carries no field)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            body = {"error": str(exc)} if exc.status == 401 else {"error": str(exc), "field": exc.field}
            return JSONResponse(body, status_code=exc.status)

    return endpoint


def create_app(merchants: dict[str, str] | None = None, *, status_strings: bool = False) -> SimulatorApp:
    """The ETpay simulator; ``merchants`` maps merchant_code to merchant_api_token (default: the sandbox).

    ``status_strings`` makes the status API say "success"/"failure"/"pending" instead of true/false/null.
    """
    state = EtpayState(
        dict(DEFAULT_MERCHANTS if merchants is None else merchants), status_strings=status_strings
    )
    sim = EtpaySim(state)
    routes = [
        Route("/session/initialize", _api(sim.initialize), methods=["POST"]),
        Route("/merchant/check_payment_status", _api(sim.check_payment_status), methods=["POST"]),
        Route("/terms", _terms, methods=["GET"]),
        Route("/session/{token}", sim.funnel, methods=["GET"]),
        Route("/session/{token}/{answer}", sim.answer, methods=["POST"]),
    ]
    return build_sim_app(routes, state)
