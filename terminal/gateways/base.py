"""The contract every gateway adapter fulfils: one set of verbs, one result type, declared capabilities.

An adapter builds requests and parses responses; transport, timeouts and log scrubbing live in
`gateways/http.py`. Card numbers never pass through this contract: hosted entry hands Python a token.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from terminal.domain.capabilities import Capabilities
from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
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
    # What the clerk chose: the page takes a SALE (authorise and capture) or only pre-authorises
    # (AUTHORIZE), so a sale never depends on a second, capturing request whose answer could be lost.
    kind: OperationKind = OperationKind.SALE


@dataclass(frozen=True, slots=True)
class CardToken:
    """A gateway token for a card, with what may be shown of the card; no card number."""

    token: str
    customer_id: str
    card: CardSummary


@dataclass(frozen=True, slots=True, repr=False)
class CardDetails:
    """A card typed into the terminal's own form (direct entry, PCI DSS merchants only).

    Lives in memory for one request only: never stored, logged or put into a result. Its repr shows the
    masked number, so a stray log line or traceback cannot leak it.
    """

    number: str
    expiry_month: int
    expiry_year: int  # four digits
    cvc: str
    holder: str = ""

    def __repr__(self) -> str:
        expiry = f"{self.expiry_month:02d}/{self.expiry_year}"
        return f"CardDetails(number='…{self.number[-4:]}', expiry='{expiry}')"

    __str__ = __repr__


class Recurring(StrEnum):
    """Where a payment stands in a series charged again without the card (a returning customer)."""

    NONE = ""
    INITIAL = "initial"  # the first payment; the gateway returns a token for the repeats
    REPEATED = "repeated"  # a later payment on the token of an INITIAL one


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A sale, pre-authorisation, payout or invoice (MOTO: the customer is not present).

    The card comes from exactly one source: `token` (a hosted page's token, a saved card or a recurring
    registration), `card` (direct entry), or, for a payout to the card of an earlier payment,
    `parent_reference` (that payment's gateway reference). An invoice has none of them.
    """

    amount: Money
    merchant_reference: str
    idempotency_key: str
    customer_id: str
    token: str = ""
    description: str = ""
    moto: bool = True
    card: CardDetails | None = None
    parent_reference: str = ""
    # Ask the gateway to keep the card (a token comes back in GatewayResult.token).
    save_card: bool = False
    recurring: Recurring = Recurring.NONE
    # Where a 3-D Secure or hosted page returns to (the terminal's loopback listener); "" when none.
    return_url: str = ""
    # Invoices: who receives the link, and when it expires (None: the gateway's default).
    customer_email: str = ""
    customer_name: str = ""
    expires_at: datetime | None = None


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
    # What the gateway knows the operation by on our side (list and lookup results carry it).
    merchant_reference: str = ""
    # A reusable card token the gateway returned (save_card, recurring INITIAL, tokenisation).
    token: str = ""
    # The card as the gateway describes it (brand, first six, last four, expiry), when it says.
    card: CardSummary | None = None
    # Pay-by-link: the address the customer opens (also shown as a QR code).
    link_url: str = ""
    # The operation kind a list entry describes (sale, authorize, refund, ...), for list_transactions.
    kind: str = ""


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

    async def cancel_invoice(self, gateway_reference: str) -> GatewayResult:
        """Withdraw an unpaid invoice / payment link."""
        raise self._unsupported("cancel_invoice")

    async def remind_invoice(self, gateway_reference: str) -> GatewayResult:
        """Send the customer a reminder for an unpaid invoice."""
        raise self._unsupported("remind_invoice")

    async def approve_payout(self, request: FollowUpRequest) -> GatewayResult:
        """Release a payout the gateway holds for approval."""
        raise self._unsupported("approve_payout")

    async def cancel_payout(self, request: FollowUpRequest) -> GatewayResult:
        """Cancel a payout the gateway still holds."""
        raise self._unsupported("cancel_payout")

    async def fetch(self, gateway_reference: str, merchant_reference: str) -> GatewayResult:
        """Ask the gateway what became of an operation (status inquiry or lookup by reference)."""
        raise self._unsupported("fetch")

    async def fetch_follow_up(
        self,
        kind: OperationKind,
        gateway_reference: str,
        merchant_reference: str,
        parent_reference: str,
    ) -> GatewayResult:
        """What became of a capture, void or refund of the payment `parent_reference`.

        By default the follow-up is looked up like any operation; a gateway that files follow-ups under the
        payment itself (Paymentz) reads the payment's state instead: APPROVED when it shows the follow-up
        done, DECLINED when it shows it not done, PENDING when it cannot tell.
        """
        return await self.fetch(gateway_reference, merchant_reference)

    async def complete_challenge(
        self,
        result: GatewayResult,
        fields: Mapping[str, str],
        context: Mapping[str, str] | None = None,
    ) -> GatewayResult:
        """After a 3-D Secure page of a direct or token payment returned `fields` to the return URL:
        the gateway's own answer (read with a signed server call; the returned fields are untrusted)."""
        raise self._unsupported("complete_challenge")

    async def create_token(self, card: CardDetails, customer_id: str) -> CardToken:
        """Keep a card at the gateway (direct entry) and return its token."""
        raise self._unsupported("create_token")

    async def delete_token(self, token: str, customer_id: str = "") -> None:
        """Forget a saved card at the gateway."""
        raise self._unsupported("delete_token")

    async def list_transactions(self, since: datetime, until: datetime) -> list[GatewayResult]:
        """What the gateway holds for this merchant in [since, until), for comparing with the history."""
        raise self._unsupported("list_transactions")

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
