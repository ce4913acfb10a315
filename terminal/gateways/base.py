"""The contract every gateway adapter fulfils: one set of verbs, one result type, declared capabilities.

An adapter builds requests and parses responses; transport, timeouts and log scrubbing live in
`gateways/http.py`. Card numbers never pass through this contract: hosted entry hands Python a token.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from terminal.domain.capabilities import Capabilities
from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money
from terminal.gateways.errors import NotSupportedError


class Outcome(StrEnum):
    """What the gateway said about one operation."""

    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"
    CHALLENGE = "challenge"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Challenge:
    """A page for the web view: 3-D Secure, tokenisation or a hosted payment page.

    Exactly one of `url` and `html` is set; `base_url` is the origin `html` is shown as. The view
    allows only `allowed_origins` (scheme://host:port), and the flow is complete once the browser
    reaches a URL starting with `return_url_prefix`.
    """

    return_url_prefix: str
    allowed_origins: frozenset[str]
    url: str | None = None
    html: str | None = None
    base_url: str | None = None
    title: str = ""
    # The gateway's reference for what this page pays, when the page belongs to a gateway session.
    reference: str = ""
    # Adapter-private values the page's completion needs back (e.g. ETpay's per-session JWT key).
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HostedEntryRequest:
    """A card to be typed into the gateway's page for a customer, with where the page returns."""

    merchant_reference: str
    customer_id: str
    customer_name: str
    amount: Money
    return_url: str


@dataclass(frozen=True, slots=True)
class CardToken:
    """A gateway token for a card, with what may be shown of the card; no card number."""

    token: str
    customer_id: str
    card: CardSummary


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A sale or pre-authorisation with a gateway token (MOTO: the customer is not present)."""

    amount: Money
    merchant_reference: str
    idempotency_key: str
    customer_id: str
    token: str
    description: str = ""
    moto: bool = True


@dataclass(frozen=True, slots=True)
class FollowUpRequest:
    """A capture, void or refund of an earlier approved operation, named by its gateway reference."""

    amount: Money
    merchant_reference: str
    idempotency_key: str
    parent_reference: str
    parent_merchant_reference: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """One answer, normalised: outcome, references, echoed amount, decline code and a scrubbed raw copy."""

    outcome: Outcome
    gateway_reference: str = ""
    amount: Money | None = None
    approval_code: str = ""
    decline_code: DeclineCode | None = None
    gateway_code: str = ""
    gateway_message: str = ""
    avs_result: str = ""
    cvc_result: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)
    challenge: Challenge | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified callback: it only tells the terminal which reference to read again."""

    gateway_reference: str = ""
    merchant_reference: str = ""
    event: str = ""


class Gateway(ABC):
    """One gateway behind the common verbs; an operation the gateway lacks raises NotSupportedError."""

    capabilities: Capabilities

    @abstractmethod
    async def test_connection(self) -> str:
        """Reach the gateway with the profile's credentials; return a short description of what answered."""

    async def sale(self, request: PaymentRequest) -> GatewayResult:
        """Authorise and capture in one step."""
        raise self._unsupported("sale")

    async def authorize(self, request: PaymentRequest) -> GatewayResult:
        """Pre-authorise, to capture later."""
        raise self._unsupported("authorize")

    async def capture(self, request: FollowUpRequest) -> GatewayResult:
        """Capture all or part of a pre-authorisation."""
        raise self._unsupported("capture")

    async def void(self, request: FollowUpRequest) -> GatewayResult:
        """Cancel a pre-authorisation (or a same-day sale where the gateway allows it)."""
        raise self._unsupported("void")

    async def refund(self, request: FollowUpRequest) -> GatewayResult:
        """Give back all or part of what was captured."""
        raise self._unsupported("refund")

    async def payout(self, request: PaymentRequest) -> GatewayResult:
        """Send money to a card."""
        raise self._unsupported("payout")

    async def create_invoice(self, request: PaymentRequest) -> GatewayResult:
        """Create a pay-by-link invoice."""
        raise self._unsupported("create_invoice")

    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """Ask the gateway what became of an operation (status inquiry or lookup by reference)."""
        raise self._unsupported("fetch")

    async def begin_hosted_entry(self, request: HostedEntryRequest) -> Challenge:
        """The page where the card is typed, for the web view."""
        raise self._unsupported("begin_hosted_entry")

    async def complete_hosted_entry(
        self,
        request: HostedEntryRequest,
        fields: Mapping[str, str],
        context: Mapping[str, str] | None = None,
    ) -> CardToken:
        """Read what the page returned (with the challenge's `context`); untrusted until confirmed."""
        raise self._unsupported("complete_hosted_entry")

    async def verify_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Check a callback's signature; raise AuthenticationError when it does not verify."""
        raise self._unsupported("verify_notification")

    async def aclose(self) -> None:
        """Release connections."""
        return

    def _unsupported(self, verb: str) -> NotSupportedError:
        return NotSupportedError(
            f"{self.capabilities.display_name} does not support {verb.replace('_', ' ')}."
        )
