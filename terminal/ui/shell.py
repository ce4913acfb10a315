"""Runs the Qt application on the qasync loop: the window, start-up reconciliation, and --self-test."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from terminal.services.changes import POLL_EVERY_MS
from terminal.services.history import HistoryService, ManualResolution, NeedsAttention
from terminal.services.invoices import InvoiceService
from terminal.services.payments import PaymentService
from terminal.services.payouts import PayoutService
from terminal.services.profiles import ProfileRegistry
from terminal.services.receipts import ReceiptCopy, ReceiptSettings, build_receipt
from terminal.services.reconciliation import Reconciler, ReconciliationReport
from terminal.services.security import Security
from terminal.ui.async_bridge import AsyncBridge, loop_running
from terminal.ui.attention_screen import AttentionScreen
from terminal.ui.charge_screen import ChargeScreen
from terminal.ui.history_screen import HistoryScreen
from terminal.ui.lock import SecurityUI
from terminal.ui.main_window import MainWindow, Screen
from terminal.ui.receipt_view import ReceiptView
from terminal.ui.return_listener import ReturnListener
from terminal.ui.sign_in import ensure_signed_in

if TYPE_CHECKING:  # imported when first shown (start-up time)
    from terminal.ui.detail_screen import DetailScreen
    from terminal.ui.end_of_day import EndOfDayScreen
    from terminal.ui.links_screen import LinksScreen
    from terminal.ui.payout_screen import PayoutScreen

log = logging.getLogger(__name__)

RECONCILE_EVERY_MS = 60_000
BACKGROUND_START_MS = 300


class ShellServices(Protocol):
    """What the window needs from the layers below (app.Services provides it)."""

    profiles: ProfileRegistry
    payments: PaymentService
    history: HistoryService
    reconciler: Reconciler
    payouts: PayoutService
    invoices: InvoiceService
    security: Security

    @property
    def sandbox(self) -> bool: ...

    async def aclose(self) -> None: ...


class Shell:
    """The window and its helpers for one run of the terminal."""

    def __init__(
        self, services: ShellServices, listener: ReturnListener, window: MainWindow | None = None
    ) -> None:
        """Build the first screens into `window` (the one start-up showed) or into a new main window."""
        self.services = services
        self.listener = listener
        self.bridge = AsyncBridge()
        self.charge = ChargeScreen(services.payments, services.profiles, listener, self.bridge)
        profile_choices = [(profile.id, profile.label) for profile in services.profiles.all()]
        self.history = HistoryScreen(services.history, self.bridge, profiles=profile_choices)
        self.window = window if window is not None else MainWindow()
        self.window.open(self.charge, self.history, self.bridge, sandbox=services.sandbox)
        self.history.transaction_activated.connect(self.open_transaction)
        # Payout (F5), Payment links (F6) and End of day (F7) are built the first time they are shown
        # (start-up builds only what the first window shows), as is a transaction's detail.
        self._detail: DetailScreen | None = None
        self._payout: PayoutScreen | None = None
        self._links: LinksScreen | None = None
        self._end_of_day: EndOfDayScreen | None = None
        add = self.window.add_screen

        def payout() -> PayoutScreen:
            return self.payout

        def links() -> LinksScreen:
            return self.links

        def end_of_day() -> EndOfDayScreen:
            return self.end_of_day

        add(Screen("&Payout", "F5", None, lambda: payout().focus_first(), build=payout))
        add(Screen("Payment &links", "F6", None, lambda: links().shown(), build=links))
        add(Screen("&End of day", "F7", None, lambda: end_of_day().refresh(), build=end_of_day))
        self._attention_setup()
        # Settings (F8), Operators & audit (F9), the idle lock and the Operator menu.
        self.security_ui = SecurityUI(self.window, services.security, self.bridge)
        self._reconciling = False
        self._timer = QTimer(self.window)
        self._timer.timeout.connect(self.reconcile)
        # Other terminals' writes on a shared database: History refreshes within a few seconds.
        self._watch: asyncio.Task[bool] | None = None
        self._history_stale = False
        self._changes_timer = QTimer(self.window)
        self._changes_timer.timeout.connect(self.watch_changes)

    @property
    def detail(self) -> DetailScreen:
        """A transaction's detail, opened from History (Enter or double-click); Esc goes back to History."""
        if self._detail is None:
            from terminal.ui.detail_screen import DetailScreen

            services = self.services
            self._detail = DetailScreen(services.history, services.payments, self.bridge, services.payouts)
            self._detail.back_requested.connect(self.window.show_history)
            self._detail.changed.connect(lambda _tx_id: self.history.refresh())
            self._detail.receipt_requested.connect(self.open_receipt)
        return self._detail

    @property
    def payout(self) -> PayoutScreen:
        """Payout (F5); opens a transaction's detail on request."""
        if self._payout is None:
            from terminal.ui.payout_screen import PayoutScreen

            self._payout = PayoutScreen(self.services.payouts, self.services.profiles, self.bridge)
            self._payout.transaction_requested.connect(self.open_transaction)
            self._payout.completed.connect(lambda _tx_id: self.history.refresh())
            self.window.adopt("F5", self._payout)
        return self._payout

    @property
    def links(self) -> LinksScreen:
        """Payment links (F6); opens a transaction's detail on request."""
        if self._links is None:
            from terminal.ui.links_screen import LinksScreen

            self._links = LinksScreen(self.services.invoices, self.services.profiles, self.bridge)
            self._links.transaction_requested.connect(self.open_transaction)
            self._links.changed.connect(lambda _tx_id: self.history.refresh())
            self.window.adopt("F6", self._links)
        return self._links

    @property
    def end_of_day(self) -> EndOfDayScreen:
        """End of day (F7): open pre-authorisations captured in one batch."""
        if self._end_of_day is None:
            from terminal.services.batch import BatchCapture
            from terminal.ui.end_of_day import EndOfDayScreen

            self._end_of_day = EndOfDayScreen(BatchCapture(self.services.payments), self.bridge)
            self._end_of_day.finished.connect(lambda _summary: self.history.refresh())
            self.window.adopt("F7", self._end_of_day)
        return self._end_of_day

    def _attention_setup(self) -> None:
        """Needs attention (F4) with its count in the navigation; receipts from History and the detail."""
        services = self.services
        security = getattr(services, "security", None)
        self.attention = NeedsAttention(
            services.history.journal,
            services.profiles,
            services.reconciler.check,
            operator=lambda: (security.audit.operator() if security else "") or services.payments.operator,
            on_manual_resolution=self._audit_resolution if security is not None else None,
            active=lambda: services.payments.active,
        )
        self.attention_screen = AttentionScreen(self.attention, self.bridge)
        self.window.add_screen(
            Screen("&Needs attention", "F4", self.attention_screen, self.attention_screen.refresh)
        )
        self.attention_screen.count_changed.connect(self._show_attention_count)
        self.attention_screen.resolved.connect(lambda _op_id: self.history.refresh())
        self.history.receipt_requested.connect(self.open_receipt)
        self.charge.receipt_requested.connect(self.open_receipt)
        self.receipt_view: ReceiptView | None = None

    def _show_attention_count(self, count: int) -> None:
        for row, entry in enumerate(self.window.entries):
            if entry.widget is self.attention_screen:
                item = self.window.nav.item(row)
                if item is not None:
                    item.setText(f"Needs attention{f' ({count})' if count else ''}   {entry.key}")

    async def _audit_resolution(self, resolution: ManualResolution) -> None:
        security = getattr(self.services, "security", None)
        if security is None:
            return
        await security.audit.arecord(
            "operation.resolved_by_hand",
            target=resolution.transaction.id,
            operator=resolution.operator,
            operation=resolution.operation.id,
            kind=resolution.operation.kind.value,
            amount=str(resolution.operation.amount),
            gateway=resolution.transaction.gateway,
            outcome=resolution.state.value,
            note=resolution.note,
        )

    def receipt_settings(self) -> ReceiptSettings:
        """The merchant's name and header lines from Settings (the receipt header), else the defaults."""
        security = getattr(self.services, "security", None)
        try:
            header = security.settings.preferences().receipt_header if security is not None else ""
        except Exception:  # an unreadable preference never stops a receipt: print the default header
            log.warning("Receipt header unreadable; printing the default", exc_info=True)
            header = ""
        lines = [line.strip() for line in header.splitlines() if line.strip()]
        if not lines:
            return ReceiptSettings()
        return ReceiptSettings(merchant_name=lines[0], header_lines=tuple(lines[1:]))

    def open_receipt(self, tx_id: str) -> None:
        """Preview a transaction's receipt (merchant and customer copy), to print or save as PDF."""

        def show(tx: object) -> None:
            from terminal.domain.ledger import Transaction

            assert isinstance(tx, Transaction)
            settings = self.receipt_settings()
            copies = {copy: build_receipt(tx, None, copy, settings) for copy in ReceiptCopy}
            self.receipt_view = ReceiptView(copies, self.window)
            self.receipt_view.open()

        self.bridge.run(self.services.history.transaction(tx_id), on_done=show)

    def open_transaction(self, tx_id: str) -> None:
        """Show one transaction's detail (from History)."""
        self.window.show_widget(self.detail)
        self.detail.show_transaction(tx_id)

    def reconcile(self) -> None:
        """Resolve what can be resolved of operations left open (at start-up, then every minute)."""
        if self._reconciling:
            return
        self._reconciling = True

        def done(report: ReconciliationReport) -> None:
            self._reconciling = False
            if report.resolved or report.needs_attention:
                self.window.statusBar().showMessage(report.summary, 15000)
                self.history.refresh()
            self.attention_screen.refresh()

        self.bridge.run(
            self.services.reconciler.run(),
            on_done=done,
            on_error=self._reconcile_failed,
            busy_text="Checking payments whose outcome is not known yet…",
            background=True,
        )

    def _reconcile_failed(self, exc: BaseException) -> None:
        self._reconciling = False
        log.warning("Reconciliation pass failed: %s", exc)

    def start_schedule(self, interval_ms: int = RECONCILE_EVERY_MS) -> None:
        """Reconcile now and then every `interval_ms` while the terminal is open."""
        self.reconcile()
        self._timer.start(interval_ms)
        changes = getattr(self.services, "changes", None)
        if changes is not None and changes.enabled:
            self.watch_changes()
            self._changes_timer.start(POLL_EVERY_MS)

    def watch_changes(self) -> None:
        """Ask the change feed whether the shared database changed; refresh History when it did.

        The poll runs on the feed's worker thread. It is a plain task, not an AsyncBridge job: the
        bridge's busy/idle messages every few seconds would wipe the status bar. A History scrolled
        down is not yanked back to the top: it refreshes once it is back at the top or hidden.
        """
        changes = getattr(self.services, "changes", None)
        if changes is None or self._watch is not None or not loop_running():
            return
        self._watch = asyncio.ensure_future(changes.changed())
        self._watch.add_done_callback(self._changes_seen)

    def _changes_seen(self, task: asyncio.Task[bool]) -> None:
        self._watch = None
        if task.cancelled():
            return
        if task.exception() is not None:
            log.warning("Watching the shared database failed: %s", task.exception())
            return
        self._history_stale = self._history_stale or task.result()
        at_top = not self.history.isVisible() or self.history.table.verticalScrollBar().value() == 0
        if self._history_stale and at_top:
            self._history_stale = False
            self.history.refresh()

    def stop_watching(self) -> None:
        """Stop polling for other terminals' changes (at shutdown, before the services close)."""
        self._changes_timer.stop()
        if self._watch is not None:
            self._watch.cancel()


