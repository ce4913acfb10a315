"""The gateways under test, each with its simulator on a loopback port, for the conformance suite.

A new gateway joins the suite by adding one GatewayUnderTest to GATEWAYS_UNDER_TEST: how to start its
simulator, how to build the adapter with the sandbox credentials, and how to get a card token the way
the customer's browser would. pytest-asyncio is not used: tests call `run(...)` (asyncio.run).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import jwt
import pytest

from terminal.domain.declines import DeclineCode
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import CardToken, Challenge, Gateway, HostedEntryRequest
from terminal.gateways.registry import build_gateway
from terminal.sim.runner import serve_app
from tests.gateways import browser_etpay, browser_ogopay, browser_ompay, browser_paymentz

T = TypeVar("T")

# Every fault test runs under these: nothing waits for more than a second.
FAULT_TIMEOUT = httpx.Timeout(1.0, read=0.5)
RETURN_URL = "http://127.0.0.1:9/ogo-return"  # never contacted: the test browser reads the post instead


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion (no pytest-asyncio here)."""
    return asyncio.run(coro)


def new_reference(prefix: str = "T") -> str:
    """A fresh merchant reference (order id)."""
    return f"{prefix}{uuid.uuid4().hex[:12].upper()}"


@dataclass(frozen=True)
class GatewayUnderTest:
    """Everything the conformance suite needs to know about one gateway and its simulator."""

    name: str
    sim_module: str
    currency: str
    settings: Mapping[str, str]
    secrets: Mapping[str, str]
    wrong_secrets: Mapping[str, str]
    # Card in, CardToken out, acting as the customer's browser on the gateway's pages.
    obtain_token: Callable[[Gateway, str, str, str], Awaitable[CardToken]]
    approved_card: str
    decline_cards: Mapping[DeclineCode, str]
    # The simulator path of each operation, for arming faults.
    paths: Mapping[OperationKind, str]
    # The simulator ledger's name of each operation.
    ledger_kinds: Mapping[OperationKind, str]
    amount_minor: int = 125_000
    extra: Mapping[str, Any] = field(default_factory=dict)
    # How many times the adapter sends a money request whose answer is lost: 3 where the gateway
    # de-duplicates by an idempotency key (the request is IDEMPOTENT, so it is repeated), else 1.
    money_attempts: int = 1
    # "card": sale() moves the money. "bank_transfer": the payer moves it on the gateway's page and sale()
    # only confirms it there; the "card" is then the payer's answer on that page.
    payment_method: str = "card"
    # Bank transfer: the payer's answer on the page ("pay", ...) -> the fields the return URL carries.
    page_answer: Callable[[Challenge, str], Awaitable[dict[str, str]]] | None = None
    # Bank transfer: page answers that end in a decline, by the decline they must give.
    page_declines: Mapping[DeclineCode, str] = field(default_factory=dict)
    # Bank transfer: return fields claiming payment whose signature does not verify.
    forged_answer: Callable[[Challenge, HostedEntryRequest], dict[str, str]] | None = None
    # Bank transfer: the simulator path that opens the page's session, for arming faults.
    open_path: str = ""
    # Where the gateway's page returns to (the test browser reads the redirect instead of following it).
    return_url: str = RETURN_URL

    def start_simulator(self) -> tuple[str, Callable[[], None]]:
        """Serve a fresh simulator on an ephemeral loopback port: (base_url, stop)."""
        app = importlib.import_module(self.sim_module).create_app()
        return serve_app(app, "127.0.0.1", 0)

    def build(
        self, base_url: str, *, wrong_credentials: bool = False, timeout: httpx.Timeout | None = None
    ) -> Gateway:
        """The adapter against `base_url` with the sandbox credentials (or deliberately wrong ones)."""
        return build_gateway(
            self.name,
            {**self.settings, "base_url": base_url},
            self.wrong_secrets if wrong_credentials else self.secrets,
            live=False,
            timeout=timeout,
        )

    def money(self, minor: int | None = None) -> Money:
        """An amount in the gateway's currency (the default test amount when None)."""
        return Money(self.amount_minor if minor is None else minor, self.currency)

    @property
    def all_secrets(self) -> list[str]:
        """Secret values that must never appear in a result's raw copy."""
        return [value for value in self.secrets.values() if value]


