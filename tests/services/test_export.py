"""CSV export of History: every matching row, masked values only, the chosen time zone, cancellable."""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from terminal.domain.ledger import CardSummary, Operation, Transaction, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.export import CsvExport, ExportCancelled, ExportZone
from terminal.services.history import HistoryService
from terminal.services.journal import Journal
from terminal.store.database import open_database
from terminal.store.queries import HistoryQuery
from terminal.store.transactions import TransactionRepository

ROWS = 260
START = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryService]:
    db = open_database(tmp_path / "db")
    repo = TransactionRepository(db.engine)
    for i in range(ROWS):
        at = START + timedelta(minutes=i)
        tx = Transaction(
            f"tx{i:04d}", "ogopay", "ogopay-sandbox", f"INV-{i:04d}", "OMR", at,
            customer_name="=HYPERLINK(\"x\")" if i == 7 else f"Customer {i}",
            card=CardSummary("Visa", "411111", "1111", "12/30", token=f"tok_{i:012d}"),
            sandbox=True,
        )  # fmt: skip
        state = OperationState.DECLINED if i % 5 == 0 else OperationState.SUCCEEDED
        amount = Money(1250 + i, "OMR")
        op = Operation(f"op{i}", tx.id, OperationKind.SALE, amount, state, f"k{i}", f"INV-{i:04d}", at, at)
        repo.add(tx.with_operation(op))
    journal = Journal(repo)
    service = HistoryService(journal)
    yield service
    service.close()
    journal.close()
    db.close()


def read(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_export_writes_every_filtered_row_masked(history: HistoryService, tmp_path: Path) -> None:
    target = tmp_path / "history.csv"
    progress: list[int] = []
    query = HistoryQuery(states=(TransactionState.CAPTURED,))
    result = asyncio.run(
        CsvExport(history, chunk=40).write(query, target, ExportZone.UTC, on_progress=progress.append)
    )
    rows = read(target)
    assert rows[0][0] == "Date and time (UTC)" and rows[0][9] == "Card last four"
    assert result.rows == len(rows) - 1 == ROWS - ROWS // 5
    assert progress == sorted(progress) and progress[-1] == result.rows and len(progress) >= 5
    assert rows[1][1] == f"INV-{ROWS - 1:04d}" and rows[1][5] == f"{(1250 + ROWS - 1) / 1000:.3f}"
    assert {r[7] for r in rows[1:]} == {"Captured"}
    text = target.read_text(encoding="utf-8-sig")
    # PCI-5: no digit run longer than first six + last four anywhere; no first six, no token at all.
    assert not re.search(r"\d{11,}", text)
    assert "411111" not in text and "tok_" not in text
    assert rows[1][0].endswith("+00:00")
    assert not (tmp_path / "history.csv.part").exists()


def test_export_in_local_time_and_formulas_are_neutralised(history: HistoryService, tmp_path: Path) -> None:
    target = tmp_path / "local.csv"
    asyncio.run(CsvExport(history).write(HistoryQuery(search="INV-0007"), target, ExportZone.LOCAL))
    header, row = read(target)
    assert header[0] == "Date and time (local time)"
    at = START + timedelta(minutes=7)
    assert datetime.fromisoformat(row[0]) == at
    assert row[0] == at.astimezone().isoformat(timespec="seconds")
    assert row[10].startswith("'=")  # a spreadsheet shows it as text, never runs it


def test_cancelled_export_leaves_no_file(history: HistoryService, tmp_path: Path) -> None:
    target = tmp_path / "cancelled.csv"
    seen: list[int] = []
    with pytest.raises(ExportCancelled):
        asyncio.run(
            CsvExport(history, chunk=20).write(
                HistoryQuery(),
                target,
                ExportZone.UTC,
                on_progress=seen.append,
                cancelled=lambda: len(seen) >= 3,
            )
        )
    assert seen == [20, 40, 60]
    assert not target.exists() and not (tmp_path / "cancelled.csv.part").exists()
