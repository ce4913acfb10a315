"""OMPay through the real services, adapter and simulator: 1.250 OMR end to end (history, receipt, simulator
ledger), follow-ups on a pre-authorisation, pay-by-link followed until paid, and a create whose answer is
lost: unknown, never sent again, listed for an operator."""

from __future__ import annotations

from typing import Any

import httpx

from terminal.assembly import Services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.payments import PaymentOutcome
from terminal.services.receipts import build_receipt
from tests.e2e.conftest import run
from tests.gateways import browser_ompay

PROFILE = "ompay-sandbox"
RETURN_URL = "http://127.0.0.1:9/return/ompay"  # never loaded: the test browser reads the page's fields
PAYMENT_PATH = "/v1/merchants/sandboxmerchant1/payment"


def sim_url(services: Services) -> str:
    assert services.sims is not None
    return services.sims.urls["ompay"]


def ledger(services: Services, kind: str) -> list[dict[str, Any]]:
    entries = httpx.get(sim_url(services) + "/_sim/ledger", timeout=5).json()["entries"]
    return [e for e in entries if e["kind"] == kind]


def requests_of(services: Services, name: str) -> int:
    counts = httpx.get(sim_url(services) + "/_sim/requests", timeout=5).json()["requests"]
    return int(counts.get(name, 0))


async def card_payment(
    services: Services, minor: int, *, kind: OperationKind = OperationKind.SALE, reference: str = ""
) -> PaymentOutcome:
    hosted = await services.payments.begin_hosted(
        PROFILE,
        kind,
        Money(minor, "OMR"),
        return_url=RETURN_URL,
        merchant_reference=reference,
        customer_id="C-5",
        customer_name="Ada Lovelace",
    )
    fields = await browser_ompay.enter_card(hosted.challenge, "4242 4242 4242 4242")
    return await services.payments.complete_hosted(hosted, fields)


def test_the_demo_profile_charges_omr(services: Services) -> None:
    profile = services.profiles.get(PROFILE)
    assert (profile.currency, profile.live, profile.settings["merchant_id"]) == (
        "OMR",
        False,
        "sandboxmerchant1",
    )
    assert services.profiles.all()[0].gateway == "ogopay"  # OGO stays first


def test_1_250_omr_shows_as_1_250_everywhere(services: Services) -> None:
    outcome = run(card_payment(services, 1250, reference="OMR1250"))
    assert outcome.approved, outcome.message
    rows = run(services.history.page(0, 20, "OMR1250"))
    [row] = [r for r in rows if r.merchant_reference == "OMR1250"]
    assert row.amount == Money(1250, "OMR") and str(row.amount) == "1.250 OMR"
    assert (row.card_brand, row.card_last4) == ("Visa", "4242")
    receipt = build_receipt(run(services.history.transaction(row.id)))
    assert "1.250" in receipt.amount and "OMR" in receipt.amount and "1.250" in receipt.text()
    [sale] = [e for e in ledger(services, "sale") if e["invoice_number"] == "OMR1250"]
    assert (sale["amount"], sale["currency"], sale["total"], sale["effect"]) == (1250, "OMR", "1.250", True)


def test_authorise_capture_part_and_refund_twice(services: Services) -> None:
    opened = run(card_payment(services, 10_000, kind=OperationKind.AUTHORIZE))
    assert opened.approved, opened.message
    tx_id = opened.transaction.id
    assert run(services.payments.capture(tx_id, Money(6_000, "OMR"))).approved
    assert run(services.payments.refund(tx_id, Money(2_500, "OMR"))).approved
    assert run(services.payments.refund(tx_id, Money(3_500, "OMR"))).approved
    assert [e["total"] for e in ledger(services, "capture")] == ["6.000"]
    assert [e["total"] for e in ledger(services, "refund")] == ["2.500", "3.500"]


def test_pay_by_link_is_followed_until_paid(services: Services) -> None:
    created = run(services.invoices.create(PROFILE, Money(5_500, "OMR"), customer_email="ada@example.com"))
    tx = created.transaction
    link = run(services.history.transaction(tx.id)).link_url
    assert link.startswith(sim_url(services)), link
    assert not run(services.invoices.refresh(tx.id)).approved  # pending: nobody has paid yet
    form = {"number": "4242424242424242", "expire_month": "12", "expire_year": "2039", "cvv2": "123"}
    assert httpx.post(link, data=form, timeout=5).status_code in (200, 303)
    paid = run(services.invoices.refresh(tx.id))
    assert paid.approved, paid.message
    assert [e["total"] for e in ledger(services, "sale") if e["effect"]] == ["5.500"]


def test_lost_create_stays_unknown_is_never_resent_and_needs_attention(services: Services) -> None:
    fault = {
        "method": "POST",
        "path": PAYMENT_PATH,
        "fault": "timeout_after_commit",
        "times": 1,
        "delay_ms": 300,
    }
    httpx.post(sim_url(services) + "/_sim/faults", json=fault, timeout=5).raise_for_status()
    outcome = run(card_payment(services, 1250, reference="LOSTOMR"))
    assert outcome.operation.state is OperationState.UNKNOWN, outcome.message
    assert "Do not charge again" in outcome.message
    # The sale happened at OMPay, exactly once.
    assert [e["invoice_number"] for e in ledger(services, "sale") if e["effect"]] == ["LOSTOMR"]
    assert requests_of(services, "payment") == 1
    # OMPay has no lookup by order reference: reconciliation leaves it to an operator, sending nothing.
    for _ in range(2):
        report = run(services.reconciler.run())
        assert [op.merchant_reference for op in report.needs_attention] == ["LOSTOMR"]
    attention = run(services.history.needs_attention())
    assert [(tx.merchant_reference, op.state) for tx, op in attention] == [
        ("LOSTOMR", OperationState.UNKNOWN)
    ]
    assert requests_of(services, "payment") == 1
    assert len([e for e in ledger(services, "sale") if e["effect"]]) == 1
