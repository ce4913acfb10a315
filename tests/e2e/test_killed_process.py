"""A terminal killed (SIGKILL) at four points of a capture: after a restart and reconciliation, the
simulator's ledger and the local ledger agree, or the operation is listed for an operator; the capture
never happened twice, and no second capture can be sent while the first is unresolved.

OGO Pay has no lookup: whatever may have been sent stays unknown for an operator. Paymentz has one: a capture
is resolved by reading its pre-authorisation's status (`fetch_follow_up`), never left in the list; one that
did not take place is declined, and the clerk can capture again, once.
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
from typing import NamedTuple

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
POINTS = ("before_send", "after_send", "after_response", "after_commit")


class Capture(NamedTuple):
    """Where a gateway's capture request goes, and how its simulator's ledger names an applied one."""

    fault_path: str
    ledger_kind: str


CAPTURES = {
    "ogopay": Capture("/completion", "completion"),
    "paymentz": Capture("/transactionServices/REST/v1/payments/*", "CP"),
}
# What the capture is after restart and one reconciliation pass, and how often the gateway applied it.
EXPECTED = {
    ("ogopay", "before_send"): (OperationState.UNKNOWN, 0),  # no lookup: listed, never guessed
    ("ogopay", "after_send"): (OperationState.UNKNOWN, 1),
    ("ogopay", "after_response"): (OperationState.UNKNOWN, 1),
    ("ogopay", "after_commit"): (OperationState.SUCCEEDED, 1),
    ("paymentz", "before_send"): (OperationState.DECLINED, 0),  # the hold still reads authsuccessful
    ("paymentz", "after_send"): (OperationState.SUCCEEDED, 1),  # it reads capturesuccess
    ("paymentz", "after_response"): (OperationState.SUCCEEDED, 1),
    ("paymentz", "after_commit"): (OperationState.SUCCEEDED, 1),
}


@pytest.fixture(scope="module")
def sims() -> Iterator[RunningSims]:
    with start_simulators() as running:
        yield running


def _authorise(terminal: Terminal) -> str:
    outcome = run(terminal.open_payment(OperationKind.AUTHORIZE, AMOUNT))
    assert outcome.approved, outcome.message
    return outcome.transaction.id


def _sim(sims: RunningSims, gateway: str, endpoint: str, **body: object) -> object:
    url = sims.urls[gateway] + endpoint
    reply = httpx.post(url, json=body, timeout=5) if body else httpx.get(url, timeout=5)
    reply.raise_for_status()
    data = reply.json()
    return data["entries"] if isinstance(data, dict) and "entries" in data else data


def _captures(sims: RunningSims, gateway: str) -> int:
    entries = _sim(sims, gateway, "/_sim/ledger")
    assert isinstance(entries, list)
    kind = CAPTURES[gateway].ledger_kind
    return sum(1 for e in entries if e["kind"] == kind and e["effect"])


def _run_child(data_dir: Path, sims: RunningSims, gateway: str, tx_id: str, point: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    urls = json.dumps({gateway: sims.urls[gateway]})
    command = [sys.executable, "-m", "tests.e2e.killed_child", str(data_dir), urls]
    child = subprocess.Popen(
        [*command, tx_id, str(AMOUNT), point, gateway], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        if point == "after_send":
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "SENT"
            deadline = time.monotonic() + 10
            while _captures(sims, gateway) == 0:  # the gateway has applied it; the answer is still held
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


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("gateway", sorted(CAPTURES))
def test_killed_mid_capture(tmp_path: Path, sims: RunningSims, gateway: str, point: str) -> None:
    _sim(sims, gateway, "/_sim/reset", reset=True)
    data_dir = tmp_path / "data"
    first = Terminal(data_dir, sims, gateway)
    try:
        tx_id = _authorise(first)
    finally:
        first.close()
    if point == "after_send":
        fault = {"fault": "timeout_after_commit", "delay_ms": 8000, "times": 1}
        _sim(sims, gateway, "/_sim/faults", method="POST", path=CAPTURES[gateway].fault_path, **fault)
    _run_child(data_dir, sims, gateway, tx_id, point)

    restarted = Terminal(data_dir, sims, gateway)  # the OS released the killed process's lock
    try:
        report = run(restarted.reconciler.run())
        tx = run(restarted.journal.get(tx_id))
        captures = [o for o in tx.operations if o.kind is OperationKind.CAPTURE]
        assert len(captures) == 1
        capture = captures[0]
        at_gateway = _captures(sims, gateway)
        assert at_gateway <= 1  # money never moved twice
        assert (capture.state, at_gateway) == EXPECTED[(gateway, point)]
        listed = {op.id for op in report.needs_attention}
        money = Money(AMOUNT, tx.currency)
        if capture.state is OperationState.UNKNOWN:
            # No status lookup: what cannot be known is listed for an operator, never guessed.
            assert capture.id in listed
            with pytest.raises(RuleViolation, match="unknown"):
                run(restarted.payments.capture(tx_id, money))
        elif capture.state is OperationState.DECLINED:
            # The lookup said the capture did not happen: resolved, not listed; the clerk captures again.
            assert capture.id in {op.id for op in report.resolved} and capture.id not in listed
            assert run(restarted.payments.capture(tx_id, money)).approved
            at_gateway += 1
        else:
            assert capture.state is OperationState.SUCCEEDED and capture.id not in listed
            with pytest.raises(RuleViolation):
                run(restarted.payments.capture(tx_id, money))  # already captured: refused before sending
        assert _captures(sims, gateway) == at_gateway <= 1
    finally:
        restarted.close()
