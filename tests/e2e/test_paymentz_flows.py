"""Paymentz through the real services: hosted checkout in the (test) browser, a lost sale answer resolved by
the merchantTransactionId inquiry through the Reconciler, and the one-refund rule enforced before sending."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from terminal.assembly import Services
from terminal.domain.ledger import RuleViolation, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.payments import HostedPayment, PaymentOutcome
from tests.e2e.conftest import run
from tests.gateways.browser_paymentz import checkout

PROFILE = "paymentz-sandbox"
RETURN_URL = "http://127.0.0.1:9/return/paymentz"  # never loaded: the test browser reads the return form
API = "/transactionServices/REST/v1"
APPROVED = "4242424242424242"


def base(services: Services) -> str:
    assert services.sims is not None
    return services.sims.urls["paymentz"]


def ledger(services: Services) -> list[dict[str, Any]]:
    reply = httpx.get(base(services) + "/_sim/ledger", timeout=5)
    reply.raise_for_status()
    return list(reply.json()["entries"])


def moved(services: Services, kind: str) -> list[dict[str, Any]]:
    return [e for e in ledger(services) if e["effect"] and e["kind"] == kind]


def arm(services: Services, path: str, fault: str, *, times: int = 1, delay_ms: int = 200) -> None:
    spec = {"method": "POST", "path": path, "fault": fault, "times": times, "delay_ms": delay_ms}
    httpx.post(base(services) + "/_sim/faults", json=spec, timeout=5).raise_for_status()


def armed(services: Services) -> list[dict[str, Any]]:
    return list(httpx.get(base(services) + "/_sim/faults", timeout=5).json()["faults"])


async def open_page(services: Services, kind: OperationKind, minor: int, reference: str) -> HostedPayment:
    return await services.payments.begin_hosted(
        PROFILE,
        kind,
        Money(minor, "EUR"),
        return_url=RETURN_URL,
        merchant_reference=reference,
        customer_id="C-9",
    )


async def pay(
    services: Services, kind: OperationKind, minor: int, reference: str, card: str = APPROVED
) -> PaymentOutcome:
    hosted = await open_page(services, kind, minor, reference)
    action, fields = await checkout(hosted.challenge, card)
    assert action == RETURN_URL
    return await services.payments.complete_hosted(hosted, fields)


def test_hosted_sale_then_one_refund_only(services: Services) -> None:
    outcome = run(pay(services, OperationKind.SALE, 5000, "PZSALE1"))
    assert outcome.approved, outcome.message
    tx = outcome.transaction
    assert tx.state is TransactionState.CAPTURED and tx.captured == Money(5000, "EUR")
    assert tx.card.last4 == "4242"
    refund = run(services.payments.refund(tx.id, Money(1500, "EUR"), "damaged"))
    assert refund.approved, refund.message
    # A second refund is refused by the ledger rule before any request leaves: an armed fault stays unused.
    arm(services, f"{API}/payments/*", "http_503")
    with pytest.raises(RuleViolation, match="one refund"):
        run(services.payments.refund(tx.id, Money(500, "EUR"), "again"))
    assert len(armed(services)) == 1
    assert [e["amount"] for e in moved(services, "RF")] == [1500]
    assert [e["amount"] for e in moved(services, "DB")] == [5000]  # the page took the sale itself
    assert moved(services, "CP") == []


def test_hosted_preauth_capture_partial(services: Services) -> None:
    outcome = run(pay(services, OperationKind.AUTHORIZE, 8000, "PZAUTH1"))
    assert outcome.approved, outcome.message
    assert outcome.transaction.state is TransactionState.AUTHORISED
    capture = run(services.payments.capture(outcome.transaction.id, Money(6000, "EUR")))
    assert capture.approved, capture.message
    assert [e["amount"] for e in moved(services, "CP")] == [6000]


def test_hosted_decline_is_confirmed_and_normalised(services: Services) -> None:
    outcome = run(pay(services, OperationKind.SALE, 2000, "PZDECL1", card="4000000000009995"))
    assert outcome.operation.state is OperationState.DECLINED
    assert outcome.operation.decline_code == "insufficient_funds"
    assert moved(services, "PA") == [] and moved(services, "CP") == []


def test_lost_sale_answer_ends_as_one_charge_found_by_reference(services: Services) -> None:
    hosted = run(open_page(services, OperationKind.SALE, 4200, "PZLOST1"))
    _, fields = run(checkout(hosted.challenge, APPROVED))
    # The page took the sale (DB); every answer to reading it back is lost (a READ is tried three times).
    arm(services, f"{API}/payments/{fields['paymentId']}", "timeout_after_commit", times=3)
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.operation.state is OperationState.UNKNOWN, outcome.message
    # No paymentId was recorded: only the inquiry by merchantTransactionId (idType=MID) can find it.
    assert outcome.operation.gateway_reference == ""
    report = run(services.reconciler.run())
    assert [(op.merchant_reference, op.state) for op in report.resolved] == [
        ("PZLOST1", OperationState.SUCCEEDED)
    ]
    tx = run(services.journal.get(outcome.transaction.id))
    assert tx.state is TransactionState.CAPTURED and tx.captured == Money(4200, "EUR")
    assert tx.operations[0].gateway_reference == fields["paymentId"]
    assert [e["amount"] for e in moved(services, "DB")] == [4200]
    assert moved(services, "PA") == [] and moved(services, "CP") == []


def test_lost_read_back_answer_is_asked_again(services: Services) -> None:
    hosted = run(open_page(services, OperationKind.SALE, 3100, "PZLOST2"))
    _, fields = run(checkout(hosted.challenge, APPROVED))
    arm(services, f"{API}/payments/{fields['paymentId']}", "reset_after_commit")
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.approved, outcome.message
    assert [e["amount"] for e in moved(services, "DB")] == [3100]
    assert moved(services, "CP") == []
