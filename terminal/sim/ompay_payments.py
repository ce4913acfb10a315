"""OMPay simulator, money side: create payment (card, nonce, vaulted card), 3-D Secure, capture, void, refund.

Rules (docs/gateways/ompay.md "Simulator decisions"): capture <= authorised, partial allowed, once; void only
while authorised and not captured; refunds on sales or captures (an auth id names its capture), partial
refunds repeat up to the captured amount; authorisations lapse after 7 days. Every payment or follow-up
that is applied, declined or challenged is journalled in the shared ledger.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any, Final

from terminal.sim.ompay_model import (
    ApiError,
    OmpayState,
    Payment,
    VaultCard,
    brand_of,
    format_total,
    iso,
    parse_total,
)
from terminal.sim.sandbox import card_outcome, luhn_valid

__all__ = ["DECLINES", "THREE_DS_FAILED", "PaymentEngine", "card_fields", "text"]

# Sandbox outcome -> (result.code, description); invented Braintree-like codes (ompay.md).
DECLINES: Final[dict[str, tuple[str, str]]] = {
    "do_not_honour": ("2000", "Do Not Honor"),
    "insufficient_funds": ("2001", "Insufficient Funds"),
    "expired_card": ("2004", "Expired Card"),
    "cvc_failed": ("2010", "Card Issuer Declined CVV"),
}
# Simulator choice: a payer who fails the 3-D Secure page.
THREE_DS_FAILED: Final = ("2099", "3-D Secure authentication failed")
APPROVED: Final = ("0000", "Approved")
REDIRECT: Final = ("1007", "Redirect")
_STATE_REFUSALS: Final = {
    "captured": "Payment already captured",
    "voided": "Payment already voided",
    "cancelled": "Authorisation expired",
    "refunded": "Payment already refunded",
    "pending": "Payment awaiting 3-D Secure",
    "declined": "Payment was declined",
}


def text(value: Any) -> str:
    """A string or number field as stripped text ("" for anything else)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def card_fields(data: dict[str, Any], now: datetime, *, need_cvv: bool = True) -> tuple[str, int, int]:
    """(number, month, year) of typed card details, or 422 4220 naming what is wrong."""
    number = "".join(text(data.get("number")).split())
    if not number.isdigit() or not luhn_valid(number) or card_outcome(number) == "invalid":
        raise ApiError(422, "4220", "number is not a valid card number")
    month, year = _int(data.get("expire_month")), _int(data.get("expire_year"))
    if month is None or not 1 <= month <= 12 or year is None or not 1000 <= year <= 9999:
        raise ApiError(422, "4220", "expire_month (1-12) and expire_year (4 digits) are required")
    cvv = text(data.get("cvv2"))
    amex = number[:2] in {"34", "37"}
    if (need_cvv or cvv) and not (cvv.isdigit() and len(cvv) == (4 if amex else 3)):
        raise ApiError(422, "4220", "cvv2 must be 3 digits (4 for American Express)")
    return number, month, year


def _expired(card: VaultCard, now: datetime) -> bool:
    return (card.expire_year, card.expire_month) < (now.year, now.month)


