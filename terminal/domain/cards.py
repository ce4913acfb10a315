"""Card checks for direct entry: digits, Luhn, brand from the IIN, lengths, expiry, CVC, masking.

Functions only: a card number is never kept in a module-level structure (no caches, no tables of
numbers), and no error message or chained exception ever carries the digits that were typed.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Literal

CardField = Literal["card_number", "expiry", "cvc"]

# Longest card number of any scheme (ISO/IEC 7812), and how far ahead an expiry may reasonably be.
MAX_DIGITS = 19
MAX_YEARS_AHEAD = 20

# Separators people type or paste inside a card number: whitespace (incl. no-break spaces) and dashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
# An ASCII digit class on purpose: str.isdigit() and int() accept Arabic-Indic and other digits.
_ASCII_DIGITS = re.compile(r"[0-9]*")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


class CardError(ValueError):
    """Card input that cannot be accepted; `field` names the form field, `message` says why."""

    def __init__(self, field: CardField, message: str) -> None:
        super().__init__(message)
        self.field: CardField = field
        self.message = message


class CardBrand(StrEnum):
    """Card schemes told apart by the number's first digits (the IIN)."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"
    MAESTRO = "maestro"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """The scheme's name as printed on cards and receipts."""
        return _LABELS[self]


_LABELS: dict[CardBrand, str] = {
    CardBrand.VISA: "Visa",
    CardBrand.MASTERCARD: "Mastercard",
    CardBrand.AMEX: "American Express",
    CardBrand.DISCOVER: "Discover",
    CardBrand.DINERS: "Diners Club",
    CardBrand.JCB: "JCB",
    CardBrand.UNIONPAY: "UnionPay",
    CardBrand.MAESTRO: "Maestro",
    CardBrand.UNKNOWN: "Card",
}

# (prefix length, lowest prefix, highest prefix, brand), longest prefixes first so they win.
_IIN_RANGES: tuple[tuple[int, int, int, CardBrand], ...] = (
    (6, 676770, 676770, CardBrand.MAESTRO),
    (6, 676774, 676774, CardBrand.MAESTRO),
    (4, 6011, 6011, CardBrand.DISCOVER),
    (4, 6304, 6304, CardBrand.MAESTRO),
    (4, 6759, 6759, CardBrand.MAESTRO),
    (4, 3528, 3589, CardBrand.JCB),
    (4, 2221, 2720, CardBrand.MASTERCARD),
    (3, 644, 649, CardBrand.DISCOVER),
    (3, 300, 305, CardBrand.DINERS),
    (2, 51, 55, CardBrand.MASTERCARD),
    (2, 34, 34, CardBrand.AMEX),
    (2, 37, 37, CardBrand.AMEX),
    (2, 65, 65, CardBrand.DISCOVER),
    (2, 36, 36, CardBrand.DINERS),
    (2, 38, 38, CardBrand.DINERS),
    (2, 62, 62, CardBrand.UNIONPAY),
    (2, 50, 50, CardBrand.MAESTRO),
    (2, 56, 58, CardBrand.MAESTRO),
    (1, 4, 4, CardBrand.VISA),
)

_LENGTHS: dict[CardBrand, tuple[int, ...]] = {
    CardBrand.VISA: (13, 16, 19),
    CardBrand.MASTERCARD: (16,),
    CardBrand.AMEX: (15,),
    CardBrand.DISCOVER: (16, 17, 18, 19),
    CardBrand.DINERS: (14, 15, 16, 17, 18, 19),
    CardBrand.JCB: (16, 17, 18, 19),
    CardBrand.UNIONPAY: (16, 17, 18, 19),
    CardBrand.MAESTRO: tuple(range(12, 20)),
    CardBrand.UNKNOWN: tuple(range(12, 20)),
}

_FIELD_LABELS: dict[CardField, str] = {"card_number": "Card number", "expiry": "Expiry", "cvc": "CVC"}


