"""The errors an adapter raises, one small tree shared by every gateway.

    GatewayError
    ├── AuthenticationError      credentials or signature refused; nothing happened
    ├── ValidationError          refused as malformed (by the gateway or our pre-check); nothing happened
    ├── DeclinedError            a follow-up the gateway refused for a business reason; nothing happened
    ├── NotSupportedError        the gateway does not offer this operation
    ├── GatewayUnavailableError  the request provably never left (refused connection, connect timeout)
    └── OutcomeUnknownError      it may have been executed: timeout, reset, 5xx or an unreadable answer

Only OutcomeUnknownError leaves money in doubt; every other error means nothing moved.
"""

from __future__ import annotations

from terminal.domain.declines import DeclineCode


class GatewayError(Exception):
    """Base of every adapter error; `message` is safe to show a clerk (no secrets, no card data)."""

    def __init__(self, message: str, *, gateway_code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.gateway_code = gateway_code
        self.status = status


class AuthenticationError(GatewayError):
    """The gateway refused our credentials or signature."""


class ValidationError(GatewayError):
    """The request was refused as malformed or not allowed; `field` names the culprit when known."""

    def __init__(
        self, message: str, *, field: str = "", gateway_code: str = "", status: int | None = None
    ) -> None:
        super().__init__(message, gateway_code=gateway_code, status=status)
        self.field = field


class DeclinedError(GatewayError):
    """Refused for a business reason (already voided, over the limit, payer rejected...); nothing moved."""

    def __init__(
        self,
        message: str,
        *,
        gateway_code: str = "",
        status: int | None = None,
        decline_code: DeclineCode | None = None,
    ) -> None:
        super().__init__(message, gateway_code=gateway_code, status=status)
        self.decline_code = decline_code


class NotSupportedError(GatewayError):
    """The gateway does not offer this operation (or not on this profile)."""


class GatewayUnavailableError(GatewayError):
    """The gateway could not be reached and no request bytes left: sending again is safe."""


class OutcomeUnknownError(GatewayError):
    """The request may have been executed but no usable answer came back; never re-send blindly."""
