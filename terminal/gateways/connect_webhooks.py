"""Worldline Connect webhooks: signature and key id verified, the endpoint-verification GET answered.

docs/gateways/connect.md 5.9. ``X-GCS-Signature`` is base64(HMAC-SHA256(secret, raw body)); the secret is
the one ``X-GCS-KeyId`` names. Exactly one of each header (missing or repeated is refused, as the SDK's
validator does). A verified event only names what to read again: the terminal never takes its status.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

from terminal.gateways.base import Notification
from terminal.gateways.connect_auth import webhook_signature
from terminal.gateways.connect_status import DISPLAY_NAME, text
from terminal.gateways.errors import AuthenticationError

__all__ = ["VERIFICATION_HEADER", "endpoint_verification_reply", "verify_webhook"]

VERIFICATION_HEADER: Final = "X-GCS-Webhooks-Endpoint-Verification"
_OBJECTS: Final = ("payment", "refund", "payout", "capture", "token", "dispute")
_OUTPUTS: Final = {
    "payment": "paymentOutput",
    "refund": "refundOutput",
    "payout": "payoutOutput",
    "capture": "captureOutput",
}


def _one(headers: Mapping[str, str], name: str) -> str:
    """The single value of a header (case-insensitive); refused when missing or repeated."""
    getter = getattr(headers, "get_list", None)
    if callable(getter):
        values = [str(v) for v in getter(name)]
    else:
        values = [str(v) for k, v in headers.items() if k.lower() == name.lower()]
    if len(values) != 1 or not values[0]:
        raise AuthenticationError(f"{DISPLAY_NAME} notification without exactly one {name} header.")
    return values[0]


def verify_webhook(headers: Mapping[str, str], body: bytes, keys: Mapping[str, str]) -> Notification:
    """Check signature and key id; return which object to read again (AuthenticationError otherwise)."""
    signature = _one(headers, "X-GCS-Signature")
    key_id = _one(headers, "X-GCS-KeyId")
    secret = keys.get(key_id)
    if not secret:
        raise AuthenticationError(f"{DISPLAY_NAME} notification signed with an unknown key id.")
    if not hmac.compare_digest(webhook_signature(secret, body).encode(), signature.encode()):
        raise AuthenticationError(f"{DISPLAY_NAME} notification whose signature does not verify.")
    try:
        event: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationError(f"{DISPLAY_NAME} notification that is not JSON.") from None
    if not isinstance(event, dict) or event.get("apiVersion") != "v1":
        raise AuthenticationError(
            f"{DISPLAY_NAME} notification of an API version this terminal does not read."
        )
    for kind in _OBJECTS:
        obj = event.get(kind)
        if isinstance(obj, dict):
            output = obj.get(_OUTPUTS.get(kind, ""), {})
            references = output.get("references", {}) if isinstance(output, dict) else {}
            reference = text(references.get("merchantReference")) if isinstance(references, dict) else ""
            return Notification(
                gateway_reference=text(obj.get("id")),
                merchant_reference=reference,
                event=text(event.get("type")),
            )
    return Notification(event=text(event.get("type")))


def endpoint_verification_reply(headers: Mapping[str, str]) -> str | None:
    """The text/plain body answering Connect's endpoint-verification GET (200), or None if it is not one."""
    for name, value in headers.items():
        if name.lower() == VERIFICATION_HEADER.lower():
            return str(value)
    return None
