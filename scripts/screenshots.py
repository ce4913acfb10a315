"""Regenerate docs/screenshots/: Charge, the card page and 3-D Secure inside it, the result, History.

Run from the checkout: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtWidgets import QApplication

from terminal.app import build_services
from terminal.ui.page_driver import click, run_js, wait_for_js
from terminal.ui.shell import Shell
from tests.ui.charge_flow import charge_by_keyboard, run_session, wait_until

OUT = ROOT / "docs" / "screenshots"


async def shoot(shell: Shell) -> None:
    window = shell.window
    window.resize(1280, 800)

    def snap(name: str) -> None:
        QApplication.processEvents()
        window.grab().save(str(OUT / f"{name}.png"))
        print("wrote", OUT / f"{name}.png")

    await charge_by_keyboard(
        shell, amount="1250.50", reference="INV-10231", card="4242424242424242", snap=snap
    )
    for amount, reference, card in (
        ("89.90", "INV-10232", "4000000000009995"),
        ("15000", "INV-10233", "5555555555554444"),
    ):
        shell.charge.new_payment()
        await charge_by_keyboard(shell, amount=amount, reference=reference, card=card)
        if reference == "INV-10232":
            snap("result_declined")
    await shoot_etpay(shell, snap)
    shell.window.show_history()
    await wait_until(lambda: shell.history.model.rowCount() == 5, what="History rows")
    await asyncio.sleep(0.3)
    snap("history")
    await shoot_attention_and_receipt(shell, snap)
    await shoot_back_office(shell, snap)


async def shoot_etpay(shell: Shell, snap: Callable[[str], None]) -> None:
    """ETpay: the bank page inside the terminal, then a payment link with its QR code."""
    form = shell.charge.form
    shell.charge.new_payment()
    form.profile.setCurrentIndex(form.profile.findData("etpay-sandbox"))
    form.amount.setText("15000")
    form.reference.setText("INV10234")
    form.submit()
    await wait_until(lambda: shell.charge.view is not None, what="the bank page")
    assert shell.charge.view is not None
    page = shell.charge.view.web_page()
    await wait_for_js(page, "document.querySelector('#pay') !== null")
    await run_js(page, "document.querySelector('[name=rut]').value = '11.111.111-1'; true;")
    await asyncio.sleep(0.3)
    snap("etpay_bank_page")
    await click(page, "#pay")
    await wait_until(lambda: shell.charge.stack.currentWidget() is shell.charge.result, what="the result")
    await wait_until(
        lambda: not shell.charge.bridge.running or "Approved" in shell.charge.result.headline.text()
    )
    shell.charge.new_payment()
    form.amount.setText("4990")
    form.reference.setText("INV10235")
    form.request_link()
    await wait_until(lambda: shell.charge.stack.currentWidget() is shell.charge.link_panel, what="the link")
    await asyncio.sleep(0.3)
    snap("payment_link")


async def shoot_back_office(shell: Shell, snap: Callable[[str], None]) -> None:
    """Transaction detail with its refund confirmation, Payout (F5) and Payment links (F6)."""
    from terminal.ui.action_dialogs import Action

    model = shell.history.model
    row = next(i for i in range(model.rowCount()) if model.index(i, 1).data() == "INV-10231")
    row_data = model.row_at(row)
    assert row_data is not None
    shell.open_transaction(row_data.id)
    await wait_until(lambda: shell.detail.tx is not None and not shell.bridge.running, what="the detail")
    await asyncio.sleep(0.3)
    snap("transaction_detail")
    shell.detail.open_action(Action.REFUND)
    shell.detail.dialog.amount.setText("250.50")
    shell.detail.dialog.reason.setText("One item returned")
    shell.detail.dialog.to_confirmation()
    await asyncio.sleep(0.2)
    snap("refund_confirm")
    shell.detail.dialog.go_back()
    shell.detail.dialog.go_back()
    shell.window.show_widget(shell.payout)
    await asyncio.sleep(0.3)
    snap("payout")
    links = shell.links
    shell.window.show_widget(links)
    if links.current_profile() is not None:
        links.new_link()
        links.amount.setText("49.90")
        links.email.setText("ada@example.com")
        links.description.setText("Order 10236: two chairs")
        links.submit()
        await wait_until(lambda: not shell.bridge.running and links.model.rowCount() > 0, what="the link")
    await asyncio.sleep(0.3)
    snap("payment_links")


async def shoot_attention_and_receipt(shell: Shell, snap: Callable[[str], None]) -> None:
    """Needs attention with a charge whose answer was lost, then the receipt of the first approved charge."""
    from terminal.store.queries import HistoryQuery
    from tests.e2e.flows import arm_fault

    arm_fault(shell.services, "/purchase", "timeout_after_commit", delay_ms=300)  # type: ignore[arg-type]
    shell.charge.new_payment()
    shell.charge.form.profile.setCurrentIndex(shell.charge.form.profile.findData("ogopay-sandbox"))
    await charge_by_keyboard(shell, amount="77.70", reference="INV-10236", card="4242424242424242")
    shell.window.show_widget(shell.attention_screen)
    await wait_until(lambda: len(shell.attention_screen.items) == 1, what="Needs attention")
    await asyncio.sleep(0.3)
    snap("needs_attention")
    rows = await shell.services.history.rows(HistoryQuery(search="INV-10231"), None, 1)
    shell.open_receipt(rows[0].id)
    await wait_until(lambda: shell.receipt_view is not None, what="the receipt")
    view = shell.receipt_view
    assert view is not None
    view.which.setCurrentIndex(2)  # both copies
    await asyncio.sleep(0.3)
    view.grab().save(str(OUT / "receipt.png"))
    print("wrote", OUT / "receipt.png")
    view.close()


def main() -> int:
    import qasync

    OUT.mkdir(parents=True, exist_ok=True)
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    services = build_services(Path(tempfile.mkdtemp(prefix="mt-shots-")), force_sandbox=True)

    with loop:
        run_session(loop, services, shoot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
