"""The operation state machine: created → sent → succeeded | declined | failed | unknown (+ challenge)."""

from __future__ import annotations

import itertools

import pytest

from terminal.domain.operations import (
    ALLOWED_TRANSITIONS,
    OperationKind,
    OperationState,
    TransitionError,
    check_transition,
)

S = OperationState

# The journal's rules written out independently of ALLOWED_TRANSITIONS, pair by pair.
EXPECTED_ALLOWED = {
    (S.CREATED, S.SENT),
    (S.CREATED, S.FAILED),  # provably never left
    (S.CREATED, S.UNKNOWN),  # crashed while sending
    (S.CREATED, S.CHALLENGE),  # a hosted page opened before any money call
    (S.SENT, S.SUCCEEDED),
    (S.SENT, S.DECLINED),
    (S.SENT, S.FAILED),
    (S.SENT, S.UNKNOWN),
    (S.SENT, S.CHALLENGE),
    (S.CHALLENGE, S.SENT),
    (S.CHALLENGE, S.SUCCEEDED),
    (S.CHALLENGE, S.DECLINED),
    (S.CHALLENGE, S.FAILED),
    (S.CHALLENGE, S.UNKNOWN),
    (S.UNKNOWN, S.SUCCEEDED),  # resolved by a lookup or an operator
    (S.UNKNOWN, S.DECLINED),
    (S.UNKNOWN, S.FAILED),
}
ALL_PAIRS = list(itertools.product(OperationState, repeat=2))


def test_the_table_covers_every_state() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(OperationState)


@pytest.mark.parametrize(("current", "new"), sorted(EXPECTED_ALLOWED))
def test_allowed_transition(current: OperationState, new: OperationState) -> None:
    check_transition(current, new)
    assert new in ALLOWED_TRANSITIONS[current]


@pytest.mark.parametrize(("current", "new"), [pair for pair in ALL_PAIRS if pair not in EXPECTED_ALLOWED])
def test_forbidden_transition(current: OperationState, new: OperationState) -> None:
    with pytest.raises(TransitionError) as err:
        check_transition(current, new)
    assert str(current) in str(err.value) and str(new) in str(err.value)


def test_the_matrix_is_complete() -> None:
    assert len(ALL_PAIRS) == 49
    assert {pair for pair in ALL_PAIRS if pair[1] in ALLOWED_TRANSITIONS[pair[0]]} == EXPECTED_ALLOWED


@pytest.mark.parametrize("state", [S.SUCCEEDED, S.DECLINED, S.FAILED])
def test_final_states_never_change(state: OperationState) -> None:
    assert state.is_final
    assert not ALLOWED_TRANSITIONS[state]
    assert not state.needs_resolution


@pytest.mark.parametrize("state", [S.CREATED, S.SENT, S.UNKNOWN, S.CHALLENGE])
def test_unknown_and_in_flight_states_are_not_final(state: OperationState) -> None:
    assert not state.is_final
    assert state.needs_resolution is (state is not S.CHALLENGE)


def test_unknown_is_never_folded_into_failed() -> None:
    assert S.UNKNOWN is not S.FAILED
    assert S.FAILED.is_final and not S.UNKNOWN.is_final


def test_kinds_labels_and_which_open_a_transaction() -> None:
    assert {kind for kind in OperationKind if kind.opens_transaction} == {
        OperationKind.SALE,
        OperationKind.AUTHORIZE,
        OperationKind.PAYOUT,
        OperationKind.INVOICE,
    }
    assert OperationKind.AUTHORIZE.label == "Pre-authorisation"
    assert all(kind.label and kind.label[0].isupper() for kind in OperationKind)
    assert OperationKind("capture") is OperationKind.CAPTURE
    assert OperationState("unknown") is S.UNKNOWN
