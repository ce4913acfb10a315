"""Reading Paymentz answers: short and long statuses and result codes, as outcomes and decline codes.

Every short status (Y/N/P/3D/C/E), long status and result code of docs/gateways/paymentz.md 2.7 has an
entry here. Anything this module does not know maps to pending, never to declined or failed: a decline is
final, so it must be what Paymentz said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from terminal.domain.declines import DeclineCode, from_iso8583
from terminal.gateways.base import Outcome

__all__ = [
    "LONG_STATUS",
    "RESULT_CODES",
    "SHORT_STATUS",
    "Verdict",
    "codes_of",
    "decline_code",
    "outcome_of",
    "text",
    "verdict_of",
]


class Verdict(StrEnum):
    """What a result code says about the request itself (before any payment status is read)."""

    OK = "ok"  # read the statuses
    TOKEN_REFUSED = "token_refused"  # noqa: S105 - a verdict name, not a secret. 401: renew the AuthToken once and send again
    FORBIDDEN = "forbidden"  # 403: credentials refused
    CHECKSUM = "checksum"  # 30086: the secure key does not match
    INVALID = "invalid"  # 30087-30090: a field refused
    DUPLICATE = "duplicate"  # 30091: merchantTransactionId already used
    NOT_FOUND = "not_found"  # 10026
    REFUSED = "refused"  # 10005/10006/10007: a capture, refund or reversal refused


SHORT_STATUS: Final[Mapping[str, Outcome]] = {
    "Y": Outcome.APPROVED,
    "N": Outcome.DECLINED,
    "P": Outcome.PENDING,
    "3D": Outcome.CHALLENGE,
    "C": Outcome.DECLINED,  # cancelled (by the payer, on a page) before it was authorised
    "E": Outcome.PENDING,  # an error at the platform says nothing final: ask again
}

# Long statuses, as the outcome of the operation that opened the payment (reversals and chargebacks
# still mean the sale succeeded, as the platform's own short status says).
LONG_STATUS: Final[Mapping[str, Outcome]] = {
    "begun": Outcome.PENDING,
    "authstarted": Outcome.PENDING,
    "authstarted_3D": Outcome.CHALLENGE,
    "confirmation_3D": Outcome.PENDING,
    "authsuccessful": Outcome.APPROVED,
    "authfailed": Outcome.DECLINED,
    "authcancelled": Outcome.DECLINED,
    "capturestarted": Outcome.PENDING,
    "capturesuccess": Outcome.APPROVED,
    "capturefailed": Outcome.DECLINED,
    "settled": Outcome.APPROVED,
    "markedforreversal": Outcome.APPROVED,
    "acceptedforreversal": Outcome.APPROVED,
    "consolidatedforreversal": Outcome.APPROVED,
    "waitforreversal": Outcome.APPROVED,
    "reversed": Outcome.APPROVED,
    "cancelstarted": Outcome.APPROVED,
    "cancelled": Outcome.APPROVED,
    "chargeback": Outcome.APPROVED,
    "chargebackreversed": Outcome.APPROVED,
    "retrievalrequest": Outcome.APPROVED,
    "payoutstarted": Outcome.PENDING,
    "payoutsuccessful": Outcome.APPROVED,
    "payoutuploaded": Outcome.PENDING,
    "payoutfailed": Outcome.DECLINED,
    "proofrequired": Outcome.PENDING,
    "failed": Outcome.DECLINED,
}

# The result codes the documents list, with what each says about the request.
RESULT_CODES: Final[Mapping[str, Verdict]] = {
    "00001": Verdict.OK,  # transaction succeeded
    "00004": Verdict.OK,  # captured successfully
    "00005": Verdict.OK,  # refunded successfully
    "00006": Verdict.OK,  # cancelled successfully
    "00014": Verdict.OK,  # login message (informative)
    "00015": Verdict.OK,  # OTP message (informative)
    "00026": Verdict.OK,  # record found (inquiry)
    "00030": Verdict.OK,  # 3-D Secure authentication pending (the simulator's number)
    "200": Verdict.OK,  # token generated
    "401": Verdict.TOKEN_REFUSED,
    "403": Verdict.FORBIDDEN,
    "10001": Verdict.OK,  # declined: the statuses say so
    "10005": Verdict.REFUSED,
    "10006": Verdict.REFUSED,
    "10007": Verdict.REFUSED,
    "10026": Verdict.NOT_FOUND,
    "20007": Verdict.OK,  # seen as a decline: the statuses say so
    "30086": Verdict.CHECKSUM,
    "30087": Verdict.INVALID,
    "30088": Verdict.INVALID,
    "30089": Verdict.INVALID,
    "30090": Verdict.INVALID,
    "30091": Verdict.DUPLICATE,
}
# Precedence when several codes come joined with " | ".
_ORDER: Final = [
    Verdict.TOKEN_REFUSED,
    Verdict.FORBIDDEN,
    Verdict.CHECKSUM,
    Verdict.DUPLICATE,
    Verdict.INVALID,
    Verdict.NOT_FOUND,
    Verdict.REFUSED,
    Verdict.OK,
]
_BANK_DECLINE: Final = re.compile(r"^11\d{3}$")
_WORDS: Final[list[tuple[str, DeclineCode]]] = [
    ("insufficient", DeclineCode.INSUFFICIENT_FUNDS),
    ("expired", DeclineCode.EXPIRED_CARD),
    ("cvv", DeclineCode.CVC_FAILED),
    ("cvc", DeclineCode.CVC_FAILED),
    ("3d", DeclineCode.AUTHENTICATION_FAILED),
    ("authentication", DeclineCode.AUTHENTICATION_FAILED),
    ("fraud", DeclineCode.SUSPECTED_FRAUD),
    ("stolen", DeclineCode.SUSPECTED_FRAUD),
    ("lost", DeclineCode.SUSPECTED_FRAUD),
    ("limit", DeclineCode.LIMIT_EXCEEDED),
    ("invalid card", DeclineCode.INVALID_CARD),
    ("not permitted", DeclineCode.NOT_PERMITTED),
    ("cancel", DeclineCode.CANCELLED_BY_PAYER),
    ("do not honour", DeclineCode.DO_NOT_HONOUR),
    ("do not honor", DeclineCode.DO_NOT_HONOUR),
]


def text(value: Any) -> str:
    """A scalar as stripped text; '' for null, booleans and containers."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()


