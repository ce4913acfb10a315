"""pytest-qt: End of day (F7) driven by the keyboard against the OGO simulator: capture, untick, cancel."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.domain.operations import OperationKind
from terminal.services.batch import DEFAULT_CONCURRENCY
from terminal.ui.shell import Shell
from tests.e2e.flows import arm_fault, hosted_payment, sim_ledger
from tests.ui.charge_flow import run_session, wait_until

pytestmark = pytest.mark.webengine

APPROVED = "4242424242424242"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)


def completions(services: Services) -> int:
    return len([e for e in sim_ledger(services) if e["effect"] and e["kind"] == "completion"])


async def preauths(services: Services, count: int) -> list[str]:
    ids = []
    for n in range(count):
        auth = await hosted_payment(
            services, APPROVED, 2000 + n, kind=OperationKind.AUTHORIZE, reference=f"EOD-UI-{n}"
        )
        assert auth.approved, auth.message
        ids.append(auth.transaction.id)
    return ids


def test_ticked_preauthorisations_are_captured_from_the_keyboard(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        await preauths(services, 4)
        QTest.keyClick(shell.window, Qt.Key.Key_F7)
        screen = shell.end_of_day
        await wait_until(lambda: screen.table.rowCount() == 4, what="the open pre-authorisations")
        assert len(screen.ticked()) == 4
        table = screen.table
        table.setFocus()
        QTest.keyClick(table, Qt.Key.Key_Down)
        QTest.keyClick(table, Qt.Key.Key_Space)  # untick the second one
        assert len(screen.ticked()) == 3
        QTest.keyClick(table, Qt.Key.Key_Return)
        await wait_until(lambda: not screen.running and not shell.bridge.running, what="the batch")
        assert screen.summary.text().startswith("3 captured, 0 declined, 0 unknown"), screen.summary.text()
        assert screen.progress.value() == 3
        assert completions(services) == 3
        await wait_until(lambda: table.rowCount() == 1, what="the one left open")
        assert table.item(0, 2).text() == "EOD-UI-1"

    run_session(qloop, services, scenario, timeout=120)
    gc.collect()


def test_escape_stops_the_batch_and_what_was_sent_is_recorded(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        ids = await preauths(services, 10)
        # Each capture takes 0.4 s, so Esc lands while the first DEFAULT_CONCURRENCY are still in flight.
        arm_fault(services, "/completion", "slow", delay_ms=400, times=10)
        QTest.keyClick(shell.window, Qt.Key.Key_F7)
        screen = shell.end_of_day
        await wait_until(lambda: screen.table.rowCount() == 10, what="the open pre-authorisations")
        QTest.keyClick(screen.table, Qt.Key.Key_Return)
        await wait_until(lambda: screen.running and screen.progress.value() == 0, what="the batch start")
        await asyncio.sleep(0.1)
        QTest.keyClick(screen.table, Qt.Key.Key_Escape)
        await wait_until(lambda: not screen.running and not shell.bridge.running, what="the batch end")
        text = screen.summary.text()
        captured = int(text.split(" captured")[0])
        assert "not started" in text, text
        # Those in flight when Esc came were finished and recorded; none was started after it.
        assert captured == DEFAULT_CONCURRENCY, text
        assert f"{len(ids) - captured} not started" in text, text
        assert completions(services) == captured  # every capture sent was recorded, none more
        await wait_until(lambda: screen.table.rowCount() == len(ids) - captured, what="the rest still open")

    run_session(qloop, services, scenario, timeout=150)
    gc.collect()
