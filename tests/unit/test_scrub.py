"""Scrubbing of card data and secrets (SECURITY.md PCI-1..3): one fixture per rule, input -> expected output,
plus property tests that no Luhn-valid card number survives wherever it is embedded.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.domain.scrub import (
    FIXED_MASK,
    contains_card_number,
    luhn_ok,
    scrub_headers,
    scrub_mapping,
    scrub_text,
    scrub_value,
)

# -- free text ----------------------------------------------------------------------------------------
TEXT_FIXTURES: list[tuple[str, str, str]] = [
    ("plain-pan", "card 4242424242424242 ok", "card ************4242 ok"),
    ("spaced-pan", "card 4242 4242 4242 4242.", "card ************4242."),
    ("dashed-pan", "4111-1111-1111-1111", "************1111"),
    ("amex-15", "Amex 3782 822463 10005", "Amex ***********0005"),
    ("13-digit", "old visa 4222222222222", "old visa *********2222"),
    ("19-digit", "6250941006528599024 unionpay", "***************9024 unionpay"),
    ("not-luhn", "ref 7887623286012904 stays", "ref 7887623286012904 stays"),
    # A run that fails Luhn as a whole but holds a Luhn-valid 13-19 digit window is masked there.
    ("luhn-window-inside", "ref 4242424242424241", "ref ***************1"),
    ("short-run", "RRN 228680501735 stan 922515", "RRN 228680501735 stan 922515"),
    ("double-space-splits", "4242  4242 4242 4242", "4242  4242 4242 4242"),
    ("pan-glued-in-digits", "99424242424242424299", "***************24299"),
    ("json-card-number", '{"cardNumber":"5555555555554444"}', '{"cardNumber":"************4444"}'),
    ("json-number-literal", '{"cardNumber": 4242424242424242}', '{"cardNumber": "************4242"}'),
    ("json-snake-pan", '{"card_number":"4111 1111 1111 1111"}', '{"card_number":"************1111"}'),
    ("json-pan-key", '{"pan":"4000000000000002"}', '{"pan":"************0002"}'),
    (
        "json-cvc",
        '{"cvc":"123","cvv":"4567","cvn":12,"securityCode":"999"}',
        '{"cvc":"***","cvv":"***","cvn":"***","securityCode":"***"}',
    ),
    (
        "json-expiry",
        '{"expiryMonth":"12","expiryYear":"29","expiry":"12/29"}',
        '{"expiryMonth":"**","expiryYear":"**","expiry":"**/**"}',
    ),
    (
        "json-secrets",
        '{"token":"abc123def","secret":"s","password":"p","apiKey":"k","signature":"sig"}',
        '{"token":"***","secret":"***","password":"***","apiKey":"***","signature":"***"}',
    ),
    (
        "json-untouched",
        '{"amount":100,"orderId":"an-order-id","customerId":"23"}',
        '{"amount":100,"orderId":"an-order-id","customerId":"23"}',
    ),
    (
        "form",
        "cardHolderName=Mr+Customer&cardNumber=4242424242424242&expiryMonth=12&cvc=123&orderId=o-1",
        "cardHolderName=Mr+Customer&cardNumber=************4242&expiryMonth=**&cvc=***&orderId=o-1",
    ),
    (
        "form-brackets",
        "card[number]=4242424242424242&card%5Bcvc%5D=123",
        "card[number]=************4242&card%5Bcvc%5D=***",
    ),
    (
        "log-style",
        "retry with cvv=123 and pan='4242424242424242'",
        "retry with cvv=*** and pan='************4242'",
    ),
    (
        "xml",
        "<cardNumber>4242424242424242</cardNumber><cvv>123</cvv>",
        "<cardNumber>************4242</cardNumber><cvv>***</cvv>",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in TEXT_FIXTURES], ids=[c[0] for c in TEXT_FIXTURES]
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_scrub_text_masks_given_secrets() -> None:
    secret = "AXz7ovfpCdzznQMgFUnN8IPlyH1+qAVMjF5CaYbopIc="
    assert scrub_text(f"key {secret} and again{secret}", [secret]) == "key *** and again***"
    # Very short "secrets" would mask ordinary text; they are ignored.
    assert scrub_text("a 1 b", ["1"]) == "a 1 b"


# -- parsed JSON, by field name (PCI-3: one fixture per rule) -----------------------------------------
MAPPING_FIXTURES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("card-number-keeps-last-4", {"cardNumber": "4242424242424242"}, {"cardNumber": "************4242"}),
    ("card-number-as-int", {"number": 4111111111111111}, {"number": "************1111"}),
    (
        "cvc-all",
        {"card": {"cvc": "123", "securityCode": 4567}},
        {"card": {"cvc": "***", "securityCode": "***"}},
    ),
    ("expiry-mostly", {"expiryDate": "1229", "exp_month": 7}, {"expiryDate": "****", "exp_month": "*"}),
    ("bin-keeps-first-6", {"bin": "42424242"}, {"bin": "424242**"}),
    ("iban-keeps-last-4", {"iban": "GB33BUKB20201555555555"}, {"iban": "******************5555"}),
    ("token-fixed", {"token": "3173b35fcc744fa88c5cdb425838cd08"}, {"token": FIXED_MASK}),
    (
        "secret-fixed",
        {"clientSecret": "x", "merchant_password": "y", "secureKey": "z"},
        {"clientSecret": FIXED_MASK, "merchant_password": FIXED_MASK, "secureKey": FIXED_MASK},
    ),
    (
        "authorization-object",
        {"authorization": {"scheme": "Bearer", "value": "abc"}},
        {"authorization": FIXED_MASK},
    ),
    (
        "signature-fixed",
        {"signature": "NI5HlmdhylurFACRLFuqbzWVokAldAu8lXUFzLzfsH0="},
        {"signature": FIXED_MASK},
    ),
    (
        "pan-in-free-text",
        {"message": "card 4000 0000 0000 0002 declined"},
        {"message": "card ************0002 declined"},
    ),
    ("pan-as-unnamed-int", {"x": 4242424242424242}, {"x": "************4242"}),
    (
        "lists",
        {"items": [{"cvv": "1"}, "4242424242424242", 3]},
        {"items": [{"cvv": "***"}, "************4242", 3]},
    ),
    (
        "identifiers-kept",
        {"idempotencyKey": "k-1", "keyId": "kid", "transactionId": "t", "cardMask": "4242-42xx-xxxx-4242"},
        {"idempotencyKey": "k-1", "keyId": "kid", "transactionId": "t", "cardMask": "4242-42xx-xxxx-4242"},
    ),
    (
        "ogo-purchase-answer",
        {
            "success": True,
            "message": "Transaction successfull",
            "result": {
                "referenceNumber": "228680501735",
                "responseCode": "00",
                "approvalCode": "3jcPVy",
                "stan": 922515,
                "type": 200,
                "transactionId": "3b2d9f5c-d8d3-4220-a1f8-13babe066050",
                "message": "Approved",
            },
        },
        {
            "success": True,
            "message": "Transaction successfull",
            "result": {
                "referenceNumber": "228680501735",
                "responseCode": "00",
                "approvalCode": "3jcPVy",
                "stan": 922515,
                "type": 200,
                "transactionId": "3b2d9f5c-d8d3-4220-a1f8-13babe066050",
                "message": "Approved",
            },
        },
    ),
    (
        "null-and-bool-kept",
        {"cvc": None, "token": None, "success": False},
        {"cvc": None, "token": None, "success": False},
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in MAPPING_FIXTURES], ids=[c[0] for c in MAPPING_FIXTURES]
)
def test_scrub_mapping(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    before = json.dumps(obj)
    assert scrub_mapping(obj) == expected
    assert json.dumps(obj) == before  # the input is not modified


def test_scrub_mapping_masks_secrets_under_any_name() -> None:
    assert scrub_mapping({"note": "sandbox-ogo-secret"}, ["sandbox-ogo-secret"]) == {"note": FIXED_MASK}


# -- headers ----------------------------------------------------------------------------------------------
def test_scrub_headers() -> None:
    headers = {
        "Authorization": "OGO kangaroo:C7WInYIVNkjhFUD5MWtjqJkLX5qU+vJLDfFYSUiMSog=",
        "Proxy-Authorization": "Basic abc",
        "Cookie": "session=1",
        "Set-Cookie": "session=2",
        "X-Api-Key": "k",
        "X-GCS-Signature": "s",
        "X-Merchant-Key": "m",
        "X-GCS-KeyId": "key-id",
        "Date": "2019-06-02T09:30:01.561Z",
        "Content-Type": "application/json",
        "X-Note": "card 4242424242424242",
    }
    assert scrub_headers(headers) == {
        "authorization": FIXED_MASK,
        "proxy-authorization": FIXED_MASK,
        "cookie": FIXED_MASK,
        "set-cookie": FIXED_MASK,
        "x-api-key": FIXED_MASK,
        "x-gcs-signature": FIXED_MASK,
        "x-merchant-key": FIXED_MASK,
        "x-gcs-keyid": "key-id",
        "date": "2019-06-02T09:30:01.561Z",
        "content-type": "application/json",
        "x-note": "card ************4242",
    }


def test_scrub_headers_pairs_with_repeats() -> None:
    assert scrub_headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("Via", "1.1 x")]) == {
        "set-cookie": f"{FIXED_MASK}, {FIXED_MASK}",
        "via": "1.1 x",
    }


# -- properties ------------------------------------------------------------------------------------------
def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, as typed): a Luhn-valid 13-19 digit number, possibly with single spaces or dashes."""
    length = draw(st.integers(13, 19))
    digits = _luhn_complete(draw(st.text("0123456789", min_size=length - 1, max_size=length - 1)))
    typed = digits[0]
    for digit in digits[1:]:
        typed += draw(st.sampled_from(["", "", "", " ", "-"])) + digit
    return digits, typed


