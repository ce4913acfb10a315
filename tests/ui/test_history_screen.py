"""The History screen by keyboard over a real store: search, a state filter, sort by header, export."""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.domain.ledger import TransactionState
from terminal.services.export import ExportZone
from terminal.services.history import HistoryService
from terminal.services.journal import Journal
from terminal.store.database import Database
from terminal.store.queries import SortKey
from terminal.store.transactions import TransactionRepository
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.history_screen import HistoryScreen
from tests.ui.test_history_model import ROWS, database  # noqa: F401  (the seeded store fixture)


async def until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_search_filter_sort_and_export_by_keyboard(
    qloop: asyncio.AbstractEventLoop,
    qtbot,  # type: ignore[no-untyped-def]
    database: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    journal = Journal(TransactionRepository(database.engine))
    history = HistoryService(journal)
    screen = HistoryScreen(history, AsyncBridge(), profiles=[("ogopay-sandbox", "OGO Pay (SANDBOX)")])
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()

    async def scenario() -> None:
        screen.refresh()
        await until(lambda: screen.model.total == ROWS)
        assert screen.count.text() == f"{ROWS} transactions"
        screen.focus_search()
        QTest.keyClicks(screen.search, "ref-010")
        QTest.keyClick(screen.search, Qt.Key.Key_Return)
        await until(lambda: screen.model.rowCount() == 10 and not screen.model.fetching)
        screen.search.clear()
        screen.filters.state.setFocus()
        screen.filters.state.setCurrentIndex(screen.filters.state.findData(TransactionState.DECLINED.value))
        await until(lambda: screen.model.rowCount() == 0 and not screen.model.fetching)
        assert screen.count.text() == "0 transactions"
        screen.filters.reset()
        await until(lambda: screen.model.total == ROWS and screen.model.rowCount() > 0)
        screen.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # what a click on "Reference" does
        await until(lambda: screen.model.query.sort is SortKey.REFERENCE and not screen.model.fetching)
        first = screen.model.index(0, 1).data()
        assert first == "REF-0000"
        screen.grab().save(str(tmp_path / "history.png"))
        target = tmp_path / "export.csv"
        screen.start_export(target, ExportZone.UTC)
        assert screen.export_row.isVisible()
        await until(lambda: not screen.export_row.isVisible())
        with open(target, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        assert len(rows) == ROWS + 1 and rows[1][1] == first  # the export follows the screen's sort
        assert not re.search(r"\d{11,}", target.read_text(encoding="utf-8-sig"))
        screen.table.setFocus()
        screen.table.selectRow(0)
        with qtbot.waitSignal(screen.receipt_requested) as asked:
            QTest.keyClick(screen.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
        assert asked.args == [screen.model.row_at(0).id]  # type: ignore[union-attr]
        with qtbot.waitSignal(screen.transaction_activated):
            QTest.keyClick(screen.table, Qt.Key.Key_Return)

    qloop.run_until_complete(scenario())
    history.close()
    journal.close()
