"""Receipt view: the PDF is a real PDF whose text holds the masked card and the SANDBOX mark (PCI-5),
the preview text holds nothing unmasked, and the dialog is driven by the keyboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtTest import QTest

from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.receipts import ReceiptCopy, ReceiptSettings, build_receipt
from terminal.ui.receipt_view import ReceiptView, write_pdf

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def transaction(sandbox: bool = True) -> Transaction:
    tx = Transaction(
        "tx1", "ogopay", "ogopay-sandbox", "INV-501", "OMR", AT,
        card=CardSummary("Mastercard", "555555", "4444", "11/29", token="tok_abc"), sandbox=sandbox,
    )  # fmt: skip
    op = Operation(
        "op1", tx.id, OperationKind.SALE, Money(1250, "OMR"), OperationState.SUCCEEDED, "k1", "INV-501",
        AT, AT, approval_code="AP7788", gateway_reference="GW-31",
    )  # fmt: skip
    return tx.with_operation(op)


def pdf_text(path: Path) -> str:
    doc = QPdfDocument()
    assert doc.load(str(path)) == QPdfDocument.Error.None_
    text = "\n".join(doc.getAllText(page).text() for page in range(doc.pageCount()))
    doc.close()
    return text


def test_pdf_is_valid_and_carries_masked_values_and_sandbox(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tx = transaction()
    copies = [
        build_receipt(tx, None, copy, ReceiptSettings(merchant_name="Corner Shop")) for copy in ReceiptCopy
    ]
    path = write_pdf(tmp_path / "receipt.pdf", copies)
    assert path.read_bytes().startswith(b"%PDF-")
    text = pdf_text(path)
    doc = QPdfDocument()
    doc.load(str(path))
    assert doc.pageCount() == 2
    for expected in (
        "Corner Shop",
        "MERCHANT COPY",
        "CUSTOMER COPY",
        "4444",
        "AP7788",
        "INV-501",
        "SANDBOX",
        "1.250",
    ):
        assert expected in text, expected
    assert "555555" not in text and "tok_abc" not in text
    assert not re.search(r"\d{11,}", text)


def test_dialog_by_keyboard_saves_pdf_and_preview_is_masked(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tx = transaction()
    view = ReceiptView({copy: build_receipt(tx, None, copy) for copy in ReceiptCopy})
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    assert "SANDBOX" in view.windowTitle()
    view.which.setFocus()
    QTest.keyClick(view.which, Qt.Key.Key_Down)  # merchant copy
    QTest.keyClick(view.which, Qt.Key.Key_Down)  # both copies
    assert [r.copy for r in view.selected()] == [ReceiptCopy.MERCHANT, ReceiptCopy.CUSTOMER]
    preview = view.preview_text()
    assert "Mastercard •••• 4444" in preview and "SANDBOX" in preview
    assert "555555" not in preview and not re.search(r"\d{11,}", preview)
    view.grab().save(str(tmp_path / "receipt_view.png"))
    saved = view.save_pdf(tmp_path / "both.pdf")
    assert "CUSTOMER COPY" in pdf_text(saved) and "MERCHANT COPY" in pdf_text(saved)
    live = ReceiptView({copy: build_receipt(transaction(sandbox=False), None, copy) for copy in ReceiptCopy})
    qtbot.addWidget(live)
    assert "SANDBOX" not in live.preview_text()
    assert "SANDBOX" not in pdf_text(live.save_pdf(tmp_path / "live.pdf"))
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not view.isVisible()
