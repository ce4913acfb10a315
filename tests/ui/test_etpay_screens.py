"""ETpay through the real screens: the bank page in the web view, and a payment link followed until paid."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.ui.page_driver import click, run_js, wait_for_js
from terminal.ui.shell import Shell
from tests.support.form_browser import form_with_button
from tests.ui.charge_flow import run_session, wait_until

pytestmark = pytest.mark.webengine


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)
    gc.collect()


def pick_etpay(shell: Shell) -> None:
    combo = shell.charge.form.profile
    combo.setCurrentIndex(combo.findData("etpay-sandbox"))
    assert shell.charge.form.currency.text() == "CLP"
    assert not shell.charge.form.preauth.isEnabled()  # ETpay has no pre-authorisation
    assert "ETpay does not offer" in shell.charge.form.preauth.toolTip()


def test_bank_transfer_paid_in_the_web_view(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        pick_etpay(shell)
        form = shell.charge.form
        assert form.enter_card.text().startswith("Open payment page") and form.send_link.isVisible()
        QTest.keyClicks(form.amount, "15000")
        QTest.keyClicks(form.reference, "ETP1")
        QTest.keyClick(form.amount, Qt.Key.Key_Return)
        await wait_until(lambda: shell.charge.view is not None, what="the bank page")
        assert shell.charge.view is not None
        page = shell.charge.view.web_page()
        await wait_for_js(page, "document.querySelector('#pay') !== null")
        await run_js(page, "document.querySelector('[name=rut]').value = '11.111.111-1'; true;")
        await click(page, "#pay")
        await wait_until(
            lambda: shell.charge.stack.currentWidget() is shell.charge.result and not shell.bridge.running,
            what="the result",
        )
        assert "Approved" in shell.charge.result.headline.text(), shell.charge.result.details.text()
        assert "CLP" in shell.charge.result.details.text()

    run_session(qloop, services, scenario)


def test_payment_link_is_followed_until_paid(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        pick_etpay(shell)
        form = shell.charge.form
        QTest.keyClicks(form.amount, "4990")
        QTest.keyClicks(form.reference, "LINK1")
        QTest.mouseClick(form.send_link, Qt.MouseButton.LeftButton)
        panel = shell.charge.link_panel
        await wait_until(lambda: shell.charge.stack.currentWidget() is panel, what="the link panel")
        link = panel.link.text()
        assert "/session/" in link and panel.qr.pixmap() is not None and not panel.qr.pixmap().isNull()
        panel.copy_link()
        from PySide6.QtGui import QGuiApplication

        assert QGuiApplication.clipboard().text() == link
        # The link is recorded: Payment links (F6) lists it among the open links while it waits.
        QTest.keyClick(shell.window, Qt.Key.Key_F6)
        links = shell.links
        await wait_until(
            lambda: links.model.rowCount() == 1 and not shell.bridge.running, what="the open link"
        )
        waiting = links.model.link(0)
        assert waiting is not None and waiting.link_url == link and waiting.merchant_reference == "LINK1"
        # The customer opens the link on their own device and pays.
        async with httpx.AsyncClient(timeout=10) as customer:
            funnel = await customer.get(link)
            pay = form_with_button(funnel.text, str(funnel.url), "pay")
            await customer.post(pay.action, data={**pay.fields, "bank": "CL_TEST"})
        await wait_until(lambda: "approved" in panel.status.text().lower(), timeout=20, what="the paid link")
        outcome = await shell.services.history.transaction((await shell.services.history.page(0, 1))[0].id)
        assert outcome.state.value == "captured" and outcome.link_url == link
        assert await shell.services.invoices.open_links() == []  # paid: no longer an open link

    run_session(qloop, services, scenario)
