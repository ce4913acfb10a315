"""Money as integer minor units plus an ISO 4217 currency, and the parsing of what a clerk types."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from functools import cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

# An amount beyond this is a typo, not a sale: ten million major units of any currency.
ABSURD_MAJOR_UNITS = 10_000_000


class MoneyError(ValueError):
    """A money value or amount text that cannot be accepted; the message names what is wrong."""

    def __init__(self, message: str, field: str = "amount") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ISO 4217 codes that are no currency one can be paid in: "no currency", the testing code,
# precious metals and accounting units. CLDR lists them, with a default of 2 decimals.
NOT_PAYABLE = frozenset(
    {"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD"}
)


@cache
def known_currencies() -> frozenset[str]:
    """ISO 4217 codes known to CLDR (Babel's data) that money can be counted in."""
    return frozenset(list_currencies()) - NOT_PAYABLE


@cache
def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit, from CLDR (JPY 0, EUR 2, OMR 3)."""
    code = normalise_currency(currency)
    return int(get_currency_precision(code))


def normalise_currency(currency: str) -> str:
    """Return the upper-case ISO code, refusing anything CLDR does not know."""
    if not isinstance(currency, str):
        raise TypeError(f"A currency is an ISO 4217 code as text, not {type(currency).__name__}")
    code = currency.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha() or code not in known_currencies():
        raise MoneyError(f"Currency: {currency!r} is not a known ISO 4217 currency code.", field="currency")
    return code


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount as an integer count of minor units of one currency: Money(1250, "OMR") is 1.250 OMR."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass and float would silently lose cents: refuse both.
        if type(self.minor) is not int:
            raise TypeError(f"Money needs an int count of minor units, not {type(self.minor).__name__}")
        object.__setattr__(self, "currency", normalise_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money in this currency."""
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"Cannot combine {self.currency} with {other.currency}.", field="currency")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.minor >= other.minor

    @property
    def exponent(self) -> int:
        """Decimals of this currency."""
        return exponent(self.currency)

    def as_decimal(self) -> Decimal:
        """The amount in major units, exactly."""
        # A context wide enough for every digit: the default 28 digits would round huge amounts.
        exact = Context(prec=len(str(abs(self.minor))) + 2)
        return Decimal(self.minor).scaleb(-self.exponent, exact)

    def plain(self) -> str:
        """Major units with exactly the currency's decimals and a dot: '1.250' for 1250 OMR."""
        return f"{self.as_decimal():.{self.exponent}f}"

    def __str__(self) -> str:
        return f"{self.plain()} {self.currency}"

    def display(self, locale: str = "en_GB") -> str:
        """Formatted for people, with the currency's symbol and the locale's separators."""
        try:
            loc = Locale.parse(locale)
        except (ValueError, UnknownLocaleError):
            loc = Locale.parse("en_GB")
        return str(format_currency(self.as_decimal(), self.currency, locale=loc, currency_digits=True))


# Characters that only ever group thousands; "." and "," may group or mark the decimals.
_GROUPING_ONLY = " '\u00a0\u202f\u2019"
_SEPARATOR = re.compile(r"[.,'\u00a0\u202f\u2019 ]")
_AMOUNT_CHARS = re.compile(r"[0-9.,'\u00a0\u202f\u2019 ]+")


def _not_a_number(text: str) -> MoneyError:
    return MoneyError(f"Amount: {text!r} is not a number (use digits and one decimal point).")