def _independent_sweep(text: str) -> list[str]:
    """Every Luhn-valid 13-19 digit window in runs of digits joined by at most single spaces/dashes."""
    found: list[str] = []
    runs: list[str] = []
    current = ""
    for index, char in enumerate(text):
        if char in "0123456789":
            current += char
        elif char in " -" and current and index + 1 < len(text) and text[index + 1] in "0123456789":
            continue
        else:
            if current:
                runs.append(current)
            current = ""
    if current:
        runs.append(current)
    for run in runs:
        for start in range(len(run)):
            for length in range(13, 20):
                window = run[start : start + length]
                if len(window) == length and luhn_ok(window):
                    found.append(window)
    return found


# Random text, and text made of the characters most likely to merge with a card number.
_SURROUNDINGS = st.one_of(st.text(max_size=30), st.text("0123456789 -+%", max_size=30))


@settings(max_examples=400, deadline=None)
@given(card=card_numbers(), before=_SURROUNDINGS, after=_SURROUNDINGS)
def test_no_card_number_survives_scrub_text(card: tuple[str, str], before: str, after: str) -> None:
    digits, typed = card
    scrubbed = scrub_text(before + typed + after)
    assert digits not in scrubbed
    assert typed not in scrubbed
    assert _independent_sweep(scrubbed) == []
    assert not contains_card_number(scrubbed)


