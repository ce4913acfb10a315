"""OMPay follow-ups whose answer was lost, judged from the payment they act on (``fetch_follow_up``), against
the simulator over real HTTP: a capture or void is told from the authorisation's state; a refund only once
the payment reads refunded in full (the payment object carries no refunded amount)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import (
    CardDetails,
    FollowUpRequest,
    Gateway,
    GatewayResult,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.ompay import CAPABILITIES
from terminal.gateways.registry import build_gateway
from terminal.sim.ompay import create_app
from terminal.sim.runner import serve_app
from tests.gateways.conftest import new_reference, run

SETTINGS = {"merchant_id": "sandboxmerchant1", "client_id": "sandboxclientid1", "direct_entry": "on"}
SECRETS = {"client_secret": "sandboxsecret001"}
API = "/v1/merchants/sandboxmerchant1"
CARD = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada Lovelace")
CAPTURE, VOID, REFUND = OperationKind.CAPTURE, OperationKind.VOID, OperationKind.REFUND


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    url, stop = serve_app(create_app())
    yield url
    stop()


@pytest.fixture
def control(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


def _gateway(base_url: str) -> Gateway:
    return build_gateway("ompay", {**SETTINGS, "base_url": base_url}, SECRETS, live=False)


def _pay(minor: int = 5_000) -> PaymentRequest:
    return PaymentRequest(Money(minor, "OMR"), new_reference(), new_reference("K"), "C-1", card=CARD)


def _follow(parent: GatewayResult, minor: int = 5_000) -> FollowUpRequest:
    return FollowUpRequest(
        Money(minor, "OMR"), new_reference("F"), new_reference("K"), parent.gateway_reference
    )


async def _judge(gw: Gateway, kind: OperationKind, parent: GatewayResult) -> Outcome:
    found = await gw.fetch_follow_up(kind, "", new_reference("F"), parent.gateway_reference)
    assert found.gateway_reference == "" and found.amount is None  # the follow-up's own id was lost
    return found.outcome


def test_the_adapter_declares_follow_ups_readable_but_no_lookup_by_reference() -> None:
    assert not CAPABILITIES.lookup_by_reference
    assert [CAPABILITIES.can_look_up(k) for k in (CAPTURE, VOID, REFUND)] == [True, True, True]
    assert not CAPABILITIES.can_look_up(OperationKind.SALE)


def test_capture_and_void_are_told_from_the_authorisation(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> None:
        gw = _gateway(base_url)
        try:
            auth = await gw.authorize(_pay())
            assert await _judge(gw, CAPTURE, auth) is Outcome.DECLINED  # still authorised: not captured
            assert await _judge(gw, VOID, auth) is Outcome.DECLINED
            await gw.capture(_follow(auth, 3_000))  # partial: the authorisation reads captured
            assert await _judge(gw, CAPTURE, auth) is Outcome.APPROVED
            assert await _judge(gw, VOID, auth) is Outcome.DECLINED
            other = await gw.authorize(_pay())
            await gw.void(_follow(other))
            assert await _judge(gw, VOID, other) is Outcome.APPROVED
            assert await _judge(gw, CAPTURE, other) is Outcome.DECLINED
        finally:
            await gw.aclose()

    run(scenario())


def test_refund_shows_only_when_refunded_in_full(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> None:
        gw = _gateway(base_url)
        try:
            sale = await gw.sale(_pay())
            assert await _judge(gw, REFUND, sale) is Outcome.PENDING  # none, or a partial one: cannot tell
            await gw.refund(_follow(sale, 1_000))
            assert await _judge(gw, REFUND, sale) is Outcome.PENDING
            await gw.refund(_follow(sale, 4_000))
            assert await _judge(gw, REFUND, sale) is Outcome.APPROVED
            auth = await gw.authorize(_pay())
            await gw.capture(_follow(auth))
            await gw.refund(_follow(auth))  # acts on the capture; the authorisation keeps reading captured
            assert await _judge(gw, REFUND, auth) is Outcome.PENDING
        finally:
            await gw.aclose()

    run(scenario())


def test_reading_the_payment_is_asked_again_after_a_lost_answer(base_url: str, control: httpx.Client) -> None:
    async def scenario() -> tuple[GatewayResult, Outcome]:
        gw = _gateway(base_url)
        try:
            auth = await gw.authorize(_pay())
            await gw.capture(_follow(auth))
            fault = {"method": "GET", "path": f"{API}/payment/*", "fault": "reset_after_commit", "times": 1}
            control.post("/_sim/faults", json=fault).raise_for_status()
            return auth, await _judge(gw, CAPTURE, auth)
        finally:
            await gw.aclose()

    _, outcome = run(scenario())
    assert outcome is Outcome.APPROVED  # a READ: the lost answer was asked for again
    assert control.get("/_sim/faults").json()["faults"] == []  # the fault was spent on the first attempt
    assert control.get("/_sim/requests").json()["requests"]["get_payment"] == 2
