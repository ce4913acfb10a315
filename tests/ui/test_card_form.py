"""pytest-qt: the direct-entry card form typed from the keyboard: checks, masking, no clipboard."""

from __future__ import annotations

import warnings
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from terminal.ui.card_form import CardForm

YEAR = f"{(date.today().year + 2) % 100:02d}"


def card_form(qtbot: QtBot) -> tuple[QWidget, CardForm]:
    host = QWidget()
    form = CardForm(host)
    other = QLineEdit(host)  # somewhere for the focus to go when a field is left
    other.setObjectName("other")
    other.move(0, 300)
    qtbot.addWidget(host)
    host.resize(700, 400)
    host.show()
    qtbot.waitExposed(host)
    # Focus events need an active window; the offscreen platform activates none by itself.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        QApplication.setActiveWindow(host)
    return host, form


def leave(host: QWidget) -> None:
    host.findChild(QLineEdit, "other").setFocus()
    QGuiApplication.processEvents()


def test_number_is_grouped_branded_and_masked_once_left(qtbot: QtBot) -> None:
    host, form = card_form(qtbot)
    form.number.setFocus()
    QTest.keyClicks(form.number, "4242424242424242")
    assert form.number.text() == "4242 4242 4242 4242"
    assert form.brand.text().startswith("Visa")
    leave(host)
    assert form.masked
    assert form.number.text() == "•••• •••• •••• 4242"
    form.number.setFocus()  # back in the field: the digits are there again to correct
    QGuiApplication.processEvents()
    assert form.number.text() == "4242 4242 4242 4242"


def test_american_express_asks_for_four_cvc_digits(qtbot: QtBot) -> None:
    _host, form = card_form(qtbot)
    form.number.setFocus()
    QTest.keyClicks(form.number, "378282246310005")
    assert form.number.text() == "3782 822463 10005"
    assert form.brand.text().startswith("American Express")
    QTest.keyClicks(form.cvc, "123")
    assert form.read(date.today()) is None
    assert "4-digit" in form._errors["cvc"].text()


def test_bad_check_digit_is_said_as_soon_as_the_number_is_complete(qtbot: QtBot) -> None:
    _host, form = card_form(qtbot)
    form.number.setFocus()
    QTest.keyClicks(form.number, "5555555555554443")  # Mastercard: 16 digits is complete
    error = form._errors["card_number"]
    assert error.isVisibleTo(form) and error.text().startswith("Card number:")
    assert "check digit" in error.text()
    QTest.keyClick(form.number, Qt.Key.Key_Backspace)
    QTest.keyClicks(form.number, "4")
    assert not error.isVisibleTo(form)


def test_each_wrong_field_is_named_and_nothing_typed_is_lost(qtbot: QtBot) -> None:
    _host, form = card_form(qtbot)
    form.number.setFocus()
    QTest.keyClicks(form.number, "4242424242424241")
    QTest.keyClick(form.number, Qt.Key.Key_Tab)
    assert form.expiry.hasFocus()
    QTest.keyClicks(form.expiry, "13/" + YEAR)
    QTest.keyClick(form.expiry, Qt.Key.Key_Tab)
    QTest.keyClicks(form.cvc, "12")
    QTest.keyClick(form.cvc, Qt.Key.Key_Tab)
    QTest.keyClicks(form.holder, "Ada Lovelace")
    assert form.read(date.today()) is None
    assert form._errors["card_number"].text().startswith("Card number:")
    assert form._errors["expiry"].text().startswith("Expiry:")
    assert form._errors["cvc"].text().startswith("CVC:")
    assert form.number.hasFocus()  # the first wrong field
    assert form.expiry.text() == "13/" + YEAR and form.cvc.text() == "12"
    assert form.holder.text() == "Ada Lovelace"
    assert form.number.text() == "4242 4242 4242 4241"


def test_read_gives_the_card_and_clear_forgets_number_and_cvc(qtbot: QtBot) -> None:
    host, form = card_form(qtbot)
    form.number.setFocus()
    QTest.keyClicks(form.number, "4111 1111 1111 1111")
    QTest.keyClick(form.number, Qt.Key.Key_Tab)
    QTest.keyClicks(form.expiry, "12/" + YEAR)
    QTest.keyClick(form.expiry, Qt.Key.Key_Tab)
    QTest.keyClicks(form.cvc, "737")
    leave(host)
    card = form.read(date.today())
    assert card is not None
    assert card.number == "4111111111111111" and card.cvc == "737"
    assert (card.expiry_month, card.expiry_year) == (12, 2000 + int(YEAR))
    assert "4111111111111111" not in repr(card)
    form.clear_sensitive()
    assert form.number.text() == "" and form.cvc.text() == "" and not form.has_number
    assert form.expiry.text() == "12/" + YEAR


def test_number_and_cvc_never_reach_the_clipboard(qtbot: QtBot) -> None:
    _host, form = card_form(qtbot)
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("sentinel")
    form.number.setFocus()
    QTest.keyClicks(form.number, "4242424242424242")
    for edit in (form.number, form.cvc):
        edit.setFocus()
        if edit is form.cvc:
            QTest.keyClicks(edit, "123")
        edit.selectAll()
        QTest.keySequence(edit, "Ctrl+C")
        QTest.keySequence(edit, "Ctrl+X")
        assert clipboard.text() == "sentinel"
    assert form.number.text() == "•••• •••• •••• 4242" and form.cvc.text() == "123"  # masked, not cut
    assert form.number.contextMenuPolicy() is Qt.ContextMenuPolicy.NoContextMenu
