"""CSV export of History's filtered set: masked values only, in pages, off the UI thread, cancellable.

What leaves the terminal in a file is what a clerk may see on screen (PCI DSS 3.4.1, 3.4.2; PCI-5):
card brand and last four digits, never a first six, a token or a gateway's internal identifier.
Rows are read a chunk at a time (keyset pages) and written by a worker thread into a `.part` file that
replaces the target only when complete, so a cancelled or failed export leaves nothing half written.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from pathlib import Path

from terminal.services.history import HistoryService
from terminal.services.profiles import gateway_display_name
from terminal.store.queries import HistoryQuery
from terminal.store.transactions import TransactionRow

__all__ = ["CHUNK", "COLUMNS", "CsvExport", "ExportCancelled", "ExportZone"]

CHUNK = 2000
COLUMNS = (
    "Date and time",
    "Order reference",
    "Gateway",
    "Profile",
    "Type",
    "Amount",
    "Currency",
    "State",
    "Card brand",
    "Card last four",
    "Customer",
    "Sandbox",
)
# A spreadsheet runs a cell starting with these as a formula (CSV injection): such text is quoted with '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportZone(StrEnum):
    """The time zone of the exported dates, chosen at export."""

    LOCAL = "local"
    UTC = "utc"

    @property
    def label(self) -> str:
        """How the choice reads in the export dialog."""
        return "This computer's time zone" if self is ExportZone.LOCAL else "UTC"


class ExportCancelled(Exception):
    """The operator cancelled the export; no file was written."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    rows: int


def csv_cells(row: TransactionRow, zone: ExportZone) -> list[str]:
    """One CSV line of masked values; dates in ISO 8601 with their UTC offset."""
    moment = row.created_at.astimezone(UTC) if zone is ExportZone.UTC else row.created_at.astimezone()
    cells = [
        moment.isoformat(timespec="seconds"),
        row.merchant_reference,
        gateway_display_name(row.gateway),
        row.profile,
        row.kind.label if row.kind else "",
        row.amount.plain(),
        row.amount.currency,
        row.state.label,
        row.card_brand,
        row.card_last4,
        row.customer_name,
        "yes" if row.sandbox else "no",
    ]
    return [_no_formula(cell) for cell in cells]


def _no_formula(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _render(rows: list[TransactionRow], zone: ExportZone) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(csv_cells(row, zone) for row in rows)
    return buffer.getvalue()


class CsvExport:
    """Writes the rows of a History query to a CSV file, a chunk at a time."""

    def __init__(self, history: HistoryService, *, chunk: int = CHUNK) -> None:
        self.history = history
        self.chunk = chunk

    async def write(
        self,
        query: HistoryQuery,
        path: Path,
        zone: ExportZone,
        *,
        on_progress: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> ExportResult:
        """Export every row of `query` to `path`; `on_progress(rows written)` after each chunk.

        Raises ExportCancelled when `cancelled()` turns true (or the task is cancelled); the target
        is then untouched and the partial file removed.
        """
        part = path.with_name(path.name + ".part")
        written = 0
        handle = await asyncio.to_thread(_open, part)
        try:
            await asyncio.to_thread(handle.write, _header(zone))
            after: TransactionRow | None = None
            while True:
                if cancelled():
                    raise ExportCancelled(f"Export cancelled after {written} rows; no file was written.")
                rows = await self.history.rows(query, after, self.chunk)
                if rows:
                    # Formatting runs on the worker thread too: 2,000 rows of it would stall the UI thread.
                    await asyncio.to_thread(_write_rows, handle, rows, zone)
                    written += len(rows)
                    after = rows[-1]
                    if on_progress is not None:
                        on_progress(written)
                if len(rows) < self.chunk:
                    break
            await asyncio.to_thread(_finish, handle, part, path)
        except BaseException:
            handle.close()
            part.unlink(missing_ok=True)
            raise
        return ExportResult(path, written)


def _write_rows(handle: io.TextIOWrapper, rows: list[TransactionRow], zone: ExportZone) -> None:
    handle.write(_render(rows, zone))


def _open(part: Path) -> io.TextIOWrapper:
    # utf-8-sig: spreadsheet programs then read accented customer names correctly.
    return open(part, "w", encoding="utf-8-sig", newline="")


def _header(zone: ExportZone) -> str:
    buffer = io.StringIO()
    names = list(COLUMNS)
    names[0] = f"{COLUMNS[0]} ({'UTC' if zone is ExportZone.UTC else 'local time'})"
    csv.writer(buffer, lineterminator="\r\n").writerow(names)
    return buffer.getvalue()


def _finish(handle: io.TextIOWrapper, part: Path, path: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(part, path)
