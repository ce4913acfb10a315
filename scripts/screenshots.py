"""Regenerate docs/screenshots/: every screen of the terminal at 1280×800, as a clerk sees it.

Run from the checkout: .venv/bin/python scripts/screenshots.py [--size 1920x1080] [--out DIR]

Each group of screens runs in its own process (``--group NAME``), driven as the tests drive the
window: on a local QEventLoop instead of ``app.exec`` and ended with ``os._exit`` after the last shot.
QtWebEngine does not survive a second application shutdown, and PySide can crash in the interpreter's
final garbage collection after web views were used; neither may cost a screenshot or the exit code.
A group that crashes anyway is run once more.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --disable-background-networking")

OUT = ROOT / "docs" / "screenshots"
WRONG_SIZE = 3  # a group's exit code when a shot is not the size asked for: a layout bug, not a crash


class Camera:
    """Saves the main window (or a dialog) as `OUT/name.png` and notes any shot of the wrong size."""

    def __init__(self, out: Path, size: tuple[int, int]) -> None:
        self.out, self.size = out, size
        self.wrong: list[str] = []
        self.window: Any = None

    def __call__(self, name: str, widget: Any = None) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        target = widget if widget is not None else self.window
        image = target.grab()
        path = self.out / f"{name}.png"
        image.save(str(path))
        got = (image.width(), image.height())
        if widget is None and got != self.size:
            self.wrong.append(f"{name}: {got[0]}×{got[1]} ({widest(self.window.screens.currentWidget())})")
        print("wrote", path, f"{got[0]}×{got[1]}", flush=True)


def widest(widget: Any) -> str:
    """The innermost widgets whose minimum size is the largest: where to look when a screen is too big."""
    from PySide6.QtWidgets import QWidget

    found = []
    for child in widget.findChildren(QWidget):
        if child.isVisible():
            hint = child.minimumSizeHint().expandedTo(child.minimumSize())
            found.append((hint.width(), hint.height(), type(child).__name__, child.objectName()))
    found.sort(reverse=True)
    return "; ".join(f"{name}#{obj} {w}×{h}" for w, h, name, obj in found[:6])


Group = Callable[[Any, Camera], Coroutine[Any, Any, None]]


async def pause(seconds: float = 0.3) -> None:
    """Let layouts, web pages and the models' fetches settle before a shot."""
    await asyncio.sleep(seconds)


# -- hosted card pages, ETpay, History, Needs attention, receipt, detail, Payout, Payment links -------
async def shoot_hosted(shell: Any, snap: Camera) -> None:
    from tests.ui.charge_flow import charge_by_keyboard

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
    await shoot_history(shell, snap)
    await shoot_attention_and_receipt(shell, snap)
    await shoot_detail_payout_links(shell, snap)


async def shoot_etpay(shell: Any, snap: Camera) -> None:
    """ETpay: the bank page inside the terminal, then a payment link with its QR code."""
    from terminal.ui.page_driver import click, run_js, wait_for_js
    from tests.ui.charge_flow import wait_until

    form = shell.charge.form
    shell.charge.new_payment()
    form.profile.setCurrentIndex(form.profile.findData("etpay-sandbox"))
    form.amount.setText("15000")
    form.reference.setText("INV10234")
    form.submit()
    await wait_until(lambda: shell.charge.view is not None, what="the bank page")
    page = shell.charge.view.web_page()
    await wait_for_js(page, "document.querySelector('#pay') !== null")
    await run_js(page, "document.querySelector('[name=rut]').value = '11.111.111-1'; true;")
    await pause()
    snap("etpay_bank_page")
    await click(page, "#pay")
    await wait_until(lambda: shell.charge.stack.currentWidget() is shell.charge.result, what="the result")
    await wait_until(lambda: not shell.charge.bridge.running, what="the ETpay result")
    shell.charge.new_payment()
    form.amount.setText("4990")
    form.reference.setText("INV10235")
    form.request_link()
    await wait_until(lambda: shell.charge.stack.currentWidget() is shell.charge.link_panel, what="the link")
    await pause()
    snap("payment_link")


async def shoot_history(shell: Any, snap: Camera) -> None:
    """History narrowed by the filter bar: today's payments on one gateway."""
    from tests.ui.charge_flow import wait_until

    shell.window.show_history()
    await wait_until(lambda: shell.history.model.rowCount() == 5, what="History rows")
    filters = shell.history.filters
    filters.period.setCurrentIndex(1)  # Today
    filters.profile.setCurrentIndex(filters.profile.findData("ogopay-sandbox"))
    await wait_until(lambda: shell.history.model.rowCount() == 3, what="the filtered History")
    await pause()
    snap("history")
    filters.reset()
    await wait_until(lambda: shell.history.model.rowCount() == 5, what="every History row")


