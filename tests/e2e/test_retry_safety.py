"""Retry safety per adapter, against the simulators: a lost answer to a READ (status inquiry, lookup) is
asked again and answers; a lost answer to a MONEY request is never sent again (unknown, one effect); Connect's
keyed POSTs are IDEMPOTENT and replayed. And the hosted "sale" that only pre-authorised on the page: when its
capture is lost, reconciliation must not take the approved hold for the sale.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import httpx
import pytest

from terminal.assembly import Services, build_services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.gateways.base import CardDetails, Challenge, HostedEntryRequest, Outcome
from terminal.gateways.registry import capabilities_of
from tests.e2e.conftest import run
from tests.e2e.flows import RETURN_URL
from tests.gateways import browser_connect
from tests.gateways.browser_paymentz import checkout

PZ_API = "/transactionServices/REST/v1"
OM_API = "/v1/merchants/sandboxmerchant1"
# gateway -> (profile, currency, the GET-or-POST path of a status read of payment {id}, its method,
#             the refund path of payment {id}, the simulator ledger kind of a refund)
ADAPTERS: dict[str, tuple[str, str, str, str, str, str]] = {
    "paymentz": (
        "paymentz-sandbox",
        "EUR",
        PZ_API + "/payments/{id}",
        "POST",
        PZ_API + "/payments/{id}",
        "RF",
    ),
    "connect": (
        "connect-sandbox",
        "EUR",
        "/v1/1234/payments/{id}",
        "GET",
        "/v1/1234/payments/{id}/refund",
        "refund",
    ),
    "ompay": (
        "ompay-sandbox",
        "OMR",
        OM_API + "/payment/{id}",
        "GET",
        OM_API + "/payment/{id}/refund",
        "refund",
    ),
}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    built = build_services(tmp_path_factory.mktemp("retry") / "data", force_sandbox=True)
    for gateway in ADAPTERS:
        profile = built.profiles.get(ADAPTERS[gateway][0])
        built.profiles.put(replace(profile, settings={**profile.settings, "direct_entry": "on"}))
    try:
        yield built
    finally:
        run(built.aclose())


def _base(services: Services, gateway: str) -> str:
    assert services.sims is not None
    return services.sims.urls[gateway]


def _arm(services: Services, gateway: str, method: str, path: str, fault: str, times: int = 1) -> None:
    body = {"method": method, "path": path, "fault": fault, "times": times, "delay_ms": 300}
    httpx.post(_base(services, gateway) + "/_sim/faults", json=body, timeout=5).raise_for_status()


def _armed(services: Services, gateway: str) -> list[Any]:
    return list(httpx.get(_base(services, gateway) + "/_sim/faults", timeout=5).json()["faults"])


def _effects(services: Services, gateway: str, kind: str) -> int:
    entries = httpx.get(_base(services, gateway) + "/_sim/ledger", timeout=5).json()["entries"]
    return sum(1 for e in entries if e["kind"] == kind and e["effect"])


def _sale(services: Services, gateway: str) -> tuple[str, str]:
    """A direct sale (no fault): its transaction id and gateway reference."""
    profile, currency = ADAPTERS[gateway][:2]
    card = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada")
    payment = run(
        services.payments.charge_direct(
            profile, OperationKind.SALE, Money(2000, currency), card, return_url=RETURN_URL
        )
    )
    assert payment.operation.state is OperationState.SUCCEEDED, payment.operation.gateway_message
    return payment.operation.transaction_id, payment.operation.gateway_reference


@pytest.mark.parametrize("gateway", sorted(ADAPTERS))
@pytest.mark.parametrize("fault", ["reset_after_commit", "timeout_after_commit", "http_503"])
def test_a_lost_answer_to_a_read_is_asked_again(services: Services, gateway: str, fault: str) -> None:
    httpx.post(_base(services, gateway) + "/_sim/reset", timeout=5).raise_for_status()
    profile, _, read_path, method, _, _ = ADAPTERS[gateway]
    _, reference = _sale(services, gateway)
    _arm(services, gateway, method, read_path.format(id=reference), fault)
    found = run(services.profiles.gateway(profile).fetch(reference, ""))
    assert found.outcome is Outcome.APPROVED, found.gateway_message
    assert _armed(services, gateway) == []  # the faulted attempt happened; the repeat answered


@pytest.mark.parametrize("gateway", sorted(ADAPTERS))
def test_a_lost_answer_to_money_is_never_sent_again(services: Services, gateway: str) -> None:
    """MONEY (Paymentz, OMPay): unknown, one effect. IDEMPOTENT (Connect): the same key replays the answer."""
    httpx.post(_base(services, gateway) + "/_sim/reset", timeout=5).raise_for_status()
    _, currency, _, _, refund_path, kind = ADAPTERS[gateway]
    tx_id, reference = _sale(services, gateway)
    _arm(services, gateway, "POST", refund_path.format(id=reference), "reset_after_commit")
    refund = run(services.payments.refund(tx_id, Money(500, currency), "retry safety"))
    expected = OperationState.SUCCEEDED if gateway == "connect" else OperationState.UNKNOWN
    assert refund.operation.state is expected, refund.operation.gateway_message
    assert _effects(services, gateway, kind) == 1


# -- a hosted sale completed by a capture whose answer is lost ----------------------------------------
def _preauth_only_pages(services: Services, profile: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the profile's card page pre-authorise whatever was asked (a page that cannot take a sale)."""
    gateway = services.profiles.gateway(profile)
    original = gateway.begin_hosted_entry

    async def preauth_only(request: HostedEntryRequest) -> Challenge:
        return await original(replace(request, kind=OperationKind.AUTHORIZE))

    monkeypatch.setattr(gateway, "begin_hosted_entry", preauth_only)


