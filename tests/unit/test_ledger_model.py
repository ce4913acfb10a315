"""Stateful model test of the payment lifecycle over the ledger rules (TEST-4, IDEM-10).

Each rule asks `follow_up_reason` first; only when it gives no reason is the operation "sent", and
its outcome is drawn (approved, declined, failed, unknown, or still in flight). An independent model
of the journal says what the rules should have allowed, and the invariants are checked after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.ledger import (
    Operation,
    Transaction,
    TransactionState,
    follow_up_reason,
    opening_reason,
)
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from tests.unit.ledger_builders import T0, TX_ID, K, S, tx

# Approval is the common case; the rest exercise every other way a call can end.
OUTCOMES = st.sampled_from([S.SUCCEEDED] * 5 + [S.DECLINED, S.FAILED, S.UNKNOWN, S.SENT])
RESOLUTIONS = st.sampled_from([S.SUCCEEDED, S.DECLINED, S.FAILED])
SUPPORT = st.sampled_from(
    [Support.DOCUMENTED, Support.DOCUMENTED, Support.DOCUMENTED, Support.SANDBOX_ONLY, None]
)
# "rest" asks for everything still capturable/refundable, a percentage for part of it (both usually
# allowed, so journals grow long); plain integers probe the limits.
AMOUNTS = st.one_of(
    st.just("rest"),
    st.integers(min_value=1, max_value=99),
    st.integers(min_value=-1, max_value=12_000).map(lambda minor: ("minor", minor)),
)
# Capability flags are on more often than off, so that long journals happen too.
FLAG = st.sampled_from([True, True, False])


@dataclass
class Entry:
    """The model's own record of one operation."""

    kind: OperationKind
    minor: int
    state: OperationState


