"""Drives the real window the way a clerk does: keys into the Charge form, the card typed into the
gateway's page in the real web view, 3-D Secure answered, then History read back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services
from terminal.ui.page_driver import click, fill_and_submit, wait_for_js
from terminal.ui.return_listener import ReturnListener
from terminal.ui.shell import Shell

Snap = Callable[[str], None]
Scenario = Callable[[Shell], Coroutine[Any, Any, None]]


def run_session(
    loop: asyncio.AbstractEventLoop, services: Services, scenario: Scenario, timeout: float = 90
) -> None:
    """Open the real window on `services`, play `scenario`, then close everything as the terminal does."""

    async def session() -> None:
        listener = ReturnListener()
        await listener.start()
        shell = Shell(services, listener)
        shell.window.show()
        try:
            await scenario(shell)
        finally:
            shell.charge.cancel_card_entry()  # as closing the window does
            await shell.bridge.drain()
            shell.window.close()
            await listener.stop()
            await services.aclose()

    loop.run_until_complete(asyncio.wait_for(session(), timeout))


async def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def charge_by_keyboard(
    shell: Shell,
    *,
    amount: str,
    reference: str,
    card: str,
    approve: bool = True,
    snap: Snap | None = None,
) -> str:
    """Type the charge, enter the card in the web view, answer 3-D Secure; returns the result headline."""
    form = shell.charge.form
    form.amount.setFocus()
    QTest.keyClicks(form.amount, amount)
    QTest.keyClick(form.amount, Qt.Key.Key_Tab)
    QTest.keyClicks(form.reference, reference)
    QTest.keyClick(form.reference, Qt.Key.Key_Tab)
    QTest.keyClicks(form.customer_id, "C-1001")
    QTest.keyClick(form.customer_id, Qt.Key.Key_Tab)
    QTest.keyClicks(form.customer_name, "Ada Lovelace")
    if snap:
        snap("charge_form")
    QTest.keyClick(form.customer_name, Qt.Key.Key_Return)
    await wait_until(lambda: shell.charge.view is not None, what="the card page")
    view = shell.charge.view
    assert view is not None
    page = view.web_page()
    await wait_for_js(page, "document.querySelector('[name=cardNumber]') !== null")
    year = f"{(date.today().year + 2) % 100:02d}"
    if snap:
        await fill_only(page, {"cardNumber": card, "expiryMonth": "12", "expiryYear": year})
        snap("card_page")
    await fill_and_submit(page, {"cardNumber": card, "expiryMonth": "12", "expiryYear": year})
    await wait_for_js(page, "document.querySelector('#approve') !== null")
    if snap:
        await asyncio.sleep(0.3)
        snap("three_d_secure")
    await click(page, "#approve" if approve else "#decline")
    await wait_until(
        lambda: shell.charge.stack.currentWidget() is shell.charge.result and not shell.bridge.running,
        what="the result",
    )
    if snap:
        snap("result")
    return shell.charge.result.headline.text()


async def fill_only(page: object, fields: dict[str, str]) -> None:
    from terminal.ui.page_driver import run_js

    script = "".join(
        f"document.querySelector('[name={name}]').value = '{value}';" for name, value in fields.items()
    )
    await run_js(page, script + "true;")  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