# -- OGO Pay ------------------------------------------------------------------------------------------
async def _ogopay_token(gateway: Gateway, card_number: str, reference: str, customer_id: str) -> CardToken:
    request = HostedEntryRequest(
        merchant_reference=reference,
        customer_id=customer_id,
        customer_name="Test Customer",
        amount=Money(100, "LKR"),
        return_url=RETURN_URL,
    )
    challenge = await gateway.begin_hosted_entry(request)
    fields = await browser_ogopay.enter_card(challenge, card_number)
    return await gateway.complete_hosted_entry(request, fields)


OGOPAY = GatewayUnderTest(
    name="ogopay",
    sim_module="terminal.sim.ogopay",
    currency="LKR",
    settings={"merchant_id": "sandbox-merchant"},
    secrets={"secret": "sandbox-ogo-secret"},
    wrong_secrets={"secret": "not-the-sandbox-secret"},
    obtain_token=_ogopay_token,
    approved_card="4242 4242 4242 4242",
    decline_cards={
        DeclineCode.DO_NOT_HONOUR: "4000 0000 0000 0002",
        DeclineCode.INSUFFICIENT_FUNDS: "4000 0000 0000 9995",
        DeclineCode.EXPIRED_CARD: "4000 0000 0000 0069",
    },
    paths={
        OperationKind.SALE: "/purchase",
        OperationKind.AUTHORIZE: "/preauth",
        OperationKind.CAPTURE: "/completion",
        OperationKind.VOID: "/void",
        OperationKind.REFUND: "/refund",
    },
    ledger_kinds={
        OperationKind.SALE: "purchase",
        OperationKind.AUTHORIZE: "preauth",
        OperationKind.CAPTURE: "completion",
        OperationKind.VOID: "void",
        OperationKind.REFUND: "refund",
    },
)

# -- ETpay -------------------------------------------------------------------------------------------------
ETPAY_RETURN_URL = "http://127.0.0.1:9/etpay-return"  # never contacted: the test browser reads the 303
ETPAY_AMOUNT = 125_000  # CLP, whole pesos


def etpay_request(reference: str, customer_id: str, minor: int = ETPAY_AMOUNT) -> HostedEntryRequest:
    """What the service would ask ETpay's page for: one payment of `minor` pesos for this order."""
    return HostedEntryRequest(
        merchant_reference=reference,
        customer_id=customer_id,
        customer_name="Test Payer",
        amount=Money(minor, "CLP"),
        return_url=ETPAY_RETURN_URL,
    )


async def _etpay_token(gateway: Gateway, action: str, reference: str, customer_id: str) -> CardToken:
    request = etpay_request(reference, customer_id)
    challenge = await gateway.begin_hosted_entry(request)
    fields = await browser_etpay.pay(challenge, action)
    return await gateway.complete_hosted_entry(request, fields, challenge.context)


def _etpay_forged(challenge: Challenge, request: HostedEntryRequest) -> dict[str, str]:
    """A return claiming payment, signed with a key that is not the session's signature_token."""
    claims = {
        "session_token": challenge.context["session_token"],
        "merchant_order_id": request.merchant_reference,
        "merchant_amount": request.amount.minor,
        "merchant_currency": "CLP",
        "payment_token": "forged",
        "payment_status": True,
        "iat": int(time.time()),
    }
    return {"jwt": jwt.encode(claims, "not-the-signature-token-of-this-session", algorithm="HS256")}


ETPAY = GatewayUnderTest(
    name="etpay",
    sim_module="terminal.sim.etpay",
    currency="CLP",
    settings={"merchant_code": "sandbox_merchant"},
    secrets={"merchant_api_token": "sandbox-api-token"},
    wrong_secrets={"merchant_api_token": "not-the-sandbox-token"},
    obtain_token=_etpay_token,
    approved_card="pay",
    decline_cards={},
    # sale() is the status read that confirms the transfer; the simulator records the payer's answer.
    paths={OperationKind.SALE: "/merchant/check_payment_status"},
    ledger_kinds={OperationKind.SALE: "payment"},
    amount_minor=ETPAY_AMOUNT,
    payment_method="bank_transfer",
    page_answer=browser_etpay.pay,
    page_declines={DeclineCode.DO_NOT_HONOUR: "reject", DeclineCode.CANCELLED_BY_PAYER: "cancel"},
    forged_answer=_etpay_forged,
    open_path="/session/initialize",
    return_url=ETPAY_RETURN_URL,
)

# -- OMPay ------------------------------------------------------------------------------------------------
OMPAY_RETURN_URL = "http://127.0.0.1:9/ompay-return"  # never contacted: the test browser reads the fields
OMPAY_API = "/v1/merchants/sandboxmerchant1"


