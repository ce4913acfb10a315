"""The History screen: every transaction, newest first, searchable by reference, last four or customer."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.services.history import HistoryService
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.history_model import HistoryModel


class HistoryScreen(QWidget):
    """A table over the whole store, paged as it scrolls, with a search box."""

    # A transaction was opened (Enter or double-click on its row): its id, for the detail screen.
    transaction_activated = Signal(str)

    def __init__(self, history: HistoryService, bridge: AsyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.bridge = bridge
        self.model = HistoryModel(history.page, history.count, bridge)
        title = QLabel("History")
        title.setObjectName("screenTitle")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search: order reference, last four digits or customer  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.count = QLabel()
        self.count.setObjectName("hint")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((155, 110, 85, 120, 120, 130, 170)):
            self.table.setColumnWidth(column, width)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.search.returnPressed.connect(self.refresh)
        self.model.loaded.connect(self._show_count)
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)

    def _activated(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is not None:
            self.transaction_activated.emit(row.id)

    def refresh(self) -> None:
        """Reload from the newest transaction for the current search."""
        self.bridge.run(self.model.reload(self.search.text().strip()))

    def _show_count(self, total: int) -> None:
        self.count.setText(f"{total} transaction{'s' if total != 1 else ''}")
        if total and not self.table.currentIndex().isValid():
            self.table.selectRow(0)

    def focus_search(self) -> None:
        """Ctrl+F: put the cursor in the search box."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()
