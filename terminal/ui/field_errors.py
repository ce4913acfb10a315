"""The red line under a field that says what is wrong with it ("fieldError", plain text, hidden if empty).

One definition for the screens and dialogs that validate typed input, so a message looks and behaves the
same everywhere: shown only while it says something, never interpreted as rich text (it may quote input).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

__all__ = ["error_label", "show_error"]


def error_label() -> QLabel:
    """An empty, hidden error line, word-wrapped and plain text."""
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.hide()
    return label


def show_error(label: QLabel, message: str) -> None:
    """Show ``message`` under its field; an empty message hides the line."""
    label.setText(message)
    label.setVisible(bool(message))
