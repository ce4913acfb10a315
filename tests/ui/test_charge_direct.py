"""pytest-qt: direct entry on the Charge screen, by keyboard only, against a sandbox gateway that takes
typed cards (an administrator turned direct entry on): a sale to its receipt, a sale through 3-D Secure
answered in the web view, and a saved card forgotten."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from terminal.assembly import Services, build_services
from terminal.services.profiles import Profile
from terminal.ui.page_driver import click, wait_for_js
from terminal.ui.shell import Shell
from tests.ui.charge_flow import run_session, wait_until

pytestmark = pytest.mark.webengine

CARD, CHALLENGE_CARD = "4242424242424242", "4000000000003220"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)
    gc.collect()


def direct_profile(services: Services, *, with_3ds: bool = False) -> Profile:
    """The first sandbox profile taking typed cards (Paymentz first when 3-D Secure is needed), turned on."""
    order = ("paymentz", "connect", "ompay") if with_3ds else ()
    offered = [p for p in services.profiles.all() if p.capabilities.direct_entry]
    offered.sort(key=lambda p: order.index(p.gateway) if p.gateway in order else len(order))
    if not offered:
        pytest.skip("no sandbox gateway takes typed cards yet")
    profile = replace(offered[0], settings={**offered[0].settings, "direct_entry": "on"})
    services.profiles.put(profile)
    return profile


def focused() -> QWidget | None:
    return QApplication.focusWidget()


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key into whatever has the keyboard focus, as a clerk's keyboard does."""
    widget = focused()
    assert widget is not None, "nothing has the keyboard focus"
    QTest.keyClick(widget, key, modifier)


def type_text(text: str) -> None:
    widget = focused()
    assert widget is not None, "nothing has the keyboard focus"
    QTest.keyClicks(widget, text)


async def type_direct_sale(shell: Shell, profile: Profile, *, amount: str, card: str, expiry: str) -> None:
    """From F2, with the keyboard only: gateway, amount, reference, customer, then the card typed here."""
    form = shell.charge.form
    QTest.keyClick(shell.window, Qt.Key.Key_F2)
    await wait_until(lambda: focused() is form.amount, what="the amount focused")
    press(Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)  # to the Sale/Pre-authorise choice
    press(Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)  # to the gateway
    assert focused() is form.profile
    for _ in range(form.profile.count()):
        if form.profile.currentData() == profile.id:
            break
        press(Qt.Key.Key_Down)
    assert form.profile.currentData() == profile.id
    press(Qt.Key.Key_Tab)
    press(Qt.Key.Key_Tab)
    assert focused() is form.amount
    type_text(amount)
    for widget, text in (
        (form.reference, "DIRECT-1"),
        (form.customer_id, "C-42"),
        (form.customer_name, "Ada Lovelace"),
        (form.description, "Two chairs"),
    ):
        press(Qt.Key.Key_Tab)
        assert focused() is widget
        type_text(text)
    press(Qt.Key.Key_Tab)  # the card entry choice: Card page, Type the card here, Saved card
    if focused() is form.hosted_entry:
        press(Qt.Key.Key_Right)
    assert form.direct_entry.isChecked() and form.card.isVisibleTo(shell.window)
    while focused() is not form.card.number:
        assert focused() in (form.direct_entry, form.hosted_entry, form.saved_entry), focused()
        press(Qt.Key.Key_Tab)
    type_text(card)
    press(Qt.Key.Key_Tab)
    assert focused() is form.card.expiry
    assert form.card.masked and card not in form.card.number.text() and card[-4:] in form.card.number.text()
    type_text(expiry)
    press(Qt.Key.Key_Tab)
    assert focused() is form.card.cvc
    type_text("123")
    press(Qt.Key.Key_Tab)
    assert focused() is form.card.holder
    type_text("Ada Lovelace")


def result_shown(shell: Shell) -> bool:
    return shell.charge.stack.currentWidget() is shell.charge.result and not shell.bridge.running