async def serve(
    services: ShellServices,
    window: MainWindow,
    *,
    self_test: bool = False,
    ready: Callable[[], None] | None = None,
) -> int:
    """Sign in, fill the (shown) main window with the screens, and serve until it closes; the exit code.

    `ready` runs once the screens are built (start-up's `freeze_startup_heap`). Closing the window while the
    store was opening, or the sign-in window, ends the run with nothing opened.
    """
    app = QApplication.instance()
    assert isinstance(app, QApplication)  # made by start-up (terminal.ui.startup.qt_app)
    listener = ReturnListener()
    code = 1
    try:
        await listener.start()
        if not window.isVisible() or not await ensure_signed_in(services.security, parent=window):
            window.close()
            return 0  # closed before anyone signed in: nothing was opened
        shell = Shell(services, listener, window)
        if ready is not None:
            ready()
        # What start-up deferred (the sandbox simulators' servers) starts once the screens have painted:
        # started at once, its imports would hold the interpreter lock through that paint.
        start_background = getattr(services, "start_background", None)
        if start_background is not None:
            QTimer.singleShot(BACKGROUND_START_MS, start_background)
        shell.start_schedule()
        if self_test:
            code = await self_test_charge(shell)
        else:
            closed = asyncio.Event()
            app.lastWindowClosed.connect(closed.set)
            await closed.wait()
            code = 0
        shell.stop_watching()
        await shell.bridge.drain()
        shell.window.close()
    finally:
        await listener.stop()
        await services.aclose()
    return code


