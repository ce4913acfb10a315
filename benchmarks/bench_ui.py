"""UI-thread stalls while the terminal works: charges, an export of 100,000 rows, a reconciliation.

Everything runs as the screens run it: through the AsyncBridge on the qasync loop, with a 5 ms QTimer
on the UI thread whose longest gap between ticks is the longest time the window could not repaint or
take a key. Charges are direct-entry sales on the Paymentz simulator, some of them made "outcome
unknown" by the simulator's fault switch (it commits, then drops the answer) so that the
reconciliation pass has real lookups to do. The export reads the big History store.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import StallMonitor, qt_loop, wait_until
from benchmarks.store import ensure_store

GATEWAY = "paymentz"
RETURN_URL = "http://127.0.0.1:9/return/bench"
EXPORT_DAYS = 73  # of the big store's 730 days: about 100,000 of its 1,000,000 rows
WAIT_S = 300.0


def run(rows: int = 1_000_000, *, charges: int = 10, lost: int = 5) -> dict[str, Any]:
    """The longest UI stall during `charges` sales (`lost` of them unknown), the export, reconciliation."""
    store = ensure_store(rows)
    loop = qt_loop()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ui-") as work:
            return loop.run_until_complete(_measure(store, Path(work), charges, lost))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def _bridged(bridge: Any, coro: Any) -> Any:
    """Run `coro` through the AsyncBridge as a screen does, and wait for its result on the UI thread."""
    done: list[Any] = []
    failed: list[BaseException] = []
    bridge.run(coro, on_done=done.append, on_error=failed.append)
    await wait_until(lambda: bool(done or failed), WAIT_S, "the bridged task")
    if failed:
        raise failed[0]
    return done[0]


async def _measure(store: Path, work: Path, charges: int, lost: int) -> dict[str, Any]:
    from terminal.assembly import build_services
    from terminal.services.export import CsvExport, ExportZone
    from terminal.services.history import HistoryService
    from terminal.services.journal import Journal
    from terminal.store.database import open_database
    from terminal.store.queries import HistoryQuery
    from terminal.store.transactions import TransactionRepository
    from terminal.ui.async_bridge import AsyncBridge
    from terminal.ui.startup import freeze_startup_heap

    services = build_services(work / "data", force_sandbox=True)
    big = open_database(store)
    big_journal = Journal(TransactionRepository(big.engine))
    big_history = HistoryService(big_journal)
    freeze_startup_heap()  # as `merchant-terminal` does once its screens are built
    bridge = AsyncBridge()
    monitor = StallMonitor()
    stalls: dict[str, float] = {}
    try:
        profile = next(p for p in services.profiles.all() if p.gateway == GATEWAY)
        profile = replace(profile, settings={**profile.settings, "direct_entry": "on"})
        services.profiles.put(profile)
        assert services.sims is not None
        sim = services.sims.urls[GATEWAY]
        await _bridged(bridge, _sale(services, profile.id, "UI-WARM"))  # connections and token warm
        monitor.start()

        # Charges, the first `lost` of them answered never (the simulator commits, then drops the line).
        httpx.post(
            f"{sim}/_sim/faults",
            json={
                "method": "POST",
                "path": "/transactionServices/REST/v1/payments",
                "fault": "timeout_after_commit",
                "times": lost,
                "delay_ms": 20,
            },
            timeout=5,
        ).raise_for_status()
        monitor.reset()
        for n in range(charges):
            await _bridged(bridge, _sale(services, profile.id, f"UI-{n}"))
        stalls["charge"] = monitor.longest_ms

        # Export of about 100,000 rows of the big store, with progress shown as the screen shows it.
        newest = (await big_history.rows(HistoryQuery(), None, 1))[0].created_at
        query = HistoryQuery(date_from=newest - timedelta(days=EXPORT_DAYS))
        progress: list[int] = []
        monitor.reset()
        started = time.perf_counter()
        result = await _bridged(
            bridge,
            CsvExport(big_history).write(
                query, work / "export.csv", ExportZone.LOCAL, on_progress=progress.append
            ),
        )
        export_s = time.perf_counter() - started
        stalls["export"] = monitor.longest_ms

        # Reconciliation: the lost sales are looked up at the simulator and resolved.
        monitor.reset()
        report = await _bridged(bridge, services.reconciler.run())
        stalls["reconciliation"] = monitor.longest_ms
        if len(report.resolved) != lost:
            raise RuntimeError(f"reconciliation resolved {len(report.resolved)} of {lost}: {report.summary}")
    finally:
        monitor.stop()
        await bridge.drain()
        big_history.close()
        big_journal.close()
        big.close()
        await services.aclose()
    return {
        "ui_max_stall_ms": round(max(stalls.values()), 1),
        "_detail": {
            "stall_ms": {k: round(v, 1) for k, v in stalls.items()},
            "exported_rows": result.rows,
            "export_s": round(export_s, 2),
        },
    }


async def _sale(services: Any, profile_id: str, reference: str) -> Any:
    from terminal.domain.money import Money
    from terminal.domain.operations import OperationKind
    from terminal.gateways.base import CardDetails

    card = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada Lovelace")
    return await services.payments.charge_direct(
        profile_id,
        OperationKind.SALE,
        Money(1250, "EUR"),
        card,
        return_url=RETURN_URL,
        merchant_reference=reference,
        customer_id="C-42",
    )


if __name__ == "__main__":
    print(run())
