"""Paymentz simulator state: merchant accounts, AuthTokens, payments and their follow-ups, tokens, payouts.

The routes (``paymentz.py``) parse requests and render answers; the money rules live here so the hosted
checkout, the REST API and the invoice pages all apply the same ones. Never imports the adapter: the
checksum formulas below are the simulator's own copy of docs/gateways/paymentz.md 2.4.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import jwt

from terminal.sim.sandbox import CardOutcome, SimState, card_outcome

__all__ = [
    "ACCOUNTS",
    "CURRENCIES",
    "Account",
    "Payment",
    "PzState",
    "Refusal",
    "checksum",
    "parse_amount",
    "wire_amount",
]

TOKEN_LIFETIME: Final = timedelta(hours=1)
CURRENCIES: Final = frozenset({"EUR", "USD", "GBP", "INR", "JPY"})
_AMOUNT: Final = re.compile(r"^\d{1,10}\.\d{2}$")
_WHOLE: Final = re.compile(r"^\d{1,10}$")

# Result codes (docs/gateways/paymentz.md 2.7 and the "Simulator decisions").
SUCCESS: Final = ("00001", "Transaction succeeded")
CAPTURED: Final = ("00004", "Captured successfully")
REFUNDED: Final = ("00005", "Refunded successfully")
CANCELLED: Final = ("00006", "Cancelled successfully")
FOUND: Final = ("00026", "Record found")
PENDING_3D: Final = ("00030", "3D authentication pending")
DECLINED: Final = ("10001", "Transaction declined")
CAPTURE_FAILED: Final = "10005"
REFUND_FAILED: Final = "10006"
CANCEL_FAILED: Final = "10007"
NOT_FOUND: Final = ("10026", "Record not found")
CHECKSUM_MISMATCH: Final = ("30086", "Checksum mismatch")
INVALID_INPUT: Final = "30089"
DUPLICATE: Final = ("30091", "Duplicate merchantTransactionId")

# Sandbox card outcomes -> ISO 8583 bank codes (Simulator decisions).
BANK_CODES: Final[dict[str, tuple[str, str]]] = {
    "do_not_honour": ("05", "Do not honour"),
    "insufficient_funds": ("51", "Insufficient funds"),
    "expired_card": ("54", "Expired card"),
    "cvc_failed": ("N7", "CVV2 failure"),
}
_BRANDS: Final = {"4": "VISA", "5": "MC", "3": "AMEX"}


def checksum(*parts: str) -> str:
    """Paymentz's checksum: the parts joined with '|', MD5, lowercase hex."""
    # MD5 is what the platform specifies; the simulator must compute exactly what merchants send.
    return hashlib.md5("|".join(parts).encode("utf-8")).hexdigest()  # noqa: S324


def wire_amount(minor: int, currency: str) -> str:
    """Two decimals always, except JPY (none)."""
    if currency == "JPY":
        return str(minor)
    return f"{minor // 100}.{minor % 100:02d}"


def parse_amount(text: str, currency: str) -> int | None:
    """The amount string in minor units, or None when it is not in the wire format."""
    if currency == "JPY":
        return int(text) if _WHOLE.match(text) else None
    if not _AMOUNT.match(text):
        return None
    whole, cents = text.split(".")
    return int(whole) * 100 + int(cents)


class Refusal(Exception):
    """A request refused with a result code; nothing was created or changed."""

    def __init__(self, code: str, description: str, *, status: str = "N") -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Account:
    """One merchant: its ids, login and secure key."""

    member_id: str
    partner_id: str
    username: str
    secure_key: str
    terminals: frozenset[str] = frozenset({"1"})


ACCOUNTS: Final[dict[str, Account]] = {
    "10001": Account("10001", "1", "sandbox", "sandbox-secure-key"),
}


@dataclass
class Card:
    """What the simulator keeps of a card: enough to charge it again, never shown in full."""

    number: str
    expiry_month: str
    expiry_year: str
    holder: str = ""

    @property
    def brand(self) -> str:
        return _BRANDS.get(self.number[:1], "VISA")

    def public(self) -> dict[str, str]:
        return {
            "bin": self.number[:6],
            "last4Digits": self.number[-4:],
            "lastFourDigits": self.number[-4:],
            "holder": self.holder,
            "expiryMonth": self.expiry_month,
            "expiryYear": self.expiry_year,
        }


