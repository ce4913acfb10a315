"""Card checks for direct entry: Luhn, brand, lengths, expiry, CVC, masking (TEST-5)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.domain import cards
from terminal.domain.cards import (
    CardBrand,
    CardError,
    brand_of,
    check_cvc,
    check_expiry,
    check_expiry_text,
    check_number,
    cvc_length,
    digits_only,
    first6_last4,
    format_as_typed,
    luhn_valid,
    mask,
    valid_lengths,
)

TODAY = date(2025, 6, 15)

# docs/SANDBOX.md test cards, then well-known scheme test numbers for the brands it does not cover.
SANDBOX_CARDS = [
    ("4111 1111 1111 1111", CardBrand.VISA),
    ("4242 4242 4242 4242", CardBrand.VISA),
    ("5555 5555 5555 4444", CardBrand.MASTERCARD),
    ("3782 822463 10005", CardBrand.AMEX),
    ("4000 0000 0000 0002", CardBrand.VISA),
    ("4000 0000 0000 9995", CardBrand.VISA),
    ("4000 0000 0000 0069", CardBrand.VISA),
    ("4000 0000 0000 0127", CardBrand.VISA),
    ("4000 0000 0000 3220", CardBrand.VISA),
]
OTHER_TEST_CARDS = [
    ("2223 0000 4840 0011", CardBrand.MASTERCARD),
    ("4005 5192 0000 0004", CardBrand.VISA),
    ("6011 1111 1111 1117", CardBrand.DISCOVER),
    ("6011 0009 9013 9424", CardBrand.DISCOVER),
    ("3056 9309 0259 04", CardBrand.DINERS),
    ("3852 0000 0232 37", CardBrand.DINERS),
    ("3530 1113 3330 0000", CardBrand.JCB),
    ("3566 0020 2036 0505", CardBrand.JCB),
    ("6200 0000 0000 0005", CardBrand.UNIONPAY),
    ("6759 6498 2643 8453", CardBrand.MAESTRO),
    ("3714 496353 98431", CardBrand.AMEX),
]


def with_check_digit(payload: str) -> str:
    """`payload` plus the digit that makes it pass Luhn."""
    for digit in "0123456789":
        if luhn_valid(payload + digit):
            return payload + digit
    raise AssertionError("no Luhn digit")  # pragma: no cover


# --- brand and label --------------------------------------------------------------------------


def test_every_brand_has_a_label() -> None:
    assert CardBrand.VISA.label == "Visa"
    assert CardBrand.MASTERCARD.label == "Mastercard"
    assert CardBrand.AMEX.label == "American Express"
    assert {brand.value for brand in CardBrand} == {
        "visa",
        "mastercard",
        "amex",
        "discover",
        "diners",
        "jcb",
        "unionpay",
        "maestro",
        "unknown",
    }
    assert all(brand.label for brand in CardBrand)


@pytest.mark.parametrize(("number", "brand"), SANDBOX_CARDS + OTHER_TEST_CARDS)
def test_test_cards_pass_and_get_their_brand(number: str, brand: CardBrand) -> None:
    digits = number.replace(" ", "")
    assert luhn_valid(digits)
    assert brand_of(number) is brand
    assert check_number(number) == digits


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", CardBrand.VISA),
        ("2220", CardBrand.UNKNOWN),
        ("2221", CardBrand.MASTERCARD),
        ("2720", CardBrand.MASTERCARD),
        ("2721", CardBrand.UNKNOWN),
        ("50", CardBrand.MAESTRO),
        ("51", CardBrand.MASTERCARD),
        ("55", CardBrand.MASTERCARD),
        ("56", CardBrand.MAESTRO),
        ("58", CardBrand.MAESTRO),
        ("59", CardBrand.UNKNOWN),
        ("34", CardBrand.AMEX),
        ("37", CardBrand.AMEX),
        ("35", CardBrand.UNKNOWN),
        ("3527", CardBrand.UNKNOWN),
        ("3528", CardBrand.JCB),
        ("3589", CardBrand.JCB),
        ("3590", CardBrand.UNKNOWN),
        ("300", CardBrand.DINERS),
        ("305", CardBrand.DINERS),
        ("306", CardBrand.UNKNOWN),
        ("36", CardBrand.DINERS),
        ("38", CardBrand.DINERS),
        ("6011", CardBrand.DISCOVER),
        ("6012", CardBrand.UNKNOWN),
        ("643", CardBrand.UNKNOWN),
        ("644", CardBrand.DISCOVER),
        ("649", CardBrand.DISCOVER),
        ("65", CardBrand.DISCOVER),
        ("62", CardBrand.UNIONPAY),
        ("6304", CardBrand.MAESTRO),
        ("6759", CardBrand.MAESTRO),
        ("676770", CardBrand.MAESTRO),
        ("676774", CardBrand.MAESTRO),
        ("676771", CardBrand.UNKNOWN),
        ("1", CardBrand.UNKNOWN),
        ("9", CardBrand.UNKNOWN),
    ],
)
def test_brand_from_iin_ranges(prefix: str, brand: CardBrand) -> None:
    assert brand_of(prefix.ljust(16, "0")) is brand


@pytest.mark.parametrize(
    ("typed", "brand"), [("", CardBrand.UNKNOWN), ("5", CardBrand.UNKNOWN), ("4", CardBrand.VISA)]
)
def test_brand_of_partial_or_odd_input(typed: str, brand: CardBrand) -> None:
    assert brand_of(typed) is brand
    assert brand_of("4242 abc") is CardBrand.UNKNOWN
    assert brand_of("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢") is CardBrand.UNKNOWN


# --- digits and Luhn --------------------------------------------------------------------------


def test_digits_only_strips_spaces_and_dashes() -> None:
    assert digits_only(" 4242-4242 4242\u00a04242 ") == "4242424242424242"
    assert digits_only("") == ""


@pytest.mark.parametrize(
    "text",
    ["٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "۴۲۴۲", "４２４２", "4242_4242", "4242.4242", "42a2", "²", "½"],
)
def test_digits_only_refuses_non_ascii_digits_and_letters(text: str) -> None:
    with pytest.raises(CardError) as err:
        digits_only(text)
    assert err.value.field == "card_number"
    assert err.value.message == "Card number: use the digits 0–9 only."


def test_arabic_indic_digits_are_refused_although_isdigit_accepts_them() -> None:
    arabic = "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"  # 4242... in Arabic-Indic digits
    assert arabic.isdigit()  # the trap
    assert not luhn_valid(arabic)
    with pytest.raises(CardError, match="digits 0–9"):
        check_number(arabic)


def test_the_stripe_incorrect_number_fails_luhn() -> None:
    assert not luhn_valid("4242424242424241")
    with pytest.raises(CardError) as err:
        check_number("4242 4242 4242 4241")
    assert err.value.field == "card_number"
    assert err.value.message == "Card number: the number fails the check digit (typo?)."


@pytest.mark.parametrize("text", ["", "abc", "٤٢", "4242 4242", "0", "18", "79927398713"])
def test_luhn_known_values(text: str) -> None:
    assert luhn_valid(text) is (text in {"0", "18", "79927398713"})


@settings(max_examples=200, deadline=None)
@given(payload=st.text(alphabet="0123456789", min_size=11, max_size=18), data=st.data())
def test_luhn_catches_every_single_digit_error(payload: str, data: st.DataObject) -> None:
    number = with_check_digit(payload)
    position = data.draw(st.integers(min_value=0, max_value=len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not luhn_valid(number[:position] + wrong + number[position + 1 :])


# --- lengths and check_number -----------------------------------------------------------------


def test_valid_lengths() -> None:
    assert valid_lengths(CardBrand.AMEX) == (15,)
    assert valid_lengths(CardBrand.MASTERCARD) == (16,)
    assert valid_lengths(CardBrand.VISA) == (13, 16, 19)
    assert valid_lengths(CardBrand.UNKNOWN) == tuple(range(12, 20))
    assert all(12 <= n <= 19 for brand in CardBrand for n in valid_lengths(brand))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "enter the card number"),
        ("   ", "enter the card number"),
        ("4242 4242 4242", "too short"),
        ("4" + "0" * 19, "too long"),
        (with_check_digit("3782822463100"), "too short"),  # 14-digit Amex
        (with_check_digit("378282246310000"), "too long"),  # 16-digit Amex
        (with_check_digit("42424242424242"), "13, 16 or 19 digits"),  # 15-digit Visa
        (with_check_digit("9" * 10), "too short"),
        ("4242 4242 4242 424x", "digits 0–9"),
    ],
)
def test_check_number_refuses_with_a_field_named_message(text: str, needle: str) -> None:
    with pytest.raises(CardError) as err:
        check_number(text)
    assert err.value.field == "card_number"
    assert err.value.message.startswith("Card number:")
    assert needle in err.value.message


@pytest.mark.parametrize(
    "payload", ["424242424242", "424242424242424242", "555555555555444", "9" * 11, "9" * 18, "50000000000"]
)
def test_check_number_accepts_every_valid_length(payload: str) -> None:
    number = with_check_digit(payload)
    assert len(number) in valid_lengths(brand_of(number))
    assert check_number(number) == number


def test_errors_never_carry_the_number() -> None:
    number = "4242 4242 4242 4241"
    with pytest.raises(CardError) as err:
        check_number(number)
    assert "4242" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_no_number_is_kept_in_the_module() -> None:
    sentinel = with_check_digit("401288888888188")
    check_number(sentinel)
    brand_of(sentinel)
    mask(sentinel)
    first6_last4(sentinel)
    format_as_typed(sentinel)
    assert sentinel not in repr(vars(cards))


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=30) | st.text(alphabet="0123456789 -٤۴４", max_size=24))
def test_any_text_into_check_number_ends_in_digits_or_a_card_error(text: str) -> None:
    try:
        digits = check_number(text)
    except CardError as err:
        assert err.field == "card_number"
        assert err.message.startswith("Card number:")
        long_runs = re.findall(r"[0-9]{5,}", text)
        assert not any(run in err.message for run in long_runs)
    else:
        assert re.fullmatch(r"[0-9]{12,19}", digits)
        assert luhn_valid(digits)


# --- expiry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "year", "today", "expected"),
    [
        ("06", "25", TODAY, (6, 2025)),  # this month: valid through its last day
        ("6", "2025", date(2025, 6, 30), (6, 2025)),
        (6, 2025, TODAY, (6, 2025)),
        (12, 25, TODAY, (12, 2025)),
        ("01", "26", TODAY, (1, 2026)),
        (" 07 ", " 2030 ", TODAY, (7, 2030)),
        ("06", "45", TODAY, (6, 2045)),  # exactly 20 years ahead
        ("01", "00", date(2099, 12, 1), (1, 2100)),  # two-digit year rolls over the century
        ("05", "05", date(2095, 1, 1), (5, 2105)),
        ("12", "99", date(2099, 12, 31), (12, 2099)),
    ],
)
def test_check_expiry_accepts(
    month: str | int, year: str | int, today: date, expected: tuple[int, int]
) -> None:
    assert check_expiry(month, year, today) == expected


@pytest.mark.parametrize(
    ("month", "year", "needle"),
    [
        ("05", "25", "expired"),  # last month
        ("12", "2024", "expired"),
        ("24", "24", "01 to 12"),
        ("00", "30", "01 to 12"),
        ("13", "30", "01 to 12"),
        (0, 2030, "01 to 12"),
        (13, 2030, "01 to 12"),
        (-1, 2030, "01 to 12"),
        ("07", "2045", "more than 20 years"),
        ("01", "99", "more than 20 years"),  # '99' in 2025 is 2099, not 1999
        ("01", "24", "expired"),  # '24' in 2025 is 2024, not 2124
        ("", "30", "enter the month"),
        ("06", "", "enter the year"),
        ("6a", "30", "MM"),
        ("006", "30", "MM"),
        ("06", "202", "YY or YYYY"),
        ("06", "20301", "YY or YYYY"),
        ("06", "3O", "YY or YYYY"),
        ("٠٦", "30", "MM"),
        ("06", "٣٠", "YY or YYYY"),
        ("06", 123, "YY or YYYY"),
        ("06", -5, "YY or YYYY"),
        (True, 2030, "enter the month"),
    ],
)
def test_check_expiry_refuses_with_a_field_named_message(
    month: str | int, year: str | int, needle: str
) -> None:
    with pytest.raises(CardError) as err:
        check_expiry(month, year, TODAY)
    assert err.value.field == "expiry"
    assert err.value.message.startswith("Expiry:")
    assert needle in err.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06/25", (6, 2025)),
        ("06 / 2027", (6, 2027)),
        ("0627", (6, 2027)),
        ("6-27", (6, 2027)),
        ("062027", (6, 2027)),
    ],
)
def test_check_expiry_text(text: str, expected: tuple[int, int]) -> None:
    assert check_expiry_text(text, TODAY) == expected


@pytest.mark.parametrize("text", ["", "06", "06/", "/27", "6/2", "13/27", "05/25", "ab/cd", "06//27"])
def test_check_expiry_text_refuses(text: str) -> None:
    with pytest.raises(CardError) as err:
        check_expiry_text(text, TODAY)
    assert err.value.field == "expiry"
    assert err.value.message.startswith("Expiry:")


@settings(max_examples=300, deadline=None)
@given(
    month=st.text(max_size=4) | st.integers(-20, 20).map(str),
    year=st.text(max_size=5) | st.integers(-10, 3000).map(str) | st.integers(-10, 3000),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2200, 12, 31)),
)
def test_any_text_into_check_expiry_ends_in_a_value_or_a_card_error(
    month: str, year: str | int, today: date
) -> None:
    try:
        mm, yyyy = check_expiry(month, year, today)
    except CardError as err:
        assert err.field == "expiry"
        assert err.message.startswith("Expiry:")
    else:
        assert 1 <= mm <= 12
        assert (today.year, today.month) <= (yyyy, mm) <= (today.year + 20, today.month)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=10))
def test_any_text_into_check_expiry_text_ends_in_a_value_or_a_card_error(text: str) -> None:
    try:
        check_expiry_text(text, TODAY)
    except CardError as err:
        assert err.field == "expiry" and err.message.startswith("Expiry:")


# --- CVC --------------------------------------------------------------------------------------


def test_cvc_length_is_four_for_amex_only() -> None:
    assert cvc_length(CardBrand.AMEX) == 4
    assert all(cvc_length(brand) == 3 for brand in CardBrand if brand is not CardBrand.AMEX)


@pytest.mark.parametrize(
    ("cvc", "brand", "expected"),
    [
        ("123", CardBrand.VISA, "123"),
        (" 737 ", CardBrand.MASTERCARD, "737"),
        ("1234", CardBrand.AMEX, "1234"),
    ],
)
def test_check_cvc_accepts(cvc: str, brand: CardBrand, expected: str) -> None:
    assert check_cvc(cvc, brand) == expected


@pytest.mark.parametrize(
    ("cvc", "brand", "message"),
    [
        ("123", CardBrand.AMEX, "CVC: American Express cards have a 4-digit code."),
        ("12345", CardBrand.AMEX, "CVC: American Express cards have a 4-digit code."),
        ("1234", CardBrand.VISA, "CVC: Visa cards have a 3-digit code."),
        ("12", CardBrand.MASTERCARD, "CVC: Mastercard cards have a 3-digit code."),
        ("12", CardBrand.UNKNOWN, "CVC: the card has a 3-digit code."),
        ("", CardBrand.VISA, "CVC: enter the security code."),
        ("12a", CardBrand.VISA, "CVC: use the digits 0–9 only."),
        ("١٢٣", CardBrand.VISA, "CVC: use the digits 0–9 only."),
        ("1 23", CardBrand.VISA, "CVC: use the digits 0–9 only."),
    ],
)
def test_check_cvc_refuses(cvc: str, brand: CardBrand, message: str) -> None:
    with pytest.raises(CardError) as err:
        check_cvc(cvc, brand)
    assert err.value.field == "cvc"
    assert err.value.message == message


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=6), brand=st.sampled_from(CardBrand))
def test_any_text_into_check_cvc_ends_in_a_value_or_a_card_error(text: str, brand: CardBrand) -> None:
    try:
        code = check_cvc(text, brand)
    except CardError as err:
        assert err.field == "cvc" and err.message.startswith("CVC:")
    else:
        assert re.fullmatch(r"[0-9]+", code) and len(code) == cvc_length(brand)


# --- masking and formatting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("4242424242424242", "•••• •••• •••• 4242"),
        ("4242 4242 4242 4242", "•••• •••• •••• 4242"),
        ("378282246310005", "•••• •••••• •0005"),
        ("4222222222222", "•••• •••• •222 2"),
        ("4242", "••••"),
        ("", ""),
    ],
)
def test_mask_shows_only_the_last_four(number: str, masked: str) -> None:
    assert mask(number) == masked


@settings(max_examples=200, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_mask_never_shows_more_than_the_last_four(digits: str) -> None:
    masked = mask(digits)
    assert re.sub(r"[^0-9]", "", masked) == digits[-4:]
    assert masked.count("•") == len(digits) - 4


def test_first6_last4() -> None:
    assert first6_last4("4242 4242 4242 4242") == ("424242", "4242")
    assert first6_last4("378282246310005") == ("378282", "0005")
    with pytest.raises(CardError):
        first6_last4("42424242")
    with pytest.raises(CardError):
        first6_last4("4" * 20)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("", ""),
        ("4", "4"),
        ("4242", "4242"),
        ("42424", "4242 4"),
        ("4242424242424242", "4242 4242 4242 4242"),
        ("4242 4242 4242 4242", "4242 4242 4242 4242"),
        ("4242-4242-4242-4242", "4242 4242 4242 4242"),
        ("4242424242424242424", "4242 4242 4242 4242 424"),
        ("42424242424242424242424", "4242 4242 4242 4242 424"),
        ("3782822", "3782 822"),
        ("378282246310005", "3782 822463 10005"),
        ("3782822463100059", "3782 822463 10005"),
        ("30569309025904", "3056 930902 5904"),
        ("5555555555554444", "5555 5555 5555 4444"),
        ("5555555555554444999", "5555 5555 5555 4444"),
        ("4242abc4242", "4242 4242"),
        ("4242٤4242", "4242 4242"),
    ],
)
def test_format_as_typed(typed: str, shown: str) -> None:
    assert format_as_typed(typed) == shown


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("0123456789 -/ab٤"), max_size=30) | st.text(max_size=30))
def test_format_as_typed_is_idempotent_and_keeps_the_digits_in_order(text: str) -> None:
    shown = format_as_typed(text)
    assert format_as_typed(shown) == shown
    typed = re.sub(r"[^0-9]", "", text)
    assert typed.startswith(shown.replace(" ", ""))
