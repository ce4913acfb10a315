"""History on a store of a million transactions: open, search, filter, scroll, and memory with a web view.

The real HistoryScreen over the real HistoryService, on the qasync loop as the terminal runs it. Each
time runs from the clerk's action (the screen shown, Enter in the search box, a filter chosen) to the
table's viewport painting the new rows. The scroll stall is the longest gap of a 5 ms UI timer while
the view is scrolled to its end again and again, each end fetching the next page.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.common import StallMonitor, median, qt_loop, rss_mb, wait_until
from benchmarks.store import ensure_store

# Scrolling a million rows to the end would hold them all in memory; the keyset pages cost the same
# at any depth, so the scroll covers this many rows (the whole store in tiny mode).
SCROLL_ROWS = 20_000
WAIT_S = 30.0


def run(rows: int = 1_000_000, *, scroll_rows: int = SCROLL_ROWS, web_view: bool = True) -> dict[str, Any]:
    """Every History figure on a cached store of `rows` transactions."""
    data_dir = ensure_store(rows)
    loop = qt_loop()
    try:
        return loop.run_until_complete(_measure(data_dir, scroll_rows, web_view))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class _Painted:
    """Records when the table's viewport last painted with rows in it."""

    def __init__(self, screen: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        model = screen.model
        self.at = 0.0

        class Filter(QObject):
            def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint and model.rowCount() > 0:
                    painted.at = time.perf_counter()
                return False

        painted = self
        self._filter = Filter()
        screen.table.viewport().installEventFilter(self._filter)


async def _measure(data_dir: Path, scroll_rows: int, web_view: bool) -> dict[str, Any]:
    from terminal.services.history import HistoryService
    from terminal.services.journal import Journal
    from terminal.store.database import open_database
    from terminal.store.queries import HistoryQuery
    from terminal.store.transactions import TransactionRepository
    from terminal.ui.async_bridge import AsyncBridge
    from terminal.ui.history_screen import HistoryScreen
    from terminal.ui.startup import freeze_startup_heap

    database = open_database(data_dir)
    journal = Journal(TransactionRepository(database.engine))
    history = HistoryService(journal)
    freeze_startup_heap()  # as `merchant-terminal` does once its screens are built
    # The terminal opens History some time after start-up, when the service's start-up read (the store's
    # distinct customers, for searches) is done: wait for it as a clerk's first F3 would.
    await history.count_upto(HistoryQuery(), 0)
    bridge = AsyncBridge()
    profiles = [(f"{g}-sandbox", f"{g} demo") for g in ("ogopay", "etpay", "ompay", "paymentz", "connect")]
    screen = HistoryScreen(history, bridge, profiles=profiles)
    screen.resize(1280, 800)
    painted = _Painted(screen)
    monitor = StallMonitor()
    monitor.start()
    view = None
    try:
        # Open: the screen shown and its first page read and painted (F3 does show + refresh).
        started = time.perf_counter()
        screen.show()
        screen.refresh()
        await _painted_after(painted, screen, started)
        open_ms = (time.perf_counter() - started) * 1000
        await _settled(screen)

        search = {}
        for label, texts in (("reference", _references(screen)), ("last_four", _last_fours(database))):
            search[label] = median([await _search(screen, painted, text) for text in texts])
        filters = {}
        for label, combo, index in (
            ("state_declined", screen.filters.state, screen.filters.state.findData("declined")),
            ("gateway_ompay", screen.filters.profile, screen.filters.profile.findData("ompay-sandbox")),
            ("type_payout", screen.filters.kind, screen.filters.kind.findData("payout")),
        ):
            filters[label] = await _filter_median(screen, painted, combo, index)

        if web_view:
            view = _open_web_view()
            await asyncio.sleep(2.0)  # the renderer process starts and paints
        rss = _memory()

        monitor.reset()
        loaded = await _scroll(screen, scroll_rows)
        scroll_stall = monitor.longest_ms
    finally:
        monitor.stop()
        if view is not None:
            view.close_page()
        await bridge.drain()
        history.close()
        journal.close()
        database.close()
    return {
        "history_open_ms": round(open_ms, 1),
        "history_search_ms": round(max(search.values()), 1),
        "history_filter_ms": round(max(filters.values()), 1),
        "history_scroll_stall_ms": round(scroll_stall, 1),
        "rss_mb": round(rss["total_mb"], 1),
        "_detail": {
            "search_ms": {k: round(v, 1) for k, v in search.items()},
            "filter_ms": {k: round(v, 1) for k, v in filters.items()},
            "scrolled_rows": loaded,
            "memory": rss,
        },
    }


def _references(screen: Any) -> tuple[str, ...]:
    # References of rows near the top, the middle and the end of the store (ORD-<8 digits>).
    total = screen.model.row_at(0).merchant_reference  # the newest
    newest = int(total.split("-")[1])
    return tuple(f"ORD-{n:08d}" for n in (newest - 3, newest // 2, 17))


def _last_fours(database: Any) -> tuple[str, ...]:
    # Last fours of a new, a middle and an old card payment: the oldest is the deepest search.
    with database.engine.connect() as conn:
        found = [
            conn.exec_driver_sql(
                "SELECT card_last4 FROM transactions WHERE card_last4 != '' AND rowid >= ? "
                "ORDER BY rowid LIMIT 1",
                (at,),
            ).scalar_one()
            for at in (1, conn.exec_driver_sql("SELECT max(rowid) FROM transactions").scalar_one() // 2)
        ]
        found.append(
            conn.exec_driver_sql(
                "SELECT card_last4 FROM transactions WHERE card_last4 != '' ORDER BY rowid DESC LIMIT 1"
            ).scalar_one()
        )
    return tuple(found)


async def _painted_after(painted: _Painted, screen: Any, started: float) -> None:
    await wait_until(
        lambda: painted.at > started and not screen.model.fetching and screen.model.rowCount() > 0,
        WAIT_S,
        "History's first rows painted",
    )


async def _settled(screen: Any) -> None:
    # The capped count runs after the first page on the same reader: let it finish between measurements.
    await wait_until(lambda: not screen.bridge._background, WAIT_S, "History's count")
    await asyncio.sleep(0.05)


async def _search(screen: Any, painted: _Painted, text: str) -> float:
    screen.search.setText(text)
    screen._debounce.stop()  # measured from Enter, not from the typing pause
    started = time.perf_counter()
    screen.search.returnPressed.emit()
    await _painted_after(painted, screen, started)
    elapsed = (time.perf_counter() - started) * 1000
    await _settled(screen)
    screen.search.setText("")
    screen._debounce.stop()
    screen.refresh()
    await wait_until(lambda: not screen.model.query.search, WAIT_S, "search cleared")
    await _settled(screen)
    return elapsed


async def _filter(screen: Any, painted: _Painted, combo: Any, index: int) -> float:
    started = time.perf_counter()
    combo.setCurrentIndex(index)  # FilterBar.changed → refresh, as a clerk's choice does
    await _painted_after(painted, screen, started)
    elapsed = (time.perf_counter() - started) * 1000
    await _settled(screen)
    return elapsed


async def _filter_median(screen: Any, painted: _Painted, combo: Any, index: int) -> float:
    times = []
    for _ in range(3):
        times.append(await _filter(screen, painted, combo, index))
        await _filter(screen, painted, combo, 0)  # back to everything before the next one
    return median(times)


async def _scroll(screen: Any, rows: int) -> int:
    """Scroll to the end again and again (each end fetches the next page) until `rows` are loaded."""
    bar = screen.table.verticalScrollBar()
    deadline = time.perf_counter() + 300
    while screen.model.rowCount() < rows and not screen.model.exhausted:
        if time.perf_counter() > deadline:
            raise TimeoutError("scrolling History took over 300 s")
        bar.setValue(bar.maximum())
        await asyncio.sleep(0.005)
    return int(screen.model.rowCount())


def _open_web_view() -> Any:
    from terminal.gateways.base import Challenge
    from terminal.ui.web_view import PaymentWebView

    html = (Path(__file__).resolve().parents[1] / "terminal/resources/ogopay_card_form.html").read_text()
    challenge = Challenge(
        return_url_prefix="http://127.0.0.1:9/return",
        allowed_origins=frozenset({"http://127.0.0.1:9"}),
        html=html,
        base_url="http://127.0.0.1:9/",
        title="Card page",
    )
    view = PaymentWebView(challenge, allow_loopback_http=True)
    view.resize(900, 700)
    view.show()
    view.load()
    return view


def _memory() -> dict[str, float]:
    """Memory of the terminal with its QtWebEngine helper processes (zygote, renderer, GPU).

    The figure is the sum of each process's proportional set size (PSS): a page shared by several of
    them (the Qt and Chromium libraries) counts once, split among its sharers, where adding resident
    sizes (RSS) would count it in every process. The terminal's own RSS is kept beside it.
    """
    helpers = sum(_pss_mb(pid) for pid in _descendants(os.getpid()))
    own_pss = _pss_mb(os.getpid()) or rss_mb()
    return {
        "terminal_rss_mb": round(rss_mb(), 1),
        "terminal_pss_mb": round(own_pss, 1),
        "helpers_pss_mb": round(helpers, 1),
        "total_mb": round(own_pss + helpers, 1),
    }


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    print(run())
