"""Paymentz simulator: the REST API of docs/gateways/paymentz.md, its "Simulator decisions", the control API.

Simulator choices beyond the gateway notes (where they are silent):
- Bodies: form-urlencoded dotted names or the same names nested in JSON; answers are always JSON (HTTP 200
  for every business answer, as the platform does). ``/transactionServices/RESTful/v1`` is an alias.
- Sandbox account: memberId 10001, partnerId 1, username ``sandbox``, secure key ``sandbox-secure-key``,
  terminalId 1 (optional; another terminal id is refused 30089). Currencies EUR, USD, GBP, INR, JPY.
- Input errors: ``30089`` naming the field; a wrong checksum ``30086``; duplicate merchantTransactionId
  (sales, pre-auths and payouts) ``30091``; nothing is created by any of them.
- Inquiry (``IN``): ``result.code 00026`` with the payment's bank code and ``remark`` (its last result text);
  ``10026`` when nothing is found. REPEATED charges never ask for 3-D Secure (merchant-initiated).
- Follow-up refusals: ``transactionStatus N`` with ``10005`` (capture), ``10007`` (reversal; only an
  uncaptured PA), ``10006`` (refund: not captured, over the captured amount, or a second refund).
- Tokens: ``/registrations`` checksum ``memberId|secureKey|card.number``; ``/paywithtoken/{id}`` with
  ``paymentType=DL`` deletes (checksum ``memberId|secureKey|registrationId``), answer ``00001``.
- Payouts: paymentType ``payout`` in answers and the ledger; declined cards ``payoutfailed``/``10001``.
- ``getTransactionList``: ``pagination.fromdate``/``todate`` (dd/MM/yyyy, inclusive, simulator clock),
  ``pagination.page`` (from 1) and ``pagination.pageSize`` (default 50, at most 100); answer ``transactions``
  (the inquiry fields plus ``capturedAmount``/``refundedAmount``) and ``pagination.totalRecords``.
- The ledger also records ``authToken`` issues and ``authFailed`` refusals (no effect), so tests can count
  token renewals.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from terminal.sim import paymentz_invoices, paymentz_pages
from terminal.sim.paymentz_model import (
    CHECKSUM_MISMATCH,
    CURRENCIES,
    FOUND,
    INVALID_INPUT,
    PENDING_3D,
    Account,
    Card,
    Payment,
    PzState,
    Refusal,
    checksum,
    parse_amount,
    wire_amount,
)
from terminal.sim.sandbox import SimulatorApp, build_sim_app, card_outcome

__all__ = ["PzState", "create_app", "flatten", "read_fields"]

PREFIXES: Final = ("/transactionServices/REST/v1", "/transactionServices/RESTful/v1")
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_Handler = Callable[[Request, dict[str, str], Account], Awaitable[dict[str, Any]]]


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested JSON as the dotted names of the form encoding."""
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if data is None:
        return {}
    text = json.dumps(data) if isinstance(data, list | bool) else str(data)
    return {prefix: text}


