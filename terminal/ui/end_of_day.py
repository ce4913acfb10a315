"""End of day (F7): the pre-authorisations still open, captured in one batch with progress and Cancel.

The screen only picks and shows; BatchCapture (services) does the captures, each an ordinary capture
written ahead and sent once. Cancel stops starting new ones; those in flight finish and are recorded,
so the summary always matches the journal.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.ledger import Transaction
from terminal.services.batch import BatchCapture, BatchProgress, BatchSummary
from terminal.services.profiles import gateway_display_name
from terminal.ui.async_bridge import AsyncBridge

COLUMNS = ("Capture", "Authorised", "Order reference", "Customer", "Gateway", "Card", "Amount")


class EndOfDayScreen(QWidget):
    """Lists open pre-authorisations; Enter captures the ticked ones; Esc cancels a running batch."""

    finished = Signal(object)  # BatchSummary, so History can refresh

    def __init__(self, batch: BatchCapture, bridge: AsyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.batch = batch
        self.bridge = bridge
        self.running = False
        self._rows: list[Transaction] = []
        title = QLabel("End of day")
        title.setObjectName("screenTitle")
        hint = QLabel(
            "Pre-authorisations still open. Tick the ones to capture (Space), then Capture (Enter). "
            "Each is captured once, for what it still has capturable."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.refresh_button = QPushButton("&Refresh")
        self.select_all = QPushButton("Tick &all")
        self.capture = QPushButton("&Capture ticked  ⏎")
        self.capture.setObjectName("primary")
        self.cancel = QPushButton("Cancel batch (Esc)")
        self.cancel.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.select_all)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.capture)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self.refresh_button.clicked.connect(self.refresh)
        self.select_all.clicked.connect(self.tick_all)
        self.capture.clicked.connect(self.start)
        self.cancel.clicked.connect(self.cancel_batch)
        self._keys()

    def _keys(self) -> None:
        for key, action in (
            (Qt.Key.Key_Escape, self.cancel_batch),
            (Qt.Key.Key_Return, self.start),
            (Qt.Key.Key_Enter, self.start),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(action)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self.table, self._toggle_current).setContext(
            Qt.ShortcutContext.WidgetShortcut
        )

    # -- listing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the open pre-authorisations again (when shown, and after a batch)."""
        if self.running:
            return
        self.bridge.run(
            self.batch.candidates(),
            on_done=self.show_candidates,
            on_error=lambda exc: self.summary.setText(f"The list could not be read: {exc}"),
            busy_text="Reading open pre-authorisations…",
            background=True,
        )

    def show_candidates(self, txs: list[Transaction]) -> None:
        """Fill the table, every row ticked (end of day usually captures them all)."""
        self._rows = txs
        self.table.setRowCount(len(txs))
        for row, tx in enumerate(txs):
            tick = QTableWidgetItem()
            tick.setFlags(
                Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            )
            tick.setCheckState(Qt.CheckState.Checked)
            tick.setData(Qt.ItemDataRole.UserRole, tx.id)
            values = (
                f"{tx.created_at.astimezone():%d %b %H:%M}",
                tx.merchant_reference,
                tx.customer_name or tx.customer_id,
                gateway_display_name(tx.gateway),
                tx.card.masked,
                tx.capturable.display(),
            )
            self.table.setItem(row, 0, tick)
            for column, value in enumerate(values, start=1):
                item = QTableWidgetItem(value)
                if column == len(values):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.capture.setEnabled(bool(txs))
        if not txs:
            self.summary.setText("No pre-authorisation is waiting to be captured.")
        if txs:
            self.table.setCurrentCell(0, 0)
        self.table.setFocus()

    def ticked(self) -> list[str]:
        """Ids of the ticked transactions, in the table's order."""
        ids = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.checkState() is Qt.CheckState.Checked:
                ids.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return ids

    def tick_all(self) -> None:
        """Tick every row."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None:
                item.setCheckState(Qt.CheckState.Checked)

    def _toggle_current(self) -> None:
        item = self.table.item(self.table.currentRow(), 0)
        if item is not None:
            checked = item.checkState() is Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    # -- the batch --------------------------------------------------------------------------
    def start(self) -> None:
        """Capture the ticked pre-authorisations."""
        ids = self.ticked()
        if self.running or not ids:
            if not ids and not self.running:
                self.summary.setText("Tick at least one pre-authorisation to capture.")
            return
        self.running = True
        self.progress.setRange(0, len(ids))
        self.progress.setValue(0)
        self.progress.setFormat(f"%v of {len(ids)} captured or answered")
        self.progress.show()
        self.summary.setText("Capturing… Esc stops starting new captures.")
        self.cancel.setEnabled(True)
        self.bridge.run(
            self.batch.run(ids, self._progressed),
            on_done=self._done,
            on_error=self._failed,
            controls=[self.capture, self.refresh_button, self.select_all],
            busy_text=f"End of day: capturing {len(ids)} pre-authorisations…",
        )

    def cancel_batch(self) -> None:
        """Stop starting captures; the ones in flight finish and are recorded."""
        if not self.running:
            return
        self.batch.cancel()
        self.cancel.setEnabled(False)
        self.summary.setText("Cancelling: the captures already sent finish and are recorded…")

    def _progressed(self, progress: BatchProgress) -> None:
        self.progress.setValue(progress.done)

    def _done(self, summary: BatchSummary) -> None:
        self.running = False
        self.cancel.setEnabled(False)
        self.summary.setText(summary.text)
        self.finished.emit(summary)
        self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.cancel.setEnabled(False)
        self.summary.setText(f"The batch stopped: {exc}. Check History before running it again.")
        self.refresh()