_KEYS = st.sampled_from(["note", "cardNumber", "pan", "message", "id", "cvc", "data", "x"])


@settings(max_examples=150, deadline=None)
@given(
    card=card_numbers(),
    key=_KEYS,
    filler=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4),
)
def test_no_card_number_survives_scrub_value(card: tuple[str, str], key: str, filler: dict[str, str]) -> None:
    digits, typed = card
    scrubbed = scrub_value({"outer": [filler, {key: typed}, {key: int(digits)}]})
    text = json.dumps(scrubbed)
    assert digits not in text
    assert _independent_sweep(text) == []


@given(st.text(max_size=60))
def test_scrub_text_is_idempotent(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cardNumber=4242+4242+4242+4242", "cardNumber=************4242"),
        ("note=call%204242%204242%204242%204242%20now", "note=call%20************4242%20now"),
        ("1+2=3 and 50%20off", "1+2=3 and 50%20off"),
    ],
    ids=["plus", "percent-20", "ordinary"],
)
def test_url_encoded_separators(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_escape_digits_cannot_hide_a_card_number() -> None:
    # '%24' is '$': its '4' is not the card's first digit, and the card must still be masked.
    assert "4242424242424242" not in scrub_text("price%244242424242424242")
    assert "4242424242424242" not in scrub_text("x%204242424242424242")