async def shoot_attention_and_receipt(shell: Any, snap: Camera) -> None:
    """Needs attention with a charge whose answer was lost, then the receipt of the first approved charge."""
    from terminal.store.queries import HistoryQuery
    from tests.e2e.flows import arm_fault
    from tests.ui.charge_flow import charge_by_keyboard, wait_until

    arm_fault(shell.services, "/purchase", "timeout_after_commit", delay_ms=300)
    shell.charge.new_payment()
    shell.charge.form.profile.setCurrentIndex(shell.charge.form.profile.findData("ogopay-sandbox"))
    await charge_by_keyboard(shell, amount="77.70", reference="INV-10236", card="4242424242424242")
    shell.window.show_widget(shell.attention_screen)
    await wait_until(lambda: len(shell.attention_screen.items) == 1, what="Needs attention")
    await pause()
    snap("needs_attention")
    rows = await shell.services.history.rows(HistoryQuery(search="INV-10231"), None, 1)
    shell.open_receipt(rows[0].id)
    await wait_until(lambda: shell.receipt_view is not None, what="the receipt")
    view = shell.receipt_view
    view.which.setCurrentIndex(2)  # both copies
    await pause()
    snap("receipt", view)
    view.close()


async def shoot_detail_payout_links(shell: Any, snap: Camera) -> None:
    """Transaction detail with its refund confirmation, Payout (F5) and Payment links (F6)."""
    from terminal.ui.action_dialogs import Action
    from tests.ui.charge_flow import wait_until

    model = shell.history.model
    shell.window.show_history()
    await wait_until(lambda: model.rowCount() == 6, what="History rows")
    row = next(i for i in range(model.rowCount()) if model.index(i, 1).data() == "INV-10231")
    shell.open_transaction(model.row_at(row).id)
    await wait_until(lambda: shell.detail.tx is not None and not shell.bridge.running, what="the detail")
    await pause()
    snap("transaction_detail")
    shell.detail.open_action(Action.REFUND)
    shell.detail.dialog.amount.setText("250.50")
    shell.detail.dialog.reason.setText("One item returned")
    shell.detail.dialog.to_confirmation()
    await pause(0.2)
    snap("refund_confirm")
    shell.detail.dialog.go_back()
    shell.detail.dialog.go_back()
    shell.window.show_widget(shell.payout)
    await pause()
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
    await pause()
    snap("payment_links")


# -- direct entry, its 3-D Secure, pre-authorisations, capture, End of day, Settings, Operators ----------
DIRECT_PROFILE = "paymentz-sandbox"


def direct_entry_on(services: Any) -> None:
    """An administrator turns direct entry on for the sandbox profile used here (as Settings does)."""
    profile = services.profiles.get(DIRECT_PROFILE)
    services.profiles.put(replace(profile, settings={**profile.settings, "direct_entry": "on"}))


async def type_direct(
    shell: Any, *, amount: str, reference: str, card: str, expiry: str, preauth: bool
) -> None:
    """Keys into the Charge form with the card typed into the terminal (direct entry)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    charge = shell.charge
    charge.new_payment()
    form = charge.form
    form.profile.setCurrentIndex(form.profile.findData(DIRECT_PROFILE))
    (form.preauth if preauth else form.sale).setChecked(True)
    form.direct_entry.setChecked(True)
    QTest.keyClicks(form.amount, amount)
    QTest.keyClicks(form.reference, reference)
    QTest.keyClicks(form.customer_id, "C-1001")
    QTest.keyClicks(form.customer_name, "Ada Lovelace")
    form.card.number.setFocus()
    QTest.keyClicks(form.card.number, card)
    QTest.keyClick(form.card.number, Qt.Key.Key_Tab)  # leaving the field masks the number
    QTest.keyClicks(form.card.expiry, expiry)
    QTest.keyClicks(form.card.cvc, "123")
    QTest.keyClicks(form.card.holder, "Ada Lovelace")


async def shoot_direct(shell: Any, snap: Camera) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from terminal.ui.page_driver import click, wait_for_js
    from tests.ui.charge_flow import wait_until

    charge = shell.charge

    def result_shown() -> bool:
        return charge.stack.currentWidget() is charge.result and not shell.bridge.running

    await type_direct(
        shell, amount="310.00", reference="INV-20001", card="4242424242424242", expiry="13/30", preauth=False
    )
    QTest.keyClick(charge.form.card.holder, Qt.Key.Key_Return)  # refused: the month is wrong
    await pause()
    snap("charge_direct")
    charge.form.card.expiry.setText("12/30")
    QTest.keyClick(charge.form.card.holder, Qt.Key.Key_Return)
    await wait_until(result_shown, what="the direct result")
    snap("result_direct")
    await type_direct(
        shell, amount="95.00", reference="INV-20002", card="4000000000003220", expiry="12/30", preauth=False
    )
    QTest.keyClick(charge.form.card.holder, Qt.Key.Key_Return)
    await wait_until(lambda: charge.view is not None, what="the 3-D Secure page")
    page = charge.view.web_page()
    await wait_for_js(page, "document.querySelector('#approve') !== null")
    await pause()
    snap("three_d_secure_direct")
    await click(page, "#approve")
    await wait_until(result_shown, what="the 3-D Secure result")
    for amount, reference in (("120.00", "INV-20003"), ("64.50", "INV-20004")):
        await type_direct(
            shell, amount=amount, reference=reference, card="5555555555554444", expiry="12/30", preauth=True
        )
        QTest.keyClick(charge.form.card.holder, Qt.Key.Key_Return)
        await wait_until(result_shown, what="the pre-authorisation")
    await shoot_capture_and_office(shell, snap)


async def shoot_capture_and_office(shell: Any, snap: Camera) -> None:
    """A pre-authorisation's capture confirmation, End of day (F7), Settings (F8), Operators (F9)."""
    from terminal.store.queries import HistoryQuery
    from terminal.ui.action_dialogs import Action
    from tests.ui.charge_flow import wait_until

    rows = await shell.services.history.rows(HistoryQuery(search="INV-20003"), None, 1)
    shell.open_transaction(rows[0].id)
    await wait_until(lambda: shell.detail.tx is not None and not shell.bridge.running, what="the detail")
    shell.detail.open_action(Action.CAPTURE)
    shell.detail.dialog.amount.setText("100.00")
    shell.detail.dialog.to_confirmation()
    await pause(0.2)
    snap("capture_confirm")
    shell.detail.dialog.go_back()
    shell.detail.dialog.go_back()
    shell.window.show_widget(shell.end_of_day)
    await wait_until(lambda: not shell.bridge.running, what="End of day")
    await pause()
    snap("end_of_day")
    security_ui = getattr(shell, "security_ui", None)
    for attribute in ("settings", "operators"):
        screen = getattr(security_ui, attribute, None)
        if screen is not None:
            shell.window.show_widget(screen)
            await wait_until(lambda: not shell.bridge.running, what=attribute)
            await pause()
            snap(attribute)


