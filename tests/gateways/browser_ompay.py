"""The customer's browser on OMPay's card page, without a web engine: what the page's script does, in Python.

It reads the page `begin_hosted_entry` built (the nonce address and client token in the card form's data
attributes, the return form's action and hidden fields), posts the card to ``/credit-card-nonce`` with the
Bearer client token as the script's fetch() does (Origin included, so CORS is exercised), and returns the
fields the return form would post. tests/e2e/test_ompay_page.py runs the real script in QtWebEngine.
Only tests hold card numbers, and only here.
"""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser
from typing import Any

import httpx

from terminal.gateways.base import Challenge


class _Page(HTMLParser):
    """The card form's data attributes and the return form (action and named inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.card_form: dict[str, str] = {}
        self.return_action = ""
        self.return_fields: dict[str, str] = {}
        self.named_card_inputs: list[str] = []
        self._in_return = False
        self._in_card = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "card-form":
            self.card_form, self._in_card = a, True
        elif tag == "form" and a.get("id") == "return-form":
            self.return_action, self._in_return = a.get("action", ""), True
        elif tag == "input" and self._in_return and a.get("name"):
            self.return_fields[a["name"]] = a.get("value", "")
        elif tag == "input" and self._in_card and a.get("name"):
            self.named_card_inputs.append(a["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_card = self._in_return = False


def read_page(challenge: Challenge) -> _Page:
    """The page's parts the script uses."""
    assert challenge.html is not None, "OMPay's card entry is an HTML page"
    page = _Page()
    page.feed(challenge.html)
    assert page.card_form.get("data-nonce-url") and page.card_form.get("data-client-token")
    # The card inputs have no name: a native submit could never carry them anywhere.
    assert page.named_card_inputs == []
    return page


async def request_nonce(
    challenge: Challenge,
    card_number: str,
    *,
    expiry_month: int = 12,
    expiry_year: int | None = None,
    cvv2: str = "123",
) -> httpx.Response:
    """The script's fetch(): POST the card to OMPay with the page's client token."""
    page = read_page(challenge)
    year = expiry_year if expiry_year is not None else date.today().year + 2
    body: dict[str, Any] = {
        "number": card_number.replace(" ", ""),
        "expire_month": expiry_month,
        "expire_year": year,
        "cvv2": cvv2,
    }
    headers = {
        "Authorization": "Bearer " + page.card_form["data-client-token"],
        "Origin": challenge.base_url or "",
    }
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await client.post(page.card_form["data-nonce-url"], json=body, headers=headers)


async def enter_card(challenge: Challenge, card_number: str, **card: Any) -> dict[str, str]:
    """Type the card; return the fields the page posts to the return URL (the nonce, never the card)."""
    page = read_page(challenge)
    assert page.return_action == challenge.return_url_prefix, "the nonce must go to our return URL"
    reply = await request_nonce(challenge, card_number, **card)
    assert reply.status_code == 200, reply.text
    assert reply.headers.get("access-control-allow-origin") in (challenge.base_url, "*")
    data = reply.json()["data"]
    return {
        **page.return_fields,
        "nonce": data["credit_card_nonce"],
        "brand": data.get("type") or data.get("brand_code", ""),
        "last4": data["last4"],
        "expire_month": str(data["expire_month"]),
        "expire_year": str(data["expire_year"]),
    }