class PaymentEngine:
    """Applies payments and follow-ups to one :class:`OmpayState`."""

    def __init__(self, state: OmpayState) -> None:
        self.state = state

    # -- create ---------------------------------------------------------------------------------
    def create(self, merchant_id: str, body: dict[str, Any]) -> Payment:
        """``POST /payment``: validate, resolve the funding instrument, then approve, decline or challenge."""
        intent = text(body.get("intent")).lower()
        if intent not in ("sale", "auth"):
            raise ApiError(400, "4000", "intent must be sale or auth")
        payer = body.get("payer")
        transaction = body.get("transaction")
        if not isinstance(payer, dict) or not isinstance(transaction, dict):
            raise ApiError(400, "4000", "payer and transaction are required")
        amount_data = transaction.get("amount")
        if not isinstance(amount_data, dict):
            raise ApiError(400, "4000", "transaction.amount is required")
        amount, currency = parse_total(amount_data.get("total"), amount_data.get("currency"))
        invoice = text(transaction.get("invoice_number"))
        if not invoice or len(invoice) > 64:
            raise ApiError(400, "4000", "transaction.invoice_number is required (at most 64 characters)")
        instrument = payer.get("funding_instrument")
        kinds = [
            k for k in ("credit_card", "credit_card_nonce", "credit_card_token") if k in (instrument or {})
        ]
        if not isinstance(instrument, dict) or len(kinds) != 1 or not isinstance(instrument[kinds[0]], dict):
            raise ApiError(400, "4000", "payer.funding_instrument needs exactly one card source")
        source: dict[str, Any] = instrument[kinds[0]]
        now = self.state.clock.now()
        if kinds[0] == "credit_card":
            number, month, year = card_fields(source, now)  # checked before anything is spent
        if (merchant_id, invoice) in self.state.invoices:
            raise ApiError(409, "4090", f"Duplicate invoice_number {invoice}")
        if kinds[0] == "credit_card":
            card = self.state.keep_card(merchant_id, number, month, year, text(source.get("name")))
        elif kinds[0] == "credit_card_nonce":
            nonce = self.state.spend_nonce(text(source.get("nonce")), merchant_id)
            card = self.state.keep_card(
                merchant_id, nonce.number, nonce.expire_month, nonce.expire_year, text(source.get("name"))
            )
        else:
            found = self.state.vault.get(text(source.get("credit_card_id")))
            if found is None or found.merchant_id != merchant_id:
                raise ApiError(422, "4226", "Unknown credit_card_id")
            cvv = text(source.get("cvv2"))
            if cvv and not (cvv.isdigit() and 3 <= len(cvv) <= 4):
                raise ApiError(422, "4220", "cvv2 must be 3 or 4 digits")
            card = found
        self.state.invoices.add((merchant_id, invoice))
        payer_info = payer.get("payer_info")
        custom = body.get("custom")
        return self.open(
            merchant_id,
            intent,
            card,
            amount,
            currency,
            invoice,
            return_url=text(transaction.get("return_url")),
            payer_info=payer_info if isinstance(payer_info, dict) else {},
            custom=custom if isinstance(custom, dict) else {},
            funding=kinds[0],
        )

    def open(
        self,
        merchant_id: str,
        intent: str,
        card: VaultCard,
        amount: int,
        currency: str,
        invoice: str,
        *,
        return_url: str = "",
        payer_info: dict[str, Any] | None = None,
        custom: dict[str, Any] | None = None,
        funding: str = "credit_card",
        session_id: str = "",
    ) -> Payment:
        """A payment on a resolved card (the API's create and the hosted page share this)."""
        now = self.state.clock.now()
        payment = Payment(
            id=self.state.new_payment_id(),
            merchant_id=merchant_id,
            kind="payment",
            intent=intent,
            state="pending",
            code="",
            description="",
            amount=amount,
            currency=currency,
            invoice_number=invoice,
            created=now,
            card=card,
            session_id=session_id or str(uuid.uuid4()),
            return_url=return_url,
            payer_info=payer_info or {},
            custom=custom or {},
        )
        self.state.payments[payment.id] = payment
        outcome = "expired_card" if _expired(card, now) else card.outcome
        if outcome == "challenge":
            payment.code, payment.description = REDIRECT
            payment.challenge = uuid.uuid4().hex
            self._record(payment, intent, effect=False, outcome="challenge", funding=funding)
        elif outcome in DECLINES:
            self.decline(payment, DECLINES[outcome], funding=funding)
        else:
            self.approve(payment, funding=funding)
        return payment

    def approve(self, payment: Payment, *, funding: str = "") -> None:
        """The payment is authorised (auth) or authorised and captured (sale): money moves."""
        payment.state = "captured" if payment.intent == "sale" else "authorised"
        payment.code, payment.description = APPROVED
        payment.authorisation_code = f"{secrets.randbelow(1_000_000):06d}"
        payment.challenge = ""
        self._record(payment, payment.intent, effect=True, outcome="approved", funding=funding)

    def decline(self, payment: Payment, code: tuple[str, str], *, funding: str = "") -> None:
        """The issuer (or 3-D Secure) refused: nothing moves."""
        payment.state = "declined"
        payment.code, payment.description = code
        payment.challenge = ""
        self._record(payment, payment.intent, effect=False, outcome="declined", funding=funding)

    # -- follow-ups ---------------------------------------------------------------------------------
    def _follow_up_amount(self, body: dict[str, Any], parent: Payment, limit: int, what: str) -> int:
        total = body.get("amount")
        if total is None:
            return limit
        amount, _ = parse_total(total, parent.currency)
        if amount > limit:
            raise ApiError(422, "4224", f"Amount exceeds {what} amount")
        return amount

    def capture(self, merchant_id: str, reference_id: str, body: dict[str, Any]) -> Payment:
        """``POST /payment/{id}/capture``: all or part of an authorisation, once."""
        auth = self.state.payment(reference_id, merchant_id)
        if auth.kind != "payment" or auth.intent != "auth":
            raise ApiError(409, "4091", "Only an authorisation can be captured")
        if auth.state != "authorised":
            raise ApiError(409, "4091", _STATE_REFUSALS.get(auth.state, "Payment cannot be captured"))
        amount = self._follow_up_amount(body, auth, auth.amount, "authorised")
        capture = self._follow_up("capture", "captured", auth, amount, body)
        auth.state, auth.captured_by = "captured", capture.id
        return capture

    def void(self, merchant_id: str, reference_id: str, body: dict[str, Any]) -> Payment:
        """``POST /payment/{id}/void``: an authorisation not captured yet."""
        auth = self.state.payment(reference_id, merchant_id)
        if auth.kind != "payment" or auth.intent != "auth":
            raise ApiError(409, "4091", "Only an authorisation can be voided")
        if auth.state != "authorised":
            raise ApiError(409, "4091", _STATE_REFUSALS.get(auth.state, "Payment cannot be voided"))
        auth.state = "voided"
        return self._follow_up("void", "voided", auth, auth.amount, body)

    def refund(self, merchant_id: str, reference_id: str, body: dict[str, Any]) -> Payment:
        """``POST /payment/{id}/refund``: a sale or capture (an auth id stands for its capture)."""
        target = self.state.payment(reference_id, merchant_id)
        if target.kind == "payment" and target.intent == "auth":
            if not target.captured_by:
                raise ApiError(409, "4091", "Payment not captured")
            target = self.state.payments[target.captured_by]
        if not (target.kind == "capture" or (target.kind == "payment" and target.intent == "sale")):
            raise ApiError(409, "4091", "Only sales and captures can be refunded")
        if target.state not in ("captured", "refunded") or target.amount == target.refunded:
            raise ApiError(409, "4091", _STATE_REFUSALS.get(target.state, "Payment cannot be refunded"))
        amount = self._follow_up_amount(body, target, target.amount - target.refunded, "refundable")
        target.refunded += amount
        if target.refunded == target.amount:
            target.state = "refunded"
        return self._follow_up("refund", "refunded", target, amount, body)

    def _follow_up(
        self, kind: str, state: str, parent: Payment, amount: int, body: dict[str, Any]
    ) -> Payment:
        custom = body.get("custom")
        follow = Payment(
            id=self.state.new_payment_id(),
            merchant_id=parent.merchant_id,
            kind=kind,
            intent=kind,
            state=state,
            code=APPROVED[0],
            description=APPROVED[1],
            amount=amount,
            currency=parent.currency,
            invoice_number=text(body.get("invoice_number")) or parent.invoice_number,
            created=self.state.clock.now(),
            card=parent.card,
            parent_id=parent.id,
            custom=custom if isinstance(custom, dict) else {},
        )
        self.state.payments[follow.id] = follow
        self._record(follow, kind, effect=True, outcome="approved")
        return follow

    def _record(self, payment: Payment, kind: str, *, effect: bool, outcome: str, funding: str = "") -> None:
        self.state.ledger.record(
            kind,
            effect=effect,
            amount=payment.amount,
            currency=payment.currency,
            total=format_total(payment.amount, payment.currency),
            outcome=outcome,
            merchantId=payment.merchant_id,
            reference_id=payment.id,
            parent=payment.parent_id or None,
            invoice_number=payment.invoice_number,
            code=payment.code,
            funding=funding or None,
        )

    # -- the payment object -------------------------------------------------------------------------
    def as_json(self, payment: Payment, base_url: str, *, actions: bool = False) -> dict[str, Any]:
        """The payment object as OMPay writes it (docs/gateways/ompay.md 1.6)."""
        result: dict[str, Any] = {
            "authorisation_code": payment.authorisation_code,
            "code": payment.code,
            "description": payment.description,
        }
        if payment.state == "pending" and payment.challenge:
            result["redirect_url"] = f"{base_url}/v1/redirect/{payment.challenge}"
            result["authenticate_url"] = f"{base_url}/v1/authenticate/{payment.challenge}"
        if actions:
            result["actions"] = self._actions(payment)
        body: dict[str, Any] = {
            "id": payment.id,
            "reference_id": payment.parent_id or payment.id,
            "state": payment.state,
            "result": result,
        }
        if payment.kind == "payment":
            body["intent"] = payment.intent.capitalize()
            body["payer"] = {
                "payment_type": "CC",
                "funding_instrument": {"credit_card": _card_json(payment.card)},
                "payer_info": payment.payer_info,
            }
        body["transaction"] = {
            "amount": {"currency": payment.currency, "total": format_total(payment.amount, payment.currency)},
            "type": "1",
            "mode": "1",
            "invoice_number": payment.invoice_number,
            "items": [],
            "soft_descriptor": {},
        }
        body.update(
            custom=payment.custom,
            risk_check=False,
            three_d={},
            chargeback="N",
            create_time=iso(payment.created),
        )
        return body

    def _actions(self, payment: Payment) -> dict[str, Any]:
        authorization = {
            "id": payment.id,
            "state": payment.state,
            "code": payment.code,
            "message": payment.description,
        }
        found: dict[str, Any] = {"authorization": authorization}
        capture = self.state.payments.get(payment.captured_by) if payment.captured_by else None
        if capture is not None:
            found["capture"] = {
                "id": capture.id,
                "state": capture.state,
                "code": capture.code,
                "message": capture.description,
            }
        return found


def _card_json(card: VaultCard | None) -> dict[str, Any]:
    if card is None:
        return {}
    return {
        "id": card.id,
        "type": brand_of(card.number)[1],
        "expire_month": card.expire_month,
        "expire_year": card.expire_year,
        "name": card.name,
        "last4": card.number[-4:],
        "bin": card.number[:6],
    }
