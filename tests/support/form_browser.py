"""A tiny stand-in for the customer's browser on plain HTML form pages (card page, 3-D Secure, auto-post).

It reads forms the way a browser would (action, method, named inputs), so service-level tests can walk
the gateway's real pages over HTTP without a web engine. The Qt tests use the real web view instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    """One <form>: where it posts and its named fields; `buttons` are the ids of its submit buttons."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "select", "textarea") and a.get("name"):
            self._current.fields[a["name"]] = a.get("value", "")
        elif self._current is not None and tag == "button" and a.get("id"):
            self._current.buttons.append(a["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str, base_url: str = "") -> list[Form]:
    """Every form in the page, with actions made absolute against `base_url`."""
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urljoin(base_url, form.action)
    return parser.forms


def form_with_button(html: str, base_url: str, button_id: str) -> Form:
    """The form holding the button of this id."""
    for form in forms_of(html, base_url):
        if button_id in form.buttons:
            return form
    raise AssertionError(f"no form with a #{button_id} button on the page")


async def type_card_and_authenticate(
    html: str, base_url: str, typed: dict[str, str], *, approve: bool = True
) -> tuple[str, dict[str, str]]:
    """Fill the card page's form, submit it, press Approve/Decline on 3-D Secure.

    Returns where the final auto-posting form goes (the return URL) and the fields it carries.
    """
    card_form = forms_of(html, base_url)[0]
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.post(card_form.action, data={**card_form.fields, **typed})
        assert page.status_code == 200, page.text
        challenge = form_with_button(page.text, str(page.url), "approve" if approve else "decline")
        answer = await client.post(challenge.action, data=challenge.fields)
        assert answer.status_code == 200, answer.text
        final = forms_of(answer.text, str(answer.url))[0]
        return final.action, final.fields
