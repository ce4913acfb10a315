"""The Connect adapter's account flows: payouts (with approval), tokens, client sessions and lookups.

Lookups are how an unanswered operation resolves: by the id Connect gave (a payment, refund, payout or
hosted checkout id) or, when no answer ever arrived, by the merchantReference sent with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.gateways.base import (
    CardDetails,
    CardToken,
    FollowUpRequest,
    GatewayResult,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.connect_flows import (
    DIRECT_OFF,
    card_body,
    json_of,
    mmyy,
    money_body,
    parent_of,
    product_id,
    seg,
)
from terminal.gateways.connect_results import card_summary, result_of
from terminal.gateways.connect_status import DISPLAY_NAME, sub, text
from terminal.gateways.errors import NotSupportedError, OutcomeUnknownError

if TYPE_CHECKING:
    from terminal.gateways.connect import ConnectGateway

__all__ = ["ConnectAccounts"]


def summary_of(card: CardDetails) -> CardSummary:
    number = card.number.replace(" ", "")
    brand = {1: "Visa", 2: "American Express", 3: "Mastercard"}[product_id(number)]
    return CardSummary(
        brand=brand,
        first6=number[:6],
        last4=number[-4:],
        expiry=f"{card.expiry_month:02d}/{card.expiry_year % 100:02d}",
    )


class ConnectAccounts:
    """Payouts, tokens, sessions and lookups over one ConnectGateway's signed call."""

    def __init__(self, gateway: ConnectGateway) -> None:
        self.gw = gateway

    # -- payouts ------------------------------------------------------------------------------------
    async def payout(self, request: PaymentRequest) -> GatewayResult:
        """POST /payouts to a card (Ogone platform only, as the vendor says); it waits for approve_payout."""
        if not self.gw.ogone:
            raise NotSupportedError(f"{DISPLAY_NAME} card payouts exist on the Ogone platform only.")
        specific: dict[str, Any] = {
            "recipient": {"surname": request.customer_name[:35] or request.customer_id}
        }
        if request.card is not None:
            if not self.gw.config.direct_entry:
                raise NotSupportedError(DIRECT_OFF)
            specific["card"] = card_body(request.card, with_code=False)
            specific["paymentProductId"] = product_id(request.card.number.replace(" ", ""))
        elif request.token:
            specific["token"] = request.token
        else:
            raise NotSupportedError(f"{DISPLAY_NAME} pays out to a card or a saved card only.")
        body = {
            "amountOfMoney": money_body(request.amount),
            "cardPayoutMethodSpecificInput": specific,
            "references": {"merchantReference": request.merchant_reference[:50]},
        }
        data = json_of(
            await self.gw.call("POST", "/payouts", body, idempotency_key=request.idempotency_key), "payout"
        )
        if "payoutResult" in data:
            return self.gw.flows.declined(data, "payoutResult", "payout")
        return result_of("payout", data, sent=request.amount, secrets=self.gw.secrets)

    async def payout_action(self, request: FollowUpRequest, action: str) -> GatewayResult:
        """approve (PENDING_APPROVAL -> PAYOUT_REQUESTED) or cancel (-> CANCELLED, answered 204)."""
        parent = parent_of(request)
        body = {"payoutDate": self.gw._clock().strftime("%Y%m%d")} if action == "approve" else {}
        reply = await self.gw.call(
            "POST", f"/payouts/{parent}/{action}", body, idempotency_key=request.idempotency_key
        )
        data = json_of(reply, f"payout {action}")
        if action == "approve":
            return result_of("payout", data, sent=request.amount, secrets=self.gw.secrets)
        return GatewayResult(
            Outcome.APPROVED,
            gateway_reference=parent,
            amount=request.amount,
            gateway_message="Payout cancelled.",
            kind="payout",
        )

    # -- tokens and sessions ------------------------------------------------------------------------
    async def create_token(self, card: CardDetails, customer_id: str) -> CardToken:
        if not self.gw.config.direct_entry:
            raise NotSupportedError(DIRECT_OFF)
        body = {
            "paymentProductId": product_id(card.number.replace(" ", "")),
            "card": {
                "customer": {"merchantCustomerId": customer_id[:15]},
                "data": {"cardWithoutCvv": card_body(card, with_code=False)},
            },
        }
        key = f"token-{customer_id}-{card.number[-4:]}-{mmyy(card)}"
        data = json_of(await self.gw.call("POST", "/tokens", body, idempotency_key=key), "token")
        token = text(data.get("token"))
        if not token:
            raise OutcomeUnknownError(f"{DISPLAY_NAME} answered without a token.")
        return CardToken(token, customer_id, summary_of(card))

    async def delete_token(self, token: str) -> None:
        json_of(await self.gw.call("DELETE", f"/tokens/{seg(token)}"), "token deletion")

    async def token_from_payment(self, payment_id: str, customer_id: str) -> CardToken:
        if self.gw.ogone:
            raise NotSupportedError(
                f"{DISPLAY_NAME} makes tokens from payments on the GlobalCollect platform only."
            )
        reply = await self.gw.call(
            "POST", f"/payments/{seg(payment_id)}/tokenize", {}, idempotency_key=f"tokenize-{payment_id}"
        )
        token = text((json_of(reply, "tokenisation")).get("token"))
        payment = await self.gw.call("GET", f"/payments/{seg(payment_id)}")
        output = (json_of(payment, "payment")).get("paymentOutput") or {}
        return CardToken(token, customer_id, card_summary(output) or CardSummary())

    async def client_session(self, tokens: tuple[str, ...]) -> Mapping[str, Any]:
        reply = await self.gw.call(
            "POST", "/sessions", {"tokens": list(tokens)}, idempotency_key=f"session-{secrets.token_hex(12)}"
        )
        data = json_of(reply, "client session")
        return {
            k: data[k]
            for k in ("clientSessionId", "customerId", "clientApiUrl", "assetUrl", "region")
            if k in data
        }

    # -- lookups --------------------------------------------------------------------------------------
    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """By reference: a payment, refund, payout or hosted checkout id; else by merchantReference."""
        if gateway_reference:
            for kind in ("payment", "refund", "payout"):
                reply = await self.gw.call("GET", f"/{kind}s/{seg(gateway_reference)}")
                if reply.status != 404:
                    return result_of(kind, json_of(reply, kind), sent=None, secrets=self.gw.secrets)
            reply = await self.gw.call("GET", f"/hostedcheckouts/{seg(gateway_reference)}")
            if reply.status != 404:
                return self._checkout_result(json_of(reply, "checkout"), gateway_reference)
        if not merchant_reference:
            return GatewayResult(
                Outcome.PENDING, gateway_reference=gateway_reference, gateway_message="not found"
            )
        for kind in ("payment", "refund", "payout"):
            reply = await self.gw.call("GET", f"/{kind}s", query={"merchantReference": merchant_reference})
            found = (json_of(reply, "lookup")).get(f"{kind}s")
            if isinstance(found, list) and found:
                results = [
                    result_of(kind, o, sent=None, secrets=self.gw.secrets)
                    for o in found
                    if isinstance(o, dict)
                ]
                approved = [r for r in results if r.outcome is Outcome.APPROVED]
                return (approved or results)[-1]
        return GatewayResult(
            Outcome.PENDING,
            gateway_reference=gateway_reference,
            gateway_message=f"{DISPLAY_NAME} has nothing under {merchant_reference} yet.",
        )

    def _checkout_result(self, data: Mapping[str, Any], checkout_id: str) -> GatewayResult:
        status = text(data.get("status"))
        output = sub(data, "createdPaymentOutput")
        payment = output.get("payment")
        if isinstance(payment, dict):
            return result_of("payment", payment, sent=None, secrets=self.gw.secrets)
        if status in ("CANCELLED_BY_CONSUMER", "CLIENT_NOT_ELIGIBLE_FOR_SELECTED_PAYMENT_PRODUCT"):
            return GatewayResult(
                Outcome.DECLINED,
                gateway_reference=checkout_id,
                gateway_code=status,
                decline_code=DeclineCode.CANCELLED_BY_PAYER,
                gateway_message=status,
            )
        return GatewayResult(
            Outcome.PENDING, gateway_reference=checkout_id, gateway_message=status or "in progress"
        )
