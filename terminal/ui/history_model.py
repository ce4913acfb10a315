"""A paged table model over the history: it fetches the next page as the view scrolls."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from terminal.services.profiles import gateway_display_name
from terminal.store.transactions import TransactionRow
from terminal.ui.async_bridge import AsyncBridge

PAGE_SIZE = 200
COLUMNS = ("Date", "Reference", "Gateway", "Type", "Amount", "State", "Card", "Customer")
AMOUNT_COLUMN = 4

Index = QModelIndex | QPersistentModelIndex
PageLoader = Callable[[int, int, str], Coroutine[Any, Any, list[TransactionRow]]]
CountLoader = Callable[[str], Coroutine[Any, Any, int]]


def _cell(row: TransactionRow, column: int) -> str:
    if column == 0:
        return row.created_at.astimezone().strftime("%d %b %Y %H:%M")
    if column == 1:
        return row.merchant_reference
    if column == 2:
        return gateway_display_name(row.gateway)
    if column == 3:
        return row.kind.label if row.kind else ""
    if column == AMOUNT_COLUMN:
        return row.amount.display()
    if column == 5:
        return row.state.label
    if column == 6:
        # A bank transfer has a method but no card digits.
        return f"{row.card_brand} •••• {row.card_last4}".strip() if row.card_last4 else row.card_brand
    return row.customer_name


class HistoryModel(QAbstractTableModel):
    """Rows newest first; `canFetchMore`/`fetchMore` load pages through the async bridge."""

    loaded = Signal(int)

    def __init__(self, load_page: PageLoader, load_count: CountLoader, bridge: AsyncBridge) -> None:
        super().__init__()
        self._load_page = load_page
        self._load_count = load_count
        self._bridge = bridge
        self._rows: list[TransactionRow] = []
        self._total = 0
        self._search = ""
        self._fetching = False
        self._generation = 0

    # -- Qt model API -----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(row, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == AMOUNT_COLUMN:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._fetching and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._fetching:
            return
        self._fetching = True
        generation = self._generation
        self._bridge.run(
            self._load_page(len(self._rows), PAGE_SIZE, self._search),
            on_done=lambda rows: self._append(generation, rows),
            on_error=lambda _exc: self._stop_fetching(),
        )

    # -- loading ----------------------------------------------------------------------------
    def row_at(self, row: int) -> TransactionRow | None:
        """The history row shown at `row`."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @property
    def total(self) -> int:
        """How many transactions match the current search."""
        return self._total

    async def reload(self, search: str = "") -> None:
        """Start again from the newest rows for `search`."""
        self._generation += 1
        generation = self._generation
        total = await self._load_count(search)
        rows = await self._load_page(0, PAGE_SIZE, search)
        if generation != self._generation:
            return
        self.beginResetModel()
        self._search, self._total, self._rows, self._fetching = search, total, rows, False
        self.endResetModel()
        self.loaded.emit(total)

    def _stop_fetching(self) -> None:
        self._fetching = False

    def _append(self, generation: int, rows: list[TransactionRow]) -> None:
        self._fetching = False
        if generation != self._generation or not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
