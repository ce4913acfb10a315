"""The idle lock (PCI-8) and the operator menu: lock after 15 idle minutes, sign out, approvals, F8/F9.

`IdleLock` watches every key press and mouse action of the main window and asks its clock, every few
seconds, how long it has been; the clock is injectable, so tests move time instead of waiting. Locking
takes the window's content away (the central widget is swapped for the lock screen, and every window
action is disabled, so no function key shows a screen behind it) while work already in flight goes on:
the bridge's tasks and reconciliation are not touched. Input in a dialog counts too: each window that
gets the focus (a modal dialog is its own window) is watched as it appears.

`SecurityUI` also purges audit entries older than twelve months (at start-up, then daily), shows the
clock warning of PCI-15 in the status bar, and offers the supervisor's approval at once when a clerk is
refused an action anywhere in the window (the bridge reports every task's error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QWindow
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QVBoxLayout, QWidget

from terminal.domain.roles import Operator, Permission
from terminal.services.audit import AuditTrail
from terminal.services.operators import AccessDenied
from terminal.services.security import Security
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.main_window import MainWindow, Screen
from terminal.ui.operators_screen import OperatorsScreen
from terminal.ui.settings_screen import SettingsScreen
from terminal.ui.sign_in import APPROVABLE, ApprovalDialog, SignInForm

__all__ = ["IDLE_LIMIT_S", "AuditPurge", "IdleLock", "LockScreen", "OperatorMenu", "SecurityUI"]

log = logging.getLogger(__name__)

IDLE_LIMIT_S = 15 * 60.0
CHECK_EVERY_MS = 5_000
PURGE_EVERY_MS = 24 * 60 * 60 * 1000
_INPUT = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class LockScreen(QWidget):
    """What a locked window shows: who locked it, and their PIN/password to go on (or another operator)."""

    def __init__(self, security: Security, on_unlocked: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("lockScreen")
        self.security = security
        self._on_unlocked = on_unlocked
        layout = QVBoxLayout(self)
        layout.setContentsMargins(120, 60, 120, 60)
        self.headline = QLabel("")
        self.headline.setObjectName("screenTitle")
        layout.addWidget(self.headline)
        current = security.session.current
        self.form = SignInForm(self._attempt, title="", fixed_login=current.login if current else "")
        self.form.submit_button.setText("&Unlock (Enter)")
        self.form.signed_in.connect(lambda _op: self._on_unlocked())
        layout.addWidget(self.form)
        self.switch = QPushButton("Sign in as &another operator")
        self.switch.clicked.connect(self.switch_operator)
        layout.addWidget(self.switch)
        layout.addStretch(1)
        self.refresh()

    def refresh(self) -> None:
        """Name who locked the terminal."""
        current = self.security.session.current
        who = current.label if current else "nobody"
        self.headline.setText(f"Locked — {who}. Type your PIN or password to go on.")

    def _attempt(self, login: str, secret: str) -> Operator:
        session = self.security.session
        if session.current is not None and login == session.current.login:
            session.unlock(secret)
            assert session.current is not None
            return session.current
        return session.sign_in(login, secret)

    def switch_operator(self) -> None:
        """Sign the locked operator out; anyone may sign in here."""
        self.security.session.sign_out()
        self.form.login.setReadOnly(False)
        self.form.login.clear()
        self.headline.setText("Signed out. Sign in to go on.")
        self.form.login.setFocus()


class IdleLock(QObject):
    """Locks `window` after `limit_s` seconds without input; `clock()` gives seconds (monotonic)."""

    def __init__(
        self,
        window: QMainWindow,
        security: Security,
        *,
        limit_s: float = IDLE_LIMIT_S,
        clock: Callable[[], float] = time.monotonic,
        check_every_ms: int = CHECK_EVERY_MS,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.security = security
        self.limit_s = limit_s
        self.clock = clock
        self.last_input = clock()
        self.lock_screen: LockScreen | None = None
        self._content: QWidget | None = None
        self._disabled: list[QAction] = []
        # The top-level QWindow sees every key and mouse event of the window before its widgets do (the
        # web view's included). A Python filter on the whole QApplication would also see events of objects
        # still being constructed, which crashes PySide under QtWebEngine.
        window.winId()  # creates the native window, so windowHandle() exists before show()
        self.watch(window.windowHandle())
        # Dialogs are windows of their own: each window given the focus is watched too.
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self.watch)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(check_every_ms)

    @property
    def locked(self) -> bool:
        """True while the lock screen is shown."""
        return self.lock_screen is not None

    def watch(self, handle: QWindow | None) -> None:
        """Count input in `handle` (a top-level window: the main window, a dialog) as activity.

        Installing the same filter twice keeps one, so a window focused again is not counted twice.
        """
        if handle is not None:
            handle.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self.last_input = self.clock()
        return False

    def check(self) -> None:
        """Lock when the idle time has reached the limit (called by the timer, and by tests)."""
        # A modal dialog opened without taking the focus (no window manager) is watched from here on.
        self.watch(QGuiApplication.modalWindow())
        if not self.locked and self.clock() - self.last_input >= self.limit_s:
            self.lock("idle")

    def lock(self, reason: str = "idle") -> None:
        """Hide the window's content behind the lock screen; audited through the session."""
        if self.locked:
            return
        self.security.session.lock(reason)
        self._disabled = [a for a in self.window.findChildren(QAction) if a.isEnabled()]
        for action in self._disabled:
            action.setEnabled(False)
        self._content = self.window.takeCentralWidget()
        self.lock_screen = LockScreen(self.security, self.unlock)
        self.window.setCentralWidget(self.lock_screen)
        self.lock_screen.form.focus_first()

    def unlock(self) -> None:
        """Put the content back after the session accepted the PIN/password."""
        if self.lock_screen is None or self.security.session.locked or self.security.session.current is None:
            return
        self.window.takeCentralWidget()
        self.lock_screen.deleteLater()
        self.lock_screen = None
        if self._content is not None:
            self.window.setCentralWidget(self._content)
        for action in self._disabled:
            action.setEnabled(True)
        self._disabled = []
        self.last_input = self.clock()


