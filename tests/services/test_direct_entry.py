"""Direct entry, saved cards, payouts and invoices on the first sandbox gateway offering each, over HTTP."""

from __future__ import annotations

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
from terminal.services.payments import PaymentInputError
from terminal.services.profiles import Profile
from tests.e2e.conftest import run

RETURN_URL = "http://127.0.0.1:9/return/direct"
CARD = "4242424242424242"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True)
    try:
        yield built
    finally:
        run(built.aclose())


def profile_with(services: Services, flag: str, *, direct: bool = True) -> Profile:
    found = next((p for p in services.profiles.all() if getattr(p.capabilities, flag)), None)
    if found is None:
        pytest.skip(f"no sandbox gateway offers {flag} yet")
    if direct:  # an administrator turns direct entry on for the profile
        found = replace(found, settings={**found.settings, "direct_entry": "on"})
        services.profiles.put(found)
    return found


def card(number: str = CARD, cvc: str = "123") -> CardDetails:
    return CardDetails(number, 12, date.today().year + 2, cvc, "Ada Lovelace")


def sim(services: Services, profile: Profile) -> str:
    assert services.sims is not None
    return services.sims.urls[profile.gateway]


def effects(services: Services, profile: Profile) -> list[dict[str, object]]:
    body = httpx.get(sim(services, profile) + "/_sim/ledger", timeout=5).json()
    entries = body["entries"] if isinstance(body, dict) else body
    return [e for e in entries if e.get("effect")]


def charge(services: Services, profile: Profile, minor: int, reference: str, **extra: object):  # type: ignore[no-untyped-def]
    return run(
        services.payments.charge_direct(
            profile.id,
            OperationKind.SALE,
            Money(minor, profile.currency),
            extra.pop("card", card()),  # type: ignore[arg-type]
            return_url=RETURN_URL,
            merchant_reference=reference,
            customer_id="C-42",
            **extra,  # type: ignore[arg-type]
        )
    )


def test_direct_sale_is_approved_and_keeps_no_card_data(services: Services, tmp_path: Path) -> None:
    profile = profile_with(services, "direct_entry")
    payment = charge(services, profile, 1250, "DIR-1")
    assert payment.challenge is None
    outcome = payment.outcome
    assert outcome.approved, outcome.message
    assert outcome.transaction.card.last4 == "4242" and outcome.transaction.card.brand == "Visa"
    assert outcome.transaction.card.token == ""  # not saved: no token kept
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CARD.encode() not in path.read_bytes(), path


def test_direct_entry_needs_the_profile_option(services: Services) -> None:
    profile = profile_with(services, "direct_entry", direct=False)
    with pytest.raises(PaymentInputError) as refused:
        charge(services, profile, 100, "DIR-OFF")
    assert refused.value.field == "entry" and "administrator" in refused.value.message
    assert run(services.history.count()) == 0


def test_a_wrong_card_names_the_field_and_writes_nothing(services: Services) -> None:
    profile = profile_with(services, "direct_entry")
    with pytest.raises(PaymentInputError) as refused:
        charge(services, profile, 100, "DIR-BAD", card=card("4242424242424241"))
    assert refused.value.field == "card_number" and "4242424242424241" not in refused.value.message
    with pytest.raises(PaymentInputError) as short_cvc:
        charge(services, profile, 100, "DIR-CVC", card=card(cvc="12"))
    assert short_cvc.value.field == "cvc"
    assert run(services.history.count()) == 0


def test_lost_answer_stays_unknown_and_is_never_resent(services: Services) -> None:
    profile = profile_with(services, "direct_entry")
    assert charge(services, profile, 100, "DIR-WARM").outcome.approved  # credentials and sessions warm
    before = len(effects(services, profile))
    fault = {"method": "POST", "path": "*", "fault": "timeout_after_commit", "times": 1, "delay_ms": 300}
    httpx.post(sim(services, profile) + "/_sim/faults", json=fault, timeout=5).raise_for_status()
    lost = charge(services, profile, 777, "DIR-LOST").outcome
    assert lost.operation.state is OperationState.UNKNOWN, lost.message
    assert "unknown" in lost.message.lower()
    after = len(effects(services, profile))
    assert after == before + 1  # the simulator did charge, once
    run(services.reconciler.run())  # reads the gateway; never sends the sale again
    assert len(effects(services, profile)) == after


def test_saved_card_is_charged_again_then_forgotten(services: Services) -> None:
    profile = profile_with(services, "saved_cards")
    first = charge(services, profile, 500, "SAVE-1", save_card=True).outcome
    assert first.approved, first.message
    saved = run(services.payments.saved_cards(profile.id, "C-42"))
    assert [tx.id for tx in saved] == [first.transaction.id]
    assert saved[0].card.token and saved[0].card.last4 == "4242"
    again = run(
        services.payments.charge_saved(
            profile.id,
            OperationKind.SALE,
            Money(300, profile.currency),
            first.transaction.id,
            return_url=RETURN_URL,
        )
    ).outcome
    assert again.approved, again.message
    assert again.transaction.customer_id == "C-42" and again.transaction.card.token == ""
    run(services.payments.forget_card(first.transaction.id))
    assert run(services.payments.saved_cards(profile.id, "C-42")) == []
    with pytest.raises(PaymentInputError, match="no longer saved"):
        run(
            services.payments.charge_saved(
                profile.id,
                OperationKind.SALE,
                Money(300, profile.currency),
                first.transaction.id,
                return_url=RETURN_URL,
            )
        )


def test_payout_to_an_earlier_payment(services: Services) -> None:
    profile = profile_with(services, "payout_to_payment")
    sale = charge(services, profile, 900, "PAY-SRC").outcome
    assert sale.approved
    paid = run(
        services.payouts.payout(profile.id, Money(400, profile.currency), source_tx_id=sale.transaction.id)
    )
    assert paid.operation.kind is OperationKind.PAYOUT
    assert paid.operation.state in (OperationState.SUCCEEDED, OperationState.CHALLENGE), paid.message
    assert paid.transaction.card.last4 == "4242"


def test_invoice_has_a_link_and_can_be_cancelled(services: Services) -> None:
    profile = profile_with(services, "invoice_cancel", direct=False)
    with pytest.raises(PaymentInputError) as bad:
        run(
            services.invoices.create(
                profile.id, Money(1500, profile.currency), customer_email="not-an-address"
            )
        )
    assert bad.value.field == "customer_email"
    created = run(
        services.invoices.create(profile.id, Money(1500, profile.currency), customer_email="ada@example.com")
    )
    assert created.operation.state is OperationState.CHALLENGE, created.message
    assert created.transaction.link_url.startswith("http")
    assert [tx.id for tx in run(services.invoices.open_links())] == [created.transaction.id]
    cancelled = run(services.invoices.cancel(created.transaction.id))
    assert cancelled.operation.state is OperationState.FAILED
    assert run(services.invoices.open_links()) == []
