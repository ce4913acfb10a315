"""The History table model over a real store: qtmodeltester, paging as it scrolls, search, masking."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.history import HistoryService
from terminal.services.journal import Journal
from terminal.store.database import Database, open_database
from terminal.store.queries import HistoryQuery, SortKey
from terminal.store.transactions import TransactionRepository
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.history_model import AMOUNT_COLUMN, PAGE_SIZE, HistoryModel

ROWS = 450


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(tmp_path)
    repo = TransactionRepository(db.engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(ROWS):
        at = start + timedelta(minutes=i)
        tx = Transaction(
            f"tx{i:04d}",
            "ogopay",
            "ogopay-sandbox",
            f"REF-{i:04d}",
            "LKR",
            at,
            customer_name=f"Customer {i % 7}",
            card=CardSummary("Visa", "424242", f"{i:04d}"[-4:]),
            sandbox=True,
        )
        op = Operation(
            f"op{i:04d}",
            tx.id,
            OperationKind.SALE,
            Money(100 + i, "LKR"),
            OperationState.SUCCEEDED,
            f"key-{i}",
            tx.merchant_reference,
            at,
            at,
            approval_code="A1",
        )
        repo.add(tx.with_operation(op))
    yield db
    db.close()


async def settled(model: HistoryModel) -> None:
    for _ in range(500):
        if not model.fetching:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the model kept fetching")


def test_model_pages_searches_sorts_and_passes_modeltester(
    qloop: asyncio.AbstractEventLoop,
    qtmodeltester,
    database: Database,  # type: ignore[no-untyped-def]
) -> None:
    journal = Journal(TransactionRepository(database.engine))
    history = HistoryService(journal)
    bridge = AsyncBridge()
    model = HistoryModel(history.rows, history.count_upto, bridge)

    async def scenario() -> None:
        await model.reload()
        assert model.total == ROWS and model.rowCount() == PAGE_SIZE
        assert model.index(0, 1).data() == f"REF-{ROWS - 1:04d}"  # newest first
        while model.canFetchMore():
            model.fetchMore()
            await settled(model)
        assert model.rowCount() == ROWS and model.exhausted
        assert model.index(ROWS - 1, 1).data() == "REF-0000"
        await model.reload(HistoryQuery(search="0123"))  # last four
        assert [model.index(r, 1).data() for r in range(model.rowCount())] == ["REF-0123"]
        await model.reload(HistoryQuery(search="ref-044"))  # reference prefix, any case
        assert model.rowCount() == 10
        await model.reload(HistoryQuery(search="1.23"))  # an amount: 1.23 LKR is 123 minor units
        assert [model.index(r, 1).data() for r in range(model.rowCount())] == ["REF-0023"]
        await model.reload(HistoryQuery())
        model.sort(AMOUNT_COLUMN, Qt.SortOrder.AscendingOrder)  # a header click: the server sorts
        await asyncio.sleep(0)
        await settled(model)
        assert model.query.sort is SortKey.AMOUNT and not model.query.descending
        assert model.index(0, 1).data() == "REF-0000"
        while model.canFetchMore():
            model.fetchMore()
            await settled(model)
        assert model.index(ROWS - 1, 1).data() == f"REF-{ROWS - 1:04d}"

    qloop.run_until_complete(scenario())
    qtmodeltester.check(model)
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            for role in (
                Qt.ItemDataRole.DisplayRole,
                Qt.ItemDataRole.ToolTipRole,
                Qt.ItemDataRole.AccessibleTextRole,
            ):
                text = str(model.index(r, c).data(role) or "")
                assert not re.search(r"\d{5,}", text.replace(",", "").replace(".", "")), text
    history.close()
    journal.close()
