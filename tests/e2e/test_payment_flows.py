"""The payment service end to end: real adapter, real simulator over HTTP, real store on disk."""

from __future__ import annotations

import httpx
import pytest

from terminal.assembly import Services
from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import RuleViolation, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.payments import PaymentInputError
from tests.e2e.conftest import run
from tests.e2e.flows import arm_fault, hosted_payment, sim_ledger, sim_url

APPROVED = "4242424242424242"


def charges(services: Services) -> list[dict[str, object]]:
    return [e for e in sim_ledger(services) if e["effect"] and e["kind"] in ("purchase", "preauth")]


def test_sale_approved_is_recorded_with_card_summary(services: Services) -> None:
    outcome = run(hosted_payment(services, APPROVED, 1250))
    assert outcome.approved, outcome.message
    tx = outcome.transaction
    assert tx.state is TransactionState.CAPTURED
    assert tx.captured == Money(1250, "LKR")
    assert tx.card.last4 == "4242" and tx.card.brand == "Visa"
    assert outcome.operation.approval_code and outcome.operation.gateway_reference
    assert "Approval code" in outcome.message
    assert len(charges(services)) == 1
    assert run(services.history.count()) == 1


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000000000000002", DeclineCode.DO_NOT_HONOUR),
        ("4000000000009995", DeclineCode.INSUFFICIENT_FUNDS),
        ("4000000000000069", DeclineCode.EXPIRED_CARD),
    ],
)
def test_declines_are_normalised_and_explained(services: Services, card: str, code: DeclineCode) -> None:
    outcome = run(hosted_payment(services, card))
    assert outcome.operation.state is OperationState.DECLINED
    assert outcome.operation.decline_code is code
    assert outcome.transaction.state is TransactionState.DECLINED
    assert "declined" in outcome.message.lower()
    assert charges(services) == []


def test_3ds_declined_by_cardholder_charges_nothing(services: Services) -> None:
    outcome = run(hosted_payment(services, APPROVED, approve=False))
    assert outcome.operation.state is OperationState.DECLINED
    assert outcome.operation.decline_code is DeclineCode.AUTHENTICATION_FAILED
    assert [e for e in sim_ledger(services) if e["kind"] == "purchase"] == []


def test_preauth_partial_capture_then_refunds(services: Services) -> None:
    auth = run(hosted_payment(services, APPROVED, 10000, kind=OperationKind.AUTHORIZE))
    assert auth.approved and auth.transaction.state is TransactionState.AUTHORISED
    tx_id = auth.transaction.id
    captured = run(services.payments.capture(tx_id, Money(6000, "LKR")))
    assert captured.approved, captured.message
    assert captured.transaction.captured == Money(6000, "LKR")
    assert captured.transaction.state is TransactionState.PARTIALLY_CAPTURED
    with pytest.raises(RuleViolation, match="one capture"):  # OGO completes a pre-authorisation once
        run(services.payments.capture(tx_id, Money(4000, "LKR")))
    first = run(services.payments.refund(tx_id, Money(2500, "LKR"), reason="one item returned"))
    assert first.approved and first.transaction.state is TransactionState.PARTIALLY_REFUNDED
    rest = run(services.payments.refund(tx_id, Money(3500, "LKR")))
    assert rest.approved and rest.transaction.state is TransactionState.REFUNDED
    with pytest.raises(RuleViolation, match="Everything captured has been refunded"):
        run(services.payments.refund(tx_id, Money(1, "LKR")))
    kinds = [e["kind"] for e in sim_ledger(services) if e["effect"]]
    assert kinds.count("completion") == 1 and kinds.count("refund") == 2


def test_over_capture_is_refused_before_any_request(services: Services) -> None:
    auth = run(hosted_payment(services, APPROVED, 5000, kind=OperationKind.AUTHORIZE))
    before = len(sim_ledger(services))
    with pytest.raises(RuleViolation, match="At most"):
        run(services.payments.capture(auth.transaction.id, Money(5001, "LKR")))
    assert len(sim_ledger(services)) == before


def test_preauth_void(services: Services) -> None:
    auth = run(hosted_payment(services, APPROVED, 5000, kind=OperationKind.AUTHORIZE))
    voided = run(services.payments.void(auth.transaction.id))
    assert voided.approved and voided.transaction.state is TransactionState.VOIDED
    with pytest.raises(RuleViolation, match="voided"):
        run(services.payments.capture(auth.transaction.id, Money(5000, "LKR")))


