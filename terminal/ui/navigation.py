"""Where a payment page may go: a pure function of the URL and the challenge (no Qt, easy to test)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import SplitResult, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Decision(StrEnum):
    """What the web view does with a navigation or a sub-resource request."""

    ALLOW = "allow"
    COMPLETE = "complete"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class NavigationRequest:
    """A plain description of one request the page wants to make."""

    url: str
    main_frame: bool = True
    kind: str = "link"


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None  # userinfo is how 'http://trusted@evil/' hides the real host
    return parts


def origin_of(url: str) -> str | None:
    """'scheme://host:port' with the port always written, or None for anything but plain http(s)."""
    parts = _split(url)
    if parts is None or parts.hostname is None:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower().rstrip(".")
    port = parts.port or _DEFAULT_PORTS[scheme]
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def normalise_origins(origins: frozenset[str] | set[str]) -> frozenset[str]:
    """The same origins written the way origin_of writes them."""
    return frozenset(o for o in (origin_of(x) for x in origins) if o)


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    bare = host.strip("[]").lower().rstrip(".")
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def _path_within(path: str, prefix: str) -> bool:
    if not prefix or prefix == "/":
        return True
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def decide(
    request: NavigationRequest,
    return_prefix: str,
    allowed_origins: frozenset[str],
    *,
    allow_loopback_http: bool,
) -> Decision:
    """COMPLETE at the return URL, ALLOW inside the allowed origins, BLOCK everything else.

    Plain http is allowed only to loopback hosts and only when `allow_loopback_http` (sandbox).
    """
    if request.url.strip().lower() == "about:blank":
        return Decision.ALLOW
    parts = _split(request.url)
    origin = origin_of(request.url)
    if parts is None or origin is None:
        return Decision.BLOCK
    if parts.scheme.lower() == "http" and not (
        allow_loopback_http and is_loopback_host(parts.hostname or "")
    ):
        return Decision.BLOCK
    back = _split(return_prefix)
    if back is not None and origin == origin_of(return_prefix) and _path_within(parts.path, back.path):
        return Decision.COMPLETE
    if origin in normalise_origins(allowed_origins):
        return Decision.ALLOW
    return Decision.BLOCK
