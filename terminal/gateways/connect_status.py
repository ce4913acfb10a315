"""Reading Worldline Connect answers: statuses onto outcomes, error bodies onto the adapter's errors.

Statuses (docs/gateways/connect.md 5.7): the ``status`` decides, ``statusCategory`` covers a status this
terminal does not know. Errors follow the SDK's exception factory (5.8): a body carrying
``paymentResult``/``payoutResult``/``refundResult`` is a decline; 400 validation; 403 authorization;
409 with code ``1409`` idempotence (the first request is still running, so the outcome is unknown);
404/409/410 reference (the object cannot take this action: nothing moved); 5xx platform (unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from terminal.domain.declines import DeclineCode
from terminal.gateways.base import Outcome
from terminal.gateways.connect_caps import DISPLAY_NAME
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    GatewayError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.http import HttpReply, raise_if_server_error

__all__ = [
    "DISPLAY_NAME",
    "decline_code",
    "error_of",
    "first_error",
    "outcome_of",
    "sub",
    "text",
]


_APPROVED, _DECLINED, _PENDING = Outcome.APPROVED, Outcome.DECLINED, Outcome.PENDING


# kind -> status -> outcome. Payments: an authorisation held for approval or capture is approved (that is
# what a pre-authorisation asks for); a refunded, reversed or charged-back payment was paid.
def _table(pending: str, approved: str, declined: str) -> dict[str, Outcome]:
    table = dict.fromkeys(pending.split(), _PENDING)
    table.update(dict.fromkeys(approved.split(), _APPROVED))
    table.update(dict.fromkeys(declined.split(), _DECLINED))
    return table


_STATUS: Final[dict[str, dict[str, Outcome]]] = {
    "payment": _table(
        "CREATED REDIRECTED PENDING_PAYMENT ACCOUNT_VERIFIED PENDING_FRAUD_APPROVAL PENDING_COMPLETION "
        "AUTHORIZATION_REQUESTED",
        "PENDING_APPROVAL PENDING_CAPTURE CAPTURE_REQUESTED CAPTURED PAID REFUNDED REVERSED "
        "CHARGEBACK_NOTIFICATION CHARGEBACKED",
        "REJECTED REJECTED_CAPTURE CANCELLED",
    ),
    "refund": _table(
        "CREATED PENDING_APPROVAL", "REFUND_REQUESTED REFUNDED", "REJECTED REJECTED_CAPTURE CANCELLED"
    ),
    "payout": _table(
        "CREATED PENDING_APPROVAL",
        "PAYOUT_REQUESTED ACCOUNT_CREDITED",
        "REJECTED REJECTED_CREDIT CANCELLED REVERSED",
    ),
    "capture": _table(
        "CREATED",
        "CAPTURE_REQUESTED CAPTURED PAID CHARGEBACK_NOTIFICATION CHARGEBACKED",
        "CANCELLED REJECTED_CAPTURE REVERSED",
    ),
}
_CATEGORY: Final[dict[str, Outcome]] = {
    "COMPLETED": _APPROVED,
    "REFUNDED": _APPROVED,
    "REVERSED": _APPROVED,
    "UNSUCCESSFUL": _DECLINED,
}

# Connect (GlobalCollect) error codes, and the sandbox's, onto the terminal's decline vocabulary.
_DECLINES: Final[dict[str, DeclineCode]] = {
    "430330": DeclineCode.DO_NOT_HONOUR,
    "430285": DeclineCode.INSUFFICIENT_FUNDS,
    "430306": DeclineCode.EXPIRED_CARD,
    "430424": DeclineCode.CVC_FAILED,
    "430340": DeclineCode.AUTHENTICATION_FAILED,
    "430409": DeclineCode.REFERRAL,
    "430415": DeclineCode.SUSPECTED_FRAUD,
    "21000020": DeclineCode.INVALID_CARD,
}

# Connect property names -> the terminal's field names, for messages that name the field to fix.
_FIELDS: Final[dict[str, str]] = {
    "cardNumber": "card_number",
    "expiryDate": "expiry",
    "cvv": "cvc",
    "cardholderName": "holder",
    "merchantReference": "reference",
    "amount": "amount",
    "currencyCode": "currency",
    "token": "token",
    "returnUrl": "return_url",
}


def text(value: Any) -> str:
    """A scalar as stripped text; '' for null, booleans and containers."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()


def sub(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` when it is an object, else an empty one (answers are read defensively)."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def outcome_of(kind: str, status: str, category: str = "") -> Outcome:
    """The outcome of a payment/refund/payout/capture ``status`` (``statusCategory`` when it is unknown)."""
    known = _STATUS[kind].get(status)
    if known is not None:
        return known
    if kind == "payment" and category == "PENDING_MERCHANT":
        return _APPROVED
    return _CATEGORY.get(category, _PENDING)


def decline_code(code: str) -> DeclineCode:
    """A Connect error code as a normalised decline (OTHER when unlisted)."""
    return _DECLINES.get(code.strip(), DeclineCode.OTHER)


def first_error(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """(code, message, propertyName) of an error list's first entry; empty strings when there is none."""
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        error = errors[0]
        return text(error.get("code")), text(error.get("message")), text(error.get("propertyName"))
    return "", "", ""


def _field(prop: str) -> str:
    return _FIELDS.get(prop.rsplit(".", 1)[-1], prop) if prop else ""


def error_of(reply: HttpReply, *, action: str) -> GatewayError | None:
    """The error a non-2xx answer means, or None for a decline body (the caller reads the rejected object).

    ``action`` words the message ("refund", "payment"...). 5xx raises OutcomeUnknownError directly.
    """
    raise_if_server_error(reply)
    status = reply.status
    try:
        data = reply.json()
    except OutcomeUnknownError:
        data = {}
    if any(key in data for key in ("paymentResult", "payoutResult", "refundResult")):
        return None
    code, message, prop = first_error(data)
    detail = f"{message} ({code})" if code else f"HTTP {status}"
    if status == 403:
        return AuthenticationError(
            f"{DISPLAY_NAME} refused the API key id or secret API key ({detail}); nothing was done. "
            "Check the profile's credentials and this computer's clock.",
            gateway_code=code,
            status=status,
        )
    if status == 409 and code == "1409":
        return OutcomeUnknownError(
            f"{DISPLAY_NAME} is still working on the first attempt of this {action} (duplicate request in "
            "progress); its outcome is not known yet.",
            gateway_code=code,
            status=status,
        )
    if status == 400:
        field = _field(prop)
        where = f" Check {prop}." if prop else ""
        return ValidationError(
            f"{DISPLAY_NAME} refused the {action}: {detail}.{where} Nothing was done.",
            field=field,
            gateway_code=code,
            status=status,
        )
    if status in (404, 409, 410) and data:
        return DeclinedError(
            f"{DISPLAY_NAME} refused the {action}: {detail}. Nothing was done.",
            gateway_code=code,
            status=status,
            decline_code=DeclineCode.NOT_PERMITTED,
        )
    if 300 <= status < 400 or status == 408:
        return OutcomeUnknownError(
            f"{DISPLAY_NAME} answered HTTP {status} instead of a result; the {action} may have been done.",
            status=status,
        )
    if status in (404, 405):
        return ValidationError(
            f"There is no {DISPLAY_NAME} API at this endpoint (HTTP {status}); nothing was done.",
            field="endpoint",
            status=status,
        )
    return ValidationError(
        f"{DISPLAY_NAME} refused the {action} ({detail}).", gateway_code=code, status=status
    )
