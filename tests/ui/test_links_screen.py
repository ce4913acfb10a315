"""Payment links (F6) through the real window by keyboard, against the first sandbox gateway that makes
invoices; the open-links table under qtmodeltester; the mailto: address built (no mail client launched)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.domain.operations import OperationKind
from terminal.services.profiles import Profile
from terminal.ui.links_model import OpenLinksModel, mailto_url
from terminal.ui.shell import Shell
from tests.ui.charge_flow import run_session, wait_until


def first_with_invoices(services: Services, *flags: str) -> Profile:
    for p in services.profiles.all():
        offers = p.capabilities.unavailable_reason(OperationKind.INVOICE, live=p.live) is None
        if offers and all(getattr(p.capabilities, f) for f in flags):
            return p
    pytest.skip(f"no registered sandbox gateway makes invoices{' with ' + ', '.join(flags) if flags else ''}")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)
    gc.collect()


async def create_link(shell: Shell, profile: Profile, amount: str, email: str) -> None:
    await wait_until(shell.window.isActiveWindow, what="the window to take the keyboard")
    QTest.keyClick(shell.window, Qt.Key.Key_F6)
    screen = shell.links
    assert shell.window.screens.currentWidget() is screen
    screen.profile.setCurrentIndex(screen.profile.findData(profile.id))
    screen.new_link()
    QTest.keyClicks(screen.amount, amount)
    QTest.keyClick(screen.amount, Qt.Key.Key_Tab)
    QTest.keyClicks(screen.email, email)
    QTest.keyClick(screen.email, Qt.Key.Key_Tab)
    QTest.keyClicks(screen.description, "Order 77: two chairs")
    QTest.keyClick(screen.description, Qt.Key.Key_Return)
    await wait_until(lambda: not shell.bridge.running, what="the link")


def test_create_show_copy_and_mail_a_link(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    profile = first_with_invoices(services)

    async def scenario(shell: Shell) -> None:
        screen = shell.links
        await create_link(shell, profile, "12", "not-an-address")
        assert screen.errors["customer_email"].text().startswith("Customer e-mail:")
        assert screen.email.text() == "not-an-address" and screen.amount.text() == "12"
        screen.email.selectAll()
        QTest.keyClicks(screen.email, "ada@example.com")
        QTest.keyClick(screen.email, Qt.Key.Key_Return)
        await wait_until(lambda: not shell.bridge.running and screen.panel.isVisibleTo(screen), what="panel")
        link = screen.panel.link.text()
        assert link.startswith("http") and not screen.panel.qr.pixmap().isNull()
        QTest.keyClick(screen.panel.copy, Qt.Key.Key_Space)
        assert QGuiApplication.clipboard().text() == link
        url = screen.mail_url()
        assert url is not None and url.scheme() == "mailto"
        parts = urlsplit(bytes(url.toEncoded().data()).decode())
        assert unquote(parts.path) == "ada@example.com"
        query = parse_qs(parts.query)
        assert link in query["body"][0] and "Order 77: two chairs" in query["body"][0]
        await wait_until(lambda: screen.model.rowCount() >= 1, what="the open link in the list")
        row = [screen.model.index(0, c).data() for c in range(screen.model.columnCount())]
        assert row[2] == "ada@example.com" and row[4] == "Waiting for payment" and row[6] == link
        screen.refresh_all()  # a status read at the gateway: still unpaid
        await wait_until(lambda: not shell.bridge.running)
        await asyncio.sleep(0.1)
        assert screen.model.rowCount() == 1 and screen.model.index(0, 4).data() == "Waiting for payment"
        screen.table.setFocus()
        QTest.keyClick(screen.table, Qt.Key.Key_Return)
        await wait_until(lambda: shell.detail.tx is not None, what="the detail of the link")
        assert shell.detail.tx is not None and shell.detail.tx.link_url == link

    run_session(qloop, services, scenario)
    gc.collect()


def test_withdraw_a_link_asks_first(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    profile = first_with_invoices(services, "invoice_cancel")

    async def scenario(shell: Shell) -> None:
        screen = shell.links
        await create_link(shell, profile, "30", "bob@example.com")
        await wait_until(lambda: screen.model.rowCount() == 1, what="the open link")
        screen.table.selectRow(0)
        assert screen.cancel.isEnabled()
        QTest.keyClick(screen.cancel, Qt.Key.Key_Space)
        assert "Press Enter to confirm" in screen.message.text()
        QTest.keyClick(screen.cancel, Qt.Key.Key_Escape)
        assert screen.message.text() == "The link was kept." and screen.model.rowCount() == 1
        QTest.keyClick(screen.cancel, Qt.Key.Key_Space)
        QTest.keyClick(screen.cancel, Qt.Key.Key_Return)
        await wait_until(lambda: not shell.bridge.running and screen.model.rowCount() == 0, what="withdrawn")
        assert "withdrawn" in screen.message.text()

    run_session(qloop, services, scenario)
    gc.collect()


def test_open_links_model(qtmodeltester: Any) -> None:
    model = OpenLinksModel()
    qtmodeltester.check(model)
    assert model.headerData(4, Qt.Orientation.Horizontal) == "Status"


def test_mailto_url_carries_the_link() -> None:
    url = mailto_url(
        "a b@example.com", "https://pay.example/x?y=1&z=2", amount="12.00 EUR", description="chairs"
    )
    text = bytes(url.toEncoded().data()).decode()
    assert text.startswith("mailto:a%20b@example.com?subject=")
    body = parse_qs(urlsplit(text).query)["body"][0]
    assert "https://pay.example/x?y=1&z=2" in body and "12.00 EUR for chairs" in body
