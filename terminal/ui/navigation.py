"""Where the payment web view may go (WEB-2, WEB-7): a pure function of a plain value and the challenge.

No Qt here, so every tricky URL is tested without a browser. Origins are compared in one written form,
``scheme://host:port`` with the host lower-case, IDNA (punycode) encoded, without a trailing dot and
IPv6 in brackets, and the port always written (``https://pay.test`` is ``https://pay.test:443``).

The decision, in order:

* ``COMPLETE`` when the URL is the challenge's return URL or below it: same scheme, host and port, and
  the path equal to the prefix's path or continuing it after a ``/`` (``/return/ab`` matches
  ``/return/ab/x`` and ``/return/ab?x=1`` but never ``/return/abc``). The return must itself be https,
  or http to a loopback host when plain http to loopback is allowed (sandbox).
* ``ALLOW`` for ``about:blank`` and for URLs on an allowed origin over https, or over plain http to a
  loopback host (127.0.0.0/8, ::1, localhost) when ``allow_loopback_http`` is set (sandbox).
  ``local_origin`` names the terminal's own loopback listener: plain http to exactly that origin is
  accepted even without ``allow_loopback_http`` (a live gateway page returning to the terminal), but it
  must still be an allowed origin or the return prefix.
* ``BLOCK`` for everything else: other hosts and ports, any userinfo (``https://a.test@evil.test/``),
  ``data:``, ``blob:``, ``javascript:``, ``file:``, ``about:srcdoc``, websockets and custom schemes,
  and anything that does not parse cleanly.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Final, NamedTuple
from urllib.parse import SplitResult, urlsplit

__all__ = ["Decision", "NavigationRequest", "decide", "is_loopback_host", "origin_of"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Characters a browser-canonical URL never holds; their presence means a parser disagreement is possible.
_FORBIDDEN_CHARS: Final = frozenset("\\ \t\r\n\x00<>\"'`{}|^")


class Decision(enum.Enum):
    """What the web view does with one request."""

    ALLOW = "allow"
    COMPLETE = "complete"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class NavigationRequest:
    """One navigation or sub-resource request as the web view saw it.

    `kind` is free text for audit and tests: a navigation type ("link", "form", "redirect", "typed", …)
    or "resource:<type>" for a sub-resource seen by the request interceptor.
    """

    url: str
    main_frame: bool = True
    kind: str = "other"


class _Origin(NamedTuple):
    scheme: str
    host: str  # normalised, IPv6 without brackets
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _normalise_host(host: str) -> str | None:
    host = host.strip("[]").lower()
    if host.endswith("."):
        host = host[:-1]
    if not host or host.endswith(".") or any(c in _FORBIDDEN_CHARS for c in host):
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if any(not (c.isalnum() or c in "-._") for c in host):
        return None
    return host


def _split(url: str) -> SplitResult | None:
    if not url or any(c in _FORBIDDEN_CHARS for c in url) or not url.isprintable():
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed or out-of-range port
    except ValueError:
        return None
    return parts


def _origin(parts: SplitResult) -> _Origin | None:
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or "@" in parts.netloc or parts.hostname is None:
        return None
    host = _normalise_host(parts.hostname)
    if host is None:
        return None
    port = parts.port if parts.port is not None else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        return None
    return _Origin(scheme, host, port)


def _parse_origin(url: str) -> _Origin | None:
    parts = _split(url)
    return None if parts is None else _origin(parts)


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` of an http(s) URL in the one written form; None for anything else."""
    origin = _parse_origin(url)
    return None if origin is None else str(origin)


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) and the name localhost; nothing that merely contains them."""
    normalised = _normalise_host(host)
    if normalised is None:
        return False
    if normalised == "localhost":
        return True
    try:
        return ipaddress.ip_address(normalised).is_loopback
    except ValueError:
        return False


def _transport_allowed(origin: _Origin, allow_loopback_http: bool, local: _Origin | None) -> bool:
    if origin.scheme == "https":
        return True
    return is_loopback_host(origin.host) and (allow_loopback_http or origin == local)


def _is_below(path: str, query: str, prefix: SplitResult) -> bool:
    """True when (path, query) is the prefix's path and query or continues it at a boundary."""
    prefix_path = prefix.path or "/"
    path = path or "/"
    if any(segment.lower().replace("%2e", ".") in (".", "..") for segment in path.split("/")):
        return False  # a canonical browser URL has none; refuse rather than guess how it resolves
    if prefix.query:
        return path == prefix_path and (query == prefix.query or query.startswith(prefix.query + "&"))
    if path == prefix_path:
        return True
    boundary = prefix_path if prefix_path.endswith("/") else prefix_path + "/"
    return path.startswith(boundary)


def decide(
    request: NavigationRequest,
    challenge_prefix: str,
    allowed_origins: frozenset[str],
    *,
    allow_loopback_http: bool,
    local_origin: str | None = None,
) -> Decision:
    """Allow, complete or block one request; see the module docstring for the rules."""
    url = request.url
    if url.lower() == "about:blank":
        return Decision.ALLOW
    parts = _split(url)
    origin = None if parts is None else _origin(parts)
    if parts is None or origin is None:
        return Decision.BLOCK

    local = None if local_origin is None else _parse_origin(local_origin)
    prefix_parts = _split(challenge_prefix)
    prefix_origin = None if prefix_parts is None else _origin(prefix_parts)
    if (
        prefix_parts is not None
        and prefix_origin is not None
        and origin == prefix_origin
        and _transport_allowed(origin, allow_loopback_http, local)
        and _is_below(parts.path, parts.query, prefix_parts)
    ):
        return Decision.COMPLETE

    allowed = {o for o in (_parse_origin(a) for a in allowed_origins) if o is not None}
    if origin in allowed and _transport_allowed(origin, allow_loopback_http, local):
        return Decision.ALLOW
    return Decision.BLOCK