def test_lost_response_stays_unknown_and_is_never_resent(services: Services) -> None:
    arm_fault(services, "/purchase", "timeout_after_commit", delay_ms=300)
    outcome = run(hosted_payment(services, APPROVED, 777))
    assert outcome.operation.state is OperationState.UNKNOWN
    assert "unknown" in outcome.message.lower()
    assert outcome.transaction.state is TransactionState.UNKNOWN
    assert len(charges(services)) == 1  # the simulator did charge, once
    report = run(services.reconciler.run())  # OGO has no lookup: left for an operator
    assert [op.id for op in report.needs_attention] == [outcome.operation.id]
    assert len(charges(services)) == 1
    with pytest.raises(RuleViolation, match="unknown"):
        run(services.payments.refund(outcome.transaction.id, Money(777, "LKR")))


def test_gateway_down_means_failed_not_unknown(services: Services) -> None:
    profile = services.profiles.all()[0]
    hosted = run(
        services.payments.begin_hosted(
            profile.id, OperationKind.SALE, Money(100, "LKR"), return_url="http://127.0.0.1:9/r"
        )
    )
    assert services.sims is not None
    services.sims.stop()
    fields = {
        "success": "true",
        "token": "0" * 32,
        "merchantId": "sandbox-merchant",
        "customerId": hosted.request.customer_id,
        "orderId": hosted.request.merchant_reference,
        "cardMask": "4242-42xx-xxxx-4242",
        "cardType": "V",
        "expiryMonth": "12",
        "expiryYear": "30",
    }
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.operation.state is OperationState.FAILED
    services.sims = None


def test_reference_reused_is_refused_with_the_field_named(services: Services) -> None:
    run(hosted_payment(services, APPROVED, reference="ORDER-1"))
    with pytest.raises(PaymentInputError) as refused:
        run(hosted_payment(services, APPROVED, reference="ORDER-1"))
    assert refused.value.field == "reference"
    assert "ORDER-1" in refused.value.message
    assert len(charges(services)) == 1


def test_cancelled_card_page_records_nothing_charged(services: Services) -> None:
    profile = services.profiles.all()[0]

    async def open_and_cancel() -> object:
        hosted = await services.payments.begin_hosted(
            profile.id, OperationKind.SALE, Money(100, "LKR"), return_url="http://127.0.0.1:9/r"
        )
        return await services.payments.cancel_hosted(hosted)

    outcome = run(open_and_cancel())
    assert outcome.operation.state is OperationState.FAILED  # type: ignore[attr-defined]
    assert sim_ledger(services) == []


def test_reconciliation_leaves_a_page_open_right_now_alone(services: Services) -> None:
    profile = services.profiles.all()[0]
    hosted = run(
        services.payments.begin_hosted(
            profile.id, OperationKind.SALE, Money(100, "LKR"), return_url="http://127.0.0.1:9/r"
        )
    )
    report = run(services.reconciler.run())
    assert report.resolved == [] and report.needs_attention == []
    still = run(services.history.transaction(hosted.transaction.id))
    assert still.operations[0].state is OperationState.CHALLENGE
    run(services.payments.cancel_hosted(hosted))
    assert hosted.operation.id not in services.payments.active


@pytest.mark.parametrize("field", ["reference", "customer_id", "customer_name", "description"])
def test_card_number_in_a_text_field_is_refused_naming_the_field(services: Services, field: str) -> None:
    profile = services.profiles.all()[0]
    values = {"merchant_reference": "", "customer_id": "", "customer_name": "", "description": ""}
    values["merchant_reference" if field == "reference" else field] = "4111 1111 1111 1111"
    with pytest.raises(PaymentInputError) as refused:
        run(
            services.payments.begin_hosted(
                profile.id, OperationKind.SALE, Money(100, "LKR"), return_url="http://127.0.0.1:9/r", **values
            )
        )
    assert refused.value.field == field and "card number" in refused.value.message
    assert run(services.history.count()) == 0


def test_follow_up_refused_by_the_gateway_is_declined_not_failed(services: Services) -> None:
    sale = run(hosted_payment(services, APPROVED, 900))
    httpx.post(sim_url(services) + "/_sim/settle", timeout=5).raise_for_status()
    voided = run(services.payments.void(sale.transaction.id))  # the simulator refuses: already settled
    assert voided.operation.state is OperationState.DECLINED
    assert "settled" in voided.operation.gateway_message.lower()
    assert voided.transaction.state is TransactionState.CAPTURED


def test_unusable_card_page_answer_fails_without_charging(services: Services) -> None:
    profile = services.profiles.all()[0]
    hosted = run(
        services.payments.begin_hosted(
            profile.id, OperationKind.SALE, Money(100, "LKR"), return_url="http://127.0.0.1:9/r"
        )
    )
    fields = {
        "success": "true",
        "token": "4111111111111111",
        "merchantId": "sandbox-merchant",
        "customerId": hosted.request.customer_id,
        "orderId": hosted.request.merchant_reference,
        "cardMask": "4242-42xx-xxxx-4242",
        "cardType": "V",
        "expiryMonth": "²",
        "expiryYear": "30",
    }
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.operation.state is OperationState.FAILED
    assert charges(services) == []
