"""Connect simulator: what the payment calls do (create, approve, capture, cancel, refund, tokens, payouts).

Each method takes the merchant and the parsed JSON body, changes the state and returns (HTTP status,
answer) or raises Refusal. Business refusals (wrong status, amount over what remains) are HTTP 409,
which the SDK reads as a ReferenceException; malformed input is HTTP 400 (ValidationException); a
declined card is HTTP 402 with ``paymentResult`` / ``payoutResult`` (DeclinedPayment/PayoutException).
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Final

from terminal.sim.connect_model import (
    DECLINES,
    Capture,
    ConnectState,
    Payment,
    Payout,
    Refund,
    Refusal,
    StoredCard,
    Token,
)
from terminal.sim.sandbox import TEST_CARDS, card_outcome, luhn_valid

__all__ = ["ConnectOps", "dig"]

_CARD: Final = "cardPaymentMethodSpecificInput"
_MODES: Final = frozenset({"FINAL_AUTHORIZATION", "PRE_AUTHORIZATION", "SALE"})


def dig(data: Any, *path: str) -> Any:
    """``data[a][b]...``, or None where any level is missing or not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _amount(money: Any, prop: str) -> tuple[int, str]:
    amount, currency = dig(money, "amount"), dig(money, "currencyCode")
    if money is None or amount is None:
        raise Refusal(400, "20000000", "PARAMETER_NOT_FOUND_IN_REQUEST", f"{prop}.amount")
    if type(amount) is not int or amount <= 0:
        raise Refusal(400, "21000040", "AMOUNT IS NOT A POSITIVE WHOLE NUMBER", f"{prop}.amount")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise Refusal(400, "21000050", "INVALID CURRENCYCODE", f"{prop}.currencyCode")
    return amount, currency


