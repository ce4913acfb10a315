"""Money: integer minor units, CLDR exponents, strict amount parsing (MONEY-1, MONEY-4, TEST-5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.domain.money import (
    ABSURD_MAJOR_UNITS,
    Money,
    MoneyError,
    exponent,
    from_major_text,
    known_currencies,
    normalise_currency,
    parse_amount,
)

# --- the type ---------------------------------------------------------------------------------


@pytest.mark.parametrize("minor", [1.1, 12.0, True, False, "1250", Decimal("12.50"), None])
def test_money_refuses_anything_but_an_int(minor: object) -> None:
    with pytest.raises(TypeError):
        Money(minor, "EUR")  # type: ignore[arg-type]


def test_money_keeps_int_minor_and_normalises_the_currency() -> None:
    m = Money(1250, " omr ")
    assert (m.minor, m.currency) == (1250, "OMR")
    assert m == Money(1250, "OMR")
    assert m != Money(1250, "KWD")


@pytest.mark.parametrize("code", ["ZZZ", "EU", "EURO", "", "€", "XXX", "XTS", "XAU", "E1R", "ЕUR"])
def test_unknown_or_unpayable_currency_is_refused(code: str) -> None:
    with pytest.raises(MoneyError) as err:
        Money(100, code)
    assert err.value.field == "currency"
    assert err.value.message.startswith("Currency:")


def test_currency_must_be_text() -> None:
    with pytest.raises(TypeError):
        Money(100, None)  # type: ignore[arg-type]


def test_known_currencies_come_from_cldr() -> None:
    codes = known_currencies()
    assert {"EUR", "USD", "JPY", "OMR", "CLP", "LKR"} <= codes
    assert "XXX" not in codes and "XTS" not in codes
    assert normalise_currency("usd") == "USD"


@pytest.mark.parametrize(
    ("code", "digits"),
    [
        ("JPY", 0),
        ("CLP", 0),
        ("KRW", 0),
        ("EUR", 2),
        ("USD", 2),
        ("LKR", 2),
        ("OMR", 3),
        ("KWD", 3),
        ("BHD", 3),
        ("JOD", 3),
        ("TND", 3),
    ],
)
def test_exponents_from_cldr(code: str, digits: int) -> None:
    assert exponent(code) == digits
    assert Money(1, code).exponent == digits
    assert Money(10**digits, code).as_decimal() == 1


def test_arithmetic_and_comparison_in_one_currency() -> None:
    assert Money(1250, "EUR") + Money(50, "EUR") == Money(1300, "EUR")
    assert Money(1250, "EUR") - Money(1300, "EUR") == Money(-50, "EUR")
    assert Money(1, "EUR") < Money(2, "EUR") <= Money(2, "EUR")
    assert Money(3, "EUR") > Money(2, "EUR") >= Money(2, "EUR")
    assert Money.zero("JPY") == Money(0, "JPY")


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_mixed_currencies_are_refused(combine: object) -> None:
    with pytest.raises(MoneyError) as err:
        combine(Money(100, "EUR"), Money(100, "USD"))  # type: ignore[operator]
    assert "EUR" in err.value.message and "USD" in err.value.message


def test_arithmetic_with_a_plain_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(100, "EUR") + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100, "EUR") < 1  # type: ignore[operator]  # noqa: B015


@pytest.mark.parametrize(
    ("money", "plain"),
    [
        (Money(1250, "OMR"), "1.250"),
        (Money(5, "OMR"), "0.005"),
        (Money(1250, "EUR"), "12.50"),
        (Money(7, "EUR"), "0.07"),
        (Money(1250, "JPY"), "1250"),
        (Money(-5, "EUR"), "-0.05"),
        (Money(0, "KWD"), "0.000"),
    ],
)
def test_plain_has_exactly_the_currency_decimals(money: Money, plain: str) -> None:
    assert money.plain() == plain
    assert str(money) == f"{plain} {money.currency}"


def test_huge_amounts_stay_exact() -> None:
    m = Money(10**30 + 1, "EUR")
    assert m.plain() == "10000000000000000000000000000.01"
    assert m.as_decimal().as_tuple() == (0, tuple(int(d) for d in str(10**30 + 1)), -2)


def test_display_uses_the_currency_decimals() -> None:
    assert "1.250" in Money(1250, "OMR").display()
    assert "1,234.500" in Money(1234500, "KWD").display()
    assert Money(1250, "EUR").display() == "€12.50"
    assert "1,250" in Money(1250, "JPY").display() and "." not in Money(1250, "JPY").display()
    assert Money(1250, "EUR").display("de_DE") == "12,50\xa0€"
    # An unusable locale falls back to en_GB rather than failing a receipt.
    assert Money(1250, "EUR").display("xx_not_a_locale") == "€12.50"


# --- parsing what a clerk types ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12,50", "EUR", 1250),
        ("1,250.00", "EUR", 125000),
        ("1 250.00", "EUR", 125000),
        ("1\u00a0250.00", "EUR", 125000),
        ("1\u202f250,00", "EUR", 125000),
        ("1'250.00", "CHF", 125000),
        ("1.234,56", "EUR", 123456),
        ("1 250,50", "EUR", 125050),
        ("1,250,000", "EUR", 125000000),
        ("1.250.000", "EUR", 125000000),
        ("1.250.000,50", "EUR", 125000050),
        ("12", "EUR", 1200),
        ("+5", "EUR", 500),
        ("  7.5  ", "EUR", 750),
        (".50", "EUR", 50),
        ("0.01", "EUR", 1),
        ("9999999.99", "EUR", 999999999),
        ("1.250", "OMR", 1250),
        ("1.25", "OMR", 1250),
        ("0.005", "KWD", 5),
        ("1250", "JPY", 1250),
        ("15000", "CLP", 15000),
        ("12.5", "eur", 1250),
    ],
)
def test_parse_amount_accepts(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        # A lone comma before exactly three digits: thousands, unless the currency has 3 decimals.
        ("1,250", "EUR", 125000),
        ("1,250", "JPY", 1250),
        ("1,250", "CLP", 1250),
        ("1,250", "OMR", 1250),
        ("1,250", "KWD", 1250),
        ("12,500", "USD", 1250000),
        ("12,500", "BHD", 12500),
        # A comma before any other count of digits is the decimal comma.
        ("1,25", "EUR", 125),
        ("1,25", "OMR", 1250),
        ("1,2", "EUR", 120),
        # Zero-led or long whole parts cannot be grouped: the comma is the decimal comma.
        ("0,250", "OMR", 250),
        ("1250,500", "OMR", 1250500),
        # A lone dot before three digits groups only in currencies without decimals.
        ("15.000", "CLP", 15000),
        ("1.250", "JPY", 1250),
        ("1.250", "OMR", 1250),
    ],
)
def test_ambiguous_separators_follow_the_documented_rule(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "needle"),
    [
        ("", "EUR", "enter an amount"),
        ("   ", "EUR", "enter an amount"),
        ("abc", "EUR", "not a number"),
        ("1e3", "EUR", "not a number"),
        ("1E3", "EUR", "not a number"),
        ("NaN", "EUR", "not a number"),
        ("nan", "EUR", "not a number"),
        ("Infinity", "EUR", "not a number"),
        ("inf", "EUR", "not a number"),
        ("0x10", "EUR", "not a number"),
        ("1_000", "EUR", "not a number"),
        ("12.", "EUR", "not a number"),
        ("+", "EUR", "not a number"),
        ("1..5", "EUR", "not a number"),
        ("€12", "EUR", "not a number"),
        ("12 EUR", "EUR", "not a number"),
        ("١٢", "EUR", "not a number"),
        ("１２", "EUR", "not a number"),
        ("1,250 000", "EUR", "not a number"),
        ("-0", "EUR", "negative"),
        ("-5", "EUR", "negative"),
        ("\u22125", "EUR", "negative"),
        ("0", "EUR", "more than zero"),
        ("0.00", "EUR", "more than zero"),
        ("0,0", "EUR", "more than zero"),
        ("0.001", "EUR", "at most 2 decimals"),
        ("12.500", "EUR", "at most 2 decimals"),
        ("1.250", "EUR", "at most 2 decimals"),
        ("0,250", "EUR", "at most 2 decimals"),
        ("10.5", "CLP", "no decimals"),
        ("10.5", "JPY", "no decimals"),
        ("10,5", "JPY", "no decimals"),
        ("1.2345", "OMR", "at most 3 decimals"),
        ("12 50", "EUR", "wrong places"),
        ("1,2.5", "EUR", "wrong places"),
        ("1,25,000", "EUR", "wrong places"),
        ("10000000", "EUR", "too large"),
        ("10,000,000.00", "EUR", "too large"),
        ("99999999999999999999999999999999999", "EUR", "too large"),
        ("10000000", "JPY", "too large"),
    ],
)
def test_parse_amount_refuses_with_a_field_named_message(text: str, currency: str, needle: str) -> None:
    with pytest.raises(MoneyError) as err:
        parse_amount(text, currency)
    assert err.value.field == "amount"
    assert err.value.message.startswith("Amount:")
    assert needle in err.value.message


def test_zero_is_accepted_only_when_allowed() -> None:
    assert parse_amount("0.00", "EUR", allow_zero=True) == Money(0, "EUR")
    with pytest.raises(MoneyError, match="negative"):
        parse_amount("-0", "EUR", allow_zero=True)


def test_parse_amount_with_an_unknown_currency_names_the_currency() -> None:
    with pytest.raises(MoneyError) as err:
        parse_amount("12.50", "ZZZ")
    assert err.value.field == "currency"


SAMPLE_CURRENCIES = [
    "EUR",
    "USD",
    "JPY",
    "CLP",
    "KRW",
    "OMR",
    "KWD",
    "BHD",
    "JOD",
    "TND",
    "LKR",
    "GBP",
    "ISK",
]


@settings(max_examples=300, deadline=None)
@given(currency=st.sampled_from(SAMPLE_CURRENCIES), minor=st.integers(min_value=1, max_value=10**11))
def test_parse_of_plain_round_trips(currency: str, minor: int) -> None:
    m = Money(minor, currency)
    if m.as_decimal() >= ABSURD_MAJOR_UNITS:
        with pytest.raises(MoneyError, match="too large"):
            parse_amount(m.plain(), currency)
    else:
        assert parse_amount(m.plain(), currency) == m


@settings(max_examples=200, deadline=None)
@given(currency=st.sampled_from(SAMPLE_CURRENCIES), minor=st.integers(min_value=1, max_value=10**9))
def test_parse_of_displayed_en_gb_amount_round_trips(currency: str, minor: int) -> None:
    m = Money(minor, currency)
    grouped = f"{m.as_decimal():,.{m.exponent}f}"  # '1,250.000': the way en_GB groups digits
    if m.as_decimal() < ABSURD_MAJOR_UNITS:
        assert parse_amount(grouped, currency) == m


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=20), currency=st.sampled_from(SAMPLE_CURRENCIES))
def test_any_text_is_an_amount_or_a_money_error(text: str, currency: str) -> None:
    try:
        m = parse_amount(text, currency)
    except MoneyError as err:
        assert err.message.startswith("Amount:")
    else:
        assert m.minor > 0 and m.currency == currency
        assert m.as_decimal() < ABSURD_MAJOR_UNITS


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="0123456789.,' +-", max_size=14),
    currency=st.sampled_from(SAMPLE_CURRENCIES),
)
def test_separator_soup_never_escapes_as_another_error(text: str, currency: str) -> None:
    try:
        m = parse_amount(text, currency)
    except MoneyError as err:
        assert err.message.startswith("Amount:")
    else:
        # Whatever was accepted, every digit typed is in the amount and nothing else was invented.
        typed = "".join(c for c in text if c.isdigit()).lstrip("0")
        assert str(m.minor).rstrip("0") == typed.rstrip("0")


# --- wire decimals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("110.00", "EUR", 11000), ("110", "EUR", 11000), ("1.250", "OMR", 1250), ("1500", "CLP", 1500)],
)
def test_from_major_text_is_exact(text: str, currency: str, minor: int) -> None:
    assert from_major_text(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"), [("1.005", "EUR"), ("10.5", "CLP"), ("NaN", "EUR"), ("x", "EUR")]
)
def test_from_major_text_refuses_extra_precision_and_junk(text: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        from_major_text(text, currency)
