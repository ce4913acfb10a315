"""Receipt preview, print (QPrinter and the system print dialog) and PDF (QPdfWriter).

One painting function draws a receipt on screen, on paper and into a PDF, so the preview is what
prints. The receipt's text comes from services/receipts.py (masked card, formatted amount); in
sandbox mode a diagonal SANDBOX watermark is painted across every copy.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeySequence,
    QPageLayout,
    QPageSize,
    QPainter,
    QPaintEvent,
    QPdfWriter,
    QShortcut,
    QTextDocument,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terminal.services.receipts import SANDBOX_MARK, Receipt, ReceiptCopy

# Paper receipts are narrow: lay out on an 80 mm wide page, tall enough for every line.
RECEIPT_PAGE = QPageSize(QSizeF(80, 160), QPageSize.Unit.Millimeter, name="Receipt 80 mm")
COPIES = ("Customer copy", "Merchant copy", "Both copies")


def receipt_html(receipt: Receipt) -> str:
    """The receipt as simple HTML for QTextDocument (every value escaped: gateway text is not markup)."""
    e = html.escape
    head = "".join(f"<div align='center'>{e(line)}</div>" for line in receipt.header_lines)
    rows = "".join(
        f"<tr><td>{e(label)}</td><td align='right'><b>{e(value)}</b></td></tr>"
        for label, value in receipt.fields
    )
    notes = "".join(f"<p>{e(note)}</p>" for note in receipt.notes)
    sandbox = (
        f"<p align='center'><b>*** {SANDBOX_MARK} ***</b><br/>practice receipt, no real money moved</p>"
        if receipt.sandbox
        else ""
    )
    return (
        f"{sandbox}<h3 align='center'>{e(receipt.merchant_name)}</h3>{head}"
        f"<p align='center'><b>{e(receipt.copy.heading)}</b><br/>"
        f"<span style='font-size:large'><b>{e(receipt.kind)} — {e(receipt.status)}</b></span></p>"
        f"<table width='100%' cellspacing='2'>{rows}</table>{notes}"
        f"<p align='center'>{e(receipt.footer)}</p>{sandbox}"
    )


def paint_receipt(painter: QPainter, receipt: Receipt, area: QRectF) -> None:
    """Draw `receipt` inside `area` (device coordinates), with the watermark in sandbox mode."""
    doc = QTextDocument()
    doc.setDefaultFont(QFont("DejaVu Sans", 9))
    doc.setHtml(receipt_html(receipt))
    doc.setTextWidth(area.width())
    painter.save()
    painter.translate(area.topLeft())
    scale = min(1.0, area.height() / max(doc.size().height(), 1.0))
    painter.scale(scale, scale)
    doc.drawContents(painter, QRectF(0, 0, area.width() / scale, area.height() / scale))
    painter.restore()
    if receipt.sandbox:
        _watermark(painter, area)


def _watermark(painter: QPainter, area: QRectF) -> None:
    painter.save()
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(max(int(area.width() / 5), 8))
    painter.setFont(font)
    painter.setPen(QColor(200, 30, 30, 70))
    painter.translate(area.center())
    painter.rotate(-35)
    box = QRectF(-area.width(), -area.height() / 4, area.width() * 2, area.height() / 2)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, SANDBOX_MARK)
    painter.restore()


def print_receipts(printer: QPrinter | QPdfWriter, receipts: list[Receipt]) -> None:
    """Each receipt on its own page of `printer` (a printer, or a PDF writer)."""
    painter = QPainter(printer)
    try:
        for number, receipt in enumerate(receipts):
            if number:
                printer.newPage()
            rect = printer.pageLayout().paintRectPixels(printer.resolution())
            paint_receipt(painter, receipt, QRectF(0, 0, rect.width(), rect.height()))
    finally:
        painter.end()


def write_pdf(path: Path, receipts: list[Receipt]) -> Path:
    """Write `receipts` to a PDF file, one per page; returns the path."""
    writer = QPdfWriter(str(path))
    writer.setTitle("Receipt")
    writer.setCreator("Merchant Terminal")
    writer.setResolution(300)
    writer.setPageLayout(QPageLayout(RECEIPT_PAGE, QPageLayout.Orientation.Portrait, QMarginsF(4, 4, 4, 4)))
    print_receipts(writer, receipts)
    return path


class ReceiptPage(QWidget):
    """The on-screen preview: the same painting as paper and PDF."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.receipts: list[Receipt] = []
        self.setMinimumSize(320, 560)

    def show_receipts(self, receipts: list[Receipt]) -> None:
        """Preview these copies side by side."""
        self.receipts = receipts
        self.setMinimumWidth(340 * max(len(receipts), 1))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#e9ecef"))
        width = 320.0
        for number, receipt in enumerate(self.receipts):
            paper = QRectF(10 + number * (width + 20), 10, width, self.height() - 20)
            painter.fillRect(paper, QColor("white"))
            paint_receipt(painter, receipt, paper.adjusted(14, 14, -14, -14))
        painter.end()