def digits_only(text: str, field: CardField = "card_number") -> str:
    """The ASCII digits of `text` once spaces and dashes are removed; anything else is a CardError."""
    stripped = _SEPARATORS.sub("", text)
    if not _ASCII_DIGITS.fullmatch(stripped):
        raise CardError(field, f"{_FIELD_LABELS[field]}: use the digits 0–9 only.")
    return stripped


def luhn_valid(number: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn (mod 10) check; False for anything else."""
    if not number or not _ASCII_DIGITS.fullmatch(number):
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        value = ord(char) - ord("0")
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_of(number: str) -> CardBrand:
    """The brand from the number's leading digits (spaces and dashes ignored); UNKNOWN when unsure.

    Works on a partly typed number: the brand shows as soon as enough digits are there to tell.
    """
    digits = _SEPARATORS.sub("", number)
    if not digits or not _ASCII_DIGITS.fullmatch(digits):
        return CardBrand.UNKNOWN
    for length, low, high, brand in _IIN_RANGES:
        if len(digits) >= length and low <= int(digits[:length]) <= high:
            return brand
    return CardBrand.UNKNOWN


def valid_lengths(brand: CardBrand) -> tuple[int, ...]:
    """The number lengths a brand issues, shortest first."""
    return _LENGTHS[brand]


def _spoken_lengths(lengths: tuple[int, ...]) -> str:
    if len(lengths) == 1:
        return str(lengths[0])
    if list(lengths) == list(range(lengths[0], lengths[-1] + 1)):
        return f"{lengths[0]} to {lengths[-1]}"
    return ", ".join(str(n) for n in lengths[:-1]) + f" or {lengths[-1]}"


def check_number(text: str) -> str:
    """The card number's digits, or a CardError saying what is wrong (length, characters, check digit)."""
    digits = digits_only(text, "card_number")
    if not digits:
        raise CardError("card_number", "Card number: enter the card number.")
    brand = brand_of(digits)
    lengths = valid_lengths(brand)
    what = "a card number" if brand is CardBrand.UNKNOWN else f"a {brand.label} number"
    rule = f"{what} has {_spoken_lengths(lengths)} digits"
    if len(digits) < lengths[0]:
        raise CardError("card_number", f"Card number: too short; {rule}.")
    if len(digits) > lengths[-1]:
        raise CardError("card_number", f"Card number: too long; {rule}.")
    if len(digits) not in lengths:
        raise CardError("card_number", f"Card number: {rule}.")
    if not luhn_valid(digits):
        raise CardError("card_number", "Card number: the number fails the check digit (typo?).")
    return digits


def _expiry_int(value: str | int, pattern: str, what: str) -> int:
    if isinstance(value, bool):
        raise CardError("expiry", f"Expiry: enter the {what}.")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expiry {what} must be text or an int")
    text = value.strip()
    if not text:
        raise CardError("expiry", f"Expiry: enter the {what}.")
    if not re.fullmatch(pattern, text):
        raise CardError("expiry", f"Expiry: enter the {what} as {'MM' if what == 'month' else 'YY or YYYY'}.")
    return int(text)


def _full_year(year: int, today: date) -> int:
    """Place a two-digit year in the century that makes it current or near future."""
    candidate = today.year // 100 * 100 + year
    if candidate < today.year and candidate + 100 - today.year <= MAX_YEARS_AHEAD:
        return candidate + 100  # rollover: '05' typed in 2095 is 2105
    return candidate


def check_expiry(month: str | int, year: str | int, today: date) -> tuple[int, int]:
    """(month, four-digit year) of an expiry that is not past and not absurdly far; else CardError.

    A card is valid through the last day of its expiry month. The year may be 'YY' or 'YYYY'.
    """
    mm = _expiry_int(month, r"[0-9]{1,2}", "month")
    yy = _expiry_int(year, r"[0-9]{2}|[0-9]{4}", "year")
    if not 1 <= mm <= 12:
        raise CardError("expiry", "Expiry: the month must be 01 to 12.")
    if 0 <= yy <= 99:
        yy = _full_year(yy, today)
    elif not 1000 <= yy <= 9999:
        raise CardError("expiry", "Expiry: enter the year as YY or YYYY.")
    if (yy, mm) < (today.year, today.month):
        raise CardError("expiry", f"Expiry: the card expired at the end of {mm:02d}/{yy}.")
    if (yy, mm) > (today.year + MAX_YEARS_AHEAD, today.month):
        raise CardError(
            "expiry", f"Expiry: {mm:02d}/{yy} is more than {MAX_YEARS_AHEAD} years ahead; check the year."
        )
    return mm, yy


def check_expiry_text(text: str, today: date) -> tuple[int, int]:
    """Read an expiry typed in one field: 'MM/YY', 'MM / YYYY', 'MM-YY' or 'MMYY'; see check_expiry."""
    compact = re.sub(r"\s+", "", text)
    if not compact:
        raise CardError("expiry", "Expiry: enter the expiry date (MM/YY).")
    found = re.fullmatch(r"([0-9]{1,2})[/\-.]([0-9]{2}|[0-9]{4})", compact) or re.fullmatch(
        r"([0-9]{2})([0-9]{2}|[0-9]{4})", compact
    )
    if not found:
        raise CardError("expiry", "Expiry: enter the expiry date as MM/YY.")
    return check_expiry(found.group(1), found.group(2), today)


def cvc_length(brand: CardBrand) -> int:
    """Digits of the card security code: 4 on the front of American Express cards, 3 elsewhere."""
    return 4 if brand is CardBrand.AMEX else 3


def check_cvc(cvc: str, brand: CardBrand) -> str:
    """The CVC digits when they fit the brand, else a CardError."""
    code = cvc.strip()
    if not code:
        raise CardError("cvc", "CVC: enter the security code.")
    if _NOT_ASCII_DIGIT.search(code):
        raise CardError("cvc", "CVC: use the digits 0–9 only.")
    wanted = cvc_length(brand)
    if len(code) != wanted:
        whose = "the card has" if brand is CardBrand.UNKNOWN else f"{brand.label} cards have"
        raise CardError("cvc", f"CVC: {whose} a {wanted}-digit code.")
    return code


def _groups(brand: CardBrand, length: int) -> tuple[int, ...]:
    if brand is CardBrand.AMEX:
        return (4, 6, 5)
    if brand is CardBrand.DINERS and length == 14:
        return (4, 6, 4)
    return (4, 4, 4, 4, 3)


def _grouped(text: str, sizes: tuple[int, ...]) -> str:
    parts, start = [], 0
    for size in sizes:
        if start >= len(text):
            break
        parts.append(text[start : start + size])
        start += size
    if start < len(text):
        parts.append(text[start:])
    return " ".join(parts)


def format_as_typed(number: str) -> str:
    """Digits grouped as printed on the card (4-4-4-4, Amex 4-6-5) for a field that formats as you type.

    Never raises: anything but the ASCII digits 0-9 is dropped, and at most 19 digits are kept.
    """
    digits = _NOT_ASCII_DIGIT.sub("", number)[:MAX_DIGITS]
    brand = brand_of(digits)
    digits = digits[: valid_lengths(brand)[-1]]
    return _grouped(digits, _groups(brand, len(digits)))


def mask(number: str) -> str:
    """The number with only its last four digits visible, grouped as printed: '•••• •••• •••• 4242'.

    A number too short to be a card (under 12 digits) shows no digits at all.
    """
    digits = digits_only(number, "card_number")
    shown = 4 if len(digits) >= 12 else 0
    hidden = "•" * (len(digits) - shown) + digits[len(digits) - shown :]
    return _grouped(hidden, _groups(brand_of(digits), len(digits)))


def first6_last4(number: str) -> tuple[str, str]:
    """The most of a card number that may be kept: the first six and the last four digits."""
    digits = digits_only(number, "card_number")
    if not 12 <= len(digits) <= MAX_DIGITS:
        raise CardError("card_number", "Card number: not a whole card number.")
    return digits[:6], digits[-4:]
