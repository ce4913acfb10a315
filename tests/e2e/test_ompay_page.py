"""OMPay's card page and 3-D Secure page in the real QtWebEngine view (offscreen), served by the terminal's
real loopback listener (with its Content-Security-Policy), against the simulator over HTTP.

The page's own script must ask OMPay for the nonce (CORS, Bearer client token) and post only the nonce back;
a refused card number is shown on the page without losing what was typed. Every wait is bounded (15 s).
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Coroutine, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from PySide6 import QtWebEngineWidgets  # noqa: F401  (before any QApplication)

from terminal.domain.money import Money
from terminal.gateways.base import Challenge, GatewayResult, HostedEntryRequest, Outcome, PaymentRequest
from terminal.gateways.registry import build_gateway
from terminal.sim.ompay import create_app
from terminal.sim.runner import serve_app
from terminal.ui.return_listener import ReturnListener
from terminal.ui.web_view import PaymentWebView
from tests.gateways import browser_ompay

pytestmark = pytest.mark.webengine

WAIT_S = 15.0
SETTINGS = {"merchant_id": "sandboxmerchant1", "client_id": "sandboxclientid1"}
SECRETS = {"client_secret": "sandboxsecret001"}


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    url, stop = serve_app(create_app())
    yield url
    stop()


@pytest.fixture
def listener(qloop: asyncio.AbstractEventLoop) -> Iterator[ReturnListener]:
    running = ReturnListener()
    qloop.run_until_complete(running.start())
    yield running
    qloop.run_until_complete(running.stop())


@pytest.fixture
def make_view(qloop: asyncio.AbstractEventLoop) -> Iterator[Callable[[Challenge, str], PaymentWebView]]:
    made: list[PaymentWebView] = []

    def make(challenge: Challenge, local_origin: str) -> PaymentWebView:
        view = PaymentWebView(challenge, allow_loopback_http=True, local_origin=local_origin)
        view.resize(800, 700)
        view.show()
        made.append(view)
        return view

    yield make
    for view in made:
        view.close_page()
        view.close()
        view.deleteLater()
    qloop.run_until_complete(asyncio.sleep(0.2))
    gc.collect()


def run(qloop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return qloop.run_until_complete(asyncio.wait_for(coro, WAIT_S * 3))


async def js(view: PaymentWebView, script: str) -> Any:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    view.run_js(script, done)
    return await asyncio.wait_for(future, WAIT_S)


async def until_js(view: PaymentWebView, condition: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        try:
            value = await js(view, f"(function(){{try{{return {condition};}}catch(e){{return null;}}}})()")
        except TimeoutError:
            value = None
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"the page never satisfied {condition}")
        await asyncio.sleep(0.05)


async def type_card(view: PaymentWebView, number: str) -> None:
    await until_js(view, "document.getElementById('cardNumber') !== null")
    values = {"cardNumber": number, "expiryMonth": "12", "expiryYear": f"{(date.today().year + 2) % 100:02d}",
              "cvv2": "123"}  # fmt: skip
    script = "".join(
        f"document.getElementById({json.dumps(k)}).value = {json.dumps(v)};" for k, v in values.items()
    )
    await js(view, script + "document.getElementById('submit').click(); true;")


def gateway(sim: str) -> Any:
    return build_gateway("ompay", {**SETTINGS, "base_url": sim}, SECRETS, live=False)


def test_card_page_script_gets_a_nonce_and_only_the_nonce_comes_back(
    qloop: asyncio.AbstractEventLoop, sim: str, listener: ReturnListener, make_view: Any, tmp_path: Any
) -> None:
    slot = listener.new_page()
    request = HostedEntryRequest("WEB1", "C-1", "Ada Lovelace", Money(1250, "OMR"), slot.return_url)

    async def scenario() -> tuple[dict[str, str], str, GatewayResult, PaymentWebView]:
        gw = gateway(sim)
        try:
            challenge = await gw.begin_hosted_entry(request)
            assert challenge.html is not None
            slot.set_page(challenge.html, challenge.allowed_origins)
            view = make_view(challenge, listener.origin)
            view.load_url(slot.entry_url)
            await type_card(view, "4242 4242 4242 4241")  # a typo: refused on the page, nothing sent
            error = await until_js(view, "document.getElementById('error').textContent || null")
            kept = await js(view, "document.getElementById('cardNumber').value")
            assert kept == "4242 4242 4242 4241" and not slot.done
            view.grab().save(str(tmp_path / "ompay_card_page_error.png"))
            await type_card(view, "4242 4242 4242 4242")
            fields = await asyncio.wait_for(slot.wait(), WAIT_S)
            token = await gw.complete_hosted_entry(request, fields, challenge.context)
            sale = await gw.sale(PaymentRequest(Money(1250, "OMR"), "WEB1", "K1", "C-1", token=token.token))
            return fields, str(error), sale, view
        finally:
            await gw.aclose()

    fields, error, sale, view = run(qloop, scenario())
    assert error.startswith("Card number:")
    assert set(fields) == {"nonce", "brand", "last4", "expire_month", "expire_year", "order_id"}
    assert (fields["last4"], fields["order_id"]) == ("4242", "WEB1")
    assert "4242424242424242" not in json.dumps(fields) and "123" not in fields.values()
    assert sale.outcome is Outcome.APPROVED and sale.amount == Money(1250, "OMR")
    assert view.blocked_urls == []
    entries = httpx.get(sim + "/_sim/ledger", timeout=5).json()["entries"]
    assert [(e["kind"], e["total"]) for e in entries if e["effect"] and e["invoice_number"] == "WEB1"] == [
        ("sale", "1.250")
    ]


def test_three_d_secure_in_the_web_view_is_read_with_get(
    qloop: asyncio.AbstractEventLoop, sim: str, listener: ReturnListener, make_view: Any
) -> None:
    slot = listener.new_page()
    request = HostedEntryRequest("WEB3DS", "C-1", "Ada", Money(2500, "OMR"), "http://127.0.0.1:9/nonce")

    async def scenario() -> tuple[GatewayResult, dict[str, str]]:
        gw = gateway(sim)
        try:
            page = await gw.begin_hosted_entry(request)
            fields = await browser_ompay.enter_card(page, "4000 0000 0000 3220")
            token = await gw.complete_hosted_entry(request, fields)
            started = await gw.authorize(
                PaymentRequest(
                    Money(2500, "OMR"), "WEB3DS", "K2", "C-1", token=token.token, return_url=slot.return_url
                )
            )
            assert started.outcome is Outcome.CHALLENGE and started.challenge is not None
            view = make_view(started.challenge, listener.origin)
            view.load()
            await until_js(view, "document.getElementById('approve') !== null")
            await js(view, "document.getElementById('approve').click(); true;")
            returned = await asyncio.wait_for(slot.wait(), WAIT_S)
            return await gw.complete_challenge(started, returned, started.challenge.context), returned
        finally:
            await gw.aclose()

    done, returned = run(qloop, scenario())
    assert set(returned) == {"session_id", "reference_id"}
    assert done.outcome is Outcome.APPROVED and done.amount == Money(2500, "OMR")
