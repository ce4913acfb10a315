"""Payment flows a clerk runs, driven through the real service, adapter and simulator over HTTP."""

from __future__ import annotations

from datetime import date

import httpx

from terminal.assembly import Services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.services.payments import PaymentOutcome
from tests.support.form_browser import type_card_and_authenticate

RETURN_URL = "http://127.0.0.1:9/return/test"  # never loaded: the test browser stops at the return form


def expiry_year() -> str:
    return f"{(date.today().year + 2) % 100:02d}"


async def hosted_payment(
    services: Services,
    card_number: str,
    minor: int = 1250,
    *,
    kind: OperationKind = OperationKind.SALE,
    approve: bool = True,
    reference: str = "",
) -> PaymentOutcome:
    """Open a payment, type the card into the gateway's page, pass 3-D Secure, and send it."""
    profile = services.profiles.all()[0]
    hosted = await services.payments.begin_hosted(
        profile.id,
        kind,
        Money(minor, profile.currency),
        return_url=RETURN_URL,
        merchant_reference=reference,
        customer_id="C-77",
        customer_name="Ada Lovelace",
    )
    challenge = hosted.challenge
    assert challenge.html is not None and challenge.base_url is not None
    action, fields = await type_card_and_authenticate(
        challenge.html,
        challenge.base_url,
        {
            "cardNumber": card_number,
            "expiryMonth": "12",
            "expiryYear": expiry_year(),
            "cardHolderName": "Ada",
        },
        approve=approve,
    )
    assert action == RETURN_URL
    return await services.payments.complete_hosted(hosted, fields)


def sim_url(services: Services) -> str:
    assert services.sims is not None
    return services.sims.urls["ogopay"]


def sim_ledger(services: Services) -> list[dict[str, object]]:
    reply = httpx.get(sim_url(services) + "/_sim/ledger", timeout=5)
    reply.raise_for_status()
    body = reply.json()
    return list(body["entries"] if isinstance(body, dict) else body)


def arm_fault(services: Services, path: str, fault: str, *, delay_ms: int = 0, times: int = 1) -> None:
    reply = httpx.post(
        sim_url(services) + "/_sim/faults",
        json={"method": "POST", "path": path, "fault": fault, "times": times, "delay_ms": delay_ms},
        timeout=5,
    )
    reply.raise_for_status()
