"""TEST-5: Hypothesis throws typed text at every parser a clerk or an administrator feeds: amounts, card
number/expiry/CVC, order references (through the real payment service), settings and credentials. Every
input ends in a valid value or the parser's own error with a message naming the field; never a crash.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from terminal.assembly import Services, build_services
from terminal.domain.cards import CardBrand, CardError, check_cvc, check_expiry_text, check_number
from terminal.domain.money import Money, MoneyError, known_currencies, parse_amount
from terminal.domain.operations import OperationKind
from terminal.domain.roles import CredentialError, Role, check_credential, check_login
from terminal.gateways.registry import GATEWAYS, SETTINGS_FIELDS
from terminal.services.payments import PaymentInputError
from terminal.services.profiles import Profile
from terminal.services.settings import SettingsError, parse_preferences, parse_profile, parse_sandbox_edit

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Typed text: digits and separators a keyboard gives, other scripts' digits, signs, letters, spaces.
TYPED = st.lists(
    st.sampled_from([*"0123456789 .,'-+eE_/", "\u00a0", "\u2212", "١", "٣", "NaN", "Inf", "x", "€"]),
    max_size=16,
).map("".join)
ANY_TEXT = st.one_of(TYPED, st.text(max_size=40))
CURRENCIES = sorted(known_currencies())


def _said(message: str, field_words: str) -> None:
    assert message.startswith(field_words), message
    assert len(message) > len(field_words) + 3


@FUZZ
@given(
    text=ANY_TEXT, currency=st.sampled_from(["EUR", "JPY", "OMR", "CLP", "LKR", "USD", "eur", "XTS", "ZZZ"])
)
@example(text="NaN", currency="EUR")
@example(text="1e3", currency="EUR")
@example(text="0.001", currency="EUR")
@example(text="-0", currency="EUR")
@example(text="1.234,56", currency="EUR")
@example(text="١٢", currency="EUR")
def test_amount_text_gives_money_or_a_named_error(text: str, currency: str) -> None:
    try:
        money = parse_amount(text, currency)
    except MoneyError as exc:
        assert exc.field in ("amount", "currency")
        assert exc.message and ("Amount" in exc.message or "urrency" in exc.message), exc.message
        return
    assert isinstance(money, Money) and money.minor > 0
    assert re.fullmatch(r"[+\s0-9.,'\u00a0]+", text.strip()), text  # only ASCII digits make money
    assert parse_amount(money.plain(), money.currency) == money  # round trip


@FUZZ
@given(text=ANY_TEXT)
@example(text="4242 4242 4242 4242")
@example(text="４２４２４２４２４２４２４２４２")  # full-width digits are not card digits
def test_card_number_gives_digits_or_a_named_error(text: str) -> None:
    try:
        digits = check_number(text)
    except CardError as exc:
        assert exc.field == "card_number"
        _said(exc.message, "Card number:")
        return
    assert re.fullmatch(r"[0-9]{12,19}", digits)


@FUZZ
@given(text=ANY_TEXT)
@example(text="00/30")
@example(text="13/30")
@example(text="12/99")
def test_expiry_text_gives_a_month_or_a_named_error(text: str) -> None:
    today = date(2026, 11, 23)
    try:
        month, year = check_expiry_text(text, today)
    except CardError as exc:
        assert exc.field.startswith("expiry")
        assert exc.message.startswith("Expiry"), exc.message
        return
    assert 1 <= month <= 12 and (year, month) >= (today.year, today.month)
    # The value is the one typed: its month and year digits are those of the text, not a guess.
    compact = re.sub(r"\s+", "", text)
    parts = re.split(r"[/\-.]", compact)
    typed_month, typed_year = parts if len(parts) == 2 else (compact[:2], compact[2:])
    assert int(typed_month) == month and int(typed_year) in (year, year % 100)


@FUZZ
@given(text=ANY_TEXT, brand=st.sampled_from(list(CardBrand)))
def test_cvc_gives_digits_or_a_named_error(text: str, brand: CardBrand) -> None:
    try:
        cvc = check_cvc(text, brand)
    except CardError as exc:
        assert exc.field == "cvc"
        _said(exc.message, "CVC")
        return
    assert re.fullmatch(r"[0-9]{3,4}", cvc)


@FUZZ
@given(currency=ANY_TEXT, header=st.text(max_size=260))
def test_preferences_give_values_or_a_named_error(currency: str, header: str) -> None:
    try:
        prefs = parse_preferences({"default_currency": currency, "receipt_header": header})
    except SettingsError as exc:
        assert exc.field in ("default_currency", "receipt_header")
        _said(
            exc.message,
            {"default_currency": "Default currency:", "receipt_header": "Receipt header:"}[exc.field],
        )
        return
    assert prefs.default_currency in ("", *CURRENCIES)
    assert len(prefs.receipt_header) <= 200


@FUZZ
@given(
    gateway=st.sampled_from(GATEWAYS),
    live=st.booleans(),
    values=st.dictionaries(
        st.sampled_from(
            ["id", "name", "currency", "direct_entry", *{f for fs in SETTINGS_FIELDS.values() for f in fs}]
        ),
        st.one_of(
            ANY_TEXT, st.sampled_from(["https://gw.example.com", "http://127.0.0.1:9", "shop-1", "on", "EUR"])
        ),
    ),
)
def test_profile_settings_give_a_profile_or_a_named_error(
    gateway: str, live: bool, values: dict[str, str]
) -> None:
    try:
        profile = parse_profile(gateway, values, live=live)
    except SettingsError as exc:
        assert exc.field in {"id", "name", "currency", "direct_entry", "gateway", *SETTINGS_FIELDS[gateway]}
        assert ":" in exc.message and len(exc.message) > 8
        return
    assert profile.gateway == gateway and profile.live == live
    for field in SETTINGS_FIELDS[gateway]:
        assert profile.settings[field].strip() == profile.settings[field] != ""
        if live and profile.settings[field].startswith("http"):
            assert profile.settings[field].startswith("https://")


@FUZZ
@given(name=ANY_TEXT, direct=st.sampled_from(["", "on", "off", "ON", "yes"]))
def test_sandbox_edit_changes_only_name_and_direct_entry(name: str, direct: str) -> None:
    existing = Profile(
        "ompay-sandbox", "ompay", "OMPay demo", "OMR", False, {"base_url": "http://127.0.0.1:9"}
    )
    try:
        edited = parse_sandbox_edit(existing, {"name": name, "direct_entry": direct})
    except SettingsError as exc:
        assert exc.field in ("name", "direct_entry")
        return
    assert (edited.id, edited.currency, edited.settings["base_url"]) == (
        "ompay-sandbox",
        "OMR",
        "http://127.0.0.1:9",
    )


@FUZZ
@given(role=st.sampled_from(list(Role)), secret=st.text(max_size=40), login=ANY_TEXT)
def test_credentials_and_logins_give_values_or_named_errors(role: Role, secret: str, login: str) -> None:
    try:
        assert check_credential(role, secret) == secret
    except CredentialError as exc:
        assert exc.field == ("pin" if role is Role.CLERK else "password")
        assert exc.message.startswith(("PIN:", "Password:"))
    try:
        normalised = check_login(login)
    except CredentialError as exc:
        assert exc.field == "login" and exc.message.startswith("Login:")
    else:
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,31}", normalised)


# -- references, through the real payment service against the simulator ------------------------------
@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    loop = asyncio.new_event_loop()
    built = build_services(
        tmp_path_factory.mktemp("fuzz") / "data", force_sandbox=True, sign_in_as="demo-clerk"
    )
    built.loop = loop  # type: ignore[attr-defined]
    yield built
    loop.run_until_complete(built.aclose())
    loop.close()


REFERENCES = st.one_of(
    st.text(alphabet=st.sampled_from(list("AZaz09._- /#ü")), max_size=45),
    st.text(max_size=45),
    st.sampled_from(["4242424242424242", "ORD 4242-4242-4242-4242", "-lead", "a" * 40, "a" * 41]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reference=REFERENCES)
def test_reference_is_used_or_refused_by_name(services: Services, reference: str) -> None:
    assume("\x00" not in reference)
    loop: asyncio.AbstractEventLoop = services.loop  # type: ignore[attr-defined]
    profile = services.profiles.all()[0]
    before = loop.run_until_complete(services.history.count())
    try:
        hosted = loop.run_until_complete(
            services.payments.begin_hosted(
                profile.id, OperationKind.SALE, Money(1000, profile.currency),
                return_url="http://127.0.0.1:9/return", merchant_reference=reference,
            )
        )  # fmt: skip
    except PaymentInputError as exc:
        assert exc.field == "reference", exc
        assert exc.message.startswith("Order reference:")
        assert loop.run_until_complete(services.history.count()) == before  # nothing written
        return
    used = hosted.transaction.merchant_reference
    assert used == reference.strip() or (not reference.strip() and used.startswith("MT"))
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", used)
    loop.run_until_complete(services.payments.cancel_hosted(hosted))