GROUPS: dict[str, Group] = {"hosted": shoot_hosted, "direct": shoot_direct}
PREPARE: dict[str, Callable[[Any], None]] = {"direct": direct_entry_on}


class LocalLoop:
    """What qasync drives instead of the QApplication: a local QEventLoop (as tests/conftest.py does)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._loop: Any = None

    def exec(self) -> int:
        from PySide6.QtCore import QEventLoop

        self._loop = QEventLoop()
        return int(self._loop.exec())

    def exit(self, code: int = 0) -> None:
        if self._loop is not None:
            self._loop.exit(code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def run_group(name: str, out: Path, size: tuple[int, int]) -> None:
    """Shoot one group in this process, then end it at once with the outcome (never returns)."""
    code = 1
    try:
        import qasync
        from PySide6 import QtWebEngineWidgets  # noqa: F401  (before the QApplication)
        from PySide6.QtWidgets import QApplication

        from terminal.assembly import build_services
        from tests.ui.charge_flow import run_session

        app = QApplication([sys.argv[0]])
        app.setQuitOnLastWindowClosed(False)
        loop = qasync.QEventLoop(LocalLoop(app))
        asyncio.set_event_loop(loop)
        services = build_services(Path(tempfile.mkdtemp(prefix=f"mt-shots-{name}-")), force_sandbox=True)
        PREPARE.get(name, lambda _services: None)(services)
        snap = Camera(out, size)

        async def scenario(shell: Any) -> None:
            shell.window.resize(*size)
            snap.window = shell.window
            await pause()
            await GROUPS[name](shell, snap)

        run_session(loop, services, scenario, timeout=240)
        code = 0
        if snap.wrong:
            print(f"group {name}: the window is not {size[0]}×{size[1]}:", ", ".join(snap.wrong))
            code = WRONG_SIZE
    except BaseException:  # the parent reports the group as failed and runs it again
        traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=sorted(GROUPS), help="shoot one group in this process")
    parser.add_argument("--size", default="1280x800", help="window size, e.g. 1920x1080")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.group:
        run_group(args.group, args.out, (width, height))
    failed: list[str] = []
    for name in GROUPS:
        command = [sys.executable, __file__, "--group", name, "--size", args.size, "--out", str(args.out)]
        for attempt in (1, 2):
            try:
                code = subprocess.run(command, timeout=300, check=False).returncode  # noqa: S603 (this script)
            except subprocess.TimeoutExpired:
                code = -1
            if code in (0, WRONG_SIZE):
                break
            print(f"group {name}: attempt {attempt} ended with {code}", file=sys.stderr)
        if code != 0:
            failed.append(name)
    if failed:
        print("screenshots failed for:", ", ".join(failed), file=sys.stderr)
        return 1
    print("all screenshots written to", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
