"""Paymentz checksum formulas (docs/gateways/paymentz.md 2.4): one test per formula, plus the doc's vectors.

Each expected value is md5 over the documented field order, written out here as the literal joined string,
so a formula that swaps, drops or adds a field fails its test.
"""

from __future__ import annotations

import hashlib

import pytest

from terminal.gateways import paymentz_checksum as cs

M, K = "10001", "SecKey123"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the vendor's formula


def test_documented_sale_vector() -> None:
    assert cs.payment(M, K, "ORD-1001", "50.00") == "9a094a754bba07d2a2893d07464054bd"


def test_documented_inquiry_vector() -> None:
    assert cs.reference_only(M, K, "123456") == "25575fc3fe4dd2136ba3b27fc6f88fe7"


def test_documented_notification_vector() -> None:
    assert cs.notification("123456", "ORD-1001", "50.00", "Y", K) == "ec3e5f59382446667f12289f9e2cb15a"


def test_documented_notification_example_shape() -> None:
    # docs: "77251|011E1D8A5C034|156.00|N|<key>"
    assert cs.notification("77251", "011E1D8A5C034", "156.00", "N", K) == md5(
        f"77251|011E1D8A5C034|156.00|N|{K}"
    )


@pytest.mark.parametrize(
    ("value", "joined"),
    [
        (lambda: cs.payment(M, K, "ORD-2", "12.30"), f"{M}|{K}|ORD-2|12.30"),
        (lambda: cs.follow_up_with_amount(M, K, "700001", "5.00"), f"{M}|{K}|700001|5.00"),
        (lambda: cs.reference_only(M, K, "700001"), f"{M}|{K}|700001"),
        (lambda: cs.reference_only(M, K, "ORD-2"), f"{M}|{K}|ORD-2"),  # IN with idType=MID
        (lambda: cs.payout(M, "PO-1", "20.00", K), f"{M}|PO-1|20.00|{K}"),
        (lambda: cs.registration(M, K, "4111111111111111"), f"{M}|{K}|4111111111111111"),
        (lambda: cs.token_payment(M, K, "REG1", "9.99"), f"{M}|{K}|REG1|9.99"),
        (lambda: cs.reference_only(M, K, "REG1"), f"{M}|{K}|REG1"),  # delete token
        (lambda: cs.transaction_list(M, K), f"{M}|{K}"),
        (lambda: cs.checkout(M, "1", "50.00", "ORD-3", "http://x/r", K), f"{M}|1|50.00|ORD-3|http://x/r|{K}"),
        (
            lambda: cs.invoice_generate(M, K, "Order 4", "7.00", "http://x/r"),
            f"{M}|{K}|Order 4|7.00|http://x/r",
        ),
        (
            lambda: cs.invoice_generate(M, K, "Order 4", "7.00", "http://x/r", "3"),
            f"{M}|{K}|Order 4|7.00|http://x/r|3",
        ),
        (lambda: cs.invoice_action(M, K, "INV9"), f"{M}|{K}|INV9"),
    ],
    ids=[
        "sale_preauth",
        "capture_refund",
        "reversal_inquiry_by_paymentId",
        "inquiry_by_merchantTransactionId",
        "payout_order",
        "registration",
        "pay_with_token",
        "delete_token",
        "transaction_list",
        "standard_checkout",
        "invoice_generate",
        "invoice_generate_v2_quantity",
        "invoice_action",
    ],
)
def test_formula(value: object, joined: str) -> None:
    assert callable(value)
    result = value()
    assert result == md5(joined)
    assert len(result) == 32 and result == result.lower()


def test_payout_order_differs_from_sale_order() -> None:
    assert cs.payout(M, "ORD-1001", "50.00", K) != cs.payment(M, K, "ORD-1001", "50.00")


def test_matches_is_case_insensitive_and_strict() -> None:
    good = cs.payment(M, K, "ORD-1001", "50.00")
    assert cs.matches(good, good.upper())
    assert not cs.matches(good, cs.payment(M, K, "ORD-1001", "50.01"))
