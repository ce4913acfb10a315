"""Receipts as data: both copies, the currency's own decimals, masked card, kind words, SANDBOX mark."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.receipts import (
    ReceiptCopy,
    ReceiptSettings,
    build_receipt,
    format_amount,
    receipt_operation,
)

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def payment(kind: OperationKind, minor: int, currency: str, *, sandbox: bool = True) -> Transaction:
    tx = Transaction(
        "tx1",
        "ogopay",
        "ogopay-sandbox",
        "INV-77",
        currency,
        AT,
        card=CardSummary("Visa", "424242", "4242", "12/30", token="tok_secret"),
        sandbox=sandbox,
    )
    op = Operation(
        "op1",
        tx.id,
        kind,
        Money(minor, currency),
        OperationState.SUCCEEDED,
        "k1",
        "INV-77",
        AT,
        AT,
        operator="clerk-ann",
        gateway_reference="GW-9",
        approval_code="A12345",
    )
    return tx.with_operation(op)


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (1250, "OMR", "OMR\u00a01.250"),
        (125050, "LKR", "LKR\u00a01,250.50"),
        (15000, "CLP", "CLP\u00a015,000"),
    ],
)
def test_amount_has_the_currency_decimals(minor: int, currency: str, shown: str) -> None:
    assert format_amount(Money(minor, currency)) == shown
    receipt = build_receipt(payment(OperationKind.SALE, minor, currency))
    assert receipt.amount == shown and shown in receipt.text()


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        (OperationKind.SALE, "SALE"),
        (OperationKind.AUTHORIZE, "PRE-AUTH"),
        (OperationKind.PAYOUT, "PAYOUT"),
    ],
)
def test_both_copies_masked_with_kind_and_codes(kind: OperationKind, word: str) -> None:
    tx = payment(kind, 1250, "OMR")
    settings = ReceiptSettings(merchant_name="Corner Shop", header_lines=("12 High St", "VAT 123"))
    merchant = build_receipt(tx, None, ReceiptCopy.MERCHANT, settings)
    customer = build_receipt(tx, None, ReceiptCopy.CUSTOMER, settings)
    for receipt in (merchant, customer):
        text = receipt.text()
        for expected in (
            "Corner Shop",
            "12 High St",
            word,
            "APPROVED",
            "Visa •••• 4242",
            "A12345",
            "INV-77",
            "GW-9",
        ):
            assert expected in text, expected
        assert "424242" not in text and "tok_secret" not in text and "12/30" not in text
        assert not re.search(r"\d{11,}", text)
        assert "SANDBOX" in text
    assert "MERCHANT COPY" in merchant.text() and "clerk-ann" in merchant.text()
    assert "CUSTOMER COPY" in customer.text() and "clerk-ann" not in customer.text()


def test_follow_ups_and_live_receipts() -> None:
    tx = payment(OperationKind.AUTHORIZE, 5000, "EUR", sandbox=False)
    capture = Operation(
        "op2",
        tx.id,
        OperationKind.CAPTURE,
        Money(3000, "EUR"),
        OperationState.SUCCEEDED,
        "k2",
        "INV-77",
        AT,
        AT,
    )
    refund = Operation(
        "op3", tx.id, OperationKind.REFUND, Money(1000, "EUR"), OperationState.UNKNOWN, "k3", "INV-77", AT, AT
    )
    tx = tx.with_operation(capture).with_operation(refund)
    assert receipt_operation(tx) == capture  # the refund's outcome is not known: not printed by default
    receipt = build_receipt(tx)
    assert receipt.kind == "CAPTURE" and receipt.amount == "€\u00a030.00"
    assert "SANDBOX" not in receipt.text()
    assert build_receipt(tx, refund).status == "OUTCOME UNKNOWN"
    voided = tx.with_operation(
        Operation(
            "op4", tx.id, OperationKind.VOID, Money(5000, "EUR"), OperationState.DECLINED, "k4", "", AT, AT
        )
    )
    assert build_receipt(voided).kind == "VOID" and "No money was taken." in build_receipt(voided).text()
