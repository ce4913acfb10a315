"""Normalised decline codes and their plain words."""

from __future__ import annotations

import pytest

from terminal.domain.declines import DeclineCode, from_iso8583, plain_words


@pytest.mark.parametrize("code", list(DeclineCode))
def test_every_code_has_a_sentence(code: DeclineCode) -> None:
    words = plain_words(code)
    assert words and words[0].isupper() and words.endswith(".")


@pytest.mark.parametrize(
    ("response", "code"),
    [
        ("05", DeclineCode.DO_NOT_HONOUR),
        ("51", DeclineCode.INSUFFICIENT_FUNDS),
        ("54", DeclineCode.EXPIRED_CARD),
        ("14", DeclineCode.INVALID_CARD),
        ("82", DeclineCode.CVC_FAILED),
        ("N7", DeclineCode.CVC_FAILED),
        ("n7", DeclineCode.CVC_FAILED),
        (" 51 ", DeclineCode.INSUFFICIENT_FUNDS),
        ("01", DeclineCode.REFERRAL),
        ("02", DeclineCode.REFERRAL),
        ("04", DeclineCode.SUSPECTED_FRAUD),
        ("07", DeclineCode.SUSPECTED_FRAUD),
        ("41", DeclineCode.SUSPECTED_FRAUD),
        ("43", DeclineCode.SUSPECTED_FRAUD),
        ("59", DeclineCode.SUSPECTED_FRAUD),
        ("57", DeclineCode.NOT_PERMITTED),
        ("58", DeclineCode.NOT_PERMITTED),
        ("62", DeclineCode.NOT_PERMITTED),
        ("61", DeclineCode.LIMIT_EXCEEDED),
        ("65", DeclineCode.LIMIT_EXCEEDED),
    ],
)
def test_iso8583_mapping(response: str, code: DeclineCode) -> None:
    assert from_iso8583(response) is code


@pytest.mark.parametrize("response", ["", "00", "99", "5", "051", "XX"])
def test_unlisted_iso8583_codes_are_other(response: str) -> None:
    assert from_iso8583(response) is DeclineCode.OTHER


def test_codes_are_stable_strings() -> None:
    assert DeclineCode("insufficient_funds") is DeclineCode.INSUFFICIENT_FUNDS
    assert str(DeclineCode.DO_NOT_HONOUR) == "do_not_honour"
