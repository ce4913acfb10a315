"""How the fault matrix drives each gateway's money operations through the real service.

One `Driver` per (gateway, operation): the simulator path the fault is armed on, the simulator ledger kind
that shows the operation took effect, and a coroutine that prepares any parent (without faults) and then
runs the operation once through the services, returning the operation it wrote. Adding a gateway to the
matrix means adding its drivers here and its rows to docs/RELIABILITY.md.

Card gateways with direct entry (Paymentz, Connect, OMPay) are driven by typed cards: then the terminal's
own request is the one that moves money, and the one the fault hits. OGO Pay only has its card page,
whose completion request is the terminal's. ETpay's money moves when the payer presses Pay on ETpay's
page, so its fault is armed on that page's request, and the terminal learns of it by lookup only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

from terminal.assembly import Services
from terminal.domain.ledger import Operation
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import CardDetails
from tests.e2e.flows import RETURN_URL, hosted_payment
from tests.support.form_browser import form_with_button

APPROVED = "4242424242424242"
Arm = Callable[[], None]
Run = Callable[[Services, Arm], Coroutine[Any, Any, Operation]]
PZ_API = "/transactionServices/REST/v1"
OM_API = "/v1/merchants/sandboxmerchant1"
DIRECT_PROFILES = ("paymentz-sandbox", "connect-sandbox", "ompay-sandbox")


@dataclass(frozen=True)
class Driver:
    gateway: str
    operation: str
    path: str  # the simulator path (glob) the fault is armed on
    effect_kind: str  # the simulator ledger's kind for this operation
    run: Run
    # Count every ledger entry of the kind, not only those that moved money (an invoice moves none: what
    # must exist at most once is the invoice itself).
    any_entry: bool = False


# -- OGO Pay: its card page ---------------------------------------------------------------------------
async def _ogo_opening(services: Services, arm: Arm, kind: OperationKind) -> Operation:
    arm()
    return (await hosted_payment(services, APPROVED, 3100, kind=kind)).operation


async def _ogo_parent(services: Services, kind: OperationKind) -> tuple[str, Money]:
    opening = OperationKind.SALE if kind is OperationKind.REFUND else OperationKind.AUTHORIZE
    parent = await hosted_payment(services, APPROVED, 3100, kind=opening)
    assert parent.approved, parent.message
    return parent.transaction.id, Money(3100, parent.transaction.currency)


def _ogo(operation: str, path: str, kind: OperationKind) -> Driver:
    opening = kind in (OperationKind.SALE, OperationKind.AUTHORIZE)

    async def run(services: Services, arm: Arm) -> Operation:
        if opening:
            return await _ogo_opening(services, arm, kind)
        tx_id, amount = await _ogo_parent(services, kind)
        return await _follow_up(services, arm, kind, tx_id, amount)

    return Driver("ogopay", operation, path, path.strip("/"), run)


# -- shared steps -------------------------------------------------------------------------------------
async def _follow_up(
    services: Services, arm: Arm, kind: OperationKind, tx_id: str, amount: Money
) -> Operation:
    arm()
    if kind is OperationKind.CAPTURE:
        outcome = await services.payments.capture(tx_id, amount)
    elif kind is OperationKind.VOID:
        outcome = await services.payments.void(tx_id)
    else:
        outcome = await services.payments.refund(tx_id, amount, reason="fault matrix")
    return outcome.operation


def _card() -> CardDetails:
    return CardDetails(APPROVED, 12, date.today().year + 2, "123", "Ada Lovelace")


async def _direct(services: Services, profile_id: str, kind: OperationKind, amount: Money) -> Operation:
    payment = await services.payments.charge_direct(
        profile_id, kind, amount, _card(), return_url=RETURN_URL, customer_id="C-77"
    )
    return payment.operation


def _card_gateway(
    gateway: str, profile_id: str, amount: Money
) -> Callable[[str, str, str, OperationKind], Driver]:
    """Drivers of a gateway with direct entry: sale and pre-authorisation by typed card, and follow-ups."""

    def make(operation: str, path: str, effect_kind: str, kind: OperationKind) -> Driver:
        async def run(services: Services, arm: Arm) -> Operation:
            if kind in (OperationKind.SALE, OperationKind.AUTHORIZE):
                arm()
                return await _direct(services, profile_id, kind, amount)
            opening = OperationKind.SALE if kind is OperationKind.REFUND else OperationKind.AUTHORIZE
            parent = await _direct(services, profile_id, opening, amount)
            assert parent.state.value == "succeeded", parent.gateway_message
            return await _follow_up(services, arm, kind, parent.transaction_id, amount)

        return Driver(gateway, operation, path, effect_kind, run)

    return make


# -- Paymentz: payouts and invoices too ----------------------------------------------------------------
async def _pz_payout(services: Services, arm: Arm) -> Operation:
    arm()
    outcome = await services.payouts.payout("paymentz-sandbox", Money(2500, "EUR"), card=_card())
    return outcome.operation


async def _pz_invoice(services: Services, arm: Arm) -> Operation:
    arm()
    outcome = await services.invoices.create(
        "paymentz-sandbox", Money(2500, "EUR"), customer_email="ada@example.com"
    )
    return outcome.operation


# -- ETpay: the payer's Pay on ETpay's page ------------------------------------------------------------
async def _etpay_sale(services: Services, arm: Arm) -> Operation:
    """The payer presses Pay; whatever reaches the browser, the terminal completes only on a real return."""
    hosted = await services.payments.begin_hosted(
        "etpay-sandbox", OperationKind.SALE, Money(15000, "CLP"), return_url=RETURN_URL
    )
    assert hosted.challenge.url is not None
    arm()
    location = ""
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as browser:
        page = await browser.get(hosted.challenge.url)
        form = form_with_button(page.text, str(page.url), "pay")
        target = urljoin(str(page.url), f"{urlsplit(hosted.challenge.url).path}/pay")
        try:
            sent = await browser.post(target, data={**form.fields, "bank": "CL_TEST", "rut": "11.111.111-1"})
        except httpx.HTTPError:
            sent = None  # the page's answer never arrived: the web view shows an error, the clerk closes it
        if sent is not None and sent.status_code == 303:
            location = sent.headers["location"]
    if not location.startswith(RETURN_URL):
        return (await services.payments.cancel_hosted(hosted)).operation
    fields = dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))
    return (await services.payments.complete_hosted(hosted, fields)).operation


PZ = _card_gateway("paymentz", "paymentz-sandbox", Money(3100, "EUR"))
CN = _card_gateway("connect", "connect-sandbox", Money(3100, "EUR"))
OM = _card_gateway("ompay", "ompay-sandbox", Money(3100, "OMR"))

DRIVERS: tuple[Driver, ...] = (
    _ogo("sale", "/purchase", OperationKind.SALE),
    _ogo("authorize", "/preauth", OperationKind.AUTHORIZE),
    _ogo("capture", "/completion", OperationKind.CAPTURE),
    _ogo("void", "/void", OperationKind.VOID),
    _ogo("refund", "/refund", OperationKind.REFUND),
    PZ("sale", f"{PZ_API}/payments", "DB", OperationKind.SALE),
    PZ("authorize", f"{PZ_API}/payments", "PA", OperationKind.AUTHORIZE),
    PZ("capture", f"{PZ_API}/payments/*", "CP", OperationKind.CAPTURE),
    PZ("void", f"{PZ_API}/payments/*", "RV", OperationKind.VOID),
    PZ("refund", f"{PZ_API}/payments/*", "RF", OperationKind.REFUND),
    Driver("paymentz", "payout", f"{PZ_API}/payout", "payout", _pz_payout),
    Driver(
        "paymentz", "invoice", "/invoiceServices/REST/v1/generate", "invoice", _pz_invoice, any_entry=True
    ),
    CN("sale", "/v1/1234/payments", "sale", OperationKind.SALE),
    CN("authorize", "/v1/1234/payments", "authorization", OperationKind.AUTHORIZE),
    CN("capture", "/v1/1234/payments/*/approve", "approve", OperationKind.CAPTURE),
    CN("void", "/v1/1234/payments/*/cancel", "cancel", OperationKind.VOID),
    CN("refund", "/v1/1234/payments/*/refund", "refund", OperationKind.REFUND),
    OM("sale", f"{OM_API}/payment", "sale", OperationKind.SALE),
    OM("authorize", f"{OM_API}/payment", "auth", OperationKind.AUTHORIZE),
    OM("capture", f"{OM_API}/payment/*/capture", "capture", OperationKind.CAPTURE),
    OM("void", f"{OM_API}/payment/*/void", "void", OperationKind.VOID),
    OM("refund", f"{OM_API}/payment/*/refund", "refund", OperationKind.REFUND),
    Driver("etpay", "sale", "/session/*/pay", "payment", _etpay_sale),
)
