"""ReturnListener over real HTTP on loopback: start fast, serve the page, take one return, refuse the rest.

Each test runs on a private event loop (not asyncio.run, which would clear the current loop that the
Qt tests in this directory share).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time

import httpx
import pytest

from terminal.ui import return_listener
from terminal.ui.return_listener import MAX_BODY, ReturnListener, content_security_policy
from tests.support.listener import run, with_listener

FORM = "application/x-www-form-urlencoded"
SCRIPT = 'document.title = "ready";'
PAGE = f"""<!doctype html><html><head><title>card</title><script>{SCRIPT}</script></head>
<body onload="document.forms[0].elements[0].focus()"><form method="post" action="https://gw.example/pay">
<input name="card"></form><script src="https://cdn.example/x.js"></script></body></html>"""


def sha256(code: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"


def test_starts_fast_and_serves_the_entry_page_then_one_return() -> None:
    async def body() -> None:
        listener = ReturnListener()
        began = time.perf_counter()
        await listener.start()
        started_in = time.perf_counter() - began
        try:
            assert started_in < 0.1, started_in
            slot = listener.new_page(PAGE, {"https://gw.example", listener.origin})
            waiter = asyncio.ensure_future(slot.wait())
            async with httpx.AsyncClient(timeout=5) as client:
                page = await client.get(slot.entry_url)
                assert page.status_code == 200 and page.text == PAGE
                assert page.headers["cache-control"] == "no-store"
                assert page.headers["referrer-policy"] == "no-referrer"
                assert page.headers["x-content-type-options"] == "nosniff"
                answer = await client.post(slot.return_url, data={"token": "tok_1", "status": "ok"})
                assert answer.status_code == 200
                assert "Card details received — finishing the payment in the terminal…" in answer.text
                assert await asyncio.wait_for(waiter, 5) == {"token": "tok_1", "status": "ok"}
                second = await client.post(slot.return_url, data={"token": "tok_2"})
                assert second.status_code == 409
                assert await slot.wait() == {"token": "tok_1", "status": "ok"}
        finally:
            await listener.stop()

    run(body())


def test_csp_allows_exactly_the_pages_own_inline_code() -> None:
    csp = content_security_policy(PAGE, ["https://GW.example:443/ignored-path", "http://127.0.0.1:9"])
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["default-src"] == ["'none'"]
    assert directives["form-action"] == ["http://127.0.0.1:9", "https://gw.example:443"]
    handler = "document.forms[0].elements[0].focus()"
    assert sorted(directives["script-src"]) == sorted(["'unsafe-hashes'", sha256(SCRIPT), sha256(handler)])
    assert "'unsafe-inline'" not in directives["script-src"]  # hashes only: injected code does not run
    assert "https://cdn.example" not in csp  # external scripts are not allowed by listing them in the page
    plain = content_security_policy("<p>no code</p>", [])
    assert "script-src" not in plain and "form-action 'none'" in plain


def test_csp_refuses_origins_that_could_smuggle_directives() -> None:
    with pytest.raises(ValueError):
        content_security_policy(PAGE, ["https://gw.example; script-src *"])
    with pytest.raises(ValueError):
        content_security_policy(PAGE, ["javascript:alert(1)"])


def test_slots_are_independent() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        first, second = listener.new_page(), listener.new_page()
        await client.get(second.return_url, params={"n": "2"})
        assert second.done and not first.done
        await client.post(first.return_url, data={"n": "1"})
        assert await first.wait() == {"n": "1"} and await second.wait() == {"n": "2"}

    with_listener(body)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"token": "t"}', "application/json", 415),
        (b"--b\r\n", "multipart/form-data; boundary=b", 415),
        (b"token=%FF%FE", FORM, 400),  # not UTF-8
        (b"\xff\xfe=1", FORM, 400),
        ("&".join(f"f{i}=1" for i in range(500)).encode(), FORM, 400),  # too many fields
    ],
)
def test_bad_bodies_are_refused_and_leave_the_slot_open(
    content: bytes, content_type: str, status: int
) -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        response = await client.post(slot.return_url, content=content, headers={"content-type": content_type})
        assert response.status_code == status
        assert not slot.done
        ok = await client.post(slot.return_url, data={"token": "t"})
        assert ok.status_code == 200 and await slot.wait() == {"token": "t"}

    with_listener(body)


def test_body_cap_is_checked_on_the_declared_length_before_reading() -> None:
    async def body(listener: ReturnListener, _client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        host, port = listener.origin.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST {slot.return_path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: {FORM}\r\nContent-Length: {MAX_BODY * 100}\r\n\r\n"
        )
        writer.write(head.encode())  # and no body at all: the answer must not wait for it
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 413")
        assert not slot.done

    with_listener(body)


def test_chunked_bodies_are_capped_too() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b"a=" + b"x" * (MAX_BODY // 4)

        response = await client.post(slot.return_url, content=chunks(), headers={"content-type": FORM})
        assert response.status_code == 413
        assert not slot.done

    with_listener(body)


def test_other_methods_and_paths() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page(PAGE)
        assert (await client.head(slot.entry_url)).status_code == 405
        assert (await client.post(slot.entry_url, data={"a": "b"})).status_code == 405
        assert (await client.request("OPTIONS", slot.return_url)).status_code == 405
        for path in (
            "/favicon.ico",
            "/page",
            slot.entry_path.upper(),
            slot.return_path + "/x",
            "/../" + slot.return_path,
        ):
            assert (await client.get(listener.origin + path)).status_code == 404, path
        bare = listener.new_page()  # no page set: nothing is served at its entry URL
        assert (await client.get(bare.entry_url)).status_code == 404
        assert not slot.done and not bare.done

    with_listener(body)


def test_only_loopback_peers_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(return_listener, "_loopback_peer", lambda _writer: False)

    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        with pytest.raises(httpx.TransportError):
            await client.post(slot.return_url, data={"token": "t"})
        assert not slot.done

    with_listener(body)


def test_stop_drops_a_client_that_holds_a_connection_open() -> None:
    async def body() -> None:
        listener = ReturnListener()
        await listener.start()
        host, port = listener.origin.removeprefix("http://").split(":")
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /return/")  # and then nothing
        await writer.drain()
        await asyncio.sleep(0.05)
        began = time.perf_counter()
        await listener.stop()
        assert time.perf_counter() - began < 1.0
        writer.close()

    run(body())


def test_logs_carry_no_tokens_paths_or_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="terminal")

    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> str:
        slot = listener.new_page(PAGE)
        await client.get(slot.entry_url)
        await client.post(slot.return_url + "?session=QUERYSECRET", data={"token": "BODYSECRET"})
        await client.post(slot.return_url, data={"token": "BODYSECRET"})
        return slot.return_path.rsplit("/", 1)[1]

    token = with_listener(body)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("terminal"))
    assert "returned" in text
    for secret in (token, "QUERYSECRET", "BODYSECRET", "/return/", "/page/"):
        assert secret not in text
