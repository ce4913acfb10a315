"""A paged table model over the history: it fetches the next page as the view scrolls.

Pages are keyset pages of a `HistoryQuery` (search, filters, sort): the model asks for "the next
PAGE_SIZE rows after the last one I have", so the millionth row costs what the first does. Sorting is
the server's (clicking a header reloads with a new sort key); the model never sorts in memory. The
match count is capped (COUNT_CAP) and arrives after the first page, so typing never waits on it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from terminal.services.profiles import gateway_display_name
from terminal.store.queries import HistoryQuery, SortKey
from terminal.store.transactions import TransactionRow
from terminal.ui.async_bridge import AsyncBridge

PAGE_SIZE = 200
COUNT_CAP = 10_000
COLUMNS = ("Date", "Reference", "Gateway", "Type", "Amount", "State", "Card", "Customer")
SORT_KEYS = (
    SortKey.DATE,
    SortKey.REFERENCE,
    SortKey.GATEWAY,
    SortKey.KIND,
    SortKey.AMOUNT,
    SortKey.STATE,
    SortKey.CARD,
    SortKey.CUSTOMER,
)
AMOUNT_COLUMN = 4

_TEXT_ROLES = frozenset({int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.AccessibleTextRole)})
_ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLES_USED = _TEXT_ROLES | {_ALIGNMENT_ROLE, int(Qt.ItemDataRole.UserRole)}
_AMOUNT_ALIGNMENT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

Index = QModelIndex | QPersistentModelIndex
RowsLoader = Callable[[HistoryQuery, TransactionRow | None, int], Coroutine[Any, Any, list[TransactionRow]]]
CountLoader = Callable[[HistoryQuery, int], Coroutine[Any, Any, int]]


def cell_text(row: TransactionRow, column: int) -> str:
    """What History shows in `column` of `row`: masked card (brand and last four), local time."""
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


def count_text(total: int) -> str:
    """'1 transaction', '250 transactions', '10,000+ transactions'."""
    if total > COUNT_CAP:
        return f"{COUNT_CAP:,}+ transactions"
    return f"{total:,} transaction{'s' if total != 1 else ''}"


class HistoryModel(QAbstractTableModel):
    """Rows of the current query; `canFetchMore`/`fetchMore` load the next page through the async bridge."""

    loaded = Signal(int)  # rows in the first page of a reload
    counted = Signal(int)  # matching rows, at most COUNT_CAP + 1

    def __init__(self, load_rows: RowsLoader, count_upto: CountLoader, bridge: AsyncBridge) -> None:
        super().__init__()
        self._load_rows = load_rows
        self._count_upto = count_upto
        self._bridge = bridge
        self._rows: list[TransactionRow] = []
        self._texts: dict[int, tuple[str, ...]] = {}  # row number -> its cells' texts, once shown
        self._query = HistoryQuery()  # what the rows are
        self._wanted = self._query  # what was asked for last (a reload may be in flight)
        self._exhausted = True
        self._fetching = False
        self._generation = 0
        self._total = 0
        self._reloading = 0

    # -- Qt model API -----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A repaint asks for a dozen roles of every visible cell: answer the unused ones first, and
        # format each row's texts once (local time, amounts), not at every paint.
        if role not in _ROLES_USED or not index.isValid():
            return None
        number = index.row()
        if not 0 <= number < len(self._rows):
            return None
        if role in _TEXT_ROLES:
            texts = self._texts.get(number)
            if texts is None:
                row = self._rows[number]
                texts = self._texts[number] = tuple(cell_text(row, column) for column in range(len(COLUMNS)))
            return texts[index.column()] if 0 <= index.column() < len(texts) else None
        if role == _ALIGNMENT_ROLE:
            return _AMOUNT_ALIGNMENT if index.column() == AMOUNT_COLUMN else None
        return self._rows[number].id  # UserRole

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._fetching and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._fetching or self._exhausted:
            return
        self._fetching = True
        generation = self._generation
        last = self._rows[-1] if self._rows else None
        self._bridge.run(
            self._load_rows(self._query, last, PAGE_SIZE),
            on_done=lambda rows: self._append(generation, rows),
            on_error=lambda _exc: self._stop_fetching(),
            background=True,
        )

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort on the server by `column` (a header click): reload from the first row in the new order."""
        if not 0 <= column < len(SORT_KEYS):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        query = replace(self._wanted, sort=SORT_KEYS[column], descending=descending)
        if query != self._wanted:
            self._bridge.run(self.reload(query), background=True)

    # -- loading ----------------------------------------------------------------------------
    def row_at(self, row: int) -> TransactionRow | None:
        """The history row shown at `row`."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    @property
    def query(self) -> HistoryQuery:
        """The search, filters and order shown, or being loaded."""
        return self._wanted

    @property
    def total(self) -> int:
        """How many transactions match (capped at COUNT_CAP + 1), once counted."""
        return self._total

    @property
    def fetching(self) -> bool:
        """A page (or a reload) is being read."""
        return self._fetching or self._reloading > 0

    @property
    def exhausted(self) -> bool:
        """Every matching row is loaded."""
        return self._exhausted

    async def reload(self, query: HistoryQuery | None = None) -> None:
        """Start again from the first row of `query` (the current query when None)."""
        query = self._wanted if query is None else query
        self._wanted = query
        self._generation += 1
        generation = self._generation
        self._reloading += 1
        try:
            rows = await self._load_rows(query, None, PAGE_SIZE)
        finally:
            self._reloading -= 1
        if generation != self._generation:
            return
        self.beginResetModel()
        self._query, self._rows, self._fetching = query, rows, False
        self._texts.clear()
        self._exhausted = len(rows) < PAGE_SIZE
        self.endResetModel()
        self.loaded.emit(len(rows))
        total = len(rows) if self._exhausted else await self._count_upto(query, COUNT_CAP)
        if generation == self._generation:
            self._total = total
            self.counted.emit(total)

    def _stop_fetching(self) -> None:
        self._fetching = False

    def _append(self, generation: int, rows: list[TransactionRow]) -> None:
        self._fetching = False
        if generation != self._generation:
            return
        self._exhausted = len(rows) < PAGE_SIZE
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()
