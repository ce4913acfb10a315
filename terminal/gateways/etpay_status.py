"""Reading ETpay's payment status: the attempts ``/merchant/check_payment_status`` lists, as one result.

``payment_status`` is a boolean in the SDK and the webhook, ``"success"``/``"failure"`` on ETpay's status
page; a pending attempt shows null, nothing, or ``"pending"``. Anything this module cannot read counts as
pending, never as declined: a decline is final, so it must be what ETpay said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.domain.scrub import FIXED_MASK, scrub_mapping
from terminal.gateways.base import GatewayResult, Outcome
from terminal.gateways.errors import OutcomeUnknownError
from terminal.gateways.etpay_caps import CURRENCY

__all__ = ["CURRENCY", "DECLINE_WORDS", "decline_code", "paid_status", "result_of", "text"]

# The payer's RUT (national id) and account: personal data, kept out of the raw copy.
_PERSONAL: Final = frozenset({"user_rut", "user_account"})
_DATE_FORMAT: Final = "%d-%m-%Y %H:%M:%S"

DECLINE_WORDS: Final[Mapping[DeclineCode, str]] = {
    DeclineCode.DO_NOT_HONOUR: "The payer's bank rejected the transfer; nothing was paid.",
    DeclineCode.CANCELLED_BY_PAYER: "The payer cancelled on the ETpay page; nothing was paid.",
    DeclineCode.EXPIRED_SESSION: "The ETpay page expired before the payer paid; nothing was paid.",
    DeclineCode.OTHER: "ETpay reports that the transfer failed; nothing was paid.",
}


def text(value: Any) -> str:
    """A scalar as stripped text; '' for null, booleans and containers."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()


def paid_status(status: Any) -> bool | None:
    """True paid, False failed, None pending or anything unrecognised."""
    word = status.strip().lower() if isinstance(status, str) else None
    if status is True or word == "success":
        return True
    if status is False or word == "failure":
        return False
    return None


def decline_code(reason: str, *, cancelled_url: bool = False) -> DeclineCode:
    """ETpay's failure reason ('rejected_by_bank', 'cancelled_by_user', 'session_expired') normalised."""
    words = reason.lower()
    if "reject" in words:
        return DeclineCode.DO_NOT_HONOUR
    if "cancel" in words or (not words and cancelled_url):
        return DeclineCode.CANCELLED_BY_PAYER
    if "expire" in words:
        return DeclineCode.EXPIRED_SESSION
    return DeclineCode.OTHER


def _raw(attempt: Mapping[str, Any], secrets: Sequence[str]) -> dict[str, Any]:
    """A scrubbed copy: tokens masked by name, the payer's personal data masked too."""
    masked = {key: (FIXED_MASK if key in _PERSONAL and value else value) for key, value in attempt.items()}
    return scrub_mapping(masked, secrets)


def _paid_at(attempt: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.strptime(str(attempt.get("payment_date")), _DATE_FORMAT)
    except ValueError:
        return None


def _choose(attempts: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """An approved attempt wins; else the latest (by payment_date when all have one, else list order)."""
    paid = [a for a in attempts if paid_status(a.get("payment_status")) is True]
    if paid:
        return paid[-1]
    dated = [(when, index) for index, a in enumerate(attempts) if (when := _paid_at(a)) is not None]
    if len(dated) == len(attempts):
        return attempts[max(dated)[1]]
    return attempts[-1]


def _echoed(attempt: Mapping[str, Any], sent: Money | None) -> Money:
    """The paid amount ETpay reports, which must be what was asked for (integrity check)."""
    amount, currency = attempt.get("merchant_amount"), attempt.get("merchant_currency") or CURRENCY
    if type(amount) is not int or amount <= 0 or str(currency).upper() != CURRENCY:
        raise OutcomeUnknownError(
            f"ETpay reported a payment of {amount!r} {currency!r}, which cannot be read; "
            "check the transaction by hand."
        )
    paid = Money(amount, CURRENCY)
    if sent is not None and paid != sent:
        raise OutcomeUnknownError(
            f"ETpay reported a payment of {paid}, not the {sent} asked for; check the transaction by hand."
        )
    return paid


def result_of(
    attempts: Sequence[Mapping[str, Any]], session_token: str, sent: Money | None, secrets: Sequence[str]
) -> GatewayResult:
    """The chosen attempt as a result: approved (amount checked against `sent`), declined, or pending."""
    if not attempts:
        return GatewayResult(
            outcome=Outcome.PENDING, gateway_reference=session_token, gateway_message="not found yet"
        )
    attempt = _choose(attempts)
    reference = text(attempt.get("session_token")) or session_token
    raw = _raw(attempt, secrets)
    paid = paid_status(attempt.get("payment_status"))
    if paid is None:
        return GatewayResult(
            outcome=Outcome.PENDING,
            gateway_reference=reference,
            gateway_message="The payer has not finished the transfer yet.",
            raw=raw,
        )
    if not paid:
        reason = text(attempt.get("reason"))
        code = decline_code(reason)
        return GatewayResult(
            outcome=Outcome.DECLINED,
            gateway_reference=reference,
            decline_code=code,
            gateway_code=text(attempt.get("code")) or reason,
            gateway_message=reason or DECLINE_WORDS[code],
            raw=raw,
        )
    bank = text(attempt.get("user_bank"))
    return GatewayResult(
        outcome=Outcome.APPROVED,
        gateway_reference=reference,
        amount=_echoed(attempt, sent),
        # ETpay's payment id: what its support asks for.
        gateway_code=text(attempt.get("payment_token")),
        gateway_message=f"Paid by bank transfer from {bank}." if bank else "Paid by bank transfer.",
        raw=raw,
    )