# Test card values for each gateway's card page, by field name (docs/SANDBOX.md).
_CARD_PAGE_FIELDS: dict[str, dict[str, str]] = {
    "ogopay": {"cardHolderName": "Self Test", "cardNumber": "4242424242424242", "expiryMonth": "12"},
}


async def self_test_charge(shell: Shell, *, timeout: float = 60.0) -> int:
    """Charge 12.50 on the first sandbox profile through the card page and 3-D Secure; 0 if approved."""
    try:
        await asyncio.wait_for(_drive_charge(shell), timeout)
    except Exception as exc:  # the self-test reports every failure in one place, then exits 1
        print(f"self-test: FAILED: {exc}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return 1
    print("self-test: OK")
    return 0


async def _drive_charge(shell: Shell) -> None:
    from terminal.ui.page_driver import click, fill_and_submit

    profile = next(p for p in shell.services.profiles.all() if p.gateway in _CARD_PAGE_FIELDS)
    print(f"self-test: main window built; charging on {profile.label}")
    form = shell.charge.form
    form.amount.setText("12.50")
    form.reference.clear()
    form.submit()
    while shell.charge.view is None:
        await asyncio.sleep(0.05)
    page = shell.charge.view.web_page()
    fields = dict(_CARD_PAGE_FIELDS[profile.gateway], expiryYear=f"{(date.today().year + 2) % 100:02d}")
    await fill_and_submit(page, fields)
    print("self-test: card page loaded in the web view; 3-D Secure next")
    await click(page, "#approve")
    while shell.charge.stack.currentWidget() is not shell.charge.result or shell.bridge.running:
        await asyncio.sleep(0.05)
    headline = shell.charge.result.headline.text()
    if "Approved" not in headline:
        raise RuntimeError(f"the charge was not approved: {headline} {shell.charge.result.details.text()}")
    total = await shell.services.history.count()
    if total < 1:
        raise RuntimeError("the approved charge is not in History")
    print(f"self-test: charge approved and recorded ({total} in History)")
