"""The open payment links as a table (with their last-read status), and the mailto: address for a link."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QUrl

from terminal.domain.ledger import Transaction
from terminal.domain.operations import OperationState
from terminal.ui.operation_text import state_words

COLUMNS = ("Created", "Reference", "Customer e-mail", "Amount", "Status", "Expires", "Link")
Index = QModelIndex | QPersistentModelIndex


def mailto_url(email: str, link: str, *, amount: str, description: str = "", merchant: str = "") -> QUrl:
    """A mailto: address for the clerk's mail client, whose body carries the payment link."""
    subject = f"Payment request{f' from {merchant}' if merchant else ''}: {amount}"
    lines = ["Hello,", "", f"Please pay {amount}" + (f" for {description}" if description else "") + " here:"]
    body = "\r\n".join([*lines, link, "", "Thank you."])
    return QUrl(f"mailto:{quote(email, safe='@')}?subject={quote(subject)}&body={quote(body)}")


class OpenLinksModel(QAbstractTableModel):
    """Open links, oldest first, with the status last read from the gateway."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Transaction] = []

    def set_links(self, links: list[Transaction]) -> None:
        """Show these links (the list as just read)."""
        self.beginResetModel()
        self._rows = list(links)
        self.endResetModel()

    def link(self, row: int) -> Transaction | None:
        """The link's transaction on `row`, if any."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 3:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        tx = self._rows[index.row()]
        op = tx.first_operation
        values = (
            tx.created_at.astimezone().strftime("%d %b %Y %H:%M"),
            tx.merchant_reference,
            tx.customer_email,
            tx.amount.display(),
            "Waiting for payment"
            if op is not None and op.state is OperationState.CHALLENGE
            else tx.state.label,
            tx.expires_at.astimezone().strftime("%d %b %Y %H:%M") if tx.expires_at else "Gateway default",
            tx.link_url,
        )
        if op is not None and op.state is not OperationState.CHALLENGE:
            values = (*values[:4], state_words(op.state), *values[5:])
        return values[index.column()]

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
