"""A terminal killed (SIGKILL) at four points of a capture: after a restart and reconciliation, the
simulator's ledger and the local ledger agree, or the operation is listed for an operator; the capture
never happened twice, and no second capture can be sent while the first is unresolved.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from terminal.domain.ledger import RuleViolation
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.sim.runner import RunningSims, start_simulators
from tests.e2e.conftest import run
from tests.e2e.restartable import Terminal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

ROOT = Path(__file__).resolve().parents[2]
AMOUNT = 4200
CHILD_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def sims() -> Iterator[RunningSims]:
    with start_simulators() as running:
        yield running


def _authorise(terminal: Terminal) -> str:
    outcome = run(terminal.open_payment(OperationKind.AUTHORIZE, AMOUNT))
    assert outcome.approved, outcome.message
    return outcome.transaction.id


def _sim(sims: RunningSims, endpoint: str, **body: object) -> object:
    url = sims.urls["ogopay"] + endpoint
    reply = httpx.post(url, json=body, timeout=5) if body else httpx.get(url, timeout=5)
    reply.raise_for_status()
    data = reply.json()
    return data["entries"] if isinstance(data, dict) and "entries" in data else data


def _completions(sims: RunningSims) -> int:
    entries = _sim(sims, "/_sim/ledger")
    assert isinstance(entries, list)
    return sum(1 for e in entries if e["kind"] == "completion" and e["effect"])


def _run_child(data_dir: Path, sims: RunningSims, tx_id: str, point: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ogo = json.dumps({"ogopay": sims.urls["ogopay"]})
    command = [sys.executable, "-m", "tests.e2e.killed_child", str(data_dir), ogo]
    child = subprocess.Popen(
        [*command, tx_id, str(AMOUNT), point], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        if point == "after_send":
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "SENT"
            deadline = time.monotonic() + 10
            while _completions(sims) == 0:  # the gateway has applied it; the answer is still held
                assert time.monotonic() < deadline, "the capture never reached the simulator"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, f"the child was not killed at {point}: {out}"
    return out


@pytest.mark.parametrize("point", ["before_send", "after_send", "after_response", "after_commit"])
def test_killed_mid_capture(tmp_path: Path, sims: RunningSims, point: str) -> None:
    _sim(sims, "/_sim/reset", reset=True)
    data_dir = tmp_path / "data"
    first = Terminal(data_dir, sims)
    try:
        tx_id = _authorise(first)
    finally:
        first.close()
    if point == "after_send":
        _sim(
            sims,
            "/_sim/faults",
            method="POST",
            path="/completion",
            fault="timeout_after_commit",
            delay_ms=8000,
            times=1,
        )
    _run_child(data_dir, sims, tx_id, point)

    restarted = Terminal(data_dir, sims)  # the OS released the killed process's lock
    try:
        report = run(restarted.reconciler.run())
        tx = run(restarted.journal.get(tx_id))
        captures = [o for o in tx.operations if o.kind is OperationKind.CAPTURE]
        assert len(captures) == 1
        capture = captures[0]
        at_gateway = _completions(sims)
        assert at_gateway <= 1  # money never moved twice
        if capture.state is OperationState.SUCCEEDED:
            assert at_gateway == 1
        elif capture.state is OperationState.FAILED:
            assert at_gateway == 0
        else:
            # OGO has no status lookup: what cannot be known is listed for an operator, never guessed.
            assert capture.state is OperationState.UNKNOWN
            assert capture.id in {op.id for op in report.needs_attention}
            with pytest.raises(RuleViolation, match="unknown"):
                run(restarted.payments.capture(tx_id, Money(AMOUNT, tx.currency)))
            assert _completions(sims) == at_gateway
        expected = {
            "before_send": (OperationState.UNKNOWN, 0),
            "after_send": (OperationState.UNKNOWN, 1),
            "after_response": (OperationState.UNKNOWN, 1),
            "after_commit": (OperationState.SUCCEEDED, 1),
        }[point]
        assert (capture.state, at_gateway) == expected
    finally:
        restarted.close()
