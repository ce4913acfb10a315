"""Worldline Connect's v1HMAC request signature, its server meta info header and the webhook signature.

docs/gateways/connect.md 5.3 and 5.9. The string to sign is the method, the Content-Type (empty without
a body), the Date, every ``X-GCS-*`` header as ``name-lowercase:value`` sorted by name (a newline followed
by whitespace becomes one space, then trimmed), and the path with its query as sent (still
percent-encoded, as the Python SDK signs it), each followed by a newline. Kept apart from the adapter so
the published vectors can be tested against exactly the code that signs live requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final

__all__ = [
    "authorization_header",
    "rfc1123",
    "server_meta_info",
    "sign",
    "string_to_sign",
    "webhook_signature",
]

_FOLDED: Final = re.compile(r"\r?\n[ \t]*")
PLATFORM_IDENTIFIER: Final = "MerchantTerminal"
SDK_IDENTIFIER: Final = "MerchantTerminal/0.1"


def _normalise(value: str) -> str:
    """A header value as signed: folded lines joined by one space, outer whitespace trimmed."""
    return _FOLDED.sub(" ", value).strip()


def string_to_sign(
    method: str, content_type: str, date: str, headers: Mapping[str, str], path_and_query: str
) -> str:
    """The exact text v1HMAC signs; `headers` may hold any headers (only ``X-GCS-*`` ones are used)."""
    gcs = sorted(
        (name.lower(), _normalise(value))
        for name, value in headers.items()
        if name.lower().startswith("x-gcs")
    )
    lines = [method.upper(), content_type, date, *(f"{name}:{value}" for name, value in gcs), path_and_query]
    return "".join(line + "\n" for line in lines)


def sign(secret_api_key: str, text: str) -> str:
    """base64(HMAC-SHA256(key = the secret's UTF-8 bytes, message = `text` as UTF-8))."""
    digest = hmac.new(secret_api_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization_header(api_key_id: str, signature: str) -> str:
    """``GCS v1HMAC:<apiKeyId>:<signature>``."""
    return f"GCS v1HMAC:{api_key_id}:{signature}"


def rfc1123(moment: datetime) -> str:
    """'Fri, 06 Jun 2014 13:39:43 GMT': the Date header format the signature covers."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def server_meta_info(integrator: str = "MerchantTerminal") -> str:
    """``X-GCS-ServerMetaInfo``: base64 of the JSON the SDKs send (platform, SDK, creator, integrator)."""
    meta = {
        "platformIdentifier": PLATFORM_IDENTIFIER,
        "sdkIdentifier": SDK_IDENTIFIER,
        "sdkCreator": "MerchantTerminal",
        "integrator": integrator,
    }
    return base64.b64encode(json.dumps(meta, separators=(",", ":")).encode("utf-8")).decode("ascii")


def webhook_signature(secret: str, body: bytes) -> str:
    """``X-GCS-Signature``: base64(HMAC-SHA256(key = webhook secret's UTF-8 bytes, message = raw body))."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")