@dataclass
class Payment:
    """One trackingid: a sale, pre-authorisation or payout, with what followed it."""

    payment_id: str
    member_id: str
    merchant_tx_id: str
    payment_type: str
    amount: int
    currency: str
    card: Card | None
    created: datetime
    status: str = "begun"
    short: str = "P"
    code: str = ""
    description: str = ""
    bank_code: str = ""
    captured: int = 0
    refunded: int = 0
    registration_id: str = ""
    redirect_url: str = ""
    notification_url: str = ""
    customer_id: str = ""
    recurring: str = ""
    operations: list[str] = field(default_factory=list)

    def result(self) -> dict[str, str]:
        result = {"code": self.code, "description": self.description}
        if self.bank_code:
            result["bankCode"] = self.bank_code
            result["bankDescription"] = self.description
        return result


class PzState(SimState):
    """Everything one Paymentz simulator remembers."""

    def __init__(self) -> None:
        super().__init__()
        self.master_key = secrets.token_hex(32)
        self.accounts: dict[str, Account] = dict(ACCOUNTS)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.payments: dict[str, Payment] = {}
        self.by_reference: dict[tuple[str, str], str] = {}
        self.registrations: dict[str, tuple[str, str, Card]] = {}  # id -> (member, customer, card)
        self.invoices: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, str]] = {}
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self._next = 700001

    # -- identifiers ---------------------------------------------------------------------------
    def next_id(self) -> str:
        value = str(self._next)
        self._next += 1
        return value

    # -- AuthToken -------------------------------------------------------------------------------
    def issue_token(self, partner_id: str, username: str, secure_key: str, member_id: str = "") -> Account:
        """The account these credentials name; Refusal 403 when they do not match one."""
        for account in self.accounts.values():
            if (
                account.partner_id == partner_id
                and account.username == username
                and secrets.compare_digest(account.secure_key, secure_key)
                and member_id in ("", account.member_id)
            ):
                return account
        raise Refusal("403", "Token generation forbidden: invalid credentials")

    def token_for(self, account: Account) -> str:
        now = self.clock.now()
        claims = {
            "iss": "PZ",
            "sub": account.username,
            "role": "merchant",
            "iat": int(now.timestamp()),
            "exp": int((now + TOKEN_LIFETIME).timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.master_key, algorithm="HS256")

    def account_of_token(self, token: str) -> Account:
        """The account a token was issued to; Refusal 401 for a forged, malformed or expired one."""
        try:
            claims = jwt.decode(
                token,
                self.master_key,
                algorithms=["HS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub"],
                },
                issuer="PZ",
            )
        except jwt.PyJWTError:
            raise Refusal("401", "Authentication failed: invalid AuthToken") from None
        if int(claims["exp"]) <= self.clock.now().timestamp():
            raise Refusal("401", "Authentication failed: AuthToken expired")
        for account in self.accounts.values():
            if account.username == claims["sub"]:
                return account
        raise Refusal("401", "Authentication failed: unknown merchant")

    # -- payments ------------------------------------------------------------------------------
    def find(self, member_id: str, reference: str, *, by_mid: bool = False) -> Payment:
        payment_id = self.by_reference.get((member_id, reference)) if by_mid else reference
        payment = self.payments.get(payment_id or "")
        if payment is None or payment.member_id != member_id:
            raise Refusal(*NOT_FOUND)
        return payment

    def open_payment(
        self,
        account: Account,
        *,
        merchant_tx_id: str,
        payment_type: str,
        amount: int,
        currency: str,
        card: Card | None,
        **extra: Any,
    ) -> Payment:
        """Create a DB/PA/payout record and apply the card's sandbox outcome to it."""
        if (account.member_id, merchant_tx_id) in self.by_reference:
            raise Refusal(*DUPLICATE)
        payment = Payment(
            self.next_id(),
            account.member_id,
            merchant_tx_id,
            payment_type,
            amount,
            currency,
            card,
            self.clock.now(),
            **extra,
        )
        self.payments[payment.payment_id] = payment
        if merchant_tx_id:
            self.by_reference.setdefault((account.member_id, merchant_tx_id), payment.payment_id)
        return payment

    def outcome_of(self, card: Card) -> CardOutcome:
        outcome = card_outcome(card.number)
        if outcome in ("approved", "challenge") and self._expired(card):
            return "expired_card"
        return outcome

    def _expired(self, card: Card) -> bool:
        now = self.clock.now()
        try:
            month, year = int(card.expiry_month), int(card.expiry_year)
        except ValueError:
            return True
        return (year, month) < (now.year, now.month)

    def decide(self, payment: Payment, outcome: CardOutcome) -> None:
        """Approve or decline a DB/PA/payout (after 3-D Secure, or at once for other cards)."""
        if outcome in ("approved", "challenge"):
            payment.short, payment.code, payment.description = "Y", *SUCCESS
            if payment.payment_type == "DB":
                payment.status, payment.captured = "capturesuccess", payment.amount
            elif payment.payment_type == "PA":
                payment.status = "authsuccessful"
            else:
                payment.status = "payoutsuccessful"
        else:
            code, words = BANK_CODES.get(outcome, ("05", "Do not honour"))
            payment.short, payment.code, payment.description = "N", DECLINED[0], words
            payment.bank_code = code
            payment.status = "payoutfailed" if payment.payment_type == "payout" else "authfailed"
        effect = payment.short == "Y"
        self.ledger.record(
            payment.payment_type,
            effect=effect,
            amount=payment.amount,
            currency=payment.currency,
            paymentId=payment.payment_id,
            merchantTransactionId=payment.merchant_tx_id,
            status=payment.status,
            code=payment.code,
            bankCode=payment.bank_code,
        )
        self.notify(payment)

    def fail_authentication(self, payment: Payment) -> None:
        payment.short, payment.code = "N", DECLINED[0]
        payment.description, payment.bank_code = "3D Secure authentication failed", ""
        payment.status = "authfailed"
        self.ledger.record(
            payment.payment_type,
            effect=False,
            amount=payment.amount,
            currency=payment.currency,
            paymentId=payment.payment_id,
            merchantTransactionId=payment.merchant_tx_id,
            status=payment.status,
            code=payment.code,
        )
        self.notify(payment)

    def follow_up(self, payment: Payment, kind: str, amount: int) -> tuple[str, str]:
        """Apply CP / RV / RF; returns (code, description). Refusal when the rules forbid it."""
        if kind == "CP":
            if payment.payment_type != "PA" or payment.status != "authsuccessful":
                raise Refusal(CAPTURE_FAILED, "Capture failed: not an open pre-authorisation")
            if not 0 < amount <= payment.amount:
                raise Refusal(CAPTURE_FAILED, "Capture failed: amount exceeds the authorised amount")
            payment.captured, payment.status = amount, "capturesuccess"
            result = CAPTURED
        elif kind == "RV":
            if payment.payment_type != "PA" or payment.status != "authsuccessful":
                raise Refusal(CANCEL_FAILED, "Cancel failed: only an uncaptured pre-authorisation")
            payment.status = "cancelled"
            result = CANCELLED
        else:
            if payment.status not in ("capturesuccess", "settled"):
                raise Refusal(REFUND_FAILED, "Refund failed: the transaction is not captured")
            if payment.refunded:
                raise Refusal(REFUND_FAILED, "Refund failed: the transaction was already refunded")
            if not 0 < amount <= payment.captured:
                raise Refusal(REFUND_FAILED, "Refund failed: amount exceeds the captured amount")
            payment.refunded, payment.status = amount, "reversed"
            result = REFUNDED
        payment.short = "Y"
        payment.code, payment.description, payment.bank_code = *result, ""
        payment.operations.append(kind)
        self.ledger.record(
            kind,
            amount=amount,
            currency=payment.currency,
            paymentId=payment.payment_id,
            merchantTransactionId=payment.merchant_tx_id,
            status=payment.status,
            code=payment.code,
        )
        self.notify(payment)
        return result

    def notify(self, payment: Payment) -> None:
        """Queue the callback for a final state when the request named a notificationUrl."""
        if not payment.notification_url or payment.short not in ("Y", "N"):
            return
        account = self.accounts[payment.member_id]
        amount = wire_amount(payment.amount, payment.currency)
        body = {
            **self.describe(payment),
            "checksum": checksum(
                payment.payment_id, payment.merchant_tx_id, amount, payment.short, account.secure_key
            ),
        }
        self.notifications.append((payment.notification_url, body))

    def describe(self, payment: Payment) -> dict[str, Any]:
        """The JSON answer fields of a payment (docs 2.7)."""
        data: dict[str, Any] = {
            "paymentId": payment.payment_id,
            "status": payment.status,
            "transactionStatus": payment.short,
            "paymentType": payment.payment_type,
            "paymentBrand": payment.card.brand if payment.card else "",
            "paymentMode": "CC",
            "amount": wire_amount(payment.amount, payment.currency),
            "currency": payment.currency,
            "descriptor": "Sandbox merchant",
            "merchantTransactionId": payment.merchant_tx_id,
            "result": payment.result(),
            "timestamp": self.clock.now().strftime("%Y-%m-%d %H:%M:%S"),
            "terminalId": "1",
        }
        if payment.card is not None:
            data["card"] = payment.card.public()
        if payment.registration_id:
            data["registrationId"] = payment.registration_id
        if payment.customer_id:
            data["customerId"] = payment.customer_id
        return data

    def settle(self) -> dict[str, int]:
        settled = 0
        for payment in self.payments.values():
            if payment.status == "capturesuccess":
                payment.status, settled = "settled", settled + 1
        return {"settled": settled}
