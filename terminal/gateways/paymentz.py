"""Paymentz (PZ) white-label platform: sales, pre-authorisations and their follow-ups, hosted checkout,
3-D Secure, recurring charges, saved cards, payouts, invoices and lists, behind the common contract.

Wire facts and the simulator's decisions: docs/gateways/paymentz.md. Every call is a form POST carrying an
AuthToken header (``paymentz_auth``) and a body checksum (``paymentz_checksum``); answers are read by
``paymentz_status``. The host is part of the profile: the platform is sold under many brand names.

Hosted checkout: the page takes what the clerk chose (``HostedEntryRequest.kind``): a sale
(``paymenttype=DB``) or a pre-authorisation (``PA``). The page's return is only a hint: an inquiry by
merchantTransactionId confirms it; ``sale`` and ``authorize`` then only read the payment back (nothing more
is sent, so no second money request can lose its answer). A page that pre-authorised for a sale (built
without a kind) is still captured in full (``CP``) by ``sale``. Card outcomes are never taken from the
browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways import paymentz_checksum as cs
from terminal.gateways.base import (
    CardToken,
    Challenge,
    FollowUpRequest,
    GatewayResult,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
    Recurring,
)
from terminal.gateways.errors import DeclinedError, GatewayError, OutcomeUnknownError, ValidationError
from terminal.gateways.http import Safety, origin_of
from terminal.gateways.paymentz_backoffice import INVOICE_PREFIX, PaymentzBackOffice, card_fields
from terminal.gateways.paymentz_caps import CAPABILITIES, DISPLAY_NAME, TEST_HOST
from terminal.gateways.paymentz_core import (
    API,
    PaymentzConfig,
    autopost_html,
    wire_amount,
)
from terminal.gateways.paymentz_status import Verdict, codes_of, outcome_of, text, verdict_of

__all__ = ["CAPABILITIES", "CHECKOUT_PREFIX", "TEST_HOST", "PaymentzConfig", "PaymentzGateway", "wire_amount"]

CHECKOUT_PATH: Final = "/transaction/Checkout"
# A hosted checkout's authorisation, handed from complete_hosted_entry to sale()/authorize().
CHECKOUT_PREFIX: Final = "pz-checkout:"


class PaymentzGateway(PaymentzBackOffice):
    """Paymentz behind the common contract."""

    capabilities = CAPABILITIES

    async def test_connection(self) -> str:
        """Obtain an AuthToken and run an inquiry for an order that does not exist (nothing moves)."""
        await self._inquiry("MTPING-CONNECTION-TEST", by_reference=True)
        return f"{DISPLAY_NAME} at {self.base_url}: credentials accepted"

    # -- hosted checkout ------------------------------------------------------------------------
    async def begin_hosted_entry(self, request: HostedEntryRequest) -> Challenge:
        """The Standard Checkout form (POST /transaction/Checkout), auto-submitted in the web view."""
        amount = wire_amount(request.amount)
        totype = self.config.partner_id
        pairs = [
            ("toid", self.config.member_id),
            ("totype", totype),
            ("amount", amount),
            ("currency", request.amount.currency),
            ("description", request.merchant_reference),
            ("orderdescription", request.merchant_reference),
            ("redirecturl", request.return_url),
            ("terminalid", self.config.terminal_id),
            ("paymenttype", "PA" if request.kind is OperationKind.AUTHORIZE else "DB"),
            ("customerId", request.customer_id),
            (
                "checksum",
                cs.checkout(
                    self.config.member_id,
                    totype,
                    amount,
                    request.merchant_reference,
                    request.return_url,
                    self.config.secure_key,
                ),
            ),
        ]
        action = f"{self.base_url}{CHECKOUT_PATH}"
        return Challenge(
            return_url_prefix=request.return_url,
            allowed_origins=frozenset({origin_of(self.base_url), origin_of(request.return_url)}),
            html=autopost_html(action, "post", pairs, f"{DISPLAY_NAME} checkout"),
            base_url=origin_of(request.return_url),
            title=f"{DISPLAY_NAME} checkout",
            context={"merchantTransactionId": request.merchant_reference},
        )

    async def complete_hosted_entry(
        self, request: HostedEntryRequest, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> CardToken:
        """The page's return names an order; the inquiry by merchantTransactionId says what happened."""
        if fields.get("merchantTransactionId", request.merchant_reference) != request.merchant_reference:
            raise ValidationError(
                "The checkout page answered for another order; the answer was ignored, nothing was charged.",
                field="merchantTransactionId",
            )
        result = await self._inquiry(request.merchant_reference, by_reference=True)
        if result.outcome is Outcome.DECLINED:
            code = result.decline_code or DeclineCode.OTHER
            raise DeclinedError(result.gateway_message, gateway_code=result.gateway_code, decline_code=code)
        if result.outcome is not Outcome.APPROVED:
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} has not finished the checkout payment ({result.gateway_message}); "
                "the terminal will check again."
            )
        wanted = "authorize" if request.kind is OperationKind.AUTHORIZE else "sale"
        if result.amount != request.amount or result.kind not in (wanted, "authorize"):
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} reports a checkout payment of {result.amount} ({result.kind}), not the "
                f"{request.amount} {wanted} asked for; check the transaction by hand."
            )
        return CardToken(
            token=CHECKOUT_PREFIX + result.gateway_reference,
            customer_id=request.customer_id,
            card=result.card or CardSummary(),
        )

    # -- money ----------------------------------------------------------------------------------
    async def sale(self, request: PaymentRequest) -> GatewayResult:
        """DB: direct card, saved card, recurring repeat; a hosted checkout's sale is read back (its DB was
        made on the page), and a checkout that only authorised is captured in full."""
        if request.token.startswith(CHECKOUT_PREFIX):
            payment_id = request.token.removeprefix(CHECKOUT_PREFIX)
            result = await self._inquiry(payment_id, by_reference=False)
            if result.kind == "authorize" and result.outcome is Outcome.APPROVED:
                return await self._capture_checkout(request)
            return self._checked(result, request.amount, "sale")
        return await self._open("DB", request)

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        """PA: direct card, saved card, recurring repeat, or a hosted checkout's authorisation (read only)."""
        if request.token.startswith(CHECKOUT_PREFIX):
            payment_id = request.token.removeprefix(CHECKOUT_PREFIX)
            result = await self._inquiry(payment_id, by_reference=False)
            return self._checked(result, request.amount, "authorize")
        return await self._open("PA", request)

    async def _open(self, kind: str, request: PaymentRequest) -> GatewayResult:
        amount = wire_amount(request.amount)
        key, member = self.config.secure_key, self.config.member_id
        fields = {
            "merchantTransactionId": request.merchant_reference,
            "amount": amount,
            "currency": request.amount.currency,
            "paymentType": kind,
        }
        if request.return_url:
            fields["merchantRedirectUrl"] = request.return_url
        if request.recurring is Recurring.REPEATED:
            if not request.token:
                raise ValidationError(
                    "A repeated charge needs the first payment of the series.", field="token"
                )
            checksum = cs.payment(member, key, request.merchant_reference, amount)
            fields["recurringType"] = "REPEATED"
            path = f"{API}/payments/{request.token}"
        elif request.card is not None:
            self._require_direct_entry()
            checksum = cs.payment(member, key, request.merchant_reference, amount)
            fields.update(card_fields(request.card))
            fields["customer.customerId"] = request.customer_id
            if request.recurring is Recurring.INITIAL:
                fields["recurringType"] = "INITIAL"
            if request.save_card:
                fields["createRegistration"] = "true"
            path = f"{API}/payments"
        elif request.token:
            checksum = cs.token_payment(member, key, request.token, amount)
            path = f"{API}/paywithtoken/{request.token}"
        else:
            raise ValidationError(
                "No card: enter one, choose a saved card, or use the checkout page.", field="card"
            )
        data = await self._post(path, {**self._authentication(checksum), **fields})
        if verdict_of(data) is Verdict.NOT_FOUND:
            raise ValidationError(
                f"{DISPLAY_NAME} no longer knows this saved card or first payment; nothing was charged.",
                field="token",
                gateway_code="10026",
            )
        result = self._result(data, request.amount, return_url=request.return_url)
        if request.recurring is Recurring.INITIAL and result.outcome is not Outcome.DECLINED:
            # The series is charged again on the INITIAL payment's trackingid.
            result = replace(result, token=result.gateway_reference)
        return result

    async def _capture_checkout(self, request: PaymentRequest) -> GatewayResult:
        """A hosted sale: capture the page's authorisation in full. An unanswered capture is read back at
        once; if the read shows it not captured, capturing again is safe (a PA is captured at most once)."""
        payment_id = request.token.removeprefix(CHECKOUT_PREFIX)
        follow_up = FollowUpRequest(
            amount=request.amount,
            merchant_reference=request.merchant_reference,
            idempotency_key=request.idempotency_key,
            parent_reference=payment_id,
        )
        try:
            return self._as_sale(await self.capture(follow_up))
        except OutcomeUnknownError:
            try:
                state = await self._inquiry(payment_id, by_reference=False)
            except GatewayError:
                raise OutcomeUnknownError(
                    f"{DISPLAY_NAME} did not answer the capture of the checkout payment; "
                    "the terminal will check again."
                ) from None
            if state.outcome is Outcome.APPROVED and state.kind == "authorize":
                status = text(state.raw.get("status"))
                if status in {"capturesuccess", "settled"}:
                    return self._checked(state, request.amount, "authorize")
                if status == "authsuccessful":
                    return self._as_sale(await self.capture(follow_up))
            raise

    def _as_sale(self, result: GatewayResult) -> GatewayResult:
        return replace(result, kind="sale")

    def _checked(self, result: GatewayResult, sent: Money, kind: str) -> GatewayResult:
        if result.outcome is Outcome.APPROVED and (result.amount != sent or result.kind != kind):
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} reports {result.amount} ({result.kind}), not the {sent} asked for; "
                "check the transaction by hand."
            )
        return result

    async def capture(self, request: FollowUpRequest) -> GatewayResult:
        """CP on the pre-authorisation's paymentId, all or part of it (once)."""
        return await self._follow_up("CP", request, with_amount=True)

    async def void(self, request: FollowUpRequest) -> GatewayResult:
        """RV: cancel a pre-authorisation that is not captured."""
        return await self._follow_up("RV", request, with_amount=False)

    async def refund(self, request: FollowUpRequest) -> GatewayResult:
        """RF: one refund per payment, full or partial."""
        return await self._follow_up("RF", request, with_amount=True)

    async def _follow_up(self, kind: str, request: FollowUpRequest, *, with_amount: bool) -> GatewayResult:
        payment_id = request.parent_reference.removeprefix(CHECKOUT_PREFIX)
        if not payment_id or not payment_id.isascii() or not payment_id.isalnum():
            raise ValidationError("The original payment has no Paymentz paymentId.", field="paymentId")
        key, member = self.config.secure_key, self.config.member_id
        fields = {"paymentType": kind}
        if with_amount:
            amount = wire_amount(request.amount)
            checksum = cs.follow_up_with_amount(member, key, payment_id, amount)
            fields.update(amount=amount, currency=request.amount.currency)
        else:
            checksum = cs.reference_only(member, key, payment_id)
        data = await self._post(f"{API}/payments/{payment_id}", {**self._authentication(checksum), **fields})
        verdict = verdict_of(data)
        if verdict in (Verdict.REFUSED, Verdict.NOT_FOUND) or text(data.get("transactionStatus")) == "N":
            raise DeclinedError(
                f"{DISPLAY_NAME} refused the {_LABELS[kind]}: {self._description(data)}.",
                gateway_code=" | ".join(codes_of(data)),
            )
        short = text(data.get("transactionStatus")).upper()
        outcome = Outcome.APPROVED if short == "Y" else outcome_of(data)
        return self._result(data, request.amount, outcome=outcome)

    # -- lookups and 3-D Secure -----------------------------------------------------------------
    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """IN by paymentId when known, else by merchantTransactionId (idType=MID); invoices by number."""
        if gateway_reference.startswith(INVOICE_PREFIX):
            return await self._fetch_invoice(gateway_reference)
        payment_id = gateway_reference.removeprefix(CHECKOUT_PREFIX)
        if payment_id:
            return await self._inquiry(payment_id, by_reference=False)
        if merchant_reference:
            return await self._inquiry(merchant_reference, by_reference=True)
        raise ValidationError("Nothing to look up: no paymentId and no order reference.")

    async def fetch_follow_up(
        self, kind: OperationKind, gateway_reference: str, merchant_reference: str, parent_reference: str
    ) -> GatewayResult:
        """CP, RV and RF have no reference of their own: the payment's status shows whether it was done.

        A pre-authorisation is captured once and a payment refunded once, so the status is a definite
        answer: captured (capturesuccess, settled, reversed), cancelled, or reversed (refunded).
        """
        payment_id = parent_reference.removeprefix(CHECKOUT_PREFIX)
        if kind not in _DONE or not payment_id:
            return await self.fetch(gateway_reference, merchant_reference)
        parent = await self._inquiry(payment_id, by_reference=False)
        if parent.outcome is not Outcome.APPROVED:
            return replace(parent, outcome=Outcome.PENDING, amount=None)
        status, label = text(parent.raw.get("status")), kind.label.lower()
        common: dict[str, Any] = {
            "gateway_reference": parent.gateway_reference,
            "gateway_code": status,
            "raw": parent.raw,
        }
        if status in _DONE[kind]:
            return GatewayResult(Outcome.APPROVED, gateway_message=f"{DISPLAY_NAME}: {status}.", **common)
        return GatewayResult(
            Outcome.DECLINED,
            decline_code=DeclineCode.OTHER,
            gateway_message=f"{DISPLAY_NAME} shows the payment {status}: the {label} did not take place.",
            **common,
        )

    async def complete_challenge(
        self, result: GatewayResult, fields: Mapping[str, str], context: Mapping[str, str] | None = None
    ) -> GatewayResult:
        """After the 3-D Secure page returned: the inquiry decides (the returned fields are only a hint)."""
        payment_id = result.gateway_reference or (context or {}).get("paymentId", "")
        if fields.get("paymentId", payment_id) != payment_id:
            raise ValidationError("The 3-D Secure page answered for another payment; it was ignored.")
        answer = await self._inquiry(payment_id, by_reference=False)
        if (
            answer.outcome is Outcome.APPROVED
            and result.amount is not None
            and answer.amount != result.amount
        ):
            raise OutcomeUnknownError(
                f"{DISPLAY_NAME} reports {answer.amount}, not the {result.amount} asked for; check by hand."
            )
        return answer

    async def _inquiry(self, reference: str, *, by_reference: bool) -> GatewayResult:
        checksum = cs.reference_only(self.config.member_id, self.config.secure_key, reference)
        fields = {**self._authentication(checksum), "paymentType": "IN"}
        if by_reference:
            fields["idType"] = "MID"
        data = await self._post(f"{API}/payments/{reference}", fields, Safety.READ)  # IN moves no money
        if verdict_of(data) is Verdict.NOT_FOUND:
            return GatewayResult(
                outcome=Outcome.PENDING,
                gateway_code="10026",
                gateway_message=f"{DISPLAY_NAME} has no record of {reference} (yet).",
                merchant_reference=reference if by_reference else "",
            )
        result = self._result(data, None)
        if result.outcome is Outcome.CHALLENGE:
            # An inquiry never reopens the page: the customer is still on it, or abandoned it.
            result = replace(result, outcome=Outcome.PENDING, challenge=None)
        return result


_LABELS: Final = {"CP": "capture", "RV": "reversal", "RF": "refund"}
# The payment statuses that show a follow-up done (docs/gateways/paymentz.md, the inquiry's status).
_DONE: Final = {
    OperationKind.CAPTURE: frozenset({"capturesuccess", "settled", "reversed"}),
    OperationKind.VOID: frozenset({"cancelled", "authcancelled"}),
    OperationKind.REFUND: frozenset({"reversed"}),
}