def _canonical_amount(raw: str, digits: int) -> str:
    """Digits with at most one '.' for the decimals, from what a clerk typed; see parse_amount's rules."""
    if not _AMOUNT_CHARS.fullmatch(raw) or raw[-1] not in "0123456789":
        raise _not_a_number(raw)
    if raw[0] in ".,":
        raw = "0" + raw  # '.50' is 0.50
    runs = _SEPARATOR.split(raw)
    seps = _SEPARATOR.findall(raw)
    if any(not run for run in runs):  # two separators in a row, or a leading space
        raise _not_a_number(raw)
    if not seps:
        return raw
    last = seps[-1]
    if last in _GROUPING_ONLY:
        decimal_sep = ""
    elif len(seps) == 1:
        decimal_sep = "" if _groups_thousands(last, runs, digits) else last
    elif all(sep == last for sep in seps):
        decimal_sep = ""  # '1,250,000' or '1.250.000'
    else:
        decimal_sep = last
    whole_runs, fraction = (runs[:-1], runs[-1]) if decimal_sep else (runs, "")
    grouping = set(seps[:-1] if decimal_sep else seps)
    if len(grouping) > 1 or grouping == {decimal_sep}:
        raise _not_a_number(raw)
    if len(whole_runs) > 1 and (
        not 1 <= len(whole_runs[0]) <= 3 or any(len(run) != 3 for run in whole_runs[1:])
    ):
        raise MoneyError(f"Amount: {raw!r} has its thousands separators in the wrong places.")
    whole = "".join(whole_runs)
    return f"{whole}.{fraction}" if fraction else whole


def _groups_thousands(sep: str, runs: list[str], digits: int) -> bool:
    """Whether a lone '.' or ',' between 1-3 digits and exactly 3 digits groups thousands."""
    if len(runs[1]) != 3 or not 1 <= len(runs[0]) <= 3 or runs[0].startswith("0"):
        return False
    if sep == ",":
        return digits != 3
    return digits == 0


def parse_amount(text: str, currency: str, *, allow_zero: bool = False) -> Money:
    """Read an amount a clerk typed ('12.50', '12,50', '1,250.00', '1 250,00', '1.234,56') in the currency.

    Separators: spaces, no-break spaces and apostrophes always group thousands. When both '.' and ','
    appear, the last one marks the decimals and the other groups thousands; one of them repeated
    ('1,250,000') only groups. A lone '.' or ',' marks the decimals, except before exactly three digits
    after one to three (not zero-led) digits, where it is ambiguous and the currency decides: a comma
    groups thousands unless the currency has 3 decimals ('1,250' is 1250 EUR or JPY but 1.250 OMR), and
    a dot groups only in currencies without decimals ('15.000' is 15000 CLP, while '1.250' EUR is
    refused for having 3 decimals rather than guessed). Groups must have three digits.

    Raises MoneyError with a message naming the problem: empty, not a number, negative, zero,
    too many decimals for the currency, or an absurd size (ten million major units or more).
    """
    code = normalise_currency(currency)
    digits = exponent(code)
    raw = text.strip()
    if not raw:
        raise MoneyError("Amount: enter an amount.")
    if raw[0] in "-\u2212":
        raise MoneyError("Amount: must be more than zero, not negative.")
    raw = raw.removeprefix("+").strip()
    if not raw:
        raise _not_a_number(text.strip())
    try:
        value = Decimal(_canonical_amount(raw, digits))
    except InvalidOperation:  # pragma: no cover - the checks above only let digits and one dot through
        raise _not_a_number(raw) from None
    exp = value.as_tuple().exponent
    assert isinstance(exp, int)
    if -exp > digits:
        if digits == 0:
            raise MoneyError(f"Amount: {code} has no decimals; enter a whole number.")
        raise MoneyError(f"Amount: {code} allows at most {digits} decimal{'s' if digits > 1 else ''}.")
    if value == 0 and not allow_zero:
        raise MoneyError("Amount: must be more than zero.")
    if value >= ABSURD_MAJOR_UNITS:
        raise MoneyError(f"Amount: {raw} {code} is too large; check the amount.")
    # Exact: the decimals were checked above, so scaling leaves an integral value.
    minor = int(value.scaleb(digits))
    return Money(minor, code)


def from_major_text(text: str, currency: str) -> Money:
    """Exact conversion of a wire decimal string ('110.00') to Money; refuses extra precision."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"Amount: {text!r} is not a decimal number.") from None
    if not value.is_finite():
        raise MoneyError(f"Amount: {text!r} is not a finite number.")
    digits = exponent(currency)
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"Amount: {text!r} has more decimals than {currency} allows.")
    return Money(int(scaled), currency)
