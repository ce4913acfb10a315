"""The History screen: every transaction, searchable, filtered, sorted by the server, exported to CSV.

Keyboard: Ctrl+F search, Tab through the filters, Enter opens the selected transaction, Ctrl+P its
receipt, Ctrl+E exports what is shown; Esc cancels an export in progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QModelIndex, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.services.export import CsvExport, ExportCancelled, ExportResult, ExportZone
from terminal.services.history import HistoryService
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.history_filters import FilterBar
from terminal.ui.history_model import COUNT_CAP, HistoryModel, count_text


class ExportDialog(QDialog):
    """Where to write the CSV and in which time zone; Enter exports, Esc cancels."""

    def __init__(self, suggested: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export History to CSV")
        self.path = QLineEdit(str(suggested))
        self.path.setAccessibleName("File")
        browse = QPushButton("&Browse…")
        browse.clicked.connect(self._browse)
        self.local = QRadioButton(ExportZone.LOCAL.label)
        self.local.setChecked(True)
        self.utc = QRadioButton(ExportZone.UTC.label)
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        zones = QVBoxLayout()
        zones.addWidget(self.local)
        zones.addWidget(self.utc)
        form = QFormLayout()
        form.addRow("&File", file_row)
        form.addRow("Times in", zones)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export  ⏎")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Only masked card details are exported: brand and last four digits."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    @property
    def zone(self) -> ExportZone:
        """The chosen time zone."""
        return ExportZone.UTC if self.utc.isChecked() else ExportZone.LOCAL

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), "CSV files (*.csv)")
        if chosen:
            self.path.setText(chosen)

    def _accept(self) -> None:
        target = Path(self.path.text().strip()).expanduser()
        if not self.path.text().strip():
            self.error.setText("File: enter where to save the export.")
        elif not target.parent.is_dir():
            self.error.setText(f"File: the folder {target.parent} does not exist.")
        else:
            self.accept()


class HistoryScreen(QWidget):
    """A table over the whole store, paged as it scrolls, with search, filters, sort and export."""

    # A transaction was opened (Enter or double-click on its row): its id, for the detail screen.
    transaction_activated = Signal(str)
    # The clerk asked for the selected transaction's receipt (Ctrl+P): its id.
    receipt_requested = Signal(str)
    exported = Signal(object)  # ExportResult

    def __init__(
        self,
        history: HistoryService,
        bridge: AsyncBridge,
        parent: QWidget | None = None,
        *,
        profiles: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.bridge = bridge
        self.exporter = CsvExport(history)
        self.model = HistoryModel(history.rows, history.count_upto, bridge)
        title = QLabel("History")
        title.setObjectName("screenTitle")
        self.count = QLabel()
        self.count.setObjectName("hint")
        self.receipt = QPushButton("Receipt  Ctrl+P")
        self.export = QPushButton("Export CSV…  Ctrl+E")
        self.search = QLineEdit()
        self.search.setPlaceholderText(
            "Search: order reference, last four digits, customer or amount (12.50)  (Ctrl+F)"
        )
        self.search.setClearButtonEnabled(True)
        self.filters = FilterBar(profiles)
        self.table = self._table()
        self.export_row = self._export_row()
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.count)
        top.addWidget(self.receipt)
        top.addWidget(self.export)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.export_row)
        self._cancel_requested = False
        self.last_export_message = ""
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._connect()

    def _table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        table.setSortingEnabled(True)  # the model sorts on the server: see HistoryModel.sort
        # Fits 1280 px beside the navigation; Customer, the last column, takes what is left.
        for column, width in enumerate((145, 110, 90, 115, 120, 125, 165)):
            table.setColumnWidth(column, width)
        return table

    def _export_row(self) -> QWidget:
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress_text = QLabel()
        self.cancel_export = QPushButton("Cancel export  Esc")
        row = QWidget()
        export_layout = QHBoxLayout(row)
        export_layout.setContentsMargins(0, 0, 0, 0)
        export_layout.addWidget(self.progress_text)
        export_layout.addWidget(self.progress, 1)
        export_layout.addWidget(self.cancel_export)
        row.hide()
        return row

    def _connect(self) -> None:
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _text: self._debounce.start())
        self.search.returnPressed.connect(self.refresh)
        self.filters.changed.connect(self.refresh)
        self.model.loaded.connect(self._show_loaded)
        self.model.counted.connect(lambda total: self.count.setText(count_text(total)))
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)
        self.receipt.clicked.connect(self.request_receipt)
        self.export.clicked.connect(self.ask_export)
        self.cancel_export.clicked.connect(self.cancel_running_export)
        for keys, slot in (
            ("Ctrl+P", self.request_receipt),
            ("Ctrl+E", self.ask_export),
            ("Esc", self.cancel_running_export),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- rows ---------------------------------------------------------------------------------
    def _activated(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is not None:
            self.transaction_activated.emit(row.id)

    def refresh(self) -> None:
        """Reload from the first row for the current search, filters and sort."""
        query = self.filters.query(self.model.query, self.search.text().strip())
        self.bridge.run(self.model.reload(query), background=True)

    def _show_loaded(self, rows: int) -> None:
        if self.model.exhausted:
            self.count.setText(count_text(rows))
        else:
            self.count.setText(f"{rows}+ transactions, counting…")
        if rows and not self.table.currentIndex().isValid():
            self.table.selectRow(0)

    def selected_id(self) -> str | None:
        """The id of the transaction under the cursor, if any."""
        row = self.model.row_at(self.table.currentIndex().row())
        return row.id if row is not None else None

    def request_receipt(self) -> None:
        """Ctrl+P: the receipt of the selected transaction."""
        tx_id = self.selected_id()
        if tx_id is not None:
            self.receipt_requested.emit(tx_id)

    def focus_search(self) -> None:
        """Ctrl+F: put the cursor in the search box."""
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- export -------------------------------------------------------------------------------
    def ask_export(self) -> None:
        """Ctrl+E: choose a file and a time zone, then export the rows matching the current view."""
        if self.export_row.isVisible():
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        dialog = ExportDialog(Path(folder or Path.home()) / "history.csv", self)
        dialog.accepted.connect(lambda: self.start_export(Path(dialog.path.text().strip()), dialog.zone))
        dialog.open()

    def start_export(self, path: Path, zone: ExportZone) -> None:
        """Export the current query's rows to `path`, showing progress; Esc or Cancel stops it."""
        self._cancel_requested = False
        expected = self.model.total if self.model.exhausted or self.model.total <= COUNT_CAP else 0
        self.progress.setRange(0, expected or 0)
        self.progress.setValue(0)
        self.progress_text.setText("Exporting…")
        self.export_row.show()
        self.export.setEnabled(False)

        def progress(rows: int) -> None:
            if self.progress.maximum():
                self.progress.setValue(min(rows, self.progress.maximum()))
            self.progress_text.setText(f"Exporting… {rows:,} rows written")

        self.bridge.run(
            self.exporter.write(
                self.model.query, path, zone, on_progress=progress, cancelled=lambda: self._cancel_requested
            ),
            on_done=self._export_done,
            on_error=self._export_failed,
            busy_text=f"Exporting History to {path.name}…",
        )

    def cancel_running_export(self) -> None:
        """Esc during an export: stop after the chunk being written; no file is left behind."""
        if self.export_row.isVisible():
            self._cancel_requested = True
            self.progress_text.setText("Cancelling…")

    def _export_done(self, result: ExportResult) -> None:
        self._export_finished(f"Exported {result.rows:,} rows to {result.path}")
        self.exported.emit(result)

    def _export_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ExportCancelled):
            self._export_finished(str(exc))
        else:
            self._export_finished(f"Export failed: {exc}")

    def _export_finished(self, message: str) -> None:
        self.export_row.hide()
        self.export.setEnabled(True)
        self.count.setToolTip(message)
        self.last_export_message = message
        window = self.window()
        status = getattr(window, "statusBar", None)
        if callable(status):
            status().showMessage(message, 15000)
