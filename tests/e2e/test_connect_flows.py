"""Connect through the real services: a payment whose answer is lost is found again, exactly once.

The create (``POST /payments``) takes effect at the simulator but its answer is held past the client's
timeout (``timeout_after_commit``). The operation is recorded unknown and never re-sent; reconciliation
finds the payment by its merchantReference, and the simulator's ledger shows one sale.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
import pytest

from terminal.assembly import Services, build_services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import CardDetails
from terminal.gateways.registry import build_gateway
from terminal.services import profiles as profiles_module
from tests.e2e.conftest import run

PROFILE = "connect-sandbox"


@pytest.fixture
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    # Adapters with one-second read timeouts, so a held answer is given up quickly.
    short = functools.partial(build_gateway, timeout=httpx.Timeout(2.0, read=1.0))
    monkeypatch.setattr(profiles_module, "build_gateway", short)
    built = build_services(tmp_path / "data", force_sandbox=True)
    profile = built.profiles.get(PROFILE)
    built.profiles.put(replace(profile, settings={**profile.settings, "direct_entry": "on"}))
    try:
        yield built
    finally:
        run(built.aclose())


def _sim(services: Services) -> str:
    assert services.sims is not None
    return services.sims.urls["connect"]


def test_lost_create_resolves_to_exactly_one_payment(services: Services) -> None:
    base = _sim(services)
    # POSTs are IDEMPOTENT (the same X-GCS-Idempotence-Key): the adapter repeats a lost answer twice, and
    # Connect replays the first payment each time; with all three answers lost it ends unknown.
    fault = {"method": "POST", "path": "/v1/1234/payments", "fault": "timeout_after_commit", "delay_ms": 3000}
    fault["times"] = 3
    httpx.post(base + "/_sim/faults", json=fault, timeout=5).raise_for_status()
    card = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada Lovelace")
    outcome = run(
        services.payments.charge_direct(
            PROFILE,
            OperationKind.SALE,
            Money(4_200, "EUR"),
            card,
            return_url="http://127.0.0.1:9/return",
            merchant_reference="CONLOST1",
            customer_id="C-1",
        )
    )
    tx = run(services.journal.by_reference("connect", PROFILE, "CONLOST1"))
    assert tx is not None and tx.operations[0].state is OperationState.UNKNOWN, outcome
    report = run(services.reconciler.run())
    resolved = [(op.merchant_reference, op.state) for op in report.resolved]
    assert resolved == [("CONLOST1", OperationState.SUCCEEDED)]
    tx = run(services.journal.by_reference("connect", PROFILE, "CONLOST1"))
    assert tx is not None and tx.operations[0].gateway_reference
    entries = httpx.get(base + "/_sim/ledger", timeout=5).json()["entries"]
    sales = [e for e in entries if e["effect"] and e["kind"] == "sale"]
    assert [(e["merchantReference"], e["amount"]) for e in sales] == [("CONLOST1", 4_200)]
    assert sales[0]["paymentId"] == tx.operations[0].gateway_reference
