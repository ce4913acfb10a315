"""PCI-7: every money action needs a signed-in operator allowed to do it, and leaves one audit entry
naming who, what, amount, gateway reference, outcome and approver. Real services against the simulators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.assembly import Services, build_services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.domain.roles import Permission
from terminal.services.audit import Event
from terminal.services.operators import AccessDenied
from terminal.store.audit import AuditRecord
from tests.e2e.conftest import run
from tests.e2e.flows import RETURN_URL, hosted_payment

CARD = "4242424242424242"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True, sign_in_as=None)
    try:
        yield built
    finally:
        run(built.aclose())


def _money_entries(services: Services) -> list[AuditRecord]:
    return [r for r in reversed(services.security.audit.latest()) if r.event == Event.MONEY]


def test_nobody_signed_in_moves_no_money(services: Services) -> None:
    profile = services.profiles.all()[0]
    with pytest.raises(AccessDenied, match="Sign in first"):
        run(
            services.payments.begin_hosted(
                profile.id, OperationKind.SALE, Money(1250, profile.currency), return_url=RETURN_URL
            )
        )
    assert run(services.history.count()) == 0
    denied = services.security.audit.latest(1)[0]
    assert denied.event == Event.ACCESS_DENIED and denied.outcome == "failure"
    assert json.loads(denied.detail)["permission"] == "charge"


def test_clerk_charges_and_the_audit_names_them(services: Services) -> None:
    services.security.session.sign_in("demo-clerk", "1111")
    outcome = run(hosted_payment(services, CARD))
    assert outcome.approved
    assert outcome.operation.operator == "demo-clerk"
    entries = _money_entries(services)
    assert [json.loads(e.detail)["action"] for e in entries] == ["begin_hosted", "complete_hosted"]
    done = entries[-1]
    detail = json.loads(done.detail)
    assert done.operator == "demo-clerk" and done.outcome == "success"
    assert done.target == outcome.transaction.id
    assert detail["amount"] == outcome.operation.amount.plain()
    assert detail["currency"] == outcome.operation.amount.currency
    assert detail["gateway_reference"] == outcome.operation.gateway_reference != ""
    assert detail["state"] == "succeeded" and detail["approver"] == ""
    assert CARD not in " ".join(e.detail for e in entries)


def test_clerk_needs_a_supervisor_to_capture_and_the_approver_is_recorded(services: Services) -> None:
    session = services.security.session
    session.sign_in("demo-clerk", "1111")
    auth = run(hosted_payment(services, CARD, kind=OperationKind.AUTHORIZE))
    tx = auth.transaction
    with pytest.raises(AccessDenied, match="needs a supervisor"):
        run(services.payments.capture(tx.id, tx.amount))
    session.approve(Permission.CAPTURE, "demo-supervisor", "supervisor-demo")
    captured = run(services.payments.capture(tx.id, tx.amount))
    assert captured.approved and captured.operation.operator == "demo-clerk"
    last = _money_entries(services)[-1]
    detail = json.loads(last.detail)
    assert (detail["action"], detail["approver"], detail["kind"]) == ("capture", "demo-supervisor", "capture")
    # The approval was for one capture only.
    with pytest.raises(AccessDenied):
        run(services.payments.void(tx.id))


def test_supervisor_refunds_and_a_refused_refund_is_audited_as_failure(services: Services) -> None:
    services.security.session.sign_in("demo-supervisor", "supervisor-demo")
    sale = run(hosted_payment(services, CARD))
    tx = sale.transaction
    too_much = Money(tx.amount.minor + 1, tx.amount.currency)
    with pytest.raises(Exception):  # noqa: B017 - the ledger's own error type; what matters is the audit
        run(services.payments.refund(tx.id, too_much, "customer asked"))
    failed = _money_entries(services)[-1]
    assert failed.outcome == "failure" and json.loads(failed.detail)["action"] == "refund"
    refunded = run(services.payments.refund(tx.id, tx.amount, "customer asked"))
    assert refunded.approved and refunded.operation.operator == "demo-supervisor"


def test_locked_screen_moves_no_money(services: Services) -> None:
    session = services.security.session
    session.sign_in("demo-clerk", "1111")
    session.lock()
    profile = services.profiles.all()[0]
    with pytest.raises(AccessDenied, match="locked"):
        run(
            services.payments.begin_hosted(
                profile.id, OperationKind.SALE, Money(1250, profile.currency), return_url=RETURN_URL
            )
        )
