"""A card page whose token only meets 3-D Secure when it is charged (OMPay's nonce): the payment waits on
the 3-D Secure page instead of being lost as unknown, and the gateway's own answer after the page decides."""

from __future__ import annotations

import httpx

from terminal.assembly import Services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.payments import DirectPayment
from tests.e2e.conftest import run
from tests.gateways import browser_ompay

PROFILE = "ompay-sandbox"
PAGE_RETURN = "http://127.0.0.1:9/return/card-page"
CHALLENGE_RETURN = "http://127.0.0.1:9/return/three-d-secure"
CHALLENGE_CARD = "4000 0000 0000 3220"


async def _pay(services: Services, reference: str) -> DirectPayment:
    hosted = await services.payments.begin_hosted(
        PROFILE, OperationKind.SALE, Money(2500, "OMR"), return_url=PAGE_RETURN, merchant_reference=reference
    )
    fields = await browser_ompay.enter_card(hosted.challenge, CHALLENGE_CARD)
    return await services.payments.complete_hosted_payment(
        hosted, fields, challenge_return_url=CHALLENGE_RETURN
    )


async def _answer(payment: DirectPayment, answer: str) -> dict[str, str]:
    page = payment.challenge
    assert page is not None and page.url is not None and page.return_url_prefix == CHALLENGE_RETURN
    async with httpx.AsyncClient(timeout=5.0) as browser:
        assert (await browser.get(page.url)).status_code == 200
        back = await browser.post(f"{page.url}/{answer}")
    assert back.status_code == 303 and back.headers["location"].startswith(CHALLENGE_RETURN)
    return dict(httpx.URL(back.headers["location"]).params)


def test_three_d_secure_after_the_card_page_is_approved(services: Services) -> None:
    async def scenario() -> None:
        payment = await _pay(services, "HOSTED3DS1")
        assert payment.operation.state is OperationState.CHALLENGE
        assert payment.operation.id in services.payments.active  # reconciliation leaves it alone meanwhile
        outcome = await services.payments.complete_direct(payment, await _answer(payment, "approve"))
        assert outcome.approved, outcome.message
        assert outcome.operation.id not in services.payments.active

    run(scenario())


def test_three_d_secure_after_the_card_page_is_declined(services: Services) -> None:
    async def scenario() -> None:
        payment = await _pay(services, "HOSTED3DS2")
        outcome = await services.payments.complete_direct(payment, await _answer(payment, "decline"))
        assert outcome.operation.state is OperationState.DECLINED

    run(scenario())


def test_without_a_return_address_the_old_path_still_records_unknown(services: Services) -> None:
    """complete_hosted (no page possible) keeps its rule: what cannot be finished is never guessed."""

    async def scenario() -> None:
        hosted = await services.payments.begin_hosted(
            PROFILE, OperationKind.SALE, Money(2500, "OMR"), return_url=PAGE_RETURN
        )
        fields = await browser_ompay.enter_card(hosted.challenge, CHALLENGE_CARD)
        outcome = await services.payments.complete_hosted(hosted, fields)
        assert outcome.operation.state is OperationState.UNKNOWN

    run(scenario())