async def read_fields(request: Request) -> dict[str, str]:
    """The request's fields, whichever of the two documented encodings it used."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            return flatten(json.loads(await request.body()))
        except ValueError:
            raise Refusal(INVALID_INPUT, "Invalid JSON body") from None
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


def need(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise Refusal(INVALID_INPUT, f"Invalid or missing {name}")
    return value


def amount_of(fields: dict[str, str], currency: str) -> tuple[int, str]:
    text = need(fields, "amount")
    minor = parse_amount(text, currency)
    if minor is None or minor <= 0:
        raise Refusal(INVALID_INPUT, "Invalid amount")
    return minor, text


def check(fields: dict[str, str], *parts: str) -> None:
    if fields.get("authentication.checksum", "").strip().lower() != checksum(*parts):
        raise Refusal(*CHECKSUM_MISMATCH)


def card_of(fields: dict[str, str]) -> Card:
    number = need(fields, "card.number").replace(" ", "")
    if card_outcome(number) == "invalid":
        raise Refusal(INVALID_INPUT, "Invalid card.number")
    month, year = need(fields, "card.expiryMonth"), need(fields, "card.expiryYear")
    if not (month.isdigit() and 1 <= int(month) <= 12 and year.isdigit() and len(year) == 4):
        raise Refusal(INVALID_INPUT, "Invalid card.expiryMonth or card.expiryYear")
    cvv = fields.get("card.cvv", "")
    if cvv and not (cvv.isdigit() and len(cvv) == (4 if number.startswith("3") else 3)):
        raise Refusal(INVALID_INPUT, "Invalid card.cvv")
    return Card(number, f"{int(month):02d}", year, fields.get("card.holder", ""))


class PaymentzSim:
    """The REST handlers over one PzState."""

    def __init__(self, state: PzState) -> None:
        self.state = state

    # -- plumbing ---------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, _Handler]] = [
            ("/payments", self.payments),
            ("/payments/{payment_id}", self.payment_follow_up),
            ("/paywithtoken/{registration_id}", self.pay_with_token),
            ("/registrations", self.registrations),
            ("/payout", self.payout),
            ("/getTransactionList", self.transaction_list),
        ]
        routes: list[BaseRoute] = []
        for prefix in PREFIXES:
            routes.append(Route(prefix + "/authToken", self.auth_token, methods=["POST"]))
            routes += [Route(prefix + path, self._guarded(h), methods=["POST"]) for path, h in table]
        routes += paymentz_invoices.routes(self.state, self._guarded, self.flush)
        routes += paymentz_pages.routes(self.state, self.flush)
        return routes

    def _guarded(self, handler: _Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                account = self.state.account_of_token(request.headers.get("AuthToken", ""))
                fields = await read_fields(request)
                if fields.get("authentication.memberId", account.member_id) != account.member_id:
                    raise Refusal("401", "Authentication failed: memberId does not match the AuthToken")
                terminal = fields.get("authentication.terminalId", "")
                if terminal and terminal not in account.terminals:
                    raise Refusal(INVALID_INPUT, "Invalid authentication.terminalId")
                body = await handler(request, fields, account)
            except Refusal as refusal:
                if refusal.code == "401":
                    self.state.ledger.record("authFailed", effect=False, path=request.url.path)
                body = {
                    "paymentId": "-",
                    "transactionStatus": refusal.status,
                    "result": {"code": refusal.code, "description": refusal.description},
                    "timestamp": self.state.clock.now().strftime("%Y-%m-%d %H:%M:%S"),
                }
            self.flush()
            return JSONResponse(body)

        return endpoint

    def flush(self) -> None:
        """Send queued notifications (loopback only, once, no retries) without delaying the answer."""
        queued, self.state.notifications[:] = list(self.state.notifications), []
        for url, body in queued:
            if urlsplit(url).hostname in _LOOPBACK:
                asyncio.get_running_loop().create_task(_post(url, body))

    # -- AuthToken ------------------------------------------------------------------------------
    async def auth_token(self, request: Request) -> Response:
        now = self.state.clock.now().strftime("%Y-%m-%d %H:%M:%S")
        try:
            fields = await read_fields(request)
            account = self.state.issue_token(
                fields.get("authentication.partnerId", ""),
                fields.get("merchant.username", ""),
                fields.get("authentication.sKey", ""),
                fields.get("authentication.memberId", ""),
            )
        except Refusal as refusal:
            body = {"result": {"code": refusal.code, "description": refusal.description}, "timestamp": now}
            return JSONResponse(body)
        self.state.ledger.record("authToken", effect=False, memberId=account.member_id)
        return JSONResponse(
            {
                "partnerId": account.partner_id,
                "memberId": account.member_id,
                "result": {"code": "200", "description": "Token generated successfully"},
                "timestamp": now,
                "LoginName": account.username,
                "AuthToken": self.state.token_for(account),
            }
        )

    # -- payments -------------------------------------------------------------------------------
    async def payments(self, request: Request, fields: dict[str, str], account: Account) -> dict[str, Any]:
        currency = _currency(fields)
        minor, amount = amount_of(fields, currency)
        reference = need(fields, "merchantTransactionId")
        check(fields, account.member_id, account.secure_key, reference, amount)
        kind = need(fields, "paymentType")
        if kind not in ("DB", "PA"):
            raise Refusal(INVALID_INPUT, "Invalid paymentType")
        card = card_of(fields)
        payment = self.state.open_payment(
            account,
            merchant_tx_id=reference,
            payment_type=kind,
            amount=minor,
            currency=currency,
            card=card,
            redirect_url=fields.get("merchantRedirectUrl", ""),
            notification_url=fields.get("notificationUrl", ""),
            customer_id=fields.get("customer.customerId", ""),
            recurring="INITIAL" if fields.get("recurringType") == "INITIAL" else "",
        )
        if fields.get("createRegistration", "").lower() == "true":
            payment.registration_id = self._register(account, payment.customer_id, card)
        return self._start(request, payment, self.state.outcome_of(card))

    def _start(self, request: Request, payment: Payment, outcome: str) -> dict[str, Any]:
        if outcome != "challenge" or not payment.redirect_url:
            self.state.decide(payment, outcome)  # type: ignore[arg-type]
            return self.state.describe(payment)
        payment.status, payment.short = "authstarted_3D", "3D"
        payment.code, payment.description = PENDING_3D
        body = self.state.describe(payment)
        acs = paymentz_pages.acs_url(str(request.base_url), payment.payment_id)
        body["redirect"] = {
            "url": acs,
            "method": "POST",
            "target": "_self",
            "parameters": [
                {"name": "PaReq", "value": paymentz_pages.pareq(payment)},
                {"name": "MD", "value": payment.payment_id},
            ],
        }
        return body

    async def payment_follow_up(
        self, request: Request, fields: dict[str, str], account: Account
    ) -> dict[str, Any]:
        target = request.path_params["payment_id"]
        kind = need(fields, "paymentType")
        if kind == "IN":
            check(fields, account.member_id, account.secure_key, target)
            payment = self.state.find(account.member_id, target, by_mid=fields.get("idType") == "MID")
            body = self.state.describe(payment)
            body["result"] = {**payment.result(), "code": FOUND[0], "description": FOUND[1]}
            body["remark"] = payment.description
            return body
        if kind in ("DB", "PA") and fields.get("recurringType") == "REPEATED":
            return self._repeat(request, fields, account, target, kind)
        payment = self.state.find(account.member_id, target)
        if kind == "RV":
            check(fields, account.member_id, account.secure_key, target)
            minor = payment.amount
        elif kind in ("CP", "RF"):
            minor, amount = amount_of(fields, payment.currency)
            check(fields, account.member_id, account.secure_key, target, amount)
        else:
            raise Refusal(INVALID_INPUT, "Invalid paymentType")
        try:
            code, description = self.state.follow_up(payment, kind, minor)
        except Refusal as refusal:
            return {
                **self.state.describe(payment),
                "paymentType": kind,
                "transactionStatus": "N",
                "amount": wire_amount(minor, payment.currency),
                "result": {"code": refusal.code, "description": refusal.description},
            }
        return {
            **self.state.describe(payment),
            "paymentType": kind,
            "amount": wire_amount(minor, payment.currency),
            "result": {"code": code, "description": description},
        }

    def _repeat(
        self, request: Request, fields: dict[str, str], account: Account, initial_id: str, kind: str
    ) -> dict[str, Any]:
        initial = self.state.find(account.member_id, initial_id)
        if initial.recurring != "INITIAL" or initial.short != "Y" or initial.card is None:
            raise Refusal(INVALID_INPUT, "Invalid recurring: not an approved INITIAL payment")
        currency = _currency(fields)
        minor, amount = amount_of(fields, currency)
        reference = need(fields, "merchantTransactionId")
        check(fields, account.member_id, account.secure_key, reference, amount)
        payment = self.state.open_payment(
            account,
            merchant_tx_id=reference,
            payment_type=kind,
            amount=minor,
            currency=currency,
            card=initial.card,
            notification_url=fields.get("notificationUrl", ""),
            recurring="REPEATED",
        )
        outcome = self.state.outcome_of(initial.card)
        self.state.decide(payment, "approved" if outcome == "challenge" else outcome)
        return self.state.describe(payment)

    # -- tokens -----------------------------------------------------------------------------------
    def _register(self, account: Account, customer_id: str, card: Card) -> str:
        registration_id = "REG" + self.state.next_id()
        self.state.registrations[registration_id] = (account.member_id, customer_id, card)
        return registration_id

    async def registrations(
        self, request: Request, fields: dict[str, str], account: Account
    ) -> dict[str, Any]:
        card = card_of(fields)
        check(fields, account.member_id, account.secure_key, card.number)
        customer = fields.get("customer.customerId", "")
        registration_id = self._register(account, customer, card)
        return {
            "registrationId": registration_id,
            "customerId": customer,
            "paymentBrand": card.brand,
            "card": card.public(),
            "result": {"code": "00001", "description": "Card registered successfully"},
            "timestamp": self.state.clock.now().strftime("%Y-%m-%d %H:%M:%S"),
        }

    async def pay_with_token(
        self, request: Request, fields: dict[str, str], account: Account
    ) -> dict[str, Any]:
        registration_id = request.path_params["registration_id"]
        held = self.state.registrations.get(registration_id)
        if held is None or held[0] != account.member_id:
            raise Refusal("10026", "Record not found: unknown registrationId")
        kind = need(fields, "paymentType")
        if kind == "DL":
            check(fields, account.member_id, account.secure_key, registration_id)
            del self.state.registrations[registration_id]
            return {
                "registrationId": registration_id,
                "result": {"code": "00001", "description": "Token deleted successfully"},
            }
        if kind not in ("DB", "PA"):
            raise Refusal(INVALID_INPUT, "Invalid paymentType")
        currency = _currency(fields)
        minor, amount = amount_of(fields, currency)
        reference = need(fields, "merchantTransactionId")
        check(fields, account.member_id, account.secure_key, registration_id, amount)
        card = held[2]
        payment = self.state.open_payment(
            account,
            merchant_tx_id=reference,
            payment_type=kind,
            amount=minor,
            currency=currency,
            card=card,
            redirect_url=fields.get("merchantRedirectUrl", ""),
            notification_url=fields.get("notificationUrl", ""),
            customer_id=held[1],
        )
        payment.registration_id = registration_id
        return self._start(request, payment, self.state.outcome_of(card))

    # -- payouts and lists --------------------------------------------------------------------
    async def payout(self, request: Request, fields: dict[str, str], account: Account) -> dict[str, Any]:
        currency = _currency(fields)
        minor, amount = amount_of(fields, currency)
        reference = need(fields, "merchantTransactionId")
        check(fields, account.member_id, reference, amount, account.secure_key)
        if fields.get("paymentId"):
            earlier = self.state.find(account.member_id, fields["paymentId"])
            if earlier.card is None or earlier.short != "Y":
                raise Refusal(INVALID_INPUT, "Invalid paymentId: no approved card payment")
            card = earlier.card
        else:
            card = card_of(fields)
        payment = self.state.open_payment(
            account,
            merchant_tx_id=reference,
            payment_type="payout",
            amount=minor,
            currency=currency,
            card=card,
            notification_url=fields.get("notificationUrl", ""),
        )
        outcome = self.state.outcome_of(card)
        self.state.decide(payment, "approved" if outcome == "challenge" else outcome)
        return self.state.describe(payment)

    async def transaction_list(
        self, request: Request, fields: dict[str, str], account: Account
    ) -> dict[str, Any]:
        check(fields, account.member_id, account.secure_key)
        start = paymentz_pages.parse_date(need(fields, "pagination.fromdate"), "pagination.fromdate")
        end = paymentz_pages.parse_date(need(fields, "pagination.todate"), "pagination.todate")
        page = _int(fields.get("pagination.page", "1"), "pagination.page", 1, 10_000)
        size = _int(fields.get("pagination.pageSize", "50"), "pagination.pageSize", 1, 100)
        wanted = fields.get("status", "")
        rows = [
            p
            for p in self.state.payments.values()
            if p.member_id == account.member_id
            and start <= p.created.date() <= end
            and (not wanted or p.short == wanted)
        ]
        shown = rows[(page - 1) * size : page * size]
        return {
            "result": {"code": "00001", "description": "Transaction list"},
            "transactions": [
                {
                    **self.state.describe(p),
                    "timestamp": p.created.strftime("%Y-%m-%d %H:%M:%S"),
                    "capturedAmount": wire_amount(p.captured, p.currency),
                    "refundedAmount": wire_amount(p.refunded, p.currency),
                }
                for p in shown
            ],
            "pagination": {"page": page, "pageSize": size, "totalRecords": len(rows)},
        }


def _currency(fields: dict[str, str]) -> str:
    currency = need(fields, "currency").upper()
    if currency not in CURRENCIES:
        raise Refusal(INVALID_INPUT, "Invalid currency")
    return currency


def _int(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise Refusal(INVALID_INPUT, f"Invalid {name}")
    return int(text)


async def _post(url: str, body: dict[str, Any]) -> None:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            await client.post(url, json=body)
    except httpx.HTTPError:
        pass  # no retries (Simulator decisions)


def create_app() -> SimulatorApp:
    """The Paymentz simulator with the sandbox account of SANDBOX.md."""
    state = PzState()
    return build_sim_app(PaymentzSim(state).routes(), state)
