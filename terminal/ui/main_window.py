"""The main window: navigation on the left, the screens, and a SANDBOX banner when on simulators."""

from __future__ import annotations

from importlib.resources import files

from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.charge_screen import ChargeScreen
from terminal.ui.history_screen import HistoryScreen

SANDBOX_TEXT = "SANDBOX — simulated gateways for practice and testing. No real money moves."


def style_sheet() -> str:
    """The application style sheet shipped in resources."""
    return files("terminal.resources").joinpath("terminal.qss").read_text(encoding="utf-8")


class MainWindow(QMainWindow):
    """Charge (F2) and History (F3), reachable from the keyboard; closing waits for work in flight."""

    def __init__(
        self, charge: ChargeScreen, history: HistoryScreen, bridge: AsyncBridge, *, sandbox: bool
    ) -> None:
        super().__init__()
        self.setWindowTitle("Merchant Terminal" + (" — SANDBOX" if sandbox else ""))
        self.charge = charge
        self.history = history
        self.bridge = bridge
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.addItems(["Charge   F2", "History   F3"])
        self.nav.setFixedWidth(170)
        self.screens = QStackedWidget()
        self.screens.addWidget(charge)
        self.screens.addWidget(history)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.nav)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(24, 16, 24, 16)
        content_layout.addWidget(self.screens)
        body.addWidget(content, 1)
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = QLabel(SANDBOX_TEXT)
        self.banner.setObjectName("sandboxBanner")
        self.banner.setVisible(sandbox)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)
        self.setCentralWidget(root)
        self.setStyleSheet(style_sheet())
        self._menus()
        self.nav.currentRowChanged.connect(self._show_screen)
        charge.completed.connect(lambda _outcome: history.refresh())
        charge.history_requested.connect(self.show_history)
        bridge.busy.connect(lambda text: self.statusBar().showMessage(text))
        bridge.idle.connect(lambda: self.statusBar().showMessage("Ready", 3000))
        bridge.failed.connect(lambda text: self.statusBar().showMessage(f"Error: {text}", 10000))
        self.nav.setCurrentRow(0)
        self.resize(1280, 800)

    def _menus(self) -> None:
        screens = self.menuBar().addMenu("&Screens")
        for text, key, slot in (
            ("&Charge", "F2", self.show_charge),
            ("&History", "F3", self.show_history),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
            screens.addAction(action)
        find = QAction("&Find in History", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._find)
        screens.addAction(find)
        screens.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        screens.addAction(quit_action)

    def _show_screen(self, row: int) -> None:
        self.screens.setCurrentIndex(row)
        if row == 1:
            self.history.refresh()
            self.history.table.setFocus()
        else:
            self.charge.form.amount.setFocus()

    def show_charge(self) -> None:
        """F2: the Charge screen."""
        self.nav.setCurrentRow(0)

    def show_history(self) -> None:
        """F3: the History screen."""
        self.nav.setCurrentRow(1)
        self.history.refresh()

    def _find(self) -> None:
        self.show_history()
        self.history.focus_search()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.charge.cancel_card_entry()  # an open card page has charged nothing yet: close it
        if self.bridge.running:
            self.statusBar().showMessage("Finishing the work in progress; close again in a moment.", 5000)
            event.ignore()
            return
        super().closeEvent(event)