def test_direct_entry_sale_by_keyboard_to_its_receipt(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    profile = direct_profile(services)

    async def scenario(shell: Shell) -> None:
        form = shell.charge.form
        await type_direct_sale(shell, profile, amount="310.00", card=CARD, expiry="13/30")
        assert form.card.brand.text().startswith("Visa")
        press(Qt.Key.Key_Return)
        # Refused before sending: the field is named, the focus is on it, and nothing typed is lost.
        error = form.card._errors["expiry"]
        assert error.isVisibleTo(shell.window) and error.text().startswith("Expiry")
        assert focused() is form.card.expiry and form.card.has_number
        assert form.amount.text() == "310.00" and form.reference.text() == "DIRECT-1"
        assert await services.history.count() == 0
        press(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        type_text("12/30")
        press(Qt.Key.Key_Return)
        await wait_until(lambda: result_shown(shell), what="the result")
        result = shell.charge.result
        assert "Approved" in result.headline.text(), result.details.text()
        assert "Visa •••• 4242" in result.details.text()
        assert not form.card.has_number and form.card.cvc.text() == ""  # cleared once sent
        assert not result.print_receipt.isHidden()
        press(Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
        await wait_until(lambda: shell.receipt_view is not None, what="the receipt preview")
        assert shell.receipt_view is not None
        shell.receipt_view.close()
        shell.window.activateWindow()  # what the window manager does once the preview closes
        await wait_until(lambda: focused() is result.new_payment, what="the focus back on New payment")
        stored = await services.history.transaction(result.tx_id)
        assert stored.state.value == "captured" and stored.card.last4 == "4242"
        assert stored.merchant_reference == "DIRECT-1" and stored.description == "Two chairs"
        press(Qt.Key.Key_Return)  # New payment
        await wait_until(lambda: shell.charge.stack.currentWidget() is form, what="a new form")
        assert result.print_receipt.isHidden()

    run_session(qloop, services, scenario)


def test_direct_entry_3ds_sale_approved_in_the_web_view(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    profile = direct_profile(services, with_3ds=True)

    async def scenario(shell: Shell) -> None:
        await type_direct_sale(shell, profile, amount="95.00", card=CHALLENGE_CARD, expiry="12/30")
        press(Qt.Key.Key_Return)
        await wait_until(lambda: shell.charge.view is not None, what="the 3-D Secure page")
        assert shell.charge.view is not None
        assert not shell.charge.form.card.has_number  # the number left the terminal with the request
        page = shell.charge.view.web_page()
        await wait_for_js(page, "document.querySelector('#approve') !== null")
        await click(page, "#approve")
        await wait_until(lambda: result_shown(shell), timeout=30, what="the result after 3-D Secure")
        result = shell.charge.result
        assert "Approved" in result.headline.text(), result.details.text()
        stored = await services.history.transaction(result.tx_id)
        assert stored.state.value == "captured" and stored.card.last4 == "3220"

    run_session(qloop, services, scenario)


def test_a_saved_card_is_forgotten_from_the_charge_form(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    profile = direct_profile(services)
    if not profile.capabilities.saved_cards:
        pytest.skip(f"{profile.gateway} keeps no cards")

    async def scenario(shell: Shell) -> None:
        form = shell.charge.form
        await type_direct_sale(shell, profile, amount="20.00", card=CARD, expiry="12/30")
        press(Qt.Key.Key_Tab)
        assert focused() is form.card.save_card
        press(Qt.Key.Key_Space)
        assert form.card.save_card.isChecked()
        press(Qt.Key.Key_Return)
        await wait_until(lambda: result_shown(shell), what="the saved-card sale")
        assert "Approved" in shell.charge.result.headline.text(), shell.charge.result.details.text()
        saved = await services.payments.saved_cards(profile.id, "C-42")
        assert [tx.card.last4 for tx in saved] == ["4242"], (profile.id, saved)
        press(Qt.Key.Key_Return)  # New payment: the same customer calls again
        await wait_until(lambda: focused() is form.amount, what="the new form")
        type_text("15.00")
        press(Qt.Key.Key_Tab)
        press(Qt.Key.Key_Tab)
        assert focused() is form.customer_id
        type_text("C-42")
        press(Qt.Key.Key_Tab)  # leaving the customer number looks up their saved cards
        await wait_until(
            lambda: form.saved_entry.isEnabled() and not shell.bridge.running, what="saved cards"
        )
        form.saved_entry.setFocus()
        press(Qt.Key.Key_Space)
        assert form.entry == "saved" and "4242" in form.saved.currentText()
        assert not form.forget.isHidden()
        form.forget.setFocus()
        press(Qt.Key.Key_Space)
        await wait_until(
            lambda: "forgotten" in form.message.text() and not shell.bridge.running, what="forgot"
        )
        assert form.saved.count() == 0 and form.entry != "saved"
        assert await services.payments.saved_cards(profile.id, "C-42") == []

    run_session(qloop, services, scenario)
