"""Gateway capabilities: what is offered, sandbox-only operations, currencies and amount limits."""

from __future__ import annotations

import pytest

from terminal.domain.capabilities import Support
from terminal.domain.operations import OperationKind
from tests.unit.ledger_builders import caps

K = OperationKind


def test_documented_operation_is_available_live_and_in_the_sandbox() -> None:
    c = caps({K.SALE: Support.DOCUMENTED})
    assert c.unavailable_reason(K.SALE, live=True) is None
    assert c.unavailable_reason(K.SALE, live=False) is None


def test_missing_operation_is_named() -> None:
    c = caps({K.SALE: Support.DOCUMENTED})
    assert c.unavailable_reason(K.REFUND, live=False) == "TestPay does not offer refund."
    assert c.unavailable_reason(K.AUTHORIZE, live=True) == "TestPay does not offer pre-authorisation."


def test_sandbox_only_operation_is_refused_live_with_the_capability_reason() -> None:
    c = caps({K.PAYOUT: Support.SANDBOX_ONLY})
    assert c.unavailable_reason(K.PAYOUT, live=False) is None
    assert c.unavailable_reason(K.PAYOUT, live=True) == c.sandbox_only_reason
    assert "sandbox" in c.sandbox_only_reason


def test_currencies() -> None:
    c = caps(currencies=frozenset({"EUR", "USD"}))
    assert c.limit_reason("EUR", 100) is None
    assert c.limit_reason("OMR", 100) == "TestPay accepts EUR, USD, not OMR."


@pytest.mark.parametrize(("minor", "ok"), [(49, False), (50, True), (1000000, True), (1000001, False)])
def test_amount_limits_are_inclusive_and_said_in_major_units(minor: int, ok: bool) -> None:
    c = caps()
    c = type(c)(
        gateway=c.gateway,
        display_name=c.display_name,
        operations=c.operations,
        currencies=frozenset({"EUR", "CLP"}),
        amount_limits={"EUR": (50, 1000000), "CLP": (50, 1000000)},
    )
    reason = c.limit_reason("EUR", minor)
    assert (reason is None) is ok
    if not ok:
        assert reason == "TestPay accepts amounts from 0.50 EUR to 10000.00 EUR."
        assert c.limit_reason("CLP", minor) == "TestPay accepts amounts from 50 CLP to 1000000 CLP."


def test_a_currency_without_limits_has_none() -> None:
    assert caps().limit_reason("EUR", 10**12) is None


def test_flags_default_to_the_cautious_side() -> None:
    c = type(caps())(gateway="x", display_name="X", operations={}, currencies=frozenset())
    assert not (c.partial_capture or c.multiple_capture or c.partial_refund or c.multiple_refund)
    assert not c.void_after_capture
