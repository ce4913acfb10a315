"""Drive a page in the web view from Python, the way a clerk would: used by --self-test and the UI tests.

It types into the gateway page's fields through JavaScript in the page itself; nothing typed here is
kept by the terminal, exactly as when a person types it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from PySide6.QtWebEngineCore import QWebEnginePage


async def run_js(page: QWebEnginePage, script: str, *, timeout: float = 5.0) -> Any:
    """Evaluate `script` in the page's main frame and return its value.

    A page that navigates meanwhile never calls back: TimeoutError after `timeout` seconds.
    """
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def done(value: Any) -> None:
        if not future.done():
            future.set_result(value)

    page.runJavaScript(script, 0, done)
    return await asyncio.wait_for(future, timeout)


async def wait_for_js(page: QWebEnginePage, condition: str, *, timeout: float = 15.0) -> Any:
    """Poll until `condition` is truthy in the page; TimeoutError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            value = await run_js(
                page, f"(function(){{try{{return {condition};}}catch(e){{return null;}}}})()", timeout=2.0
            )
        except TimeoutError:
            value = None  # the page was navigating; ask again
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"the page never satisfied: {condition}")
        await asyncio.sleep(0.1)


async def fill_and_submit(page: QWebEnginePage, fields: dict[str, str], form_selector: str = "form") -> None:
    """Set named fields, then submit the form as its submit button would."""
    await wait_for_js(page, f"document.querySelector({json.dumps(form_selector)}) !== null")
    assignments = "".join(
        f"document.querySelector('[name={json.dumps(name)}]').value = {json.dumps(value)};"
        for name, value in fields.items()
    )
    script = (
        f"{assignments} var f = document.querySelector({json.dumps(form_selector)});"
        " if (f.requestSubmit) { f.requestSubmit(); } else { f.submit(); } true;"
    )
    await run_js(page, script)


async def click(page: QWebEnginePage, selector: str, *, timeout: float = 15.0) -> None:
    """Wait for the element, then click it."""
    await wait_for_js(page, f"document.querySelector({json.dumps(selector)}) !== null", timeout=timeout)
    await run_js(page, f"document.querySelector({json.dumps(selector)}).click(); true;")


async def settle(seconds: float = 0.05) -> None:
    """Let Qt and the loop process pending events."""
    await asyncio.sleep(seconds)
