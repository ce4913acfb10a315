"""The main window: navigation on the left, the screens, and a SANDBOX banner when on simulators."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # start-up shows this window before the screens' modules are imported
    from PySide6.QtGui import QCloseEvent, QPaintEvent

    from terminal.ui.async_bridge import AsyncBridge
    from terminal.ui.charge_screen import ChargeScreen
    from terminal.ui.history_screen import HistoryScreen

SANDBOX_TEXT = "SANDBOX — simulated gateways for practice and testing. No real money moves."
OPENING_TEXT = "Opening the store…"


@dataclass
class Screen:
    """One entry of the navigation: its title, its function key, the widget, and what to do when shown.

    A screen given `build` instead of a widget is built the first time it is shown (or `adopt`ed), so
    that start-up builds only the screens the first window shows.
    """

    title: str
    key: str
    widget: QWidget | None
    on_show: Callable[[], None] | None = None
    build: Callable[[], QWidget] | None = None


def style_sheet() -> str:
    """The application style sheet shipped in resources."""
    return files("terminal.resources").joinpath("terminal.qss").read_text(encoding="utf-8")


def key_order(key: str) -> int:
    """Where a screen's shortcut sorts in the navigation: F2 < F3 < … < F12, anything else after."""
    return int(key[1:]) if key[:1] == "F" and key[1:].isdigit() else 100


def plain_title(title: str) -> str:
    """A menu title without its mnemonic marks ("&Operators && audit" reads "Operators & audit")."""
    return "&".join(part.replace("&", "") for part in title.split("&&"))


def nav_width() -> int:
    """Wide enough for the longest entry with a count ("Needs attention (999)   F4") in the nav's font."""
    font = QFont()
    font.setPixelSize(15)  # as QListWidget#nav in terminal.qss
    text = QFontMetrics(font).horizontalAdvance("Needs attention (999)   F4")
    return max(190, text + 2 * 14 + 8)  # the items' padding, and a little air


