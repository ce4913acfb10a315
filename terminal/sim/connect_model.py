"""Worldline Connect simulator state: payments, captures, refunds, payouts, tokens, hosted checkouts.

The JSON shapes follow docs/gateways/connect.md 5.4-5.8 (the SDK's domain classes); status codes are the
GlobalCollect numbers (600 pending approval, 800 capture requested, 1000 paid, 99999 cancelled...) or,
on the Ogone platform style, Ogone's (5 authorised, 91 processing, 9 captured, 6 cancelled, 8 refunded).
Settlement (``/_sim/settle``) moves requested captures, refunds and payouts to their final states.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from starlette.responses import JSONResponse

from terminal.sim.sandbox import SimState

__all__ = [
    "DECLINES",
    "Capture",
    "ConnectState",
    "HostedCheckout",
    "Payment",
    "Payout",
    "Refund",
    "Refusal",
    "StoredCard",
    "Token",
    "error_body",
]

GLOBALCOLLECT: Final = "globalcollect"
OGONE: Final = "ogone"

# status -> (statusCategory, GlobalCollect statusCode, Ogone statusCode)
_PAYMENT: Final[dict[str, tuple[str, int, int]]] = {
    "CREATED": ("CREATED", 0, 0),
    "REDIRECTED": ("PENDING_PAYMENT", 50, 46),
    "PENDING_APPROVAL": ("PENDING_MERCHANT", 600, 5),
    "PENDING_CAPTURE": ("PENDING_MERCHANT", 600, 5),
    "CAPTURE_REQUESTED": ("PENDING_CONNECT_OR_3RD_PARTY", 800, 91),
    "CAPTURED": ("COMPLETED", 1000, 9),
    "PAID": ("COMPLETED", 1000, 9),
    "REJECTED": ("UNSUCCESSFUL", 100, 2),
    "CANCELLED": ("UNSUCCESSFUL", 99999, 6),
    "REFUNDED": ("REFUNDED", 1800, 8),
}
_REFUND: Final[dict[str, tuple[str, int, int]]] = {
    "PENDING_APPROVAL": ("PENDING_MERCHANT", 600, 81),
    "REFUND_REQUESTED": ("PENDING_CONNECT_OR_3RD_PARTY", 800, 81),
    "REFUNDED": ("REFUNDED", 1800, 8),
    "CANCELLED": ("UNSUCCESSFUL", 99999, 6),
}
_PAYOUT: Final[dict[str, tuple[str, int, int]]] = {
    "PENDING_APPROVAL": ("PENDING_MERCHANT", 600, 5),
    "PAYOUT_REQUESTED": ("PENDING_CONNECT_OR_3RD_PARTY", 800, 91),
    "ACCOUNT_CREDITED": ("COMPLETED", 2000, 9),
    "REJECTED": ("UNSUCCESSFUL", 100, 2),
    "CANCELLED": ("UNSUCCESSFUL", 99999, 6),
}
_CAPTURE: Final[dict[str, tuple[str, int, int]]] = {
    "CAPTURE_REQUESTED": ("PENDING_CONNECT_OR_3RD_PARTY", 91, 91),
    "CAPTURED": ("COMPLETED", 9, 9),
    "CANCELLED": ("UNSUCCESSFUL", 6, 6),
}

# Sandbox card outcome -> (Connect error code, message): SANDBOX.md's cards mapped onto Connect codes.
DECLINES: Final[dict[str, tuple[str, str]]] = {
    "do_not_honour": ("430330", "Not authorised"),
    "insufficient_funds": ("430285", "Not authorised: insufficient funds"),
    "expired_card": ("430306", "Card expired"),
    "cvc_failed": ("430424", "Not authorised: CVV check failed"),
    "authentication_failed": ("430340", "Not authorised: 3-D Secure authentication failed"),
}
BRANDS: Final[dict[str, int]] = {"Visa": 1, "American Express": 2, "Mastercard": 3}


class Refusal(Exception):
    """An API error: HTTP status, Connect error code, message and, when known, the offending property."""

    def __init__(self, status: int, code: str, message: str, prop: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.prop, self.extra = status, code, message, prop, extra

    def response(self) -> JSONResponse:
        """The Connect error body (``errorId`` + ``errors[]``, plus e.g. ``paymentResult``)."""
        return JSONResponse(
            {**error_body(self.status, self.code, self.message, self.prop), **self.extra},
            status_code=self.status,
        )


def error_body(status: int, code: str, message: str, prop: str = "") -> dict[str, Any]:
    """``{"errorId": ..., "errors": [{code, id, category, message, httpStatusCode, propertyName?}]}``."""
    error: dict[str, Any] = {
        "code": code,
        "id": message.upper().replace(" ", "_")[:60],
        "category": "CONNECT_PLATFORM_ERROR" if status < 500 else "IO_ERROR",
        "message": message,
        "httpStatusCode": status,
        "requestId": str(secrets.randbelow(10**7)),
    }
    if prop:
        error["propertyName"] = prop
    return {"errorId": f"{uuid.uuid4()}-{secrets.token_hex(4)}", "errors": [error]}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


@dataclass
class StoredCard:
    """A card the sandbox knows (the number stays in the simulator's memory only)."""

    number: str
    expiry: str  # MMYY
    holder: str
    brand: str
    outcome: str

    @property
    def masked(self) -> str:
        return "*" * (len(self.number) - 4) + self.number[-4:]

    @property
    def product_id(self) -> int:
        return BRANDS.get(self.brand, 1)


@dataclass
class Payment:
    id: str
    merchant: str
    amount: int
    currency: str
    reference: str
    card: StoredCard
    status: str
    channel: str
    mode: str
    created: datetime
    changed: datetime
    token: str = ""
    captured: int = 0
    refunded: int = 0
    captures: list[str] = field(default_factory=list)
    return_url: str = ""
    returnmac: str = ""
    decline: tuple[str, str] | None = None
    order_id: int | None = None
    # What the payment becomes once its 3-D Secure challenge is passed.
    after_challenge: str = ""
    hosted_checkout: str = ""


@dataclass
class Capture:
    id: str
    payment: str
    amount: int
    status: str
    changed: datetime


@dataclass
class Refund:
    id: str
    payment: str
    amount: int
    currency: str
    reference: str
    status: str
    changed: datetime


@dataclass
class Payout:
    id: str
    merchant: str
    amount: int
    currency: str
    reference: str
    card: StoredCard
    status: str
    changed: datetime


@dataclass
class Token:
    id: str
    merchant: str
    card: StoredCard
    customer: dict[str, Any]


@dataclass
class HostedCheckout:
    id: str
    merchant: str
    returnmac: str
    request: dict[str, Any]
    status: str = "IN_PROGRESS"
    payment: str = ""


class ConnectState(SimState):
    """Everything the Connect simulator holds, for one platform style."""

    def __init__(self, keys: dict[str, tuple[str, str]], platform: str) -> None:
        super().__init__()
        self.keys = keys  # apiKeyId -> (secret, merchantId)
        self.platform = platform
        self.webhook_url = ""
        self.webhook_keys: dict[str, str] = {"sandbox-webhook-key": "sandbox-webhook-secret"}
        self.webhook_key_id = "sandbox-webhook-key"
        # Called with (event type, merchant, object kind, rendered object) on every status change.
        self.notify: Callable[[str, str, str, dict[str, Any]], None] = lambda *args: None
        self._init_data()

    def _init_data(self) -> None:
        self.payments: dict[str, Payment] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.payouts: dict[str, Payout] = {}
        self.tokens: dict[str, Token] = {}
        self.checkouts: dict[str, HostedCheckout] = {}
        self.sessions: dict[str, datetime] = {}
        self.references: set[tuple[str, str]] = set()
        # (merchant, key, path) -> (status, body, first request's epoch ms), or None while in progress.
        self.replays: dict[tuple[str, str, str], tuple[int, bytes, int] | None] = {}
        self._serial = itertools.count(100001)

    def reset(self) -> None:
        super().reset()
        self._init_data()
        self.webhook_url = ""

    @property
    def ogone(self) -> bool:
        return self.platform == OGONE

    def new_id(self, width: int = 30) -> str:
        """A numeric id in the style of Connect's ('000000123400001234560000100001')."""
        serial = next(self._serial)
        return f"{serial:0{width - 5}d}{secrets.randbelow(10**5):05d}"

    def _code(self, table: dict[str, tuple[str, int, int]], status: str) -> tuple[str, int]:
        category, gc, ogone = table.get(status, ("CREATED", 0, 0))
        return category, ogone if self.ogone else gc

    # -- rendering ----------------------------------------------------------------------------------
    def payment_json(self, p: Payment) -> dict[str, Any]:
        category, code = self._code(_PAYMENT, p.status)
        pending = p.status in ("PENDING_APPROVAL", "PENDING_CAPTURE")
        errors = []
        if p.decline:
            errors = error_body(402, *p.decline)["errors"]
        card_output: dict[str, Any] = {
            "paymentProductId": p.card.product_id,
            "card": {"cardNumber": p.card.masked, "expiryDate": p.card.expiry},
            "fraudResults": {"fraudServiceResult": "no-advice", "avsResult": "0", "cvvResult": "M"},
        }
        if p.status not in ("REJECTED", "REDIRECTED", "CREATED"):
            card_output["authorisationCode"] = p.id[-6:]
        if p.token:
            card_output["token"] = p.token
        return {
            "id": p.id,
            "paymentOutput": {
                "amountOfMoney": {"amount": p.amount, "currencyCode": p.currency},
                "references": {"paymentReference": p.id[-12:], "merchantReference": p.reference},
                "paymentMethod": "card",
                "amountPaid": p.captured,
                "amountReversed": p.refunded,
                "cardPaymentMethodSpecificOutput": card_output,
            },
            "status": p.status,
            "statusOutput": {
                "isCancellable": pending or (p.status == "CAPTURE_REQUESTED" and not p.refunded),
                "isRetriable": False,
                "isRefundable": p.captured > p.refunded,
                "isAuthorized": p.status
                in (
                    "PENDING_APPROVAL",
                    "PENDING_CAPTURE",
                    "CAPTURE_REQUESTED",
                    "PAID",
                    "CAPTURED",
                    "REFUNDED",
                ),
                "statusCategory": category,
                "statusCode": code,
                "statusCodeChangeDateTime": _stamp(p.changed),
                "errors": errors,
            },
        }

    def capture_json(self, c: Capture) -> dict[str, Any]:
        category, code = self._code(_CAPTURE, c.status)
        p = self.payments[c.payment]
        return {
            "id": c.id,
            "captureOutput": {
                "amountOfMoney": {"amount": c.amount, "currencyCode": p.currency},
                "references": {"paymentReference": p.id[-12:], "merchantReference": p.reference},
                "paymentMethod": "card",
                "amountPaid": c.amount if c.status == "CAPTURED" else 0,
                "cardPaymentMethodSpecificOutput": {"paymentProductId": p.card.product_id},
            },
            "status": c.status,
            "statusOutput": {
                "statusCategory": category,
                "statusCode": code,
                "statusCodeChangeDateTime": _stamp(c.changed),
            },
        }

    def refund_json(self, r: Refund) -> dict[str, Any]:
        category, code = self._code(_REFUND, r.status)
        p = self.payments[r.payment]
        return {
            "id": r.id,
            "refundOutput": {
                "amountOfMoney": {"amount": r.amount, "currencyCode": r.currency},
                "references": {"paymentReference": p.id[-12:], "merchantReference": r.reference},
                "paymentMethod": "card",
                "amountPaid": r.amount if r.status == "REFUNDED" else 0,
                "cardRefundMethodSpecificOutput": {
                    "refundProductId": p.card.product_id,
                    "totalAmountPaid": p.captured,
                    "totalAmountRefunded": p.refunded,
                },
            },
            "status": r.status,
            "statusOutput": {
                "isCancellable": r.status in ("PENDING_APPROVAL", "REFUND_REQUESTED"),
                "statusCategory": category,
                "statusCode": code,
                "statusCodeChangeDateTime": _stamp(r.changed),
            },
        }

    def payout_json(self, o: Payout) -> dict[str, Any]:
        category, code = self._code(_PAYOUT, o.status)
        return {
            "id": o.id,
            "payoutOutput": {
                "amountOfMoney": {"amount": o.amount, "currencyCode": o.currency},
                "references": {"merchantReference": o.reference, "paymentReference": o.id[-12:]},
                "paymentMethod": "card",
            },
            "status": o.status,
            "statusOutput": {
                "isCancellable": o.status == "PENDING_APPROVAL",
                "statusCategory": category,
                "statusCode": code,
                "statusCodeChangeDateTime": _stamp(o.changed),
            },
        }

    # -- changes --------------------------------------------------------------------------------------
    def move_payment(self, p: Payment, status: str) -> None:
        p.status, p.changed = status, self.clock.now()
        self.notify(f"payment.{status.lower()}", p.merchant, "payment", self.payment_json(p))

    def move_refund(self, r: Refund, status: str) -> None:
        r.status, r.changed = status, self.clock.now()
        self.notify(
            f"refund.{status.lower()}", self.payments[r.payment].merchant, "refund", self.refund_json(r)
        )

    def move_payout(self, o: Payout, status: str) -> None:
        o.status, o.changed = status, self.clock.now()
        self.notify(f"payout.{status.lower()}", o.merchant, "payout", self.payout_json(o))

    def settle(self) -> dict[str, int]:
        """Requested captures become paid (Ogone: captured), requested refunds refunded, payouts credited."""
        counts = {"payments": 0, "captures": 0, "refunds": 0, "payouts": 0}
        for c in self.captures.values():
            if c.status == "CAPTURE_REQUESTED":
                c.status, c.changed = "CAPTURED", self.clock.now()
                counts["captures"] += 1
        for p in self.payments.values():
            if p.status == "CAPTURE_REQUESTED":
                self.move_payment(p, "CAPTURED" if self.ogone else "PAID")
                counts["payments"] += 1
        for r in self.refunds.values():
            if r.status == "REFUND_REQUESTED":
                self.move_refund(r, "REFUNDED")
                counts["refunds"] += 1
                p = self.payments[r.payment]
                if p.refunded >= p.captured and p.status in ("PAID", "CAPTURED"):
                    self.move_payment(p, "REFUNDED")
        for o in self.payouts.values():
            if o.status == "PAYOUT_REQUESTED":
                self.move_payout(o, "ACCOUNT_CREDITED")
                counts["payouts"] += 1
        for name, count in counts.items():
            if count:
                self.ledger.record("settlement", effect=False, what=name, count=count)
        return counts
