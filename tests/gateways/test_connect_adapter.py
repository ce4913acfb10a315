"""Connect adapter details the conformance suite does not reach, against the simulator over HTTP: hosted
checkout with RETURNMAC, 3-D Secure REDIRECT, Ogone captures, payouts with approval, tokens, sessions,
idempotence keys, lookups, webhooks and the status table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import (
    CardDetails,
    FollowUpRequest,
    HostedEntryRequest,
    Outcome,
    PaymentRequest,
)
from terminal.gateways.connect import ConnectGateway
from terminal.gateways.connect_auth import webhook_signature
from terminal.gateways.connect_status import outcome_of
from terminal.gateways.connect_webhooks import endpoint_verification_reply
from terminal.gateways.errors import (
    AuthenticationError,
    DeclinedError,
    NotSupportedError,
    OutcomeUnknownError,
)
from terminal.gateways.registry import build_gateway
from terminal.sim.connect import create_app
from terminal.sim.runner import serve_app
from tests.gateways import browser_connect
from tests.gateways.conftest import new_reference, run

RETURN = "http://127.0.0.1:9/connect-return"
SECRETS = {"secret_api_key": "sandbox-connect-secret", "webhook_secret": "sandbox-webhook-secret"}


@pytest.fixture(scope="module", params=["globalcollect", "ogone"])
def sim_url(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    url, stop = serve_app(create_app(platform=request.param))
    yield request.param, url
    stop()


def gateway(style: str, url: str, *, direct: bool = True) -> ConnectGateway:
    settings = {
        "base_url": url,
        "merchant_id": "1234",
        "api_key_id": "sandboxkeyid0001",
        "platform_style": style,
        "webhook_key_id": "sandbox-webhook-key",
        "direct_entry": "on" if direct else "",
    }
    built = build_gateway("connect", settings, SECRETS, live=False)
    assert isinstance(built, ConnectGateway)
    return built


def card(number: str = "4111111111111111") -> CardDetails:
    return CardDetails(number, 12, date.today().year + 2, "123", "Ada Lovelace")


def pay(
    amount: int = 10_000, *, card_: CardDetails | None = None, moto: bool = True, **extra: Any
) -> PaymentRequest:
    return PaymentRequest(
        Money(amount, "EUR"),
        new_reference(),
        new_reference("K"),
        "C1",
        card=card_ or card(),
        moto=moto,
        return_url=RETURN,
        **extra,
    )


def follow(parent: str, amount: int) -> FollowUpRequest:
    return FollowUpRequest(Money(amount, "EUR"), new_reference("F"), new_reference("K"), parent)


def ledger(url: str, kind: str) -> list[dict[str, Any]]:
    entries = httpx.get(url + "/_sim/ledger", timeout=5).json()["entries"]
    return [e for e in entries if e["effect"] and e["kind"] == kind]


@pytest.mark.parametrize("page", [OperationKind.SALE, OperationKind.AUTHORIZE])
def test_hosted_checkout_pays_on_the_page_and_sale_captures_it(
    sim_url: tuple[str, str], page: OperationKind
) -> None:
    """A sale page takes the sale itself; a page that only pre-authorised is captured in full by sale()."""
    style, url = sim_url

    async def scenario() -> tuple[Any, Any]:
        gw = gateway(style, url, direct=False)
        try:
            amount = Money(5_000, "EUR")
            request = HostedEntryRequest(new_reference(), "C1", "Ada", amount, RETURN, kind=page)
            challenge = await gw.begin_hosted_entry(request)
            assert challenge.url and challenge.context["RETURNMAC"] not in challenge.url
            fields = await browser_connect.hosted_checkout(challenge.url, RETURN, "4242424242424242")
            forged = {**fields, "RETURNMAC": "0" * 32}
            with pytest.raises(OutcomeUnknownError):
                await gw.complete_hosted_entry(request, forged, challenge.context)
            token = await gw.complete_hosted_entry(request, fields, challenge.context)
            assert token.card.last4 == "4242"
            sale = PaymentRequest(
                request.amount, request.merchant_reference, new_reference("K"), "C1", token=token.token
            )
            return await gw.sale(sale), await gw.fetch("", request.merchant_reference)
        finally:
            await gw.aclose()

    sale, found = run(scenario())
    assert sale.outcome is Outcome.APPROVED and sale.amount == Money(5_000, "EUR")
    assert found.outcome is Outcome.APPROVED and found.gateway_reference == sale.gateway_reference
    captures = len(ledger(url, "capture" if style == "ogone" else "approve"))
    if page is OperationKind.SALE:
        assert (len(ledger(url, "sale")), len(ledger(url, "authorization")), captures) == (1, 0, 0)
    else:
        assert (len(ledger(url, "authorization")), captures) == (1, 1)


def test_hosted_checkout_cancelled_and_declined(sim_url: tuple[str, str]) -> None:
    style, url = sim_url

    async def scenario() -> list[DeclineCode | None]:
        gw = gateway(style, url, direct=False)
        codes = []
        try:
            for number, button in (("4242424242424242", "cancel"), ("4000000000009995", "pay")):
                request = HostedEntryRequest(new_reference(), "C1", "Ada", Money(5_000, "EUR"), RETURN)
                challenge = await gw.begin_hosted_entry(request)
                fields = await browser_connect.hosted_checkout(
                    challenge.url or "", RETURN, number, button=button
                )
                with pytest.raises(DeclinedError) as declined:
                    await gw.complete_hosted_entry(request, fields, challenge.context)
                codes.append(declined.value.decline_code)
        finally:
            await gw.aclose()
        return codes

    assert run(scenario()) == [DeclineCode.CANCELLED_BY_PAYER, DeclineCode.INSUFFICIENT_FUNDS]


@pytest.mark.parametrize("answer", ["approve", "decline"])
def test_three_d_secure_redirect(sim_url: tuple[str, str], answer: str) -> None:
    style, url = sim_url

    async def scenario() -> tuple[Any, Any]:
        gw = gateway(style, url)
        try:
            first = await gw.sale(pay(card_=card("4000000000003220"), moto=False))
            assert first.outcome is Outcome.CHALLENGE and first.challenge and first.challenge.url
            fields = await browser_connect.three_d_secure(first.challenge.url, RETURN, answer)
            return first, await gw.complete_challenge(first, fields, first.challenge.context)
        finally:
            await gw.aclose()

    first, final = run(scenario())
    if answer == "approve":
        assert final.outcome is Outcome.APPROVED and final.gateway_reference == first.gateway_reference
    else:
        assert (final.outcome, final.decline_code) == (Outcome.DECLINED, DeclineCode.AUTHENTICATION_FAILED)


def test_moto_never_challenges_and_same_key_is_replayed(sim_url: tuple[str, str]) -> None:
    style, url = sim_url
    request = pay(card_=card("4000000000003220"))

    async def scenario() -> tuple[Any, Any]:
        gw = gateway(style, url)
        try:
            return await gw.sale(request), await gw.sale(request)
        finally:
            await gw.aclose()

    first, again = run(scenario())
    assert first.outcome is Outcome.APPROVED and again.gateway_reference == first.gateway_reference
    assert [e["merchantReference"] for e in ledger(url, "sale")].count(request.merchant_reference) == 1


def test_pre_authorisation_partial_captures_void_and_refunds(sim_url: tuple[str, str]) -> None:
    style, url = sim_url

    async def scenario() -> None:
        gw = gateway(style, url)
        try:
            auth = await gw.authorize(pay(10_000))
            assert auth.outcome is Outcome.APPROVED
            first = await gw.capture(follow(auth.gateway_reference, 4_000))
            assert first.outcome is Outcome.APPROVED and first.amount == Money(4_000, "EUR")
            if style == "ogone":
                second = await gw.capture(follow(auth.gateway_reference, 6_000))
                assert second.outcome is Outcome.APPROVED
            else:
                with pytest.raises(DeclinedError):  # GlobalCollect approves once
                    await gw.capture(follow(auth.gateway_reference, 1_000))
            refund = await gw.refund(follow(auth.gateway_reference, 1_500))
            assert refund.outcome is Outcome.APPROVED and refund.gateway_reference != auth.gateway_reference
            assert (await gw.fetch(refund.gateway_reference, "")).kind == "refund"
            other = await gw.authorize(pay(2_000))
            voided = await gw.void(follow(other.gateway_reference, 2_000))
            assert voided.outcome is Outcome.APPROVED
        finally:
            await gw.aclose()

    run(scenario())


def test_payouts_with_approval(sim_url: tuple[str, str]) -> None:
    style, url = sim_url

    async def scenario() -> None:
        gw = gateway(style, url)
        try:
            if style != "ogone":
                with pytest.raises(NotSupportedError):
                    await gw.payout(pay(3_000))
                return
            held = await gw.payout(pay(3_000))
            assert held.outcome is Outcome.PENDING
            approved = await gw.approve_payout(follow(held.gateway_reference, 3_000))
            assert approved.outcome is Outcome.APPROVED
            other = await gw.payout(pay(1_000))
            cancelled = await gw.cancel_payout(follow(other.gateway_reference, 1_000))
            assert cancelled.outcome is Outcome.APPROVED
            assert (await gw.fetch(other.gateway_reference, "")).outcome is Outcome.DECLINED
        finally:
            await gw.aclose()

    run(scenario())


def test_tokens_sessions_connection_and_wrong_secret(sim_url: tuple[str, str]) -> None:
    style, url = sim_url

    async def scenario() -> None:
        gw = gateway(style, url)
        try:
            assert "1234" in await gw.test_connection()
            token = await gw.create_token(card("5555555555554444"), "C9")
            assert token.card.brand == "Mastercard" and token.card.last4 == "4444"
            saved = PaymentRequest(
                Money(700, "EUR"), new_reference(), new_reference("K"), "C9", token=token.token
            )
            sale = await gw.sale(saved)
            assert sale.outcome is Outcome.APPROVED
            if style == "globalcollect":
                again = await gw.token_from_payment(sale.gateway_reference, "C9")
                assert again.token == token.token
            await gw.delete_token(token.token)
            session = await gw.create_client_session()
            assert session["clientSessionId"]
        finally:
            await gw.aclose()
        bad = build_gateway(
            "connect",
            {"base_url": url, "merchant_id": "1234", "api_key_id": "sandboxkeyid0001"},
            {"secret_api_key": "wrong"},
            live=False,
        )
        try:
            with pytest.raises(AuthenticationError):
                await bad.test_connection()
        finally:
            await bad.aclose()

    run(scenario())


def test_direct_entry_is_off_by_default(sim_url: tuple[str, str]) -> None:
    style, url = sim_url

    async def scenario() -> None:
        gw = gateway(style, url, direct=False)
        try:
            with pytest.raises(NotSupportedError):
                await gw.sale(pay())
        finally:
            await gw.aclose()

    run(scenario())


def test_webhook_verification_and_endpoint_check() -> None:
    body = json.dumps(
        {
            "apiVersion": "v1",
            "type": "payment.paid",
            "payment": {
                "id": "P1",
                "paymentOutput": {"references": {"merchantReference": "R1"}},
                "status": "PAID",
            },
        }
    ).encode()
    gw = gateway("globalcollect", "http://127.0.0.1:9")
    good = {
        "X-GCS-Signature": webhook_signature("sandbox-webhook-secret", body),
        "X-GCS-KeyId": "sandbox-webhook-key",
    }
    note = run(gw.verify_notification(good, body))
    assert (note.gateway_reference, note.merchant_reference, note.event) == ("P1", "R1", "payment.paid")
    for headers in (
        {**good, "X-GCS-KeyId": "other"},
        {"X-GCS-KeyId": "sandbox-webhook-key"},
        {**good, "X-GCS-Signature": webhook_signature("wrong", body)},
    ):
        with pytest.raises(AuthenticationError):
            run(gw.verify_notification(headers, body))
    assert endpoint_verification_reply({"X-GCS-Webhooks-Endpoint-Verification": "abc"}) == "abc"
    assert endpoint_verification_reply({}) is None


@pytest.mark.parametrize(
    ("kind", "status", "outcome"),
    [
        ("payment", "PENDING_APPROVAL", Outcome.APPROVED),
        ("payment", "REDIRECTED", Outcome.PENDING),
        ("payment", "REJECTED", Outcome.DECLINED),
        ("payment", "PAID", Outcome.APPROVED),
        ("payment", "CANCELLED", Outcome.DECLINED),
        ("refund", "REFUND_REQUESTED", Outcome.APPROVED),
        ("refund", "PENDING_APPROVAL", Outcome.PENDING),
        ("payout", "PENDING_APPROVAL", Outcome.PENDING),
        ("payout", "ACCOUNT_CREDITED", Outcome.APPROVED),
        ("payout", "REJECTED_CREDIT", Outcome.DECLINED),
        ("capture", "CAPTURED", Outcome.APPROVED),
        ("capture", "REJECTED_CAPTURE", Outcome.DECLINED),
    ],
)
def test_status_table(kind: str, status: str, outcome: Outcome) -> None:
    assert outcome_of(kind, status) is outcome


def test_unknown_status_falls_back_to_category() -> None:
    assert outcome_of("payment", "SOMETHING_NEW", "COMPLETED") is Outcome.APPROVED
    assert outcome_of("payment", "SOMETHING_NEW", "UNSUCCESSFUL") is Outcome.DECLINED
    assert outcome_of("payment", "SOMETHING_NEW", "PENDING_CONNECT_OR_3RD_PARTY") is Outcome.PENDING
