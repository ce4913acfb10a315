"""ETpay through the real service: a lost session/initialize answer is resolved by the merchant order id."""

from __future__ import annotations

import httpx
import pytest

from terminal.assembly import Services
from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.errors import OutcomeUnknownError
from tests.e2e.conftest import run


def etpay_url(services: Services) -> str:
    assert services.sims is not None
    return services.sims.urls["etpay"]


def test_lost_session_answer_is_resolved_by_order_id_never_resent(services: Services) -> None:
    base = etpay_url(services)
    fault = {
        "method": "POST",
        "path": "/session/initialize",
        "fault": "timeout_after_commit",
        "times": 1,
        "delay_ms": 300,
    }
    httpx.post(base + "/_sim/faults", json=fault, timeout=5).raise_for_status()
    with pytest.raises(OutcomeUnknownError):
        run(
            services.payments.begin_hosted(
                "etpay-sandbox",
                OperationKind.SALE,
                Money(15000, "CLP"),
                return_url="http://127.0.0.1:9/r",
                merchant_reference="LOST1",
            )
        )
    tx = run(services.journal.by_reference("etpay", "etpay-sandbox", "LOST1"))
    assert tx is not None and tx.operations[0].state is OperationState.UNKNOWN
    # The session exists at ETpay but nobody holds its link: the lookup finds it pending, so it stays unknown.
    report = run(services.reconciler.run())
    assert [op.merchant_reference for op in report.needs_attention] == ["LOST1"]
    # Once ETpay expires the session, the same lookup by order id settles it: nothing was paid.
    httpx.post(base + "/_sim/clock", json={"advance_s": 31 * 60}, timeout=5).raise_for_status()
    report = run(services.reconciler.run())
    assert [(op.merchant_reference, op.state, op.decline_code) for op in report.resolved] == [
        ("LOST1", OperationState.DECLINED, DeclineCode.EXPIRED_SESSION)
    ]
    entries = httpx.get(base + "/_sim/ledger", timeout=5).json()["entries"]
    assert [e["kind"] for e in entries if e["kind"] == "session"] == ["session"]  # initialize sent once
    assert not any(e["effect"] for e in entries)
