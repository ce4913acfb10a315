"""The customer's browser on Connect's sandbox pages, without a web engine: type the card on the hosted
checkout (or press Cancel), answer 3-D Secure, and read where the 303 sends the browser (our return URL).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

from tests.support.form_browser import form_with_button


async def _follow_to_return(
    client: httpx.AsyncClient, response: httpx.Response, prefix: str, answer: str
) -> str:
    """Follow the simulator's own redirects (3-D Secure) until the browser is sent to our return URL."""
    for _ in range(4):
        assert response.status_code == 303, response.text
        location = urljoin(str(response.url), response.headers["location"])
        if location.startswith(prefix):
            return location
        page = await client.get(location)
        form = form_with_button(page.text, str(page.url), answer)
        response = await client.post(form.action, data=form.fields)
    raise AssertionError("the pages never returned to the terminal")


async def hosted_checkout(
    url: str, prefix: str, card: str, *, button: str = "pay", challenge: str = "approve"
) -> dict[str, str]:
    """Type `card` on the checkout page (or press `button` = cancel); the return URL's query fields."""
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        page = await client.get(url)
        form = form_with_button(page.text, str(page.url), button)
        fields = {**form.fields, "cardNumber": card, "expiryDate": "1230", "cvv": "123"}
        sent = await client.post(form.action, data=fields if button == "pay" else form.fields)
        location = await _follow_to_return(client, sent, prefix, challenge)
    return dict(parse_qsl(urlsplit(location).query))


async def three_d_secure(url: str, prefix: str, answer: str = "approve") -> dict[str, str]:
    """Press Approve or Decline on the challenge page; the return URL's query fields."""
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        page = await client.get(url)
        form = form_with_button(page.text, str(page.url), answer)
        sent = await client.post(form.action, data=form.fields)
        location = await _follow_to_return(client, sent, prefix, answer)
    return dict(parse_qsl(urlsplit(location).query))
