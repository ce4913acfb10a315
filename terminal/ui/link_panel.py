"""Pay-by-link: the link for the customer, a QR code of it, a Copy button, and its live status."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


def qr_pixmap(text: str, size: int = 220) -> QPixmap:
    """A QR code of `text`, drawn from the code's module matrix (no image library needed)."""
    import qrcode  # when a link is first shown, not at start-up

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = max(size // len(matrix), 1)
    side = cell * len(matrix)
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                painter.fillRect(QRect(x * cell, y * cell, cell, cell), QColor("black"))
    painter.end()
    return QPixmap.fromImage(image)


class LinkPanel(QWidget):
    """Shows one payment link while the terminal follows it; `closed` when the clerk is done with it."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = self.title = QLabel("Payment link")
        title.setObjectName("screenTitle")
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.copy = QPushButton("&Copy link")
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)  # beside the form on Payment links: wraps, so the window keeps 1280
        self.done = QPushButton("Back to Charge (the link stays followed in History)")
        row = QHBoxLayout()
        row.addWidget(self.link, 1)
        row.addWidget(self.copy)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addLayout(row)
        layout.addWidget(self.qr)
        layout.addWidget(self.status)
        self.button_row = QHBoxLayout()  # the screen showing the panel may add its own buttons here
        self.button_row.addStretch(1)
        self.button_row.addWidget(self.done)
        layout.addLayout(self.button_row)
        layout.addStretch(1)
        self.copy.clicked.connect(self.copy_link)
        self.done.clicked.connect(self.closed)

    def show_link(self, url: str, summary: str) -> None:
        """Show a new link and its QR code."""
        self.link.setText(url)
        self.link.setCursorPosition(0)  # the start of the address shows where the link goes
        self.summary.setText(summary)
        self.qr.setPixmap(qr_pixmap(url))
        self.status.setText(
            "Waiting for the customer to pay… The terminal checks the gateway every few seconds."
        )
        self.copy.setFocus()

    def copy_link(self) -> None:
        """Put the link (never card data: the customer types that on the gateway's page) on the clipboard."""
        QGuiApplication.clipboard().setText(self.link.text())
        self.status.setText("Link copied. Send it to the customer by e-mail or message.")
