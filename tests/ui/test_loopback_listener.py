"""The loopback return listener: serves one page, takes one return, refuses the rest, logs no values."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from terminal.ui import return_listener
from terminal.ui.return_listener import MAX_BODY, ReturnListener
from tests.support.listener import run, with_listener

SENTINEL = "SENTINEL-4111111111111111-CVV-987"
PAGE = "<!doctype html><html><body><form method='post'><input name='a'></form></body></html>"


def test_listens_on_loopback_with_an_ephemeral_port() -> None:
    async def body(listener: ReturnListener, _client: httpx.AsyncClient) -> None:
        assert listener.origin.startswith("http://127.0.0.1:")
        assert int(listener.origin.rsplit(":", 1)[1]) > 0
        first, second = listener.new_page(), listener.new_page()
        assert first.entry_url.startswith(listener.origin + "/page/")
        assert first.return_url.startswith(listener.origin + "/return/")
        assert first.entry_url != second.entry_url and first.return_url != second.return_url
        assert len(first.return_url.rsplit("/", 1)[1]) >= 20  # unguessable token

    with_listener(body)


def test_new_page_before_start_is_an_error() -> None:
    async def body() -> None:
        with pytest.raises(RuntimeError):
            ReturnListener().new_page()

    run(body())


def test_entry_page_is_served_with_csp_and_no_store() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        slot.set_page(PAGE, frozenset({"https://gw.test:443", listener.origin}))
        response = await client.get(slot.entry_url)
        assert response.status_code == 200
        assert response.text == PAGE
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = response.headers["content-security-policy"]
        directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
        assert sorted(directives["form-action"]) == sorted(["https://gw.test:443", listener.origin])
        assert directives["default-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert directives["base-uri"] == ["'none'"]
        # The page is only served, never returned by a GET of its own URL.
        assert not slot.done

    with_listener(body)


def test_a_page_without_form_targets_may_post_nowhere() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        slot.set_page(PAGE)
        response = await client.get(slot.entry_url)
        assert "form-action 'none'" in response.headers["content-security-policy"]

    with_listener(body)


def test_post_to_the_return_url_delivers_the_fields_once() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        slot.set_page(PAGE)
        waiter = asyncio.ensure_future(slot.wait())
        await asyncio.sleep(0)
        assert not waiter.done()
        form = {"token": "tok_123", "status": "ok", "empty": ""}
        response = await client.post(slot.return_url + "?from=query", data=form)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert "received" in response.text.lower()
        fields = await asyncio.wait_for(waiter, 5)
        assert fields == {**form, "from": "query"}
        assert slot.done
        again = await client.post(slot.return_url, data={"token": "tok_other"})
        assert again.status_code == 409
        assert await slot.wait() == fields  # the first return stands

    with_listener(body)


def test_get_to_the_return_url_delivers_the_query() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        response = await client.get(slot.return_url, params={"id": "7", "status": "done"})
        assert response.status_code == 200
        assert await asyncio.wait_for(slot.wait(), 5) == {"id": "7", "status": "done"}
        assert (await client.get(slot.return_url)).status_code == 409

    with_listener(body)


def test_unknown_paths_and_forgotten_slots_are_404() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        slot.set_page(PAGE)
        for path in ("/", "/page/", "/return/", "/page/guess", "/return/guess", slot.return_path + "x"):
            response = await client.post(listener.origin + path, data={"a": "b"})
            assert response.status_code == 404, path
        assert not slot.done
        listener.forget(slot)
        assert (await client.get(slot.entry_url)).status_code == 404
        assert (await client.post(slot.return_url, data={"a": "b"})).status_code == 404
        assert not slot.done

    with_listener(body)


def test_wrong_methods_are_refused() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        slot.set_page(PAGE)
        assert (await client.post(slot.entry_url, data={"a": "b"})).status_code == 405
        assert (await client.put(slot.return_url, content=b"a=b")).status_code == 405
        assert (await client.delete(slot.return_url)).status_code == 405
        assert not slot.done

    with_listener(body)


def test_oversize_body_is_413_and_not_delivered() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        content = b"a=" + b"x" * (MAX_BODY - 1)  # one byte over the limit
        assert len(content) == MAX_BODY + 1
        response = await client.post(
            slot.return_url,
            content=content,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
        assert not slot.done
        # Right at the limit is fine.
        ok = await client.post(
            slot.return_url,
            content=b"a=" + b"x" * (MAX_BODY - 2),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert ok.status_code == 200
        assert len((await slot.wait())["a"]) == MAX_BODY - 2

    with_listener(body)


def test_a_stalled_request_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(return_listener, "READ_TIMEOUT_S", 0.3)

    async def body(listener: ReturnListener, _client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        host, port = listener.origin.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"POST {slot.return_path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\na=".encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 400")
        assert not slot.done

    with_listener(body)


def test_cancel_makes_wait_raise() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        waiter = asyncio.ensure_future(slot.wait())
        await asyncio.sleep(0)
        slot.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiter, 5)
        with pytest.raises(asyncio.CancelledError):
            await slot.wait()
        assert slot.done
        assert not slot.deliver({"late": "1"})
        late = await client.post(slot.return_url, data={"late": "1"})
        assert late.status_code == 409

    with_listener(body)


def test_cancelling_one_waiter_does_not_cancel_the_slot() -> None:
    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        impatient = asyncio.ensure_future(slot.wait())
        await asyncio.sleep(0)
        impatient.cancel()
        await asyncio.sleep(0)
        assert not slot.done  # wait() is shielded
        await client.post(slot.return_url, data={"k": "v"})
        assert await asyncio.wait_for(slot.wait(), 5) == {"k": "v"}

    with_listener(body)


def test_stop_cancels_waiters_and_closes_the_port() -> None:
    async def body() -> None:
        listener = ReturnListener()
        await listener.start()
        slot = listener.new_page()
        waiter = asyncio.ensure_future(slot.wait())
        await asyncio.sleep(0)
        await listener.stop()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiter, 5)
        async with httpx.AsyncClient(timeout=2) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(slot.entry_url)
        await listener.stop()  # twice is harmless

    run(body())


def test_no_posted_value_is_ever_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def body(listener: ReturnListener, client: httpx.AsyncClient) -> None:
        slot = listener.new_page()
        slot.set_page(PAGE)
        form = {"card": SENTINEL, "cvv": SENTINEL, SENTINEL: "as-a-name"}
        await client.get(slot.entry_url, params={"q": SENTINEL})
        await client.post(listener.origin + "/return/" + SENTINEL, data=form)  # 404
        await client.post(slot.entry_url + "?q=" + SENTINEL, data=form)  # 405
        await client.post(slot.return_url, content=SENTINEL.encode() * (MAX_BODY // len(SENTINEL) + 2))  # 413
        await client.post(slot.return_url + "?q=" + SENTINEL, data=form)  # delivered
        await client.post(slot.return_url, data=form)  # 409
        assert (await slot.wait())["card"] == SENTINEL

    with_listener(body)
    # The test's own HTTP client logs its URLs; everything on the terminal's side of the socket counts.
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any("returned" in record.getMessage() for record in server_side)
    for record in server_side:
        text = " ".join(
            [record.getMessage(), repr(record.args), record.exc_text or "", str(record.exc_info or "")]
        )
        assert SENTINEL not in text, record.name
