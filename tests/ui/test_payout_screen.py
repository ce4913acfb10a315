"""Payout (F5) through the real window by keyboard, against the first sandbox gateway that pays out.

Profiles are picked by capability (payout_to_card, payout_to_payment), never by name; a test skips with
the reason only when no registered gateway has the capability yet.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import CardDetails
from terminal.services.profiles import Profile
from terminal.ui.shell import Shell
from tests.ui.charge_flow import run_session, wait_until

YEAR = date.today().year + 2


def with_direct_entry(services: Services) -> None:
    """What an administrator does in Settings for a PCI DSS merchant: direct entry on, for every profile."""
    registry = services.profiles
    for p in registry.all():
        registry._profiles[p.id] = replace(p, settings={**p.settings, "direct_entry": "on"})


def first_with(services: Services, flag: str) -> Profile:
    for p in services.profiles.all():
        if getattr(p.capabilities, flag):
            return p
    pytest.skip(f"no registered sandbox gateway declares {flag} yet")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True)
    with_direct_entry(built)
    yield built
    gc.collect()


async def open_payout(shell: Shell, profile: Profile) -> None:
    await wait_until(shell.window.isActiveWindow, what="the window to take the keyboard")
    QTest.keyClick(shell.window, Qt.Key.Key_F5)
    screen = shell.payout
    assert shell.window.screens.currentWidget() is screen
    screen.profile.setCurrentIndex(screen.profile.findData(profile.id))
    assert screen.currency.text() == profile.currency


async def settled(shell: Shell) -> None:
    await wait_until(lambda: not shell.bridge.running, what="the payout")


def test_payout_to_a_typed_card(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    profile = first_with(services, "payout_to_card")

    async def scenario(shell: Shell) -> None:
        await open_payout(shell, profile)
        screen = shell.payout
        screen.to_card.setChecked(True)
        card = screen.card
        card.number.setFocus()
        QTest.keyClicks(card.number, "4242424242424242")
        QTest.keyClick(card.number, Qt.Key.Key_Tab)
        QTest.keyClicks(card.expiry, f"12/{YEAR % 100:02d}")
        QTest.keyClick(card.expiry, Qt.Key.Key_Tab)
        QTest.keyClicks(card.cvc, "123")
        QTest.keyClick(card.cvc, Qt.Key.Key_Tab)
        QTest.keyClicks(card.holder, "Ada Lovelace")
        screen.amount.setFocus()
        QTest.keyClicks(screen.amount, "12.345")
        QTest.keyClick(screen.amount, Qt.Key.Key_Return)
        assert screen.errors["amount"].text().startswith("Amount:")
        assert screen.amount.text() == "12.345" and card.has_number  # nothing typed is lost
        screen.amount.selectAll()
        QTest.keyClicks(screen.amount, "25")
        QTest.keyClick(screen.amount, Qt.Key.Key_Return)
        assert screen.stack.currentWidget() is screen.confirm_page
        assert "•••• 4242" in screen.summary.text() and "4242424242424242" not in screen.summary.text()
        QTest.keyClick(screen.confirm, Qt.Key.Key_Escape)
        assert screen.stack.currentWidget() is screen.form_page and screen.amount.text() == "25"
        QTest.keyClick(screen.amount, Qt.Key.Key_Return)
        QTest.keyClick(screen.confirm, Qt.Key.Key_Return)
        await settled(shell)
        assert "approved" in screen.result.text().lower(), screen.result.text()
        assert not card.has_number  # the number is forgotten once sent
        tx_id = screen._last_tx
        tx = await services.history.transaction(tx_id)
        assert tx.first_operation is not None and tx.first_operation.kind is OperationKind.PAYOUT
        assert tx.paid_out == Money(2500, profile.currency) and tx.card.last4 == "4242"
        assert screen.open_detail.hasFocus()
        QTest.keyClick(screen.open_detail, Qt.Key.Key_Return)
        await wait_until(lambda: shell.detail.tx is not None and shell.detail.tx.id == tx_id, what="detail")
        assert "Paid out:" in shell.detail.amounts.text()

    run_session(qloop, services, scenario)


def test_payout_to_the_card_of_an_earlier_payment(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    profile = first_with(services, "payout_to_payment")

    async def scenario(shell: Shell) -> None:
        card = CardDetails("4242424242424242", 12, YEAR, "123", "Ada Lovelace")
        sale = await services.payments.charge_direct(
            profile.id,
            OperationKind.SALE,
            Money(5000, profile.currency),
            card,
            return_url="http://127.0.0.1:9/r",
            merchant_reference="PAID-1",
        )
        assert sale.outcome.approved, sale.outcome.message
        await open_payout(shell, profile)
        screen = shell.payout
        screen.to_payment.setChecked(True)
        screen.source.setFocus()
        QTest.keyClicks(screen.source, "NOPE-1")
        QTest.keyClick(screen.source, Qt.Key.Key_Return)
        await settled(shell)
        assert screen.errors["source"].text() == "Earlier payment: no payment NOPE-1 on this gateway."
        screen.source.selectAll()
        QTest.keyClicks(screen.source, "PAID-1")
        QTest.keyClick(screen.source, Qt.Key.Key_Return)
        await settled(shell)
        assert "Visa •••• 4242" in screen.source_found.text() and screen.amount.hasFocus()
        QTest.keyClicks(screen.amount, "10")
        QTest.keyClick(screen.amount, Qt.Key.Key_Return)
        assert "payment PAID-1" in screen.summary.text()
        QTest.keyClick(screen.confirm, Qt.Key.Key_Return)
        await settled(shell)
        tx = await services.history.transaction(screen._last_tx)
        op = tx.first_operation
        assert op is not None and op.kind is OperationKind.PAYOUT
        assert op.state in (OperationState.SUCCEEDED, OperationState.CHALLENGE), screen.result.text()
        assert tx.card.last4 == "4242"

    run_session(qloop, services, scenario)


def test_destinations_follow_the_capabilities(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        screen = shell.payout
        offered = {screen.profile.itemData(i) for i in range(screen.profile.count())}
        for p in services.profiles.all():
            pays = p.capabilities.payout_to_card or p.capabilities.payout_to_payment
            assert (p.id in offered) == (pays and OperationKind.PAYOUT in p.capabilities.operations)
        for i in range(screen.profile.count()):
            screen.profile.setCurrentIndex(i)
            p = services.profiles.get(screen.profile.itemData(i))
            assert screen.to_payment.isEnabled() == p.capabilities.payout_to_payment
            if not p.capabilities.payout_to_payment:
                assert "earlier payment" in screen.destination_reason.text()

    run_session(qloop, services, scenario)