class OperatorMenu(QObject):
    """The Operator menu: lock now (Ctrl+L), supervisor approval (Ctrl+Shift+A), sign out."""

    def __init__(self, window: QMainWindow, security: Security, idle: IdleLock) -> None:
        super().__init__(window)
        self.security = security
        self.idle = idle
        self.dialog: ApprovalDialog | None = None
        menu = window.menuBar().addMenu("&Operator")
        self.lock_action = QAction("&Lock screen", window)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(lambda: idle.lock("by hand"))
        self.approve_action = QAction("Supervisor &approval…", window)
        self.approve_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.approve_action.triggered.connect(lambda _checked=False: self.ask_approval())
        self.sign_out_action = QAction("&Sign out", window)
        self.sign_out_action.triggered.connect(self.sign_out)
        for action in (self.lock_action, self.approve_action, self.sign_out_action):
            menu.addAction(action)
        self.status = QLabel("")
        window.statusBar().addPermanentWidget(self.status)
        security.session.listeners.append(lambda _op: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        """Show who is signed in, in the status bar."""
        current = self.security.session.current
        self.status.setText(f"Signed in: {current.label}" if current else "Nobody signed in")

    def ask_approval(self, permission: Permission | None = None, refused: str = "") -> ApprovalDialog:
        """Open the approval dialog for the clerk at this screen (window-modal; the window keeps running).

        One at a time: asked again while it is open, the open one comes to the front.
        """
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = ApprovalDialog(self.security, self.idle.window, permission=permission, refused=refused)
        self.dialog = dialog

        def finished(code: int) -> None:
            self.dialog = None
            if code == ApprovalDialog.DialogCode.Accepted:
                what = dialog.permission().label
                self.idle.window.statusBar().showMessage(f"{what} approved: now repeat the action.", 15000)
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()
        dialog.form.focus_first()
        return dialog

    def sign_out(self) -> None:
        """Sign out and lock: the next operator signs in on the lock screen."""
        self.idle.lock("sign out")
        if self.idle.lock_screen is not None:
            self.idle.lock_screen.switch_operator()


class AuditPurge(QObject):
    """Purges audit entries past the twelve months kept (PCI-12): once at start-up, then every day."""

    def __init__(
        self, parent: QObject, audit: AuditTrail, bridge: AsyncBridge, *, every_ms: int = PURGE_EVERY_MS
    ) -> None:
        super().__init__(parent)
        self.audit = audit
        self.bridge = bridge
        self.removed: list[int] = []  # per run, for the curious (and tests)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.run)
        self.timer.start(every_ms)
        QTimer.singleShot(0, self, self.run)  # start-up: once the event loop turns

    def run(self) -> None:
        """One purge, off the GUI thread; never holds up closing (a background task)."""

        def done(removed: int) -> None:
            self.removed.append(removed)
            if removed:
                log.info("Audit log: %d entries older than twelve months purged", removed)

        def failed(exc: BaseException) -> None:
            log.warning("Audit log purge failed: %s", exc)

        self.bridge.run(self.audit.apurge(), on_done=done, on_error=failed, background=True)


class SecurityUI(QObject):
    """Everything the shell adds for operators: Settings (F8), Operators & audit (F9), idle lock, menu,
    the daily audit purge, the clock warning, and the supervisor's approval offered on a refusal."""

    clock_warning = Signal(str)  # from whichever thread the gateway reply arrived on; shown on the GUI's

    def __init__(self, window: MainWindow, security: Security, bridge: AsyncBridge) -> None:
        super().__init__(window)
        self.window = window
        self.security = security
        self._bridge = bridge
        # Built the first time they are shown (start-up builds only what the first window shows).
        self._settings: SettingsScreen | None = None
        self._operators: OperatorsScreen | None = None

        def settings() -> SettingsScreen:
            return self.settings

        def operators() -> OperatorsScreen:
            return self.operators

        window.add_screen(Screen("&Settings", "F8", None, lambda: settings().refresh(), build=settings))
        window.add_screen(
            Screen("&Operators && audit", "F9", None, lambda: operators().refresh(), build=operators)
        )
        self.idle = IdleLock(window, security)
        self.menu = OperatorMenu(window, security, self.idle)
        self.purge = AuditPurge(self, security.audit, bridge)
        self.clock_warning.connect(lambda text: window.statusBar().showMessage(text, 60_000))
        listener, listeners = self.clock_warning.emit, security.clock.listeners
        listeners.append(listener)

        def forget(*_: object) -> None:  # a closed window's status bar hears no more warnings
            if listener in listeners:
                listeners.remove(listener)

        self.destroyed.connect(forget)
        bridge.errored.connect(self.offer_approval)

    @property
    def settings(self) -> SettingsScreen:
        """Settings (F8)."""
        if self._settings is None:
            self._settings = SettingsScreen(self.security, self._bridge)
            self.window.adopt("F8", self._settings)
        return self._settings

    @property
    def operators(self) -> OperatorsScreen:
        """Operators & audit (F9)."""
        if self._operators is None:
            self._operators = OperatorsScreen(self.security)
            self.window.adopt("F9", self._operators)
        return self._operators

    def offer_approval(self, exc: object) -> None:
        """A clerk refused an action a supervisor may approve: the approval dialog opens right away.

        The screen that ran the action shows its own message as usual; the dialog opens once that
        callback is done, preselects the refused action, and says to repeat it after the approval.
        """
        if not isinstance(exc, AccessDenied) or not exc.approvable or exc.permission not in APPROVABLE:
            return
        if self.idle.locked:
            return
        permission = exc.permission
        self.window.statusBar().showMessage(f"{exc} Ask a supervisor: Ctrl+Shift+A", 15_000)
        QTimer.singleShot(0, self, lambda: self.menu.ask_approval(permission, str(exc)))
