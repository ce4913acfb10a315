"""A stateful model test of the payment lifecycle (TEST-4): Hypothesis runs random sequences of
pre-authorisations, sales, captures, voids and refunds, with simulator faults and terminal restarts in
between, against the OGO Pay simulator over HTTP.

Invariants after every step, on every transaction:
- captured ≤ authorised and refunded ≤ captured (the ledger's own amounts, from the stored journal);
- nothing was appended after an operation whose outcome is unknown;
- local and gateway agree: every operation the terminal holds as succeeded took effect at the simulator
  exactly once, and everything the simulator applied is, locally, succeeded or unknown (listed for an
  operator) — never declined, failed or missing. Money never moved twice.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from terminal.domain.ledger import RuleViolation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.sim.runner import RunningSims, start_simulators
from tests.e2e.conftest import run
from tests.e2e.restartable import Terminal

FAULTS = ("timeout_after_commit", "reset_after_commit", "http_503", "malformed_json", "timeout_before_commit")
OGO_KIND = {
    OperationKind.SALE: "purchase",
    OperationKind.AUTHORIZE: "preauth",
    OperationKind.CAPTURE: "completion",
    OperationKind.VOID: "void",
    OperationKind.REFUND: "refund",
}
_SIMS: RunningSims | None = None


def _sims() -> RunningSims:
    global _SIMS  # noqa: PLW0603 - one set of simulators for every example: starting them costs a second
    if _SIMS is None:
        _SIMS = start_simulators()
    return _SIMS


@pytest.fixture(scope="module", autouse=True)
def _stop_sims() -> object:
    yield None
    global _SIMS  # noqa: PLW0603
    if _SIMS is not None:
        _SIMS.stop()
        _SIMS = None


class PaymentLifecycle(RuleBasedStateMachine):
    """One terminal's store and the simulator, driven by random clerk actions, faults and restarts."""

    @initialize()
    def start(self) -> None:
        self.sims = _sims()
        self.ogo = self.sims.urls["ogopay"]
        httpx.post(self.ogo + "/_sim/reset", timeout=5).raise_for_status()
        self.data_dir = Path(tempfile.mkdtemp(prefix="mt-model-")) / "data"
        self.terminal = Terminal(self.data_dir, self.sims)
        self.tx_ids: list[str] = []

    def teardown(self) -> None:
        terminal = getattr(self, "terminal", None)
        if terminal is not None:
            terminal.close()
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    # -- actions ------------------------------------------------------------------------------------------
    @rule(kind=st.sampled_from([OperationKind.AUTHORIZE, OperationKind.SALE]), minor=st.integers(100, 9000))
    def open_payment(self, kind: OperationKind, minor: int) -> None:
        outcome = run(self.terminal.open_payment(kind, minor))
        self.tx_ids.append(outcome.transaction.id)

    @precondition(lambda self: self.tx_ids)
    @rule(
        data=st.data(),
        kind=st.sampled_from([OperationKind.CAPTURE, OperationKind.VOID, OperationKind.REFUND]),
    )
    def follow_up(self, data: st.DataObject, kind: OperationKind) -> None:
        tx_id = data.draw(st.sampled_from(self.tx_ids), label="transaction")
        tx = run(self.terminal.journal.get(tx_id))
        limit = tx.capturable.minor if kind is OperationKind.CAPTURE else tx.refundable.minor
        minor = data.draw(st.integers(1, max(limit, 1)), label="amount")
        payments = self.terminal.payments
        try:
            if kind is OperationKind.CAPTURE:
                run(payments.capture(tx_id, Money(minor, tx.currency)))
            elif kind is OperationKind.VOID:
                run(payments.void(tx_id))
            else:
                run(payments.refund(tx_id, Money(minor, tx.currency)))
        except RuleViolation:
            pass  # refused before sending: the invariants check nothing was sent

    @rule(fault=st.sampled_from(FAULTS), kind=st.sampled_from(sorted(OGO_KIND.values())))
    def arm_fault(self, fault: str, kind: str) -> None:
        body = {"method": "POST", "path": f"/{kind}", "fault": fault, "times": 1, "delay_ms": 200}
        httpx.post(self.ogo + "/_sim/faults", json=body, timeout=5).raise_for_status()

    @rule()
    def restart_and_reconcile(self) -> None:
        self.terminal.close()
        self.terminal = Terminal(self.data_dir, self.sims)
        run(self.terminal.reconciler.run())

    # -- invariants ---------------------------------------------------------------------------------------
    def _transactions(self) -> list[Transaction]:
        return [run(self.terminal.journal.get(tx_id)) for tx_id in self.tx_ids]

    @invariant()
    def amounts_stay_within_bounds(self) -> None:
        for tx in self._transactions():
            assert tx.captured.minor <= tx.authorised.minor or tx.first_operation is None
            assert tx.refunded.minor <= tx.captured.minor

    @invariant()
    def nothing_follows_an_unknown_outcome(self) -> None:
        for tx in self._transactions():
            for before, after in zip(tx.operations, tx.operations[1:], strict=False):
                assert before.state is not OperationState.UNKNOWN or after.created_at < before.updated_at

    @invariant()
    def local_and_gateway_agree(self) -> None:
        if not getattr(self, "tx_ids", None):
            return
        entries = httpx.get(self.ogo + "/_sim/ledger", timeout=5).json()["entries"]
        # Each operation carries its own merchant reference to OGO (orderId): one effect per reference.
        applied = Counter(
            (str(e.get("orderId") or e["transactionId"]), e["kind"]) for e in entries if e["effect"]
        )
        assert all(count == 1 for count in applied.values()), applied  # money never moved twice
        local: Counter[str] = Counter()
        unknown: Counter[str] = Counter()
        for tx in self._transactions():
            for op in tx.operations:
                if op.state is OperationState.SUCCEEDED:
                    local[OGO_KIND[op.kind]] += 1
                elif op.state in (OperationState.UNKNOWN, OperationState.SENT):
                    unknown[OGO_KIND[op.kind]] += 1
        at_gateway = Counter(kind for (_, kind) in applied.elements())
        for kind in OGO_KIND.values():
            assert local[kind] <= at_gateway[kind] <= local[kind] + unknown[kind], (kind, local, at_gateway)


TestPaymentLifecycle = pytest.mark.timeout(600)(PaymentLifecycle.TestCase)
TestPaymentLifecycle.settings = settings(
    max_examples=10,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
