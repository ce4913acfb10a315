"""The Connect adapter's flows: payments, hosted checkout, 3-D Secure, follow-ups, payouts, tokens, lookups.

Kept apart from connect.py (configuration and the signed call) so each stays small. Card data is put
into one request body and never into a result, a message or a log (GatewayHttp scrubs logged bodies).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import (
    CardDetails,
    CardToken,
    Challenge,
    FollowUpRequest,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
    Recurring,
)
from terminal.gateways.connect_results import result_of
from terminal.gateways.connect_status import DISPLAY_NAME, decline_code, error_of, first_error, sub, text
from terminal.gateways.errors import (
    DeclinedError,
    GatewayError,
    NotSupportedError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.http import HttpReply, origin_of

if TYPE_CHECKING:
    from terminal.gateways.connect import ConnectGateway

__all__ = [
    "DIRECT_OFF",
    "HOSTED_PREFIX",
    "ConnectFlows",
    "card_body",
    "json_of",
    "mmyy",
    "money_body",
    "parent_of",
    "product_id",
    "seg",
    "with_",
]

# A CardToken naming the payment a hosted checkout created (not a card token): sale/authorize confirm it.
HOSTED_PREFIX: Final = "connect-payment:"
_BRAND_IDS: Final = {"4": 1, "34": 2, "37": 2, "5": 3, "2": 3}
DIRECT_OFF: Final = (
    "Direct card entry is off for this Connect profile (setting direct_entry); use the card page."
)
# Ogone requires a returnUrl on every card payment; a MOTO payment never goes there.
_UNUSED_RETURN: Final = "https://localhost/connect-moto-return"


def product_id(number: str) -> int:
    return _BRAND_IDS.get(number[:2]) or _BRAND_IDS.get(number[:1]) or 1


def mmyy(card: CardDetails) -> str:
    return f"{card.expiry_month:02d}{card.expiry_year % 100:02d}"


def money_body(amount: Money) -> dict[str, Any]:
    if amount.minor <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    return {"amount": amount.minor, "currencyCode": amount.currency}


def card_body(card: CardDetails, *, with_code: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"cardNumber": card.number.replace(" ", ""), "expiryDate": mmyy(card)}
    if with_code:
        body["cvv"] = card.cvc
    if card.holder:
        body["cardholderName"] = card.holder
    return body


class ConnectFlows:
    """What each verb sends and how its answer is read, over one ConnectGateway's signed call."""

    def __init__(self, gateway: ConnectGateway) -> None:
        self.gw = gateway

    # -- connection -----------------------------------------------------------------------------------
    async def test_connection(self) -> str:
        reply = await self.gw.call("GET", "/services/testconnection")
        data = json_of(reply, "connection test")
        if data.get("result") != "OK":
            raise ValidationError(
                f"The server at {self.gw.config.endpoint} does not answer like {DISPLAY_NAME}.",
                field="endpoint",
            )
        style = "Ogone" if self.gw.ogone else "GlobalCollect"
        return f"{DISPLAY_NAME} reachable, merchant {self.gw.config.merchant_id} ({style} platform)"

    # -- payments ---------------------------------------------------------------------------------------
    async def pay(self, request: PaymentRequest, *, hold: bool) -> GatewayResult:
        """A card, token or hosted-checkout payment: SALE, or PRE_AUTHORIZATION when `hold`."""
        if request.token.startswith(HOSTED_PREFIX):
            return await self._confirm_hosted(request, hold=hold)
        if request.parent_reference and not request.token and request.card is None:
            raise NotSupportedError(
                f"{DISPLAY_NAME} cannot charge the card of an earlier payment by reference."
            )
        specific = self._card_input(request, hold=hold)
        body = {
            "order": {
                "amountOfMoney": money_body(request.amount),
                "customer": {"merchantCustomerId": request.customer_id[:15]},
                "references": {"merchantReference": request.merchant_reference[:50]},
            },
            "cardPaymentMethodSpecificInput": specific,
        }
        if request.description:
            body["order"]["references"]["descriptor"] = request.description[:256]
        reply = await self.gw.call("POST", "/payments", body, idempotency_key=request.idempotency_key)
        data = json_of(reply, "payment")
        if "paymentResult" in data:
            return self.declined(data, "paymentResult", "payment")
        payment = data.get("payment")
        if not isinstance(payment, dict):
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} answered without a payment; check it by its reference."
            )
        result = result_of("payment", payment, sent=request.amount, secrets=self.gw.secrets)
        created = sub(data, "creationOutput")
        token = text(created.get("token")) or (result.token if specific.get("tokenize") else "")
        action = sub(data, "merchantAction")
        redirect = sub(action, "redirectData")
        if action.get("actionType") == "REDIRECT" and text(redirect.get("redirectURL")):
            url = text(redirect.get("redirectURL"))
            challenge = Challenge(
                return_url_prefix=request.return_url,
                allowed_origins=frozenset({origin_of(url), origin_of(request.return_url)}),
                url=url,
                title="3-D Secure",
                reference=result.gateway_reference,
                context={"RETURNMAC": text(redirect.get("RETURNMAC")), "paymentId": result.gateway_reference},
            )
            return with_(result, outcome=Outcome.CHALLENGE, challenge=challenge, token=token)
        return with_(result, token=token)

    def _card_input(self, request: PaymentRequest, *, hold: bool) -> dict[str, Any]:
        """``cardPaymentMethodSpecificInput``: card or token, mode, MOTO or ECOMMERCE (3-D Secure)."""
        specific: dict[str, Any] = {
            "authorizationMode": "PRE_AUTHORIZATION" if hold else "SALE",
            "transactionChannel": "MOTO" if request.moto else "ECOMMERCE",
        }
        if request.card is not None:
            if not self.gw.config.direct_entry:
                raise NotSupportedError(DIRECT_OFF)
            specific["paymentProductId"] = product_id(request.card.number.replace(" ", ""))
            specific["card"] = card_body(request.card, with_code=True)
        elif request.token:
            specific["token"] = request.token
        else:
            raise ValidationError("No card: enter one or choose a saved card.", field="card")
        if request.save_card or request.recurring is Recurring.INITIAL:
            specific["tokenize"] = True
        if request.recurring is not Recurring.NONE:
            specific["isRecurring"] = True
            first = request.recurring is Recurring.INITIAL
            specific["recurringPaymentSequenceIndicator"] = "first" if first else "recurring"
        return_url = request.return_url or (_UNUSED_RETURN if self.gw.ogone and request.moto else "")
        if return_url:
            specific["returnUrl"] = return_url
        if not request.moto:
            specific["threeDSecure"] = {"redirectionData": {"returnUrl": request.return_url}}
        return specific

    def declined(self, data: Mapping[str, Any], key: str, kind: str) -> GatewayResult:
        obj = data.get(key, {}).get(kind) if kind == "payment" else data.get(key)
        code, message, _ = first_error(data)
        if not isinstance(obj, dict):
            obj = {"status": "REJECTED"}
        result = result_of(kind, obj, sent=None, secrets=self.gw.secrets)
        return with_(
            result,
            outcome=Outcome.DECLINED,
            decline_code=decline_code(code) if code else (result.decline_code or DeclineCode.OTHER),
            gateway_code=code or result.gateway_code,
            gateway_message=message or result.gateway_message,
            amount=None,
        )

    async def read(self, kind: str, reference: str, sent: Money | None = None) -> GatewayResult:
        """GET /payments|refunds|payouts/{id} as a result."""
        reply = await self.gw.call("GET", f"/{kind}s/{seg(reference)}")
        return result_of(kind, json_of(reply, kind), sent=sent, secrets=self.gw.secrets)

    async def complete_challenge(
        self, result: GatewayResult, fields: Mapping[str, str], context: Mapping[str, str] | None
    ) -> GatewayResult:
        """After 3-D Secure: the RETURNMAC must be ours; the payment's status is read from Connect."""
        context = context or (result.challenge.context if result.challenge else {})
        payment_id = context.get("paymentId") or result.gateway_reference
        mac = context.get("RETURNMAC", "")
        returned = fields.get("RETURNMAC", "")
        if (
            not mac
            or not hmac.compare_digest(mac.encode(), returned.encode())
            or (fields.get("paymentId", payment_id) != payment_id)
        ):
            raise OutcomeUnknownError(
                "The 3-D Secure page's answer could not be verified; the terminal will check with Connect."
            )
        read = await self.read("payment", payment_id, result.amount)
        if read.outcome is Outcome.DECLINED and read.decline_code is DeclineCode.OTHER:
            return with_(read, decline_code=DeclineCode.AUTHENTICATION_FAILED)
        return read

    # -- hosted checkout ------------------------------------------------------------------------------------
    async def begin_hosted(self, request: HostedEntryRequest) -> Challenge:
        """POST /hostedcheckouts: a MOTO sale or pre-authorisation (as the clerk chose) made on Connect's
        page; RETURNMAC in context. A sale is made as a sale on the page (authorizationMode SALE), so it never
        depends on a later capture whose answer could be lost."""
        mode = "PRE_AUTHORIZATION" if request.kind is OperationKind.AUTHORIZE else "SALE"
        body = {
            "order": {
                "amountOfMoney": money_body(request.amount),
                "customer": {"merchantCustomerId": request.customer_id[:15]},
                "references": {"merchantReference": request.merchant_reference[:50]},
            },
            "hostedCheckoutSpecificInput": {
                "locale": "en_GB",
                "returnUrl": request.return_url,
                "showResultPage": False,
                "paymentProductFilters": {"restrictTo": {"groups": ["cards"]}},
            },
            "cardPaymentMethodSpecificInput": {"authorizationMode": mode, "transactionChannel": "MOTO"},
        }
        # Stable across restarts: one checkout per order reference, so a retried open is replayed.
        key = f"hostedcheckout-{request.merchant_reference}"
        data = json_of(
            await self.gw.call("POST", "/hostedcheckouts", body, idempotency_key=key), "hosted checkout"
        )
        checkout_id, mac = text(data.get("hostedCheckoutId")), text(data.get("RETURNMAC"))
        partial = text(data.get("partialRedirectUrl"))
        if not checkout_id or not mac or not partial:
            raise OutcomeUnknownError(f"{DISPLAY_NAME} answered without a usable hosted checkout.")
        # The sandbox (plain http on loopback) serves the page itself; the platform's is "https://payment.".
        endpoint = urlsplit(self.gw.config.endpoint).scheme
        url = f"http://{partial}" if endpoint == "http" else f"https://payment.{partial}"
        return Challenge(
            return_url_prefix=request.return_url,
            allowed_origins=frozenset({origin_of(url), origin_of(request.return_url)}),
            url=url,
            title="Worldline Connect checkout",
            reference=checkout_id,
            context={"RETURNMAC": mac, "hostedCheckoutId": checkout_id},
        )

    async def complete_hosted(
        self, request: HostedEntryRequest, fields: Mapping[str, str], context: Mapping[str, str]
    ) -> CardToken:
        """Check RETURNMAC, then read the checkout: its payment (or the payer's cancellation) decides."""
        checkout_id, mac = context.get("hostedCheckoutId", ""), context.get("RETURNMAC", "")
        returned = fields.get("RETURNMAC", "")
        if (
            not mac
            or not hmac.compare_digest(mac.encode(), returned.encode())
            or (fields.get("hostedCheckoutId") != checkout_id)
        ):
            raise OutcomeUnknownError(
                "The checkout page's answer could not be verified; the terminal will check with Connect."
            )
        try:
            data = json_of(await self.gw.call("GET", f"/hostedcheckouts/{seg(checkout_id)}"), "checkout")
        except (OutcomeUnknownError, DeclinedError):
            raise
        except GatewayError as exc:
            # The page may have paid: a failed read proves nothing about it.
            raise OutcomeUnknownError(f"The checkout could not be read ({exc.message}).") from None
        status = text(data.get("status"))
        if status == "CANCELLED_BY_CONSUMER":
            raise DeclinedError(
                "The card page was cancelled; nothing was charged.",
                gateway_code=status,
                decline_code=DeclineCode.CANCELLED_BY_PAYER,
            )
        output = sub(data, "createdPaymentOutput")
        payment = output.get("payment") if isinstance(output.get("payment"), dict) else None
        if status != "PAYMENT_CREATED" or payment is None:
            raise OutcomeUnknownError(f"{DISPLAY_NAME} has no payment for this checkout yet ({status}).")
        result = result_of("payment", payment, sent=request.amount, secrets=self.gw.secrets)
        if result.outcome is Outcome.DECLINED:
            code = result.decline_code or DeclineCode.OTHER
            raise DeclinedError(
                f"{DISPLAY_NAME} declined the card ({result.gateway_message}).",
                gateway_code=result.gateway_code,
                decline_code=code,
            )
        card = result.card or CardSummary()
        return CardToken(HOSTED_PREFIX + result.gateway_reference, request.customer_id, card)

    async def _confirm_hosted(self, request: PaymentRequest, *, hold: bool) -> GatewayResult:
        """The checkout's payment read back: confirmed as it is (a sale page's payment is already captured);
        a page that only pre-authorised for a `sale` is captured in full."""
        payment_id = request.token.removeprefix(HOSTED_PREFIX)
        try:
            current = await self.read("payment", payment_id, request.amount)
        except OutcomeUnknownError:
            raise
        except GatewayError as exc:
            raise OutcomeUnknownError(f"The checkout's payment could not be read ({exc.message}).") from None
        if hold or current.outcome is not Outcome.APPROVED:
            return current
        raw_status = text(current.raw.get("status"))
        if raw_status not in ("PENDING_APPROVAL", "PENDING_CAPTURE"):
            return current  # already captured (a replayed sale) or beyond
        follow = FollowUpRequest(
            amount=request.amount,
            merchant_reference=request.merchant_reference,
            idempotency_key=request.idempotency_key,
            parent_reference=payment_id,
        )
        return await self.capture(follow, final=True)

    # -- follow-ups ---------------------------------------------------------------------------------
    async def capture(self, request: FollowUpRequest, *, final: bool = False) -> GatewayResult:
        """GlobalCollect: POST /approve (once); Ogone: POST /capture (several partial ones)."""
        parent = parent_of(request)
        if self.gw.ogone:
            body: dict[str, Any] = {"amount": money_body(request.amount)["amount"], "isFinal": final}
            reply = await self.gw.call(
                "POST", f"/payments/{parent}/capture", body, idempotency_key=request.idempotency_key
            )
            data = json_of(reply, "capture")
            result = result_of("capture", data, sent=request.amount, secrets=self.gw.secrets)
            return with_(result, gateway_reference=parent, gateway_code=result.gateway_reference)
        body = {
            "amount": money_body(request.amount)["amount"],
            "order": {"references": {"merchantReference": request.merchant_reference[:50]}},
        }
        reply = await self.gw.call(
            "POST", f"/payments/{parent}/approve", body, idempotency_key=request.idempotency_key
        )
        payment = (json_of(reply, "capture")).get("payment")
        if not isinstance(payment, dict):
            raise OutcomeUnknownError(f"{DISPLAY_NAME} answered the capture without the payment.")
        return result_of("payment", payment, sent=None, secrets=self.gw.secrets, amount=request.amount)

    async def void(self, request: FollowUpRequest) -> GatewayResult:
        parent = parent_of(request)
        reply = await self.gw.call(
            "POST", f"/payments/{parent}/cancel", {}, idempotency_key=request.idempotency_key
        )
        payment = (json_of(reply, "void")).get("payment")
        if not isinstance(payment, dict):
            raise OutcomeUnknownError(f"{DISPLAY_NAME} answered the void without the payment.")
        result = result_of("payment", payment, sent=None, secrets=self.gw.secrets)
        if text(payment.get("status")) == "CANCELLED":
            return with_(result, outcome=Outcome.APPROVED, amount=request.amount, decline_code=None)
        return result

    async def refund(self, request: FollowUpRequest) -> GatewayResult:
        parent = parent_of(request)
        body: dict[str, Any] = {
            "amountOfMoney": money_body(request.amount),
            "refundDate": self.gw._clock().strftime("%Y%m%d"),
            "refundReferences": {"merchantReference": request.merchant_reference[:50]},
        }
        if request.reason:
            body["refundReason"] = request.reason[:50]
        reply = await self.gw.call(
            "POST", f"/payments/{parent}/refund", body, idempotency_key=request.idempotency_key
        )
        data = json_of(reply, "refund")
        if "refundResult" in data:
            return self.declined(data, "refundResult", "refund")
        return result_of("refund", data, sent=request.amount, secrets=self.gw.secrets)


def json_of(reply: HttpReply, action: str) -> dict[str, Any]:
    """A 2xx answer's JSON object ({} when empty); other statuses raise their error (a decline body is
    returned as it is, for the caller to read the rejected object)."""
    if not 200 <= reply.status < 300:
        error = error_of(reply, action=action)
        if error is not None:
            raise error
    return reply.json() if reply.body else {}


def seg(value: str) -> str:
    return quote(value, safe="")


def parent_of(request: FollowUpRequest) -> str:
    if not request.parent_reference:
        raise ValidationError("The original payment has no Connect id.", field="parent_reference")
    return seg(request.parent_reference)


def with_(result: GatewayResult, **changes: Any) -> GatewayResult:
    return replace(result, **changes)
