"""The History table model over a real store: qtmodeltester, paging as it scrolls, search, masking."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from terminal.domain.ledger import CardSummary, Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.history import HistoryService
from terminal.services.journal import Journal
from terminal.store.database import Database, open_database
from terminal.store.transactions import TransactionRepository
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.history_model import PAGE_SIZE, HistoryModel

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


def test_model_pages_searches_and_passes_modeltester(
    qloop: asyncio.AbstractEventLoop,
    qtmodeltester,
    database: Database,  # type: ignore[no-untyped-def]
) -> None:
    journal = Journal(TransactionRepository(database.engine))
    bridge = AsyncBridge()
    model = HistoryModel(HistoryService(journal).page, HistoryService(journal).count, bridge)

    async def scenario() -> None:
        await model.reload()
        assert model.total == ROWS and model.rowCount() == PAGE_SIZE
        assert model.index(0, 1).data() == f"REF-{ROWS - 1:04d}"  # newest first
        while model.canFetchMore():
            model.fetchMore()
            await bridge.drain()
        assert model.rowCount() == ROWS
        assert model.index(ROWS - 1, 1).data() == "REF-0000"
        await model.reload("0123")  # last four
        assert [model.index(r, 1).data() for r in range(model.rowCount())] == ["REF-0123"]
        await model.reload("ref-044")  # reference prefix, any case
        assert model.rowCount() == 10

    qloop.run_until_complete(scenario())
    qtmodeltester.check(model)
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            text = str(model.index(r, c).data() or "")
            assert not re.search(r"\d{5,}", text.replace(",", "").replace(".", "")), text
    journal.close()
