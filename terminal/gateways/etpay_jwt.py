"""ETpay's JWTs (SECURITY.md JWT-1): HS256 only, keyed with the session's ``signature_token``.

The return redirect and the webhook carry a JWT signed with the session's ``signature_token``. A failure
redirect may instead carry the system-error token ``{session_token, system_error: true, iat}`` signed with
the ``session_token``; that key travels in the payer's funnel URL, so such a token is only a hint.

JWT-2 (require ``exp``) cannot apply: ETpay's tokens carry ``iat`` and no ``exp``. ``iat`` is required
and must be a whole number, but is not judged against this computer's clock: a token only ever leads to
a status read, so an old or replayed one moves nothing.

PyJWT (and the cryptography it loads, about 0.06 s) is imported on the first token, not when the registry
imports this adapter at start-up (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["ALGORITHMS", "ReturnToken", "TokenRefusedError", "decode", "read_return", "unverified_claim"]

# Fixed here, never taken from a token's header (JWT-1).
ALGORITHMS: Final = ("HS256",)
# Tokens far longer than any ETpay payload are refused before parsing.
_MAX_TOKEN_LEN: Final = 8192


class TokenRefusedError(Exception):
    """The text is not an HS256 JWT that verifies with the given key (the message names why, no secrets)."""


@dataclass(frozen=True, slots=True)
class ReturnToken:
    """What a return JWT turned out to be: a verified payment answer, a system error, or unverified."""

    kind: Literal["payment", "system_error", "unverified"]
    claims: dict[str, Any] = field(default_factory=dict)


def decode(token: str, key: str) -> dict[str, Any]:
    """The verified claims of an HS256 JWT signed with ``key``; TokenRefusedError otherwise."""
    if not token or not key:
        raise TokenRefusedError("empty token or key")
    if len(token) > _MAX_TOKEN_LEN:
        raise TokenRefusedError("token too long")
    import jwt  # deferred: see the module docstring
    from jwt.warnings import InsecureKeyLengthWarning

    try:
        with warnings.catch_warnings():
            # ETpay chooses its keys' length; a short one is still the only key there is.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                options={"require": ["iat"], "verify_iat": False},
            )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise TokenRefusedError(type(exc).__name__) from None
    if not isinstance(claims, dict):  # pragma: no cover - PyJWT refuses non-object payloads itself
        raise TokenRefusedError("payload is not an object")
    iat = claims.get("iat")
    if type(iat) is not int:
        raise TokenRefusedError("iat is not a whole number")
    return claims


def unverified_claim(token: str, name: str) -> str:
    """One text claim read WITHOUT verification, only to choose the key; '' when unreadable."""
    if not token or len(token) > _MAX_TOKEN_LEN:
        return ""
    import jwt  # deferred: see the module docstring

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return ""
    value = claims.get(name) if isinstance(claims, dict) else None
    return value if isinstance(value, str) else ""


def read_return(token: str, signature_token: str, session_token: str) -> ReturnToken:
    """Classify a return JWT: signed with the signature_token, the system-error token, or neither."""
    try:
        return ReturnToken("payment", decode(token, signature_token))
    except TokenRefusedError:
        pass
    try:
        claims = decode(token, session_token)
    except TokenRefusedError:
        return ReturnToken("unverified")
    if claims.get("system_error") is True and claims.get("session_token") == session_token:
        return ReturnToken("system_error", claims)
    # Signed with the key the browser knows, yet not a system error: nothing to believe.
    return ReturnToken("unverified")
