"""Normalised decline codes: one vocabulary for every gateway, with words a clerk can say to a caller."""

from __future__ import annotations

from enum import StrEnum


class DeclineCode(StrEnum):
    """Why a payment was refused, whatever the gateway called it."""

    DO_NOT_HONOUR = "do_not_honour"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    CVC_FAILED = "cvc_failed"
    INVALID_CARD = "invalid_card"
    AUTHENTICATION_FAILED = "authentication_failed"
    SUSPECTED_FRAUD = "suspected_fraud"
    LIMIT_EXCEEDED = "limit_exceeded"
    NOT_PERMITTED = "not_permitted"
    REFERRAL = "referral"
    CANCELLED_BY_PAYER = "cancelled_by_payer"
    EXPIRED_SESSION = "expired_session"
    OTHER = "other"


_PLAIN_WORDS: dict[DeclineCode, str] = {
    DeclineCode.DO_NOT_HONOUR: "The card issuer declined the payment (do not honour). Ask for another card.",
    DeclineCode.INSUFFICIENT_FUNDS: "Insufficient funds on the card.",
    DeclineCode.EXPIRED_CARD: "The card has expired.",
    DeclineCode.CVC_FAILED: "The security code (CVC) did not match.",
    DeclineCode.INVALID_CARD: "The card number is not valid.",
    DeclineCode.AUTHENTICATION_FAILED: "The cardholder did not pass 3-D Secure authentication.",
    DeclineCode.SUSPECTED_FRAUD: "Declined as suspected fraud. Do not retry this card.",
    DeclineCode.LIMIT_EXCEEDED: "The card's limit was exceeded.",
    DeclineCode.NOT_PERMITTED: "This card cannot be used for this kind of payment.",
    DeclineCode.REFERRAL: "The issuer asks you to call them before accepting this card.",
    DeclineCode.CANCELLED_BY_PAYER: "The customer cancelled the payment on the payment page.",
    DeclineCode.EXPIRED_SESSION: "The payment page expired before the customer paid.",
    DeclineCode.OTHER: "The payment was declined.",
}

# ISO 8583 field 39 response codes, as several card gateways (OGO among them) return them.
_ISO8583: dict[str, DeclineCode] = {
    "01": DeclineCode.REFERRAL,
    "02": DeclineCode.REFERRAL,
    "04": DeclineCode.SUSPECTED_FRAUD,
    "05": DeclineCode.DO_NOT_HONOUR,
    "07": DeclineCode.SUSPECTED_FRAUD,
    "14": DeclineCode.INVALID_CARD,
    "41": DeclineCode.SUSPECTED_FRAUD,
    "43": DeclineCode.SUSPECTED_FRAUD,
    "51": DeclineCode.INSUFFICIENT_FUNDS,
    "54": DeclineCode.EXPIRED_CARD,
    "57": DeclineCode.NOT_PERMITTED,
    "58": DeclineCode.NOT_PERMITTED,
    "59": DeclineCode.SUSPECTED_FRAUD,
    "61": DeclineCode.LIMIT_EXCEEDED,
    "62": DeclineCode.NOT_PERMITTED,
    "65": DeclineCode.LIMIT_EXCEEDED,
    "82": DeclineCode.CVC_FAILED,
    "N7": DeclineCode.CVC_FAILED,
}


def plain_words(code: DeclineCode) -> str:
    """A sentence a clerk can read out to the caller."""
    return _PLAIN_WORDS[code]


def from_iso8583(response_code: str) -> DeclineCode:
    """Map an ISO 8583 response code to a normalised decline; anything unlisted is OTHER."""
    return _ISO8583.get(response_code.strip().upper(), DeclineCode.OTHER)