async def _ompay_token(gateway: Gateway, card_number: str, reference: str, customer_id: str) -> CardToken:
    request = HostedEntryRequest(
        merchant_reference=reference,
        customer_id=customer_id,
        customer_name="Test Customer",
        amount=Money(1250, "OMR"),
        return_url=OMPAY_RETURN_URL,
    )
    challenge = await gateway.begin_hosted_entry(request)
    fields = await browser_ompay.enter_card(challenge, card_number)
    return await gateway.complete_hosted_entry(request, fields, challenge.context)


OMPAY = GatewayUnderTest(
    name="ompay",
    sim_module="terminal.sim.ompay",
    currency="OMR",
    settings={"merchant_id": "sandboxmerchant1", "client_id": "sandboxclientid1"},
    secrets={"client_secret": "sandboxsecret001"},
    wrong_secrets={"client_secret": "notthesandboxsec"},
    obtain_token=_ompay_token,
    approved_card="4242 4242 4242 4242",
    decline_cards={
        DeclineCode.DO_NOT_HONOUR: "4000 0000 0000 0002",
        DeclineCode.INSUFFICIENT_FUNDS: "4000 0000 0000 9995",
        DeclineCode.EXPIRED_CARD: "4000 0000 0000 0069",
    },
    paths={
        OperationKind.SALE: f"{OMPAY_API}/payment",
        OperationKind.AUTHORIZE: f"{OMPAY_API}/payment",
        OperationKind.CAPTURE: f"{OMPAY_API}/payment/*/capture",
        OperationKind.VOID: f"{OMPAY_API}/payment/*/void",
        OperationKind.REFUND: f"{OMPAY_API}/payment/*/refund",
    },
    ledger_kinds={
        OperationKind.SALE: "sale",
        OperationKind.AUTHORIZE: "auth",
        OperationKind.CAPTURE: "capture",
        OperationKind.VOID: "void",
        OperationKind.REFUND: "refund",
    },
    return_url=OMPAY_RETURN_URL,
)

# -- Paymentz ---------------------------------------------------------------------------------------------
# Tokens are card registrations (direct entry on for the harness); the hosted checkout has its own tests.
PZ_API = "/transactionServices/REST/v1"
PAYMENTZ = GatewayUnderTest(
    name="paymentz",
    sim_module="terminal.sim.paymentz",
    currency="EUR",
    settings={
        "member_id": "10001",
        "partner_id": "1",
        "username": "sandbox",
        "terminal_id": "1",
        "direct_entry": "on",
    },
    secrets={"secure_key": "sandbox-secure-key"},
    wrong_secrets={"secure_key": "not-the-sandbox-key"},
    obtain_token=browser_paymentz.register,
    approved_card="4242 4242 4242 4242",
    decline_cards={
        DeclineCode.DO_NOT_HONOUR: "4000 0000 0000 0002",
        DeclineCode.INSUFFICIENT_FUNDS: "4000 0000 0000 9995",
        DeclineCode.EXPIRED_CARD: "4000 0000 0000 0069",
    },
    paths={
        OperationKind.SALE: PZ_API + "/paywithtoken/*",
        OperationKind.AUTHORIZE: PZ_API + "/paywithtoken/*",
        OperationKind.CAPTURE: PZ_API + "/payments/*",
        OperationKind.VOID: PZ_API + "/payments/*",
        OperationKind.REFUND: PZ_API + "/payments/*",
    },
    ledger_kinds={
        OperationKind.SALE: "DB",
        OperationKind.AUTHORIZE: "PA",
        OperationKind.CAPTURE: "CP",
        OperationKind.VOID: "RV",
        OperationKind.REFUND: "RF",
    },
)


# -- Worldline Connect -----------------------------------------------------------------------------------
async def _connect_token(gateway: Gateway, card_number: str, reference: str, customer_id: str) -> CardToken:
    """Connect keeps a typed card with POST /tokens (direct entry, switched on for this test profile)."""
    from terminal.gateways.base import CardDetails

    card = CardDetails(card_number.replace(" ", ""), 12, time.gmtime().tm_year + 3, "123", "Test Customer")
    return await gateway.create_token(card, customer_id)