class ConnectOps:
    """The money calls over one :class:`ConnectState`."""

    def __init__(self, state: ConnectState) -> None:
        self.state = state

    # -- cards ------------------------------------------------------------------------------------------
    def card_from(self, merchant: str, data: Any, prop: str, *, cvv_required: bool) -> StoredCard:
        """A typed card (``{cardNumber, cvv, expiryDate MMYY, cardholderName}``), checked as Connect does."""
        number = str(dig(data, "cardNumber") or "").replace(" ", "")
        if not number:
            raise Refusal(400, "20000000", "PARAMETER_NOT_FOUND_IN_REQUEST", f"{prop}.cardNumber")
        if not luhn_valid(number):
            raise Refusal(
                400,
                "21000020",
                "VALUE **** OF FIELD CREDITCARDNUMBER DID NOT PASS THE LUHNCHECK",
                f"{prop}.cardNumber",
            )
        expiry = str(dig(data, "expiryDate") or "")
        now = self.state.clock.now()
        valid = re.fullmatch(r"(0[1-9]|1[0-2])\d\d", expiry) is not None
        if not valid or (2000 + int(expiry[2:]), int(expiry[:2])) < (now.year, now.month):
            raise Refusal(
                400,
                "21000120",
                "cardPaymentMethodSpecificInput.card.expiryDate ("
                + expiry
                + ") IS IN THE PAST OR NOT IN CORRECT MMYY FORMAT",
                f"{prop}.expiryDate",
            )
        brand = TEST_CARDS.get(
            number,
            (
                "Mastercard"
                if number[0] == "5"
                else "American Express"
                if number[:2] in ("34", "37")
                else "Visa",
                "",
            ),
        )[0]
        cvv = str(dig(data, "cvv") or "")
        cvv_shape = r"\d{4}" if brand == "American Express" else r"\d{3}"
        if (cvv or cvv_required) and not re.fullmatch(cvv_shape, cvv):
            raise Refusal(400, "21000130", "INVALID CVV", f"{prop}.cvv")
        return StoredCard(number, expiry, str(dig(data, "cardholderName") or ""), brand, card_outcome(number))

    def _token(self, merchant: str, token_id: str) -> Token:
        token = self.state.tokens.get(token_id)
        if token is None or token.merchant != merchant:
            raise Refusal(404, "1004", "UNKNOWN_TOKEN", f"{_CARD}.token")
        return token

    # -- create payment ---------------------------------------------------------------------------------
    def create_payment(
        self, merchant: str, body: dict[str, Any], *, hosted: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """``POST /payments``: MOTO never challenges; ECOMMERCE with the challenge card gets a REDIRECT."""
        amount, currency = _amount(dig(body, "order", "amountOfMoney"), "order.amountOfMoney")
        reference = str(dig(body, "order", "references", "merchantReference") or "")
        if len(reference) > 50:
            raise Refusal(400, "21000030", "MERCHANTREFERENCE TOO LONG", "order.references.merchantReference")
        specific = dig(body, _CARD)
        if not isinstance(specific, dict):
            raise Refusal(400, "20000000", "PARAMETER_NOT_FOUND_IN_REQUEST", _CARD)
        token_id = str(specific.get("token") or "")
        if token_id:
            card = self._token(merchant, token_id).card
        else:
            card = self.card_from(merchant, specific.get("card"), f"{_CARD}.card", cvv_required=True)
        mode = str(specific.get("authorizationMode") or "FINAL_AUTHORIZATION")
        if mode not in _MODES:
            raise Refusal(400, "21000060", "INVALID AUTHORIZATIONMODE", f"{_CARD}.authorizationMode")
        channel = str(specific.get("transactionChannel") or "ECOMMERCE")
        return_url = str(
            dig(specific, "threeDSecure", "redirectionData", "returnUrl") or specific.get("returnUrl") or ""
        )
        if self.state.ogone and not return_url and not hosted:
            # Vendor document: "For the Ogone Payment Platform the field returnUrl is required".
            raise Refusal(400, "20000000", "PARAMETER_NOT_FOUND_IN_REQUEST", f"{_CARD}.returnUrl")
        if reference and (merchant, reference) in self.state.references:
            raise Refusal(
                400, "21000150", "DUPLICATE MERCHANTREFERENCE", "order.references.merchantReference"
            )
        if reference:
            self.state.references.add((merchant, reference))
        held = mode == "PRE_AUTHORIZATION" or specific.get("requiresApproval") is True
        target = (
            ("PENDING_CAPTURE" if self.state.ogone else "PENDING_APPROVAL") if held else "CAPTURE_REQUESTED"
        )
        now = self.state.clock.now()
        order_id = dig(body, "order", "references", "merchantOrderId")
        p = Payment(
            id=self.state.new_id(),
            merchant=merchant,
            amount=amount,
            currency=currency,
            reference=reference,
            card=card,
            status="CREATED",
            channel=channel,
            mode=mode,
            created=now,
            changed=now,
            return_url=return_url,
            order_id=order_id if type(order_id) is int else None,
            hosted_checkout=hosted,
        )
        self.state.payments[p.id] = p
        if specific.get("tokenize") is True and not token_id:
            p.token = self._store_token(merchant, card, dig(body, "order", "customer") or {})[0].id
        elif token_id:
            p.token = token_id
        if card.outcome == "challenge" and channel != "MOTO" and not specific.get("skipAuthentication"):
            if not return_url:
                raise Refusal(
                    400,
                    "20000000",
                    "PARAMETER_NOT_FOUND_IN_REQUEST",
                    f"{_CARD}.threeDSecure.redirectionData.returnUrl",
                )
            p.returnmac, p.after_challenge = secrets.token_hex(16), target
            self.state.move_payment(p, "REDIRECTED")
            self._record("redirect", p, effect=False)
            return 201, self._created(p, redirect=True)
        return self.conclude(p, target)

    def conclude(self, p: Payment, target: str) -> tuple[int, dict[str, Any]]:
        """Authorise the payment (or decline it as its sandbox card says)."""
        outcome = p.card.outcome if p.card.outcome != "challenge" else "approved"
        if outcome in DECLINES:
            p.decline = DECLINES[outcome]
            self.state.move_payment(p, "REJECTED")
            self._record(
                "sale" if target == "CAPTURE_REQUESTED" else "authorization",
                p,
                effect=False,
                outcome="declined",
                code=p.decline[0],
            )
            raise Refusal(402, p.decline[0], p.decline[1], paymentResult=self._created(p))
        if target == "CAPTURE_REQUESTED":
            p.captured = p.amount
        self.state.move_payment(p, target)
        self._record("sale" if target == "CAPTURE_REQUESTED" else "authorization", p)
        return 201, self._created(p)

    def _created(self, p: Payment, *, redirect: bool = False) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "creationOutput": {"additionalReference": p.id[-12:], "externalReference": p.id[-12:]},
            "payment": self.state.payment_json(p),
        }
        if p.token:
            answer["creationOutput"].update({"token": p.token, "isNewToken": True})
        if redirect:
            answer["merchantAction"] = {
                "actionType": "REDIRECT",
                "redirectData": {"RETURNMAC": p.returnmac, "redirectURL": f"/threedsecure/{p.id}"},
            }
        return answer

    def _record(
        self, kind: str, p: Payment, *, effect: bool = True, amount: int | None = None, **extra: Any
    ) -> None:
        self.state.ledger.record(
            kind,
            effect=effect,
            amount=p.amount if amount is None else amount,
            currency=p.currency,
            merchantId=p.merchant,
            paymentId=p.id,
            merchantReference=p.reference,
            channel=p.channel,
            **extra,
        )

    # -- follow-ups ---------------------------------------------------------------------------------------
    def payment(self, merchant: str, payment_id: str) -> Payment:
        p = self.state.payments.get(payment_id)
        if p is None or p.merchant != merchant:
            raise Refusal(404, "1002", "UNKNOWN_PAYMENT_ID")
        return p

    def approve(self, merchant: str, payment_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """GlobalCollect: PENDING_APPROVAL -> CAPTURE_REQUESTED for all or part of the authorised amount."""
        p = self.payment(merchant, payment_id)
        if p.status != "PENDING_APPROVAL":
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW APPROVAL")
        amount = body.get("amount", p.amount)
        if type(amount) is not int or amount <= 0:
            raise Refusal(400, "21000040", "AMOUNT IS NOT A POSITIVE WHOLE NUMBER", "amount")
        if amount > p.amount:
            raise Refusal(409, "410120", "AMOUNT EXCEEDS THE AUTHORISED AMOUNT")
        p.captured = amount
        self.state.move_payment(p, "CAPTURE_REQUESTED")
        self._record("approve", p, amount=amount)
        output = self.state.payment_json(p)
        card_output = output["paymentOutput"]["cardPaymentMethodSpecificOutput"]
        return 200, {"payment": output, "cardPaymentMethodSpecificOutput": card_output}

    def capture(self, merchant: str, payment_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Ogone: one of several partial captures of a PENDING_CAPTURE payment (``isFinal`` ends them)."""
        p = self.payment(merchant, payment_id)
        if not self.state.ogone:
            raise Refusal(409, "410130", "CAPTURES ARE NOT SUPPORTED ON THIS PLATFORM; USE APPROVE")
        if p.status != "PENDING_CAPTURE":
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW CAPTURE")
        amount = body.get("amount", p.amount - p.captured)
        if type(amount) is not int or amount <= 0:
            raise Refusal(400, "21000040", "AMOUNT IS NOT A POSITIVE WHOLE NUMBER", "amount")
        if amount > p.amount - p.captured:
            raise Refusal(409, "410120", "AMOUNT EXCEEDS THE REMAINING AUTHORISED AMOUNT")
        now = self.state.clock.now()
        c = Capture(self.state.new_id(), p.id, amount, "CAPTURE_REQUESTED", now)
        self.state.captures[c.id] = c
        p.captures.append(c.id)
        p.captured += amount
        if body.get("isFinal") is True or p.captured >= p.amount:
            self.state.move_payment(p, "CAPTURE_REQUESTED")
        self._record("capture", p, amount=amount, captureId=c.id)
        rendered = self.state.capture_json(c)
        self.state.notify("capture.capture_requested", merchant, "capture", rendered)
        return 200, rendered

    def finalize_capture(self, merchant: str, payment_id: str) -> tuple[int, dict[str, Any]]:
        p = self.payment(merchant, payment_id)
        if p.status != "PENDING_CAPTURE" or not p.captures:
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW FINALIZING CAPTURES")
        self.state.move_payment(p, "CAPTURE_REQUESTED")
        return 200, self.state.payment_json(p)

    def cancel(self, merchant: str, payment_id: str) -> tuple[int, dict[str, Any]]:
        """A held authorisation, or a capture not yet settled and not refunded, becomes CANCELLED."""
        p = self.payment(merchant, payment_id)
        held = p.status in ("PENDING_APPROVAL", "PENDING_CAPTURE") and not p.captures
        if not (held or (p.status == "CAPTURE_REQUESTED" and not p.refunded and not p.captures)):
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW CANCELLATION")
        p.captured = 0
        self.state.move_payment(p, "CANCELLED")
        self._record("cancel", p)
        output = self.state.payment_json(p)
        return 200, {
            "payment": output,
            "cardPaymentMethodSpecificOutput": output["paymentOutput"]["cardPaymentMethodSpecificOutput"],
        }

    def cancel_approval(self, merchant: str, payment_id: str) -> tuple[int, dict[str, Any]]:
        """GlobalCollect's undo of an approve not yet settled: back to PENDING_APPROVAL."""
        p = self.payment(merchant, payment_id)
        if self.state.ogone or p.status != "CAPTURE_REQUESTED" or p.refunded or p.mode == "SALE":
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW CANCELLING THE APPROVAL")
        self._record("cancelapproval", p, amount=p.captured)
        p.captured = 0
        self.state.move_payment(p, "PENDING_APPROVAL")
        return 200, {"payment": self.state.payment_json(p)}

    def refund(self, merchant: str, payment_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Several partial refunds, up to what was captured; the first settlement makes them REFUNDED."""
        p = self.payment(merchant, payment_id)
        amount, currency = _amount(body.get("amountOfMoney"), "amountOfMoney")
        if currency != p.currency:
            raise Refusal(
                400, "21000050", "CURRENCYCODE DOES NOT MATCH THE PAYMENT", "amountOfMoney.currencyCode"
            )
        if p.status not in ("CAPTURE_REQUESTED", "CAPTURED", "PAID", "PENDING_CAPTURE") or not p.captured:
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW A REFUND")
        if amount > p.captured - p.refunded:
            raise Refusal(409, "410120", "AMOUNT EXCEEDS THE REFUNDABLE AMOUNT")
        reference = str(dig(body, "refundReferences", "merchantReference") or "")
        p.refunded += amount
        r = Refund(self.state.new_id(), p.id, amount, currency, reference, "CREATED", self.state.clock.now())
        self.state.refunds[r.id] = r
        self.state.move_refund(r, "REFUND_REQUESTED")
        self._record("refund", p, amount=amount, refundId=r.id, refundReference=reference)
        return 201, self.state.refund_json(r)

    def cancel_refund(self, merchant: str, refund_id: str) -> tuple[int, dict[str, Any]]:
        r = self.refund_of(merchant, refund_id)
        if r.status not in ("PENDING_APPROVAL", "REFUND_REQUESTED"):
            raise Refusal(409, "410110", f"REFUND STATUS {r.status} DOES NOT ALLOW CANCELLATION")
        p = self.state.payments[r.payment]
        p.refunded -= r.amount
        self.state.move_refund(r, "CANCELLED")
        self._record("refund_cancel", p, amount=r.amount, refundId=r.id)
        return 204, {}

    def refund_of(self, merchant: str, refund_id: str) -> Refund:
        r = self.state.refunds.get(refund_id)
        if r is None or self.state.payments[r.payment].merchant != merchant:
            raise Refusal(404, "1002", "UNKNOWN_REFUND_ID")
        return r

    # -- tokens -------------------------------------------------------------------------------------------
    def _store_token(self, merchant: str, card: StoredCard, customer: Any) -> tuple[Token, bool]:
        for token in self.state.tokens.values():
            if token.merchant == merchant and token.card.number == card.number:
                return token, False
        token = Token(secrets.token_hex(16), merchant, card, customer if isinstance(customer, dict) else {})
        token.id = f"{token.id[:8]}-{token.id[8:12]}-{token.id[12:16]}-{token.id[16:20]}-{token.id[20:]}"
        self.state.tokens[token.id] = token
        self.state.notify("token.created", merchant, "token", {"id": token.id})
        return token, True

    def create_token(self, merchant: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = dig(body, "card", "data", "cardWithoutCvv")
        card = self.card_from(merchant, data, "card.data.cardWithoutCvv", cvv_required=False)
        token, new = self._store_token(merchant, card, dig(body, "card", "customer") or {})
        self.state.ledger.record("token", effect=False, merchantId=merchant, token=token.id, new=new)
        return (201 if new else 200), {"token": token.id, "isNewToken": new}

    def tokenize(self, merchant: str, payment_id: str) -> tuple[int, dict[str, Any]]:
        p = self.payment(merchant, payment_id)
        if self.state.ogone:
            # Vendor document: "create a token from payment ... can only be used on Global Collect".
            raise Refusal(409, "410140", "CREATE TOKEN FROM PAYMENT IS NOT SUPPORTED ON THIS PLATFORM")
        if p.status in ("REJECTED", "CREATED", "REDIRECTED"):
            raise Refusal(409, "410110", f"PAYMENT STATUS {p.status} DOES NOT ALLOW TOKENIZATION")
        token, new = self._store_token(merchant, p.card, {})
        return (201 if new else 200), {"token": token.id, "isNewToken": new, "originalPaymentId": p.id}

    def get_token(self, merchant: str, token_id: str) -> dict[str, Any]:
        token = self._token(merchant, token_id)
        card = token.card
        return {
            "id": token.id,
            "paymentProductId": card.product_id,
            "card": {
                "customer": token.customer,
                "data": {
                    "cardWithoutCvv": {
                        "cardNumber": card.masked,
                        "expiryDate": card.expiry,
                        "cardholderName": card.holder,
                    }
                },
            },
        }

    def delete_token(self, merchant: str, token_id: str) -> None:
        self._token(merchant, token_id)
        del self.state.tokens[token_id]
        self.state.notify("token.deleted", merchant, "token", {"id": token_id})

    # -- payouts ------------------------------------------------------------------------------------------
    def create_payout(self, merchant: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Card payouts (Ogone only, as the vendor document says) wait in PENDING_APPROVAL for /approve."""
        amount, currency = _amount(body.get("amountOfMoney"), "amountOfMoney")
        specific = body.get("cardPayoutMethodSpecificInput")
        if not isinstance(specific, dict):
            raise Refusal(400, "20000000", "PARAMETER_NOT_FOUND_IN_REQUEST", "cardPayoutMethodSpecificInput")
        if not self.state.ogone:
            raise Refusal(
                400,
                "21000170",
                "CARD PAYOUTS ARE ONLY SUPPORTED ON THE OGONE PLATFORM",
                "cardPayoutMethodSpecificInput",
            )
        if specific.get("token"):
            card = self._token(merchant, str(specific["token"])).card
        else:
            card = self.card_from(
                merchant, specific.get("card"), "cardPayoutMethodSpecificInput.card", cvv_required=False
            )
        reference = str(dig(body, "references", "merchantReference") or "")
        o = Payout(
            self.state.new_id(),
            merchant,
            amount,
            currency,
            reference,
            card,
            "CREATED",
            self.state.clock.now(),
        )
        self.state.payouts[o.id] = o
        fields = {"merchantId": merchant, "payoutId": o.id, "merchantReference": reference}
        if card.outcome in DECLINES:
            self.state.move_payout(o, "REJECTED")
            self.state.ledger.record("payout", effect=False, amount=amount, currency=currency, **fields)
            code, message = DECLINES[card.outcome]
            raise Refusal(402, code, message, payoutResult=self.state.payout_json(o))
        self.state.move_payout(o, "PENDING_APPROVAL")
        self.state.ledger.record(
            "payout", effect=False, amount=amount, currency=currency, held=True, **fields
        )
        return 201, self.state.payout_json(o)

    def payout(self, merchant: str, payout_id: str) -> Payout:
        o = self.state.payouts.get(payout_id)
        if o is None or o.merchant != merchant:
            raise Refusal(404, "1002", "UNKNOWN_PAYOUT_ID")
        return o

    def payout_action(self, merchant: str, payout_id: str, action: str) -> tuple[int, dict[str, Any]]:
        """approve: PENDING_APPROVAL -> PAYOUT_REQUESTED (money leaves); cancel; cancelapproval (undo)."""
        o = self.payout(merchant, payout_id)
        moves = {
            "approve": ("PENDING_APPROVAL", "PAYOUT_REQUESTED"),
            "cancel": ("PENDING_APPROVAL", "CANCELLED"),
            "cancelapproval": ("PAYOUT_REQUESTED", "PENDING_APPROVAL"),
        }
        before, after = moves[action]
        if o.status != before:
            raise Refusal(409, "410110", f"PAYOUT STATUS {o.status} DOES NOT ALLOW {action.upper()}")
        self.state.move_payout(o, after)
        self.state.ledger.record(
            f"payout_{action}",
            effect=action != "cancel",
            amount=o.amount,
            currency=o.currency,
            merchantId=merchant,
            payoutId=o.id,
            merchantReference=o.reference,
        )
        return (200, self.state.payout_json(o)) if action == "approve" else (204, {})