class MainWindow(QMainWindow):
    """Charge (F2), History (F3) and the screens added with `add_screen`, each on its function key;
    closing waits for work in flight.

    Start-up shows it at once, empty but for a line saying the store is opening (`terminal.ui.startup`);
    `open` then puts the first screens, the menus and the SANDBOX banner in it.
    """

    first_painted = Signal()
    closed = Signal()

    charge: ChargeScreen
    history: HistoryScreen
    bridge: AsyncBridge

    def __init__(self) -> None:
        super().__init__()
        self.has_painted = False
        self.setWindowTitle("Merchant Terminal")
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(nav_width())
        self.screens = QStackedWidget()
        self.entries: list[Screen] = []
        self._actions: list[QAction] = []  # the Screens menu's entries, in the order of `entries`
        self._placeholders: dict[int, QWidget] = {}  # id(screen) -> what stands in for it until built
        self._opened = False
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
        self.banner.setVisible(False)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)
        self.setCentralWidget(root)
        self.setStyleSheet(style_sheet())
        self.opening = QLabel(OPENING_TEXT)
        self.opening.setObjectName("openingNote")  # centred by terminal.qss
        self.screens.addWidget(self.opening)
        self._screens_menu = self.menuBar().addMenu("&Screens")
        self.resize(1280, 800)

    def show_failure(self, reason: str) -> None:
        """Start-up failed: say why where the screens would be (closing the window ends the run)."""
        self.opening.setText(
            f"Merchant Terminal cannot start.\n\n{reason}\n\nClose this window, fix it, and start again."
        )
        self.opening.setWordWrap(True)
        self.opening.setProperty("failed", True)
        self.opening.style().unpolish(self.opening)  # the [failed="true"] rule of terminal.qss applies
        self.opening.style().polish(self.opening)

    def open(
        self, charge: ChargeScreen, history: HistoryScreen, bridge: AsyncBridge, *, sandbox: bool
    ) -> None:
        """Put Charge (shown) and History in the window, with the menus; say SANDBOX when on simulators."""
        if self._opened:
            raise RuntimeError("the main window is already open")
        self._opened = True
        self.setWindowTitle("Merchant Terminal" + (" — SANDBOX" if sandbox else ""))
        self.banner.setVisible(sandbox)
        self.charge = charge
        self.history = history
        self.bridge = bridge
        self.nav.currentRowChanged.connect(self._show_screen)
        self.add_screen(Screen("&Charge", "F2", charge, charge.form.amount.setFocus))
        self.add_screen(Screen("&History", "F3", history, self._history_shown))
        self._menus()
        charge.completed.connect(lambda _outcome: history.refresh())
        charge.history_requested.connect(self.show_history)
        bridge.busy.connect(lambda text: self.statusBar().showMessage(text))
        bridge.idle.connect(lambda: self.statusBar().showMessage("Ready", 3000))
        bridge.failed.connect(lambda text: self.statusBar().showMessage(f"Error: {text}", 10000))
        self.nav.setCurrentRow(0)
        self.screens.removeWidget(self.opening)
        self.opening.deleteLater()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.has_painted:
            self.has_painted = True
            self.first_painted.emit()

    def add_screen(self, screen: Screen) -> QAction:
        """Add a screen to the navigation and the Screens menu, on its function key (shown in both).

        Both list the screens in function-key order (F2, F3, F4…), whatever order they are added in.
        """
        if screen.widget is None and screen.build is None:
            raise ValueError(f"screen {screen.title!r} has neither a widget nor a way to build one")
        row = sum(key_order(entry.key) <= key_order(screen.key) for entry in self.entries)
        current = self.nav.currentRow()
        self.entries.insert(row, screen)
        if screen.widget is None:
            placeholder = self._placeholders[id(screen)] = QWidget()
            self.screens.addWidget(placeholder)
        else:
            self.screens.addWidget(screen.widget)
        self.nav.blockSignals(True)
        self.nav.insertItem(row, f"{plain_title(screen.title)}   {screen.key}")
        if current >= row:
            self.nav.setCurrentRow(current + 1)  # the same screen stays selected
        self.nav.blockSignals(False)
        action = QAction(screen.title, self)
        action.setShortcut(QKeySequence(screen.key))
        action.triggered.connect(lambda: self.show_entry(screen))
        self._actions.insert(row, action)
        before = self._actions[row + 1] if row + 1 < len(self._actions) else self._first_extra_action()
        if before is None:
            self._screens_menu.addAction(action)
        else:
            self._screens_menu.insertAction(before, action)
        return action

    def _first_extra_action(self) -> QAction | None:
        # Screens go above Find and Quit, which _menus adds once, after the first two screens.
        for action in self._screens_menu.actions():
            if action.text() == "&Find in History":
                return action
        return None

    def _menus(self) -> None:
        find = QAction("&Find in History", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._find)
        self._screens_menu.addAction(find)
        self._screens_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self._screens_menu.addAction(quit_action)

    def _history_shown(self) -> None:
        self.history.refresh()
        self.history.table.setFocus()

    def built(self, entry: Screen) -> QWidget:
        """The entry's widget, built now if it was not yet."""
        if entry.widget is None:
            assert entry.build is not None  # add_screen refuses an entry with neither
            widget = entry.build()
            if entry.widget is None:  # a builder that did not adopt its widget itself
                self.adopt(entry.key, widget)
        assert entry.widget is not None
        return entry.widget

    def adopt(self, key: str, widget: QWidget) -> None:
        """`widget` is the built screen of the entry on `key`: it takes its placeholder's place."""
        entry = next(entry for entry in self.entries if entry.key == key)
        if entry.widget is not None:
            return
        entry.widget = widget
        placeholder = self._placeholders.pop(id(entry))
        current = self.screens.currentWidget() is placeholder
        self.screens.insertWidget(self.screens.indexOf(placeholder), widget)
        if current:
            self.screens.setCurrentWidget(widget)  # before the placeholder goes, or the next page shows
        self.screens.removeWidget(placeholder)
        placeholder.deleteLater()

    def show_entry(self, entry: Screen) -> None:
        """Show a navigation entry (built first if need be)."""
        self.show_widget(self.built(entry))

    def _show_screen(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            return
        entry = self.entries[row]
        self.screens.setCurrentWidget(self.built(entry))
        if entry.on_show is not None:
            entry.on_show()

    def show_widget(self, widget: QWidget) -> None:
        """Show the screen whose widget is `widget` (a navigation entry, or a screen opened from another)."""
        for row, entry in enumerate(self.entries):
            if entry.widget is widget:
                self.nav.setCurrentRow(row)
                return
        if self.screens.indexOf(widget) < 0:
            self.screens.addWidget(widget)  # a screen outside the navigation, e.g. a transaction's detail
        self.nav.blockSignals(True)
        self.nav.clearSelection()
        self.nav.setCurrentRow(-1)
        self.nav.blockSignals(False)
        self.screens.setCurrentWidget(widget)

    def show_charge(self) -> None:
        """F2: the Charge screen."""
        self.show_widget(self.charge)

    def show_history(self) -> None:
        """F3: the History screen."""
        self.show_widget(self.history)

    def _find(self) -> None:
        self.show_history()
        self.history.focus_search()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._opened:  # closed while the store was opening, or after start-up failed: nothing runs yet
            super().closeEvent(event)
            self.closed.emit()
            return
        self.charge.cancel_card_entry()  # an open card page has charged nothing yet: close it
        if self.bridge.running:
            self.statusBar().showMessage("Finishing the work in progress; close again in a moment.", 5000)
            event.ignore()
            return
        super().closeEvent(event)