class LedgerMachine(RuleBasedStateMachine):
    """One transaction at a gateway with random capabilities, driven through random follow-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.tx: Transaction = tx()
        self.caps: Capabilities | None = None
        self.live = False
        self.model: dict[str, Entry] = {}
        self.count = 0

    # -- helpers ---------------------------------------------------------------------------------
    def _now(self) -> timedelta:
        self.count += 1
        return timedelta(seconds=self.count)

    def _send(self, kind: OperationKind, minor: int, outcome: OperationState) -> None:
        assert not self.tx.unresolved, "an operation was sent while another was unresolved"
        op_id = f"op-{self.count}"
        op = Operation(
            id=op_id,
            transaction_id=TX_ID,
            kind=kind,
            amount=Money(minor, "EUR"),
            state=S.CREATED,
            idempotency_key=f"key-{self.count}",
            merchant_reference=f"REF-{self.count}",
            created_at=T0 + self._now(),
            updated_at=T0 + self._now(),
        )
        self.tx = self.tx.with_operation(op)
        self.model[op_id] = Entry(kind, minor, S.CREATED)
        self._move(op_id, S.SENT)
        if outcome is not S.SENT:
            self._move(op_id, outcome)

    def _move(self, op_id: str, state: OperationState) -> None:
        current = next(o for o in self.tx.operations if o.id == op_id)
        before = len(self.tx.operations)
        self.tx = self.tx.with_operation(current.moved_to(state, T0 + self._now()))
        assert len(self.tx.operations) == before, "an outcome must replace its operation, not add one"
        self.model[op_id].state = state

    def _succeeded(self, kind: OperationKind) -> list[Entry]:
        return [e for e in self.model.values() if e.kind is kind and e.state is S.SUCCEEDED]

    def _total(self, kind: OperationKind) -> int:
        return sum(e.minor for e in self._succeeded(kind))

    def _rest(self, kind: OperationKind) -> int:
        if self._succeeded(K.VOID):
            return 0
        if kind is K.CAPTURE:
            return max(self._total(K.AUTHORIZE) - self._total(K.CAPTURE), 0)
        return max(self._total(K.SALE) + self._total(K.CAPTURE) - self._total(K.REFUND), 0)

    def _amount(self, kind: OperationKind, drawn: str | int | tuple[str, int]) -> int:
        if drawn == "rest":
            return self._rest(kind)
        if isinstance(drawn, int):  # a percentage of what is left
            return max(self._rest(kind) * drawn // 100, 1)
        assert isinstance(drawn, tuple)
        return drawn[1]

    def _expected_allowed(self, kind: OperationKind, minor: int) -> bool:
        """The model's own reading of the rules, written from IDEM-10 and the capability flags."""
        assert self.caps is not None
        support = self.caps.operations.get(kind)
        if support is None or (support is Support.SANDBOX_ONLY and self.live):
            return False
        entries = list(self.model.values())
        if not entries or any(not e.state.is_final for e in entries) or entries[0].state is not S.SUCCEEDED:
            return False
        if self._succeeded(K.VOID):
            return False
        opened_by = entries[0].kind
        captured = self._total(K.SALE) + self._total(K.CAPTURE)
        if kind is K.VOID:
            return (
                opened_by in (K.SALE, K.AUTHORIZE)
                and not self._total(K.REFUND)
                and (not captured or self.caps.void_after_capture)
            )
        if kind is K.CAPTURE:
            rest, done, partial, several = (
                self._rest(K.CAPTURE),
                self._succeeded(K.CAPTURE),
                self.caps.partial_capture,
                self.caps.multiple_capture,
            )
            if opened_by is not K.AUTHORIZE:
                return False
        else:
            rest, done, partial, several = (
                self._rest(K.REFUND),
                self._succeeded(K.REFUND),
                self.caps.partial_refund,
                self.caps.multiple_refund,
            )
            if not captured:
                return False
        if rest <= 0 or (done and not several):
            return False
        return 0 < minor <= rest and (minor == rest or partial)

    def _follow_up(self, kind: OperationKind, minor: int, outcome: OperationState) -> None:
        assert self.caps is not None
        amount = Money(minor, "EUR")
        reason = follow_up_reason(self.tx, kind, amount, self.caps, live=self.live)
        assert (reason is None) is self._expected_allowed(kind, minor), (kind, minor, reason)
        event(f"{kind} {'sent' if reason is None else 'refused'}")
        if reason is None:
            self._send(kind, minor, outcome)
        else:
            assert reason.strip() and reason.endswith(".")

    # -- rules -----------------------------------------------------------------------------------
    @initialize(
        opener=st.sampled_from([K.AUTHORIZE, K.AUTHORIZE, K.AUTHORIZE, K.SALE, K.SALE, K.PAYOUT]),
        minor=st.integers(min_value=1, max_value=10_000),
        outcome=OUTCOMES,
        capture=SUPPORT,
        void=SUPPORT,
        refund=SUPPORT,
        flags=st.fixed_dictionaries(
            dict.fromkeys(
                (
                    "partial_capture",
                    "multiple_capture",
                    "partial_refund",
                    "multiple_refund",
                    "void_after_capture",
                ),
                FLAG,
            )
        ),
        live=st.booleans(),
    )
    def open(
        self,
        opener: OperationKind,
        minor: int,
        outcome: OperationState,
        capture: Support | None,
        void: Support | None,
        refund: Support | None,
        flags: dict[str, bool],
        live: bool,
    ) -> None:
        operations = {
            K.SALE: Support.DOCUMENTED,
            K.AUTHORIZE: Support.DOCUMENTED,
            K.PAYOUT: Support.DOCUMENTED,
        }
        for kind, support in ((K.CAPTURE, capture), (K.VOID, void), (K.REFUND, refund)):
            if support is not None:
                operations[kind] = support
        self.caps = Capabilities(
            gateway="testpay",
            display_name="TestPay",
            operations=operations,
            currencies=frozenset({"EUR"}),
            **flags,
        )
        self.live = live
        assert opening_reason(opener, Money(minor, "EUR"), self.caps, live=live) is None
        self._send(opener, minor, outcome)

    @rule(amount=AMOUNTS, outcome=OUTCOMES)
    def capture(self, amount: str | int | tuple[str, int], outcome: OperationState) -> None:
        self._follow_up(K.CAPTURE, self._amount(K.CAPTURE, amount), outcome)

    @rule(amount=AMOUNTS, outcome=OUTCOMES)
    def refund(self, amount: str | int | tuple[str, int], outcome: OperationState) -> None:
        self._follow_up(K.REFUND, self._amount(K.REFUND, amount), outcome)

    @rule(now=st.sampled_from([True, False, False]), outcome=OUTCOMES)
    def void(self, now: bool, outcome: OperationState) -> None:
        # Drawn less often than the others: a successful void ends the journal.
        if now:
            self._follow_up(K.VOID, self.tx.amount.minor, outcome)

    @precondition(lambda self: bool(self.tx.unresolved))
    @rule(resolution=RESOLUTIONS)
    def resolve(self, resolution: OperationState) -> None:
        """A status inquiry or an operator settles the open question."""
        self._move(self.tx.unresolved[0].id, resolution)

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def amounts_never_exceed_their_source(self) -> None:
        t = self.tx
        assert t.captured <= t.authorised
        assert t.refunded <= t.captured
        assert t.capturable.minor >= 0 and t.refundable.minor >= 0

    @invariant()
    def amounts_match_the_model(self) -> None:
        t = self.tx
        assert t.authorised.minor == self._total(K.AUTHORIZE) + self._total(K.SALE)
        assert t.captured.minor == self._total(K.SALE) + self._total(K.CAPTURE)
        assert t.refunded.minor == self._total(K.REFUND)
        assert t.voided is bool(self._succeeded(K.VOID))
        assert t.capturable.minor == self._rest(K.CAPTURE)
        assert t.refundable.minor == self._rest(K.REFUND)
        assert [o.state for o in t.operations] == [e.state for e in self.model.values()]

    @invariant()
    def nothing_follows_a_successful_void(self) -> None:
        states = [(o.kind, o.state) for o in self.tx.operations]
        if (K.VOID, S.SUCCEEDED) in states:
            assert states[-1] == (K.VOID, S.SUCCEEDED)

    @invariant()
    def at_most_one_unresolved_operation_and_it_is_the_last(self) -> None:
        unresolved = self.tx.unresolved
        assert len(unresolved) <= 1
        if unresolved:
            assert unresolved[0] is self.tx.operations[-1]

    @invariant()
    def state_is_consistent_with_the_amounts(self) -> None:
        t, state = self.tx, self.tx.state
        ops = t.operations
        assert (state is TransactionState.UNKNOWN) is any(o.state is S.UNKNOWN for o in ops)
        if state is TransactionState.UNKNOWN or not ops:
            return
        first = ops[0]
        if not first.state.is_final:
            assert state is TransactionState.PENDING
        elif first.state is S.DECLINED:
            assert state is TransactionState.DECLINED
        elif first.state is S.FAILED:
            assert state is TransactionState.FAILED
        elif first.kind is K.PAYOUT:
            assert state is TransactionState.PAID_OUT
            assert t.paid_out == first.amount
        elif t.voided:
            assert state is TransactionState.VOIDED
        elif t.refunded.minor:
            full = t.refunded == t.captured
            assert state is (TransactionState.REFUNDED if full else TransactionState.PARTIALLY_REFUNDED)
        elif first.kind is K.SALE:
            assert state is TransactionState.CAPTURED
            assert t.captured == t.authorised == first.amount
        elif not t.captured.minor:
            assert state is TransactionState.AUTHORISED
        elif t.capturable.minor:
            assert state is TransactionState.PARTIALLY_CAPTURED
        else:
            assert state is TransactionState.CAPTURED
            assert t.captured == t.authorised


TestLedgerModel = LedgerMachine.TestCase
TestLedgerModel.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
