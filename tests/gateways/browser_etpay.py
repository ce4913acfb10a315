"""The payer's browser on ETpay's funnel, without a web engine: open the page, press Pay, Reject or Cancel,
and read where the 303 sends the browser (our return URL with ``jwt=...``) instead of following it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

from terminal.gateways.base import Challenge
from tests.support.form_browser import form_with_button

ACTIONS = ("pay", "reject", "cancel")


class _FormActions(HTMLParser):
    """The ``formaction`` of each button that has an id (form_browser reads only the form's action)."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "button" and a.get("id") and a.get("formaction"):
            self.actions[a["id"]] = a["formaction"]


async def answer(
    challenge: Challenge, action: str = "pay", *, bank: str = "CL_TEST", rut: str = "11.111.111-1"
) -> tuple[str, dict[str, str]]:
    """Press `action` on the funnel; returns the URL the browser is sent to and its query fields."""
    assert action in ACTIONS, action
    assert challenge.url is not None, "ETpay's funnel is a URL"
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        page = await client.get(challenge.url)
        assert page.status_code == 200, page.text
        form = form_with_button(page.text, str(page.url), action)
        assert form.method == "post"
        parser = _FormActions()
        parser.feed(page.text)
        target = urljoin(str(page.url), parser.actions.get(action, form.action))
        sent = await client.post(target, data={**form.fields, "bank": bank, "rut": rut})
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert location.startswith(challenge.return_url_prefix), "the funnel must return to our URL"
    return location, dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


async def pay(challenge: Challenge, action: str = "pay") -> dict[str, str]:
    """The return fields after pressing `action` (``jwt``, plus ``outcome`` on the cancellation URL)."""
    return (await answer(challenge, action))[1]
