"""Draws the Merchant Terminal icon with Qt and writes it as PNG, ICO and ICNS (no image tools needed).

    python packaging/make_icon.py packaging/build

A rounded card-blue square with a card and a terminal keypad: drawn in code so the installers need no
binary asset in the repository and no image tool on the build machine (Qt's image plugins write all three).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPen

SIZE = 256


def draw(size: int = SIZE) -> QImage:
    """The icon at `size` x `size` pixels, transparent outside the rounded square."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    s = size / 256.0
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    background = QLinearGradient(0, 0, 0, size)
    background.setColorAt(0.0, QColor("#1f5fa8"))
    background.setColorAt(1.0, QColor("#0e3566"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(background)
    painter.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 44 * s, 44 * s)
    # The card, tilted behind the terminal.
    painter.save()
    painter.translate(128 * s, 92 * s)
    painter.rotate(-12)
    painter.setBrush(QColor("#f2b233"))
    painter.drawRoundedRect(QRectF(-82 * s, -48 * s, 164 * s, 100 * s), 12 * s, 12 * s)
    painter.setBrush(QColor("#3a2a05"))
    painter.drawRect(QRectF(-82 * s, -26 * s, 164 * s, 18 * s))
    painter.restore()
    # The terminal: body, screen, keypad.
    painter.setBrush(QColor("#f4f6f9"))
    painter.drawRoundedRect(QRectF(64 * s, 104 * s, 128 * s, 132 * s), 16 * s, 16 * s)
    painter.setBrush(QColor("#2e7d32"))
    painter.drawRoundedRect(QRectF(78 * s, 118 * s, 100 * s, 34 * s), 6 * s, 6 * s)
    painter.setPen(QPen(QColor("#ffffff"), 6 * s, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(int(112 * s), int(136 * s), int(124 * s), int(146 * s))
    painter.drawLine(int(124 * s), int(146 * s), int(146 * s), int(124 * s))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#8a96a8"))
    for row in range(3):
        for col in range(3):
            painter.drawRoundedRect(
                QRectF((82 + col * 32) * s, (164 + row * 22) * s, 24 * s, 14 * s), 4 * s, 4 * s
            )
    painter.end()
    return image


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "packaging/build")
    out.mkdir(parents=True, exist_ok=True)
    _app = QGuiApplication([argv[0]])
    icon = draw()
    written = []
    for name in ("merchant-terminal.png", "merchant-terminal.ico", "merchant-terminal.icns"):
        if icon.save(str(out / name)):
            written.append(name)
        else:
            print(f"make_icon: Qt could not write {name} (image plugin missing)", file=sys.stderr)
    if "merchant-terminal.png" not in written:
        return 1
    print("make_icon: wrote " + ", ".join(str(out / name) for name in written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
