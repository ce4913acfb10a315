"""The ledger: amounts and state derived from the journal, and the rules checked before sending (IDEM-10)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from terminal.domain.capabilities import Support
from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import (
    CardSummary,
    RuleViolation,
    Transaction,
    TransactionState,
    check_follow_up,
    follow_up_reason,
    opening_reason,
)
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState, TransitionError
from tests.unit.ledger_builders import ALL_DOCUMENTED, T0, K, S, caps, eur, op, tx

# --- amounts and state for each journal shape -------------------------------------------------

# (journal, authorised, captured, refunded, capturable, refundable, voided, state)
SHAPES: dict[
    str, tuple[tuple[tuple[OperationKind, int, OperationState], ...], int, int, int, int, int, bool, str]
] = {
    "empty": ((), 0, 0, 0, 0, 0, False, "pending"),
    "sale created": (((K.SALE, 1000, S.CREATED),), 0, 0, 0, 0, 0, False, "pending"),
    "sale sent": (((K.SALE, 1000, S.SENT),), 0, 0, 0, 0, 0, False, "pending"),
    "sale in 3-D Secure": (((K.SALE, 1000, S.CHALLENGE),), 0, 0, 0, 0, 0, False, "pending"),
    "sale ok": (((K.SALE, 1000, S.SUCCEEDED),), 1000, 1000, 0, 0, 1000, False, "captured"),
    "sale declined": (((K.SALE, 1000, S.DECLINED),), 0, 0, 0, 0, 0, False, "declined"),
    "sale failed": (((K.SALE, 1000, S.FAILED),), 0, 0, 0, 0, 0, False, "failed"),
    "sale unknown": (((K.SALE, 1000, S.UNKNOWN),), 0, 0, 0, 0, 0, False, "unknown"),
    "auth": (((K.AUTHORIZE, 1000, S.SUCCEEDED),), 1000, 0, 0, 1000, 0, False, "authorised"),
    "auth declined": (((K.AUTHORIZE, 1000, S.DECLINED),), 0, 0, 0, 0, 0, False, "declined"),
    "auth + partial capture": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 400, S.SUCCEEDED)),
        1000,
        400,
        0,
        600,
        400,
        False,
        "partially_captured",
    ),
    "auth + two captures to full": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 400, S.SUCCEEDED), (K.CAPTURE, 600, S.SUCCEEDED)),
        1000,
        1000,
        0,
        0,
        1000,
        False,
        "captured",
    ),
    "auth + full capture": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 1000, S.SUCCEEDED)),
        1000,
        1000,
        0,
        0,
        1000,
        False,
        "captured",
    ),
    "auth + declined capture": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 1000, S.DECLINED)),
        1000,
        0,
        0,
        1000,
        0,
        False,
        "authorised",
    ),
    "auth + capture in flight": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 1000, S.SENT)),
        1000,
        0,
        0,
        1000,
        0,
        False,
        "authorised",
    ),
    "auth + capture unknown": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 1000, S.UNKNOWN)),
        1000,
        0,
        0,
        1000,
        0,
        False,
        "unknown",
    ),
    "auth + void": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.VOID, 1000, S.SUCCEEDED)),
        1000,
        0,
        0,
        0,
        0,
        True,
        "voided",
    ),
    "auth + declined void": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.VOID, 1000, S.DECLINED)),
        1000,
        0,
        0,
        1000,
        0,
        False,
        "authorised",
    ),
    "auth + partial capture + void": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 400, S.SUCCEEDED), (K.VOID, 1000, S.SUCCEEDED)),
        1000,
        400,
        0,
        0,
        0,
        True,
        "voided",
    ),
    "sale + void": (
        ((K.SALE, 1000, S.SUCCEEDED), (K.VOID, 1000, S.SUCCEEDED)),
        1000,
        1000,
        0,
        0,
        0,
        True,
        "voided",
    ),
    "sale + partial refund": (
        ((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 300, S.SUCCEEDED)),
        1000,
        1000,
        300,
        0,
        700,
        False,
        "partially_refunded",
    ),
    "sale + two refunds to full": (
        ((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 300, S.SUCCEEDED), (K.REFUND, 700, S.SUCCEEDED)),
        1000,
        1000,
        1000,
        0,
        0,
        False,
        "refunded",
    ),
    "sale + full refund": (
        ((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 1000, S.SUCCEEDED)),
        1000,
        1000,
        1000,
        0,
        0,
        False,
        "refunded",
    ),
    "sale + failed refund": (
        ((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 1000, S.FAILED)),
        1000,
        1000,
        0,
        0,
        1000,
        False,
        "captured",
    ),
    "sale + refund unknown": (
        ((K.SALE, 1000, S.SUCCEEDED), (K.REFUND, 1000, S.UNKNOWN)),
        1000,
        1000,
        0,
        0,
        1000,
        False,
        "unknown",
    ),
    "auth + capture + partial refund": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 1000, S.SUCCEEDED), (K.REFUND, 250, S.SUCCEEDED)),
        1000,
        1000,
        250,
        0,
        750,
        False,
        "partially_refunded",
    ),
    "auth + partial capture + refund of it": (
        ((K.AUTHORIZE, 1000, S.SUCCEEDED), (K.CAPTURE, 400, S.SUCCEEDED), (K.REFUND, 400, S.SUCCEEDED)),
        1000,
        400,
        400,
        600,
        0,
        False,
        "refunded",
    ),
    "payout": (((K.PAYOUT, 5000, S.SUCCEEDED),), 0, 0, 0, 0, 0, False, "paid_out"),
    "payout declined": (((K.PAYOUT, 5000, S.DECLINED),), 0, 0, 0, 0, 0, False, "declined"),
    "payout unknown": (((K.PAYOUT, 5000, S.UNKNOWN),), 0, 0, 0, 0, 0, False, "unknown"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_amounts_and_state_of_each_journal_shape(shape: str) -> None:
    journal, authorised, captured, refunded, capturable, refundable, voided, state = SHAPES[shape]
    t = tx(*(op(kind, minor, st) for kind, minor, st in journal))
    assert t.authorised == eur(authorised)
    assert t.captured == eur(captured)
    assert t.refunded == eur(refunded)
    assert t.capturable == eur(capturable)
    assert t.refundable == eur(refundable)
    assert t.voided is voided
    assert t.state is TransactionState(state)


def test_paid_out_and_amount() -> None:
    t = tx(op(K.PAYOUT, 5000))
    assert t.paid_out == eur(5000)
    assert t.amount == eur(5000)
    assert tx().amount == eur(0)
    assert tx(op(K.AUTHORIZE, 1000), op(K.CAPTURE, 400)).amount == eur(1000)


def test_state_labels() -> None:
    assert TransactionState.PARTIALLY_REFUNDED.label == "Partially refunded"
    assert TransactionState.PAID_OUT.label == "Paid out"


def test_unresolved_lists_every_operation_without_a_final_outcome() -> None:
    ops = [op(K.AUTHORIZE, 1000), op(K.CAPTURE, 100, S.UNKNOWN), op(K.CAPTURE, 100, S.SENT)]
    ops.append(op(K.CAPTURE, 100, S.CHALLENGE))
    ops.append(op(K.CAPTURE, 100, S.CREATED))
    ops.append(op(K.CAPTURE, 100, S.DECLINED))
    assert tx(*ops).unresolved == tuple(ops[1:5])


def test_card_summary_masked() -> None:
    assert CardSummary(brand="Visa", first6="424242", last4="4242").masked == "Visa •••• 4242"
    assert CardSummary(last4="0005").masked == "•••• 0005"
    assert CardSummary(brand="Visa").masked == ""


# --- the journal: with_operation and moved_to -------------------------------------------------


def test_with_operation_appends_a_new_operation() -> None:
    t = tx(op(K.AUTHORIZE, 1000))
    capture = op(K.CAPTURE, 400, S.CREATED)
    t2 = t.with_operation(capture)
    assert t2.operations == (*t.operations, capture)
    assert t.operations != t2.operations  # the original is untouched


def test_with_operation_replaces_the_operation_of_the_same_id_in_place() -> None:
    auth = op(K.AUTHORIZE, 1000)
    capture = op(K.CAPTURE, 400, S.SENT)
    refund_placeholder = op(K.VOID, 1000, S.DECLINED)
    t = tx(auth, capture, refund_placeholder)
    done = capture.moved_to(S.SUCCEEDED, T0, gateway_reference="G-1", approval_code="A1")
    t2 = t.with_operation(done)
    assert [o.id for o in t2.operations] == [auth.id, capture.id, refund_placeholder.id]
    assert t2.operations[1] is done
    assert t2.captured == eur(400)
    assert len(t2.operations) == 3


def test_with_operation_refuses_another_transaction_or_currency() -> None:
    t = tx(op(K.SALE, 1000))
    with pytest.raises(ValueError, match="another transaction"):
        t.with_operation(op(K.REFUND, 100, tx_id="tx-other"))
    with pytest.raises(RuleViolation, match="in EUR; the amount is in USD"):
        t.with_operation(op(K.REFUND, 100, currency="USD"))


def test_with_operation_never_rewrites_the_request() -> None:
    capture = op(K.CAPTURE, 400, S.SENT)
    t = tx(op(K.AUTHORIZE, 1000), capture)
    for changed in (
        replace(capture, amount=eur(1000)),
        replace(capture, kind=K.REFUND),
        replace(capture, idempotency_key="another-key"),
    ):
        with pytest.raises(ValueError, match="never change"):
            t.with_operation(changed)


def test_with_operation_never_changes_a_final_outcome() -> None:
    capture = op(K.CAPTURE, 400, S.DECLINED)
    t = tx(op(K.AUTHORIZE, 1000), capture)
    with pytest.raises(ValueError, match="already ended declined"):
        t.with_operation(replace(capture, state=S.SUCCEEDED))
    # The same outcome again (a refreshed copy) is fine.
    assert t.with_operation(replace(capture, gateway_message="Do not honour")).operations[1].gateway_message


def test_moved_to_records_the_outcome() -> None:
    sent = op(K.SALE, 1000, S.SENT)
    later = T0.replace(hour=10)
    declined = sent.moved_to(
        S.DECLINED,
        later,
        decline_code=DeclineCode.INSUFFICIENT_FUNDS,
        gateway_code="51",
        gateway_message="NSF",
    )
    assert declined.state is S.DECLINED
    assert declined.updated_at == later
    assert declined.decline_code is DeclineCode.INSUFFICIENT_FUNDS
    assert (declined.gateway_code, declined.gateway_message) == ("51", "NSF")
    assert (declined.id, declined.amount, declined.idempotency_key) == (
        sent.id,
        sent.amount,
        sent.idempotency_key,
    )
    assert sent.state is S.SENT  # frozen: a copy was made


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.SUCCEEDED, S.DECLINED),
        (S.DECLINED, S.SUCCEEDED),
        (S.FAILED, S.SUCCEEDED),
        (S.CREATED, S.SUCCEEDED),
        (S.UNKNOWN, S.SENT),
        (S.SENT, S.CREATED),
        (S.UNKNOWN, S.UNKNOWN),
    ],
)
def test_moved_to_refuses_illegal_transitions(current: OperationState, new: OperationState) -> None:
    with pytest.raises(TransitionError):
        op(K.SALE, 1000, current).moved_to(new, T0)


# --- follow-up rules --------------------------------------------------------------------------

AUTH = (K.AUTHORIZE, 1000)
SALE = (K.SALE, 1000)


def reason(
    t: Transaction, kind: OperationKind, minor: int | None, *, live: bool = False, **flags: bool
) -> str | None:
    amount = None if minor is None else eur(minor)
    return follow_up_reason(t, kind, amount, caps(**flags), live=live)


def test_capture_within_the_authorisation_is_allowed() -> None:
    t = tx(op(*AUTH))
    assert reason(t, K.CAPTURE, 1000) is None
    assert reason(t, K.CAPTURE, 1) is None
    assert reason(t, K.CAPTURE, None) is None
    check_follow_up(t, K.CAPTURE, eur(1000), caps(), live=True)


def test_capture_at_most_what_is_authorised() -> None:
    t = tx(op(*AUTH))
    assert reason(t, K.CAPTURE, 1001) == "At most 10.00 EUR can be captured."
    t = tx(op(*AUTH), op(K.CAPTURE, 600))
    assert reason(t, K.CAPTURE, 401) == "At most 4.00 EUR can be captured."
    assert reason(t, K.CAPTURE, 400) is None
    with pytest.raises(RuleViolation, match=r"At most 4\.00 EUR"):
        check_follow_up(t, K.CAPTURE, eur(401), caps(), live=False)


def test_capture_only_of_an_authorisation() -> None:
    for opener in (op(*SALE), op(K.PAYOUT, 1000)):
        assert reason(tx(opener), K.CAPTURE, 100) == "Only a pre-authorisation can be captured."


def test_capture_after_everything_captured() -> None:
    t = tx(op(*AUTH), op(K.CAPTURE, 1000))
    assert reason(t, K.CAPTURE, 1) == "Everything authorised has been captured."


def test_one_capture_only_when_multiple_capture_is_off() -> None:
    t = tx(op(*AUTH), op(K.CAPTURE, 400))
    assert (
        reason(t, K.CAPTURE, 600, multiple_capture=False)
        == "TestPay allows one capture per pre-authorisation."
    )
    assert reason(t, K.CAPTURE, 600, multiple_capture=True) is None
    # A declined capture does not count.
    t = tx(op(*AUTH), op(K.CAPTURE, 400, S.DECLINED))
    assert reason(t, K.CAPTURE, 1000, multiple_capture=False) is None


def test_partial_capture_refused_when_the_gateway_captures_in_full() -> None:
    t = tx(op(*AUTH))
    assert (
        reason(t, K.CAPTURE, 400, partial_capture=False)
        == "TestPay captures the full amount only (10.00 EUR)."
    )
    assert reason(t, K.CAPTURE, 1000, partial_capture=False) is None


def test_refunds_at_most_captured_minus_refunded() -> None:
    t = tx(op(*SALE))
    assert reason(t, K.REFUND, 1001) == "At most 10.00 EUR can be refunded."
    assert reason(t, K.REFUND, 1000) is None
    t = tx(op(*SALE), op(K.REFUND, 300))
    assert reason(t, K.REFUND, 701) == "At most 7.00 EUR can be refunded."
    assert reason(t, K.REFUND, 700) is None
    t = tx(op(*AUTH), op(K.CAPTURE, 400))
    assert reason(t, K.REFUND, 401) == "At most 4.00 EUR can be refunded."


def test_refund_of_nothing_captured() -> None:
    t = tx(op(*AUTH))
    assert reason(t, K.REFUND, 100) == (
        "Nothing was captured, so there is nothing to refund (void the pre-authorisation instead)."
    )
    assert reason(tx(op(K.PAYOUT, 1000)), K.REFUND, 100) is not None


def test_refund_after_everything_refunded() -> None:
    t = tx(op(*SALE), op(K.REFUND, 1000))
    assert reason(t, K.REFUND, 1) == "Everything captured has been refunded."


def test_one_refund_only_when_multiple_refund_is_off() -> None:
    t = tx(op(*SALE), op(K.REFUND, 300))
    assert reason(t, K.REFUND, 700, multiple_refund=False) == "TestPay allows one refund per payment."
    t = tx(op(*SALE), op(K.REFUND, 300, S.DECLINED))
    assert reason(t, K.REFUND, 1000, multiple_refund=False) is None


def test_partial_refund_refused_when_the_gateway_refunds_in_full() -> None:
    t = tx(op(*SALE))
    assert (
        reason(t, K.REFUND, 300, partial_refund=False) == "TestPay refunds the full amount only (10.00 EUR)."
    )
    assert reason(t, K.REFUND, 1000, partial_refund=False) is None


@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
def test_nothing_after_a_void(kind: OperationKind) -> None:
    for opener in (op(*AUTH), op(*SALE)):
        t = tx(opener, op(K.VOID, 1000))
        assert reason(t, kind, 100) == "The transaction was voided; nothing can follow a void."


def test_void_of_an_authorisation_or_sale() -> None:
    assert reason(tx(op(*AUTH)), K.VOID, None, void_after_capture=False) is None
    assert reason(tx(op(*SALE)), K.VOID, None, void_after_capture=True) is None
    assert reason(tx(op(K.PAYOUT, 1000)), K.VOID, None) == "A payout cannot be voided."


def test_void_after_capture_only_when_the_gateway_allows_it() -> None:
    for t in (tx(op(*AUTH), op(K.CAPTURE, 400)), tx(op(*SALE))):
        assert reason(t, K.VOID, None, void_after_capture=False) == (
            "Money was already captured; TestPay can only refund it now."
        )
        assert reason(t, K.VOID, None, void_after_capture=True) is None


def test_no_void_after_a_refund() -> None:
    t = tx(op(*SALE), op(K.REFUND, 300))
    assert reason(t, K.VOID, None) == "Part of the payment was refunded; it can no longer be voided."


def test_void_ignores_the_amount() -> None:
    assert reason(tx(op(*AUTH)), K.VOID, 0) is None


@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
@pytest.mark.parametrize("pending", [S.CREATED, S.SENT, S.CHALLENGE])
def test_nothing_while_an_operation_is_in_flight(kind: OperationKind, pending: OperationState) -> None:
    t = tx(op(*AUTH), op(K.CAPTURE, 400), op(K.CAPTURE, 100, pending))
    assert reason(t, kind, 100) == "The capture is still in progress."
    t = tx(op(K.SALE, 1000, pending))
    assert reason(t, kind, 100) == "The sale is still in progress."


@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
def test_nothing_on_a_transaction_with_an_unknown_operation(kind: OperationKind) -> None:
    assert (
        reason(tx(op(K.SALE, 1000, S.UNKNOWN)), kind, 100)
        == "The outcome of the sale is unknown; resolve it first."
    )
    t = tx(op(*AUTH), op(K.CAPTURE, 400, S.UNKNOWN))
    assert reason(t, kind, 100) == "The outcome of the capture is unknown; resolve it first."
    # An unknown outcome is the one named, even behind an operation still in flight.
    t = tx(op(*AUTH), op(K.CAPTURE, 100, S.SENT), op(K.CAPTURE, 400, S.UNKNOWN))
    assert reason(t, kind, 100) == "The outcome of the capture is unknown; resolve it first."


@pytest.mark.parametrize(("state", "words"), [(S.DECLINED, "was declined"), (S.FAILED, "failed")])
@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
def test_nothing_to_follow_up_after_a_declined_or_failed_opening(
    state: OperationState, words: str, kind: OperationKind
) -> None:
    t = tx(op(K.AUTHORIZE, 1000, state))
    assert reason(t, kind, 100) == f"The pre-authorisation {words}; there is nothing to follow up."


def test_follow_up_on_an_empty_transaction() -> None:
    assert reason(tx(), K.REFUND, 100) == "The transaction has no operations yet."


@pytest.mark.parametrize("kind", [K.SALE, K.AUTHORIZE, K.PAYOUT, K.INVOICE])
def test_opening_kinds_do_not_follow_up(kind: OperationKind) -> None:
    assert (
        reason(tx(op(*SALE)), kind, 100)
        == f"{kind.label} starts a new transaction; it does not follow one up."
    )


@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
def test_operations_the_gateway_lacks_are_refused_first(kind: OperationKind) -> None:
    offered = dict.fromkeys((K.SALE, K.AUTHORIZE), Support.DOCUMENTED)
    t = tx(op(*AUTH), op(K.CAPTURE, 400, S.UNKNOWN))
    why = follow_up_reason(t, kind, eur(100), caps(offered), live=False)
    assert why == f"TestPay does not offer {kind.label.lower()}."


@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
def test_sandbox_only_operations_are_refused_on_live_profiles(kind: OperationKind) -> None:
    offered = {**ALL_DOCUMENTED, kind: Support.SANDBOX_ONLY}
    c = caps(offered)
    t = tx(op(*AUTH), op(K.CAPTURE, 400)) if kind is not K.CAPTURE else tx(op(*AUTH))
    assert follow_up_reason(t, kind, eur(100), c, live=True) == c.sandbox_only_reason
    assert follow_up_reason(t, kind, eur(100), c, live=False) is None
    with pytest.raises(RuleViolation, match="sandbox only"):
        check_follow_up(t, kind, eur(100), c, live=True)


@pytest.mark.parametrize("kind", [K.CAPTURE, K.REFUND])
def test_follow_up_in_another_currency_is_refused(kind: OperationKind) -> None:
    t = tx(op(*AUTH), op(K.CAPTURE, 400)) if kind is K.REFUND else tx(op(*AUTH))
    why = follow_up_reason(t, kind, Money(100, "USD"), caps(), live=False)
    assert why == "This transaction is in EUR; the amount is in USD."


@pytest.mark.parametrize("kind", [K.CAPTURE, K.REFUND])
@pytest.mark.parametrize("minor", [0, -100])
def test_follow_up_amount_must_be_positive(kind: OperationKind, minor: int) -> None:
    t = tx(op(*AUTH), op(K.CAPTURE, 400)) if kind is K.REFUND else tx(op(*AUTH))
    assert reason(t, kind, minor) == "The amount must be more than zero."


def test_follow_ups_in_a_three_decimal_currency() -> None:
    t = tx(op(K.AUTHORIZE, 1250, currency="OMR"), currency="OMR")
    c = caps(currencies=frozenset({"OMR"}))
    assert (
        follow_up_reason(t, K.CAPTURE, Money(1251, "OMR"), c, live=False)
        == "At most 1.250 OMR can be captured."
    )


# --- opening a transaction --------------------------------------------------------------------


@pytest.mark.parametrize("kind", [K.SALE, K.AUTHORIZE, K.PAYOUT, K.INVOICE])
def test_opening_kinds_are_allowed(kind: OperationKind) -> None:
    assert opening_reason(kind, eur(1000), caps(), live=True) is None


@pytest.mark.parametrize("kind", [K.CAPTURE, K.VOID, K.REFUND])
def test_follow_up_kinds_cannot_open(kind: OperationKind) -> None:
    assert opening_reason(kind, eur(1000), caps(), live=False) == (
        f"A {kind.label.lower()} follows up an existing transaction."
    )


@pytest.mark.parametrize("minor", [0, -1])
def test_opening_amount_must_be_positive(minor: int) -> None:
    assert opening_reason(K.SALE, eur(minor), caps(), live=False) == "The amount must be more than zero."


def test_opening_refused_when_the_gateway_lacks_it_or_it_is_sandbox_only_live() -> None:
    c = caps({K.SALE: Support.DOCUMENTED, K.PAYOUT: Support.SANDBOX_ONLY})
    assert (
        opening_reason(K.AUTHORIZE, eur(1000), c, live=False) == "TestPay does not offer pre-authorisation."
    )
    assert opening_reason(K.PAYOUT, eur(1000), c, live=True) == c.sandbox_only_reason
    assert opening_reason(K.PAYOUT, eur(1000), c, live=False) is None


def test_opening_refused_in_a_currency_the_gateway_does_not_take() -> None:
    c = caps(currencies=frozenset({"CLP"}))
    assert opening_reason(K.SALE, eur(1000), c, live=False) == "TestPay accepts CLP, not EUR."
    assert opening_reason(K.SALE, Money(1000, "CLP"), c, live=False) is None


def test_opening_refused_outside_the_gateway_amount_limits() -> None:
    base = caps()
    c = type(base)(
        gateway="testpay",
        display_name="TestPay",
        operations=base.operations,
        currencies=frozenset({"EUR"}),
        amount_limits={"EUR": (50, 100000)},
    )
    assert (
        opening_reason(K.SALE, eur(49), c, live=False)
        == "TestPay accepts amounts from 0.50 EUR to 1000.00 EUR."
    )
    assert opening_reason(K.SALE, eur(100001), c, live=False) is not None
    assert opening_reason(K.SALE, eur(50), c, live=False) is None
    assert opening_reason(K.SALE, eur(100000), c, live=False) is None