def codes_of(data: Mapping[str, Any]) -> list[str]:
    """The result code(s) of an answer; several may come joined by ' | '."""
    result = data.get("result") or data.get("statusInvoiceResult")
    code = text(result.get("code")) if isinstance(result, dict) else ""
    return [part.strip() for part in code.split("|") if part.strip()]


def verdict_of(data: Mapping[str, Any]) -> Verdict:
    """What the answer's result code(s) say about the request; an unknown code is OK (read the statuses)."""
    found = {RESULT_CODES.get(code, Verdict.OK) for code in codes_of(data)}
    return next((v for v in _ORDER if v in found), Verdict.OK)


def outcome_of(data: Mapping[str, Any]) -> Outcome:
    """The opening operation's outcome: the long status when known, else the short one, else pending."""
    long = text(data.get("status"))
    if long in LONG_STATUS:
        return LONG_STATUS[long]
    return SHORT_STATUS.get(text(data.get("transactionStatus")).upper(), Outcome.PENDING)


def decline_code(data: Mapping[str, Any]) -> DeclineCode:
    """The normalised reason: the ISO 8583 bank code when given, else the words of the description."""
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    bank = text(result.get("bankCode")) if isinstance(result, dict) else ""
    if bank:
        mapped = from_iso8583(bank)
        if mapped is not DeclineCode.OTHER:
            return mapped
    words = " ".join(
        text(v)
        for v in (
            result.get("description") if isinstance(result, dict) else "",
            result.get("bankDescription") if isinstance(result, dict) else "",
            data.get("remark"),
        )
    ).lower()
    for needle, code in _WORDS:
        if needle in words:
            return code
    if text(data.get("status")) == "authcancelled" or text(data.get("transactionStatus")).upper() == "C":
        return DeclineCode.CANCELLED_BY_PAYER
    if any(_BANK_DECLINE.match(code) for code in codes_of(data)):
        return DeclineCode.DO_NOT_HONOUR
    return DeclineCode.OTHER