CONNECT = GatewayUnderTest(
    name="connect",
    sim_module="terminal.sim.connect",
    currency="EUR",
    settings={"merchant_id": "1234", "api_key_id": "sandboxkeyid0001", "direct_entry": "on"},
    secrets={"secret_api_key": "sandbox-connect-secret"},
    wrong_secrets={"secret_api_key": "not-the-sandbox-secret"},
    obtain_token=_connect_token,
    money_attempts=3,  # every POST carries X-GCS-Idempotence-Key: a lost answer is asked again
    approved_card="4242 4242 4242 4242",
    decline_cards={
        DeclineCode.DO_NOT_HONOUR: "4000 0000 0000 0002",
        DeclineCode.INSUFFICIENT_FUNDS: "4000 0000 0000 9995",
        DeclineCode.EXPIRED_CARD: "4000 0000 0000 0069",
    },
    paths={
        OperationKind.SALE: "/v1/1234/payments",
        OperationKind.AUTHORIZE: "/v1/1234/payments",
        OperationKind.CAPTURE: "/v1/1234/payments/*/approve",
        OperationKind.VOID: "/v1/1234/payments/*/cancel",
        OperationKind.REFUND: "/v1/1234/payments/*/refund",
    },
    ledger_kinds={
        OperationKind.SALE: "sale",
        OperationKind.AUTHORIZE: "authorization",
        OperationKind.CAPTURE: "approve",
        OperationKind.VOID: "cancel",
        OperationKind.REFUND: "refund",
    },
)

GATEWAYS_UNDER_TEST: list[GatewayUnderTest] = [OGOPAY, ETPAY, OMPAY, PAYMENTZ, CONNECT]


# -- fixtures -----------------------------------------------------------------------------------------
@dataclass
class SimHarness:
    """One gateway under test with its running simulator and the control API."""

    gut: GatewayUnderTest
    base_url: str
    control: httpx.Client

    def gateway(self, *, wrong_credentials: bool = False, timeout: httpx.Timeout | None = None) -> Gateway:
        """A fresh adapter (build it inside the coroutine that uses it: httpx clients bind to a loop)."""
        return self.gut.build(self.base_url, wrong_credentials=wrong_credentials, timeout=timeout)

    def arm(
        self, kind: OperationKind, fault: str, *, delay_ms: int | None = None, times: int | None = None
    ) -> None:
        """Arm a simulator fault for the next request(s) of this operation (by default, every attempt)."""
        times = times or self.gut.money_attempts
        self.arm_path(self.gut.paths[kind], fault, delay_ms=delay_ms, times=times)

    def arm_path(self, path: str, fault: str, *, delay_ms: int | None = None, times: int = 1) -> None:
        """Arm a simulator fault for the next `times` POSTs to this path."""
        spec: dict[str, Any] = {"method": "POST", "path": path, "fault": fault, "times": times}
        if delay_ms is not None:
            spec["delay_ms"] = delay_ms
        self.control.post("/_sim/faults", json=spec).raise_for_status()

    def ledger(self) -> list[dict[str, Any]]:
        """Every operation the simulator applied."""
        response = self.control.get("/_sim/ledger")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    def effects(self, kind: OperationKind | None = None) -> list[dict[str, Any]]:
        """Ledger entries that moved money, optionally of one operation kind."""
        wanted = self.gut.ledger_kinds[kind] if kind is not None else None
        return [e for e in self.ledger() if e["effect"] and (wanted is None or e["kind"] == wanted)]

    async def token(self, gateway: Gateway, card: str | None = None, customer_id: str = "") -> CardToken:
        """Tokenise a test card (the approved one by default) for a fresh customer."""
        customer = customer_id or new_reference("C")
        return await self.gut.obtain_token(
            gateway, card or self.gut.approved_card, new_reference("ADD"), customer
        )


@pytest.fixture(scope="session", params=GATEWAYS_UNDER_TEST, ids=lambda gut: gut.name)
def running_sim(request: pytest.FixtureRequest) -> Iterator[tuple[GatewayUnderTest, str]]:
    """Each gateway's simulator, started once per session on an ephemeral loopback port."""
    gut: GatewayUnderTest = request.param
    base_url, stop = gut.start_simulator()
    yield gut, base_url
    stop()


@pytest.fixture
def sim(running_sim: tuple[GatewayUnderTest, str]) -> Iterator[SimHarness]:
    """The simulator of the gateway under test, reset (state, ledger, faults, clock) before the test."""
    gut, base_url = running_sim
    with httpx.Client(base_url=base_url, timeout=5.0) as control:
        control.post("/_sim/reset").raise_for_status()
        yield SimHarness(gut, base_url, control)
