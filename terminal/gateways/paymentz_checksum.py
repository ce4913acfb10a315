"""Paymentz checksums: the fields of each operation joined with '|', MD5, lowercase hex (docs 2.4).

One function per formula, so each is named where it is used and tested on its own. The amount string is
always the wire string sent (two decimals, none for JPY). MD5 is what the platform specifies; it is a
keyed integrity check of the merchant's fields, the AuthToken does the authentication.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = [
    "checkout",
    "digest",
    "follow_up_with_amount",
    "invoice_action",
    "invoice_generate",
    "matches",
    "notification",
    "payment",
    "payout",
    "reference_only",
    "registration",
    "token_payment",
    "transaction_list",
]


def digest(*parts: str) -> str:
    """md5('|'.join(parts)) in lowercase hex."""
    return hashlib.md5("|".join(parts).encode("utf-8")).hexdigest()  # noqa: S324 - the platform's formula


def payment(member_id: str, secure_key: str, merchant_transaction_id: str, amount: str) -> str:
    """Sale/pre-auth (also 3-D, registration, recurring): memberId|secureKey|merchantTransactionId|amount."""
    return digest(member_id, secure_key, merchant_transaction_id, amount)


def follow_up_with_amount(member_id: str, secure_key: str, payment_id: str, amount: str) -> str:
    """Capture (CP) and refund (RF): memberId|secureKey|paymentId|amount."""
    return digest(member_id, secure_key, payment_id, amount)


def reference_only(member_id: str, secure_key: str, reference: str) -> str:
    """Reversal (RV), inquiry (IN; merchantTransactionId with idType=MID), delete token (registrationId)."""
    return digest(member_id, secure_key, reference)


def payout(member_id: str, merchant_transaction_id: str, amount: str, secure_key: str) -> str:
    """Payout: memberId|merchantTransactionId|amount|secureKey (note the order)."""
    return digest(member_id, merchant_transaction_id, amount, secure_key)


def registration(member_id: str, secure_key: str, number: str) -> str:
    """Standalone card registration: memberId|secureKey|cardNumber (direct entry only, ARCH-2)."""
    return digest(member_id, secure_key, number)


def token_payment(member_id: str, secure_key: str, registration_id: str, amount: str) -> str:
    """Pay with a token: memberId|secureKey|registrationId|amount."""
    return digest(member_id, secure_key, registration_id, amount)


def transaction_list(member_id: str, secure_key: str) -> str:
    """Transaction list, cards and accounts: memberId|secureKey."""
    return digest(member_id, secure_key)


def notification(
    payment_id: str, merchant_transaction_id: str, amount: str, status: str, secure_key: str
) -> str:
    """Callback and return post: paymentId|merchantTransactionId|amount|transactionStatus|secureKey."""
    return digest(payment_id, merchant_transaction_id, amount, status, secure_key)


def checkout(
    member_id: str, totype: str, amount: str, merchant_transaction_id: str, redirect_url: str, secure_key: str
) -> str:
    """Standard Checkout form: memberId|totype|amount|merchantTransactionId|merchantRedirectUrl|secureKey."""
    return digest(member_id, totype, amount, merchant_transaction_id, redirect_url, secure_key)


def invoice_generate(
    member_id: str,
    secure_key: str,
    description: str,
    amount: str,
    redirect_url: str,
    quantity_total: str = "",
) -> str:
    """Invoice generate: memberId|secureKey|orderDescription|amount|merchantRedirectUrl(|quantityTotal V2)."""
    parts = [member_id, secure_key, description, amount, redirect_url]
    return digest(*parts, quantity_total) if quantity_total else digest(*parts)


def invoice_action(member_id: str, secure_key: str, value: str) -> str:
    """Invoice config/action (memberId|secureKey|invoiceAction); cancel, remind, inquiry name the invoice."""
    return digest(member_id, secure_key, value)


def matches(expected: str, received: str) -> bool:
    """Constant-time comparison, case-insensitive on the hex."""
    return hmac.compare_digest(expected.lower(), received.strip().lower())