def test_paymentz_lost_capture_of_a_hosted_sale_is_not_taken_for_the_sale(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx.post(_base(services, "paymentz") + "/_sim/reset", timeout=5).raise_for_status()
    _preauth_only_pages(services, "paymentz-sandbox", monkeypatch)
    hosted = run(
        services.payments.begin_hosted(
            "paymentz-sandbox", OperationKind.SALE, Money(3300, "EUR"), return_url=RETURN_URL
        )
    )
    _, fields = run(checkout(hosted.challenge, "4242424242424242"))
    path = f"{PZ_API}/payments/{fields['paymentId']}"
    _arm(services, "paymentz", "POST", path, "slow")  # sale()'s first read of the page's payment passes
    _arm(services, "paymentz", "POST", path, "timeout_before_commit", times=4)  # the capture, its read-backs
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.operation.state is OperationState.UNKNOWN, outcome.message
    report = run(services.reconciler.run())
    sale = run(services.journal.get(outcome.transaction.id)).operations[0]
    # The lookup by order id finds the approved pre-authorisation: no proof of a capture, never "succeeded".
    assert sale.state is OperationState.UNKNOWN, sale.gateway_message
    assert sale.id in {op.id for op in report.needs_attention}
    assert (_effects(services, "paymentz", "PA"), _effects(services, "paymentz", "CP")) == (1, 0)


def test_connect_lost_capture_of_a_hosted_sale_is_not_taken_for_the_sale(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx.post(_base(services, "connect") + "/_sim/reset", timeout=5).raise_for_status()
    _preauth_only_pages(services, "connect-sandbox", monkeypatch)
    hosted = run(
        services.payments.begin_hosted(
            "connect-sandbox", OperationKind.SALE, Money(3300, "EUR"), return_url=RETURN_URL
        )
    )
    assert hosted.challenge.url is not None
    fields = run(browser_connect.hosted_checkout(hosted.challenge.url, RETURN_URL, "4242424242424242"))
    _arm(services, "connect", "POST", "/v1/1234/payments/*/approve", "timeout_before_commit", times=3)
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.operation.state is OperationState.UNKNOWN, outcome.message
    run(services.reconciler.run())
    sale = run(services.journal.get(outcome.transaction.id)).operations[0]
    assert sale.state is OperationState.UNKNOWN, sale.gateway_message
    assert (_effects(services, "connect", "authorization"), _effects(services, "connect", "approve")) == (
        1,
        0,
    )


def test_pages_take_the_kind_the_clerk_chose(services: Services) -> None:
    """Without the override the page itself takes the sale: nothing is left to capture, nothing to lose."""
    httpx.post(_base(services, "paymentz") + "/_sim/reset", timeout=5).raise_for_status()
    hosted = run(
        services.payments.begin_hosted(
            "paymentz-sandbox", OperationKind.SALE, Money(3400, "EUR"), return_url=RETURN_URL
        )
    )
    _, fields = run(checkout(hosted.challenge, "4242424242424242"))
    outcome = run(services.payments.complete_hosted(hosted, fields))
    assert outcome.approved, outcome.message
    assert (_effects(services, "paymentz", "DB"), _effects(services, "paymentz", "CP")) == (1, 0)


def test_connect_capabilities_follow_the_platform_style(services: Services) -> None:
    """Card payouts exist on Connect's Ogone platform only: the profile and the built adapter both say so."""
    profile = services.profiles.get("connect-sandbox")  # GlobalCollect, the default style
    assert not profile.capabilities.payout_to_card
    assert OperationKind.PAYOUT not in profile.capabilities.operations
    assert not services.profiles.gateway(profile.id).capabilities.payout_to_card
    ogone = capabilities_of("connect", {**profile.settings, "platform_style": "ogone"})
    assert ogone.payout_to_card and OperationKind.PAYOUT in ogone.operations
