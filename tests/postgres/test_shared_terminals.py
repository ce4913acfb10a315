"""Several terminals on one PostgreSQL database against one OGO Pay simulator, as the tills of one shop.

- two terminals (two engines, and two processes) capturing one pre-authorisation at the same moment end
  with one capture at the gateway and in the journal; the other is told why (the capture in progress);
- reconciliation started by two terminals at once runs one pass (the advisory lock), sends nothing;
- another terminal's operation in flight is left alone, and its capture completes normally;
- History sees another terminal's new transaction without a restart (the change feed).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from terminal.domain.ledger import RuleViolation
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.payments import PaymentOutcome
from terminal.services.reconciliation import IN_FLIGHT_ELSEWHERE, NEVER_SENT
from terminal.sim.runner import RunningSims, start_simulators
from terminal.store.postgres import RECONCILE_LOCK, AdvisoryLock
from terminal.store.queries import HistoryQuery
from tests.e2e.conftest import run
from tests.postgres.conftest import url_text
from tests.postgres.terminals import SharedTerminal, completions, sim, slow_completions

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def sims() -> Iterator[RunningSims]:
    with start_simulators() as running:
        yield running


@pytest.fixture
def ogo(sims: RunningSims) -> str:
    sim(sims.urls["ogopay"], "/_sim/reset", reset=True)
    return sims.urls["ogopay"]


@pytest.fixture
def tills(fresh_url: URL, ogo: str) -> Iterator[tuple[SharedTerminal, SharedTerminal]]:
    first = SharedTerminal(fresh_url, ogo, "till-1")
    second = SharedTerminal(fresh_url, ogo, "till-2")
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _authorise(till: SharedTerminal, minor: int = 9000) -> str:
    outcome = run(till.open_payment(OperationKind.AUTHORIZE, minor))
    assert outcome.approved, outcome.message
    return outcome.transaction.id


def _refusal_names_the_capture(message: str) -> None:
    assert "capture" in message.lower() and ("in progress" in message or "captured" in message), message


# -- one capture ------------------------------------------------------------------------------------


def test_two_terminals_capture_at_once(tills: tuple[SharedTerminal, SharedTerminal], ogo: str) -> None:
    one, two = tills
    tx_id = _authorise(one)
    amount = Money(9000, run(one.journal.get(tx_id)).currency)
    slow_completions(ogo, 300)

    async def race() -> list[object]:
        return list(
            await asyncio.gather(
                one.payments.capture(tx_id, amount),
                two.payments.capture(tx_id, amount),
                return_exceptions=True,
            )
        )

    results = run(race())
    winners = [r for r in results if isinstance(r, PaymentOutcome)]
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert winners[0].approved
    _refusal_names_the_capture(str(losers[0]))
    assert completions(ogo) == 1
    captures = [o for o in run(two.journal.get(tx_id)).operations if o.kind is OperationKind.CAPTURE]
    assert [o.state for o in captures] == [OperationState.SUCCEEDED]


def test_two_processes_capture_at_once(
    tills: tuple[SharedTerminal, SharedTerminal], fresh_url: URL, ogo: str
) -> None:
    one, _ = tills
    tx_id = _authorise(one, 7000)
    amount = Money(7000, run(one.journal.get(tx_id)).currency)
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.postgres.capture_child", url_text(fresh_url), ogo, tx_id, "7000"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "READY"
        slow_completions(ogo, 500)
        child.stdin.write("go\n")
        child.stdin.flush()
        try:
            mine: object = run(one.payments.capture(tx_id, amount))
        except RuleViolation as exc:
            mine = exc
        out, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    theirs = json.loads(out.strip().splitlines()[-1])
    approved = [isinstance(mine, PaymentOutcome) and mine.approved, theirs.get("state") == "succeeded"]
    assert sorted(approved) == [False, True], (mine, theirs)
    refusal = str(mine) if isinstance(mine, RuleViolation) else theirs.get("refused", "")
    _refusal_names_the_capture(refusal)
    assert completions(ogo) == 1
    captures = [o for o in run(one.journal.get(tx_id)).operations if o.kind is OperationKind.CAPTURE]
    assert [o.state for o in captures] == [OperationState.SUCCEEDED]


# -- reconciliation ---------------------------------------------------------------------------------


def _stuck_operations(till: SharedTerminal, count: int) -> list[str]:
    """Authorisations, each with a capture written `created` long ago and never sent (a terminal died)."""
    stuck = []
    long_ago = till.journal.now() - IN_FLIGHT_ELSEWHERE[OperationState.CREATED] * 2
    for n in range(count):
        tx_id = _authorise(till, 1000 + n)
        tx = run(till.journal.get(tx_id))
        op = till.journal.new_operation(
            tx, OperationKind.CAPTURE, tx.amount, f"{tx.merchant_reference}-C1", "x"
        )
        op = type(op)(**{**{f: getattr(op, f) for f in op.__dataclass_fields__}, "created_at": long_ago,
                         "updated_at": long_ago})  # fmt: skip
        run(till.journal.append(op))
        stuck.append(op.id)
    return stuck


def test_two_terminals_reconciling_at_once_run_one_pass(
    tills: tuple[SharedTerminal, SharedTerminal], ogo: str
) -> None:
    one, two = tills
    stuck = _stuck_operations(one, 6)
    captured_before = completions(ogo)

    async def both() -> list[object]:
        return list(await asyncio.gather(one.reconciler.run(), two.reconciler.run()))

    reports = run(both())
    ran = [r for r in reports if not r.elsewhere]  # type: ignore[attr-defined]
    assert len(ran) == 1 and len(reports) == 2, reports
    assert sorted(op.id for op in ran[0].resolved) == sorted(stuck)  # type: ignore[attr-defined]
    for op_id in stuck:
        op = one.journal.repository.operation(op_id)
        assert op is not None and op.state is OperationState.FAILED and op.gateway_message == NEVER_SENT
    assert completions(ogo) == captured_before  # reconciliation never sends a money request


def test_reconciliation_waits_while_another_terminal_holds_the_lock(
    tills: tuple[SharedTerminal, SharedTerminal],
) -> None:
    one, two = tills
    stuck = _stuck_operations(one, 1)
    held = AdvisoryLock.try_acquire(two.database.engine, RECONCILE_LOCK)
    assert held is not None
    try:
        report = run(one.reconciler.run())
        assert report.elsewhere and not report.resolved
        assert run(one.reconciler.check(stuck[0])) is not None  # left as it is for the other's pass
        assert one.journal.repository.operation(stuck[0]).state is OperationState.CREATED  # type: ignore[union-attr]
    finally:
        held.release()
    report = run(one.reconciler.run())
    assert [op.id for op in report.resolved] == stuck


def test_another_terminals_capture_in_flight_is_left_alone(
    tills: tuple[SharedTerminal, SharedTerminal], ogo: str
) -> None:
    one, two = tills
    tx_id = _authorise(one, 5000)
    amount = Money(5000, run(one.journal.get(tx_id)).currency)
    slow_completions(ogo, 1500, times=1)

    async def scenario() -> tuple[object, PaymentOutcome]:
        capture = asyncio.ensure_future(two.payments.capture(tx_id, amount))
        deadline = time.monotonic() + 10
        while True:  # until the other terminal's capture is written and sent
            tx = await one.journal.get(tx_id)
            sent = [o for o in tx.operations if o.kind is OperationKind.CAPTURE]
            if sent and sent[0].state is OperationState.SENT:
                break
            assert time.monotonic() < deadline, "the capture never reached `sent`"
            await asyncio.sleep(0.02)
        report = await one.reconciler.run()
        return report, await capture

    report, outcome = run(scenario())
    assert [op.kind for op in report.waiting] == [OperationKind.CAPTURE]  # type: ignore[attr-defined]
    assert not report.resolved and not report.needs_attention  # type: ignore[attr-defined]
    assert outcome.approved, outcome.message
    assert completions(ogo) == 1


def test_an_old_operation_of_a_dead_terminal_is_reconciled(
    tills: tuple[SharedTerminal, SharedTerminal],
) -> None:
    one, two = tills
    stuck = _stuck_operations(two, 1)
    report = run(one.reconciler.run())
    assert [op.id for op in report.resolved] == stuck


# -- History ----------------------------------------------------------------------------------------


def test_history_sees_another_terminals_transaction(tills: tuple[SharedTerminal, SharedTerminal]) -> None:
    one, two = tills
    assert one.changes.enabled
    assert run(one.changes.changed()) is False  # starts listening
    assert run(one.changes.changed()) is False
    sale = run(two.open_payment(OperationKind.SALE, 2500))
    assert sale.approved
    deadline = time.monotonic() + 5
    while not run(one.changes.changed()):
        assert time.monotonic() < deadline, "no change notice within 5 s"
        time.sleep(0.05)
    rows = run(one.history.rows(HistoryQuery(), None, 10))
    assert rows[0].id == sale.transaction.id
    assert run(one.changes.changed()) is False  # nothing new since


def test_grace_periods_cover_a_followed_link() -> None:
    # A followed link is read for up to 30 minutes (PaymentService.follow): never taken over meanwhile.
    assert IN_FLIGHT_ELSEWHERE[OperationState.CHALLENGE] > timedelta(minutes=30)
