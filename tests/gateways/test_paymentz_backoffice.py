"""Paymentz back office against the simulator over HTTP: invoices (generate, remind, cancel, inquiry, paid),
notifications verified by checksum and used only to trigger an inquiry, and the transaction list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.gateways.base import Outcome, PaymentRequest
from terminal.gateways.errors import AuthenticationError, DeclinedError
from terminal.gateways.paymentz_checksum import payment as payment_checksum
from terminal.sim.runner import serve_app
from tests.gateways.conftest import new_reference, run
from tests.gateways.test_paymentz_adapter import base_url, direct, eur, follow, gateway, sim  # noqa: F401
from tests.support.form_browser import forms_of


def invoice(minor: int = 4_500) -> PaymentRequest:
    return PaymentRequest(
        amount=eur(minor),
        merchant_reference=new_reference("INV"),
        idempotency_key=new_reference("K"),
        customer_id="C-3",
        description="Two tickets",
        customer_email="ada@example.com",
    )


def test_invoice_generate_remind_pay_then_inquiry(base_url: str, sim: httpx.Client) -> None:  # noqa: F811
    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            created = await pz.create_invoice(invoice())
            assert created.outcome is Outcome.PENDING and created.link_url.startswith(base_url)
            assert (await pz.fetch(created.gateway_reference, "")).outcome is Outcome.PENDING
            reminded = await pz.remind_invoice(created.gateway_reference)
            assert reminded.gateway_code == "mailsent"
            async with httpx.AsyncClient(timeout=5) as browser:
                page = await browser.get(created.link_url)
                form = forms_of(page.text, str(page.url))[0]
                typed = {
                    "cardNumber": "4242424242424242",
                    "expiryMonth": "12",
                    "expiryYear": "2031",
                    "cvv": "123",
                }
                assert (await browser.post(form.action, data={**form.fields, **typed})).status_code == 200
            paid = await pz.fetch(created.gateway_reference, created.merchant_reference)
            assert (paid.outcome, paid.amount, paid.kind) == (Outcome.APPROVED, eur(4_500), "sale")
            assert paid.gateway_reference.isdigit()  # the payment's id, for refunds later
        finally:
            await pz.aclose()

    run(scenario())
    assert [e["kind"] for e in sim.get("/_sim/ledger").json()["entries"] if e["effect"]] == ["DB"]


def test_invoice_cancel_then_expired_or_cancelled_is_declined(base_url: str, sim: httpx.Client) -> None:  # noqa: F811
    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            created = await pz.create_invoice(invoice())
            await pz.cancel_invoice(created.gateway_reference)
            cancelled = await pz.fetch(created.gateway_reference, "")
            assert cancelled.outcome is Outcome.DECLINED
            with pytest.raises(DeclinedError):
                await pz.remind_invoice(created.gateway_reference)
            lapsing = await pz.create_invoice(invoice())
            sim.post("/_sim/clock", json={"advance_s": 49 * 3600}).raise_for_status()
            expired = await pz.fetch(lapsing.gateway_reference, "")
            assert (expired.outcome, expired.decline_code) == (Outcome.DECLINED, DeclineCode.EXPIRED_SESSION)
        finally:
            await pz.aclose()

    run(scenario())


@pytest.fixture
def merchant() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback 'merchant server' that keeps what the simulator posts to it."""
    received: list[bytes] = []

    async def notify(request: Request) -> Response:
        received.append(await request.body())
        return Response("OK")

    url, stop = serve_app(Starlette(routes=[Route("/notify", notify, methods=["POST"])]), "127.0.0.1", 0)
    yield url + "/notify", received
    stop()


def test_notification_is_verified_then_only_triggers_an_inquiry(
    base_url: str,  # noqa: F811
    sim: httpx.Client,  # noqa: F811
    merchant: tuple[str, list[bytes]],
) -> None:
    notify_url, received = merchant

    async def scenario() -> None:
        pz = gateway(base_url)
        try:
            token = await pz.tokens.get()
            reference = new_reference("NT")
            fields = {
                "authentication.memberId": "10001",
                "authentication.checksum": payment_checksum(
                    "10001", "sandbox-secure-key", reference, "12.00"
                ),
                "merchantTransactionId": reference,
                "amount": "12.00",
                "currency": "EUR",
                "paymentType": "DB",
                "card.number": "4111111111111111",
                "card.expiryMonth": "12",
                "card.expiryYear": "2031",
                "notificationUrl": notify_url,
            }
            async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
                reply = await client.post(
                    "/transactionServices/REST/v1/payments", data=fields, headers={"AuthToken": token}
                )
            assert reply.json()["transactionStatus"] == "Y"
            for _ in range(50):  # bounded: at most 5 s
                if received:
                    break
                await asyncio.sleep(0.1)
            [body] = received
            note = await pz.verify_notification({"content-type": "application/json"}, body)
            assert (note.merchant_reference, note.event) == (reference, "Y")
            confirmed = await pz.fetch(note.gateway_reference, "")
            assert (confirmed.outcome, confirmed.amount) == (Outcome.APPROVED, eur(1_200))
            forged = json.loads(body)
            forged["amount"] = "1200.00"
            with pytest.raises(AuthenticationError):
                await pz.verify_notification({}, json.dumps(forged).encode())
            with pytest.raises(AuthenticationError):
                await pz.verify_notification({}, b"not json")
        finally:
            await pz.aclose()

    run(scenario())


def test_transaction_list_shows_payments_captures_and_refunds(base_url: str, sim: httpx.Client) -> None:  # noqa: F811
    async def scenario() -> tuple[list[str], list[tuple[str, str, Money | None]]]:
        pz = gateway(base_url)
        try:
            sale_request = direct(minor=1_000)
            sale = await pz.sale(sale_request)
            await pz.refund(follow(sale, 400))
            auth_request = direct(minor=2_000)
            auth = await pz.authorize(auth_request)
            await pz.capture(follow(auth, 1_500))
            now = datetime.now(UTC)
            listed = await pz.list_transactions(now - timedelta(hours=1), now + timedelta(minutes=5))
            before = await pz.list_transactions(now - timedelta(days=3), now - timedelta(days=2))
            assert before == []
            refs = [sale_request.merchant_reference, auth_request.merchant_reference]
            return refs, [(r.merchant_reference, r.kind, r.amount) for r in listed]
        finally:
            await pz.aclose()

    (sale_ref, auth_ref), listed = run(scenario())
    assert sorted(listed, key=str) == sorted(
        [
            (sale_ref, "sale", eur(1_000)),
            (sale_ref, "refund", eur(400)),
            (auth_ref, "authorize", eur(2_000)),
            (auth_ref, "capture", eur(1_500)),
        ],
        key=str,
    )