class ReceiptView(QDialog):
    """A transaction's receipt: pick the copy, then Print (Ctrl+P) or Save as PDF (Ctrl+S); Esc closes."""

    saved = Signal(Path)

    def __init__(self, copies: dict[ReceiptCopy, Receipt], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.copies = copies
        customer = copies[ReceiptCopy.CUSTOMER]
        self.setWindowTitle(f"Receipt — {customer.reference}" + (" — SANDBOX" if customer.sandbox else ""))
        self.which = QComboBox()
        self.which.addItems(COPIES)
        self.which.setAccessibleName("Copy")
        self.page = ReceiptPage()
        self.print_button = QPushButton("&Print…  Ctrl+P")
        self.print_button.setDefault(True)
        self.pdf_button = QPushButton("Save as P&DF…  Ctrl+S")
        close = QPushButton("Close  Esc")
        close.clicked.connect(self.reject)
        self.message = QLabel()
        self.message.setObjectName("hint")
        caption = QLabel("&Copy")
        caption.setBuddy(self.which)
        bar = QHBoxLayout()
        bar.addWidget(caption)
        bar.addWidget(self.which)
        bar.addStretch(1)
        bar.addWidget(self.pdf_button)
        bar.addWidget(self.print_button)
        bar.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.page, 1, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.message)
        self.which.currentIndexChanged.connect(lambda _i: self._preview())
        self.print_button.clicked.connect(self.print_dialog)
        self.pdf_button.clicked.connect(self.ask_pdf)
        QShortcut(QKeySequence("Ctrl+P"), self).activated.connect(self.print_dialog)
        QShortcut(QKeySequence("Ctrl+S"), self).activated.connect(self.ask_pdf)
        self.page.show_receipts(self.selected())
        self.resize(760, 680)

    def _preview(self) -> None:
        self.page.show_receipts(self.selected())
        self.resize(max(self.width(), self.page.minimumWidth() + 40), self.height())

    def selected(self) -> list[Receipt]:
        """The copies chosen: customer, merchant, or both (merchant first, as it stays in the shop)."""
        index = self.which.currentIndex()
        if index == 0:
            return [self.copies[ReceiptCopy.CUSTOMER]]
        if index == 1:
            return [self.copies[ReceiptCopy.MERCHANT]]
        return [self.copies[ReceiptCopy.MERCHANT], self.copies[ReceiptCopy.CUSTOMER]]

    def preview_text(self) -> str:
        """The text of what is previewed (and printed): for checks that nothing unmasked is shown."""
        return "\n".join(receipt.text() for receipt in self.selected())

    def print_dialog(self) -> None:
        """Ctrl+P: the system print dialog, then print the chosen copies."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.accepted.connect(lambda: self.print_to(printer))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.show()  # not exec(): the event loop (and payments in flight) keep running

    def print_to(self, printer: QPrinter) -> None:
        """Print the chosen copies on `printer`."""
        print_receipts(printer, self.selected())
        self.message.setText("Sent to the printer.")

    def ask_pdf(self) -> None:
        """Ctrl+S: choose a file, then save the chosen copies as PDF."""
        name = f"receipt-{self.copies[ReceiptCopy.CUSTOMER].reference or 'payment'}.pdf"
        chosen, _ = QFileDialog.getSaveFileName(self, "Save receipt as PDF", name, "PDF files (*.pdf)")
        if chosen:
            self.save_pdf(Path(chosen))

    def save_pdf(self, path: Path) -> Path:
        """Save the chosen copies to `path` as PDF."""
        write_pdf(path, self.selected())
        self.message.setText(f"Saved {path}")
        self.saved.emit(path)
        return path
