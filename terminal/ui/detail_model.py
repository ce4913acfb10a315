"""A table model of one transaction's journal: every operation, oldest first, in a clerk's words."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from terminal.domain.ledger import Operation
from terminal.domain.operations import OperationState
from terminal.ui.operation_text import card_checks, local_time, outcome_words, state_words

COLUMNS = (
    "Time",
    "Operator",
    "Operation",
    "Amount",
    "State",
    "Gateway reference",
    "Approval",
    "Card checks",
    "Details",
)
AMOUNT_COLUMN = 3

Index = QModelIndex | QPersistentModelIndex


def _cell(op: Operation, column: int) -> str:
    values = (
        lambda: local_time(op.created_at),
        lambda: op.operator,
        lambda: op.kind.label,
        op.amount.display,
        lambda: state_words(op.state),
        lambda: op.gateway_reference,
        lambda: op.approval_code,
        lambda: card_checks(op),
        lambda: outcome_words(op),
    )
    return values[column]()


class OperationsModel(QAbstractTableModel):
    """Read-only rows of a transaction's operations; `set_operations` replaces them all."""

    def __init__(self) -> None:
        super().__init__()
        self._ops: tuple[Operation, ...] = ()

    def set_operations(self, ops: tuple[Operation, ...]) -> None:
        """Show these operations (the journal as just read)."""
        self.beginResetModel()
        self._ops = tuple(ops)
        self.endResetModel()

    def operation(self, row: int) -> Operation | None:
        """The operation on `row`, if any."""
        return self._ops[row] if 0 <= row < len(self._ops) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ops)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ops):
            return None
        op = self._ops[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return _cell(op, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == AMOUNT_COLUMN:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 4:
            colour = {
                OperationState.SUCCEEDED: "#1b7f3b",
                OperationState.DECLINED: "#b3261e",
                OperationState.UNKNOWN: "#9a6400",
            }.get(op.state)
            return QColor(colour) if colour else None
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None
