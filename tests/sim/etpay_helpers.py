"""Helpers for the ETpay simulator tests, written from the vendor document and docs/gateways/etpay.md."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

MERCHANT_CODE, API_TOKEN = "sandbox_merchant", "sandbox-api-token"
COMPLETED_URL = "https://shop.example/etpay/done"
CANCELLED_URL = "https://shop.example/etpay/cancelled"
PAYMENT_FIELDS = {
    "session_token", "merchant_account_bank", "merchant_account_type", "merchant_account", "merchant_name",
    "merchant_currency", "merchant_order_id", "merchant_amount", "user_bank", "user_rut", "user_account",
    "payment_token", "payment_status", "payment_process", "iat",
}  # fmt: skip
STATUS_FIELDS = {
    "payment_token", "session_token", "merchant_order_id", "merchant_amount", "merchant_currency",
    "user_bank", "user_rut", "user_account", "payment_status", "payment_date", "validationWeb",
    "validationMail", "reason", "code", "confirmated_at",
}  # fmt: skip


def post_raw(client: httpx.Client, path: str, payload: Any, timeout: float = 2.0) -> httpx.Response:
    """Like the SDK's ``requests.post(url, data=json_string)``: a JSON string and no Content-Type header."""
    return client.post(path, content=json.dumps(payload).encode(), timeout=timeout)


def session_body(order: str = "order1", amount: Any = 12345, **extra: Any) -> dict[str, Any]:
    body = {
        "merchant_code": MERCHANT_CODE,
        "merchant_api_token": API_TOKEN,
        "merchant_order_id": order,
        "order_amount": amount,
        "payment_completed_url": COMPLETED_URL,
        "payment_cancellation_url": CANCELLED_URL,
    }
    return {**body, **extra}


def initialize(
    client: httpx.Client, order: str = "order1", amount: Any = 12345, **extra: Any
) -> dict[str, str]:
    """Create a session; returns ``{token, signature_token, terms_url}``."""
    response = post_raw(client, "/session/initialize", session_body(order, amount, **extra))
    assert response.status_code == 200, response.text
    answer: dict[str, str] = response.json()
    return answer


def answer(client: httpx.Client, token: str, choice: str, **form: str) -> httpx.Response:
    """Press a funnel button (the browser posts the form to the button's formaction)."""
    return client.post(f"/session/{token}/{choice}", data={"bank": "CL_TEST", "rut": "11.111.111-1", **form})


def returned_jwt(response: httpx.Response, base: str, concat: str = "?jwt=") -> str:
    """The JWT of a 303 back to ``base`` with ``concat``."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(base + concat), location
    return location[len(base + concat) :]


def verify(token: str, key: str) -> dict[str, Any]:
    """What the SDK's ``verify()`` does: ``jwt.decode(token, signature_token, algorithms=["HS256"])``."""
    # The simulator clock may run ahead of ours, so an advanced "iat" is not a reason to refuse here.
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["HS256"], options={"verify_iat": False})
    return claims


def status(client: httpx.Client, **keys: Any) -> httpx.Response:
    return post_raw(client, "/merchant/check_payment_status", {"merchant_api_token": API_TOKEN, **keys})


def ledger(client: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get("/_sim/ledger").json()["entries"]
    return entries


def path_of(url: str) -> str:
    return urlsplit(url).path


@dataclass
class Funnel:
    """What a browser sees of the funnel: the form, its fields, options and buttons."""

    action: str = ""
    method: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)


class FunnelParser(HTMLParser):
    """Collects the funnel form, the ids' texts, the bank options and each button's formaction."""

    def __init__(self) -> None:
        super().__init__()
        self.funnel = Funnel()
        self._text_id: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.funnel.action, self.funnel.method = values.get("action", ""), values.get("method", "get")
        elif tag == "option":
            self._option = values.get("value", "")
        elif tag == "input":
            self.funnel.inputs[values.get("name", "")] = values
        elif tag == "button":
            self.funnel.buttons[values.get("id", "")] = values.get("formaction", self.funnel.action)
        if "id" in values and tag in ("dd", "p"):
            self._text_id = values["id"]

    def handle_endtag(self, tag: str) -> None:
        self._text_id = self._option = None

    def handle_data(self, data: str) -> None:
        if self._text_id:
            self.funnel.texts[self._text_id] = self.funnel.texts.get(self._text_id, "") + data
        if self._option is not None:
            self.funnel.options[self._option] = data.strip()


def parse_funnel(page: str) -> Funnel:
    parser = FunnelParser()
    parser.feed(page)
    return parser.funnel
