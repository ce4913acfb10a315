"""One run of the terminal's services in a process of its own, for the sentinel sweep (TEST-6):
`python -m tests.security.sweep_child DATA_DIR MODE`, MODE `flows` or `killed`.

flows: hosted card-page sales through 3-D Secure (approved, and failed at 3-D Secure), then direct-entry
       sales with the sentinel cards and CVCs (approved and declined; a 3-D Secure challenge is cancelled).
killed: a direct-entry sale whose process is SIGKILLed right after the gateway answered the request that
       carried the card, before anything of the answer was recorded.
Everything runs as in the terminal: logging at DEBUG into DATA_DIR/logs, the real services and simulators.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import date
from pathlib import Path

import httpx

from terminal.assembly import Services, build_services
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import CardDetails
from terminal.services.logs import configure_logging
from terminal.services.profiles import Profile
from terminal.services.settings import parse_sandbox_edit
from tests.e2e.flows import hosted_payment

# Sentinels: test card numbers and CVCs that appear nowhere else in the run.
HOSTED_CARDS = ("4242424242424242", "5555555555554444")
DIRECT = (("4111111111111111", "913"), ("4000000000000002", "827"), ("5105105105105100", "641"))
KILLED = ("4012888888881881", "352")
RETURN_URL = "http://127.0.0.1:9/return/sweep"


def _direct_profile(services: Services) -> Profile | None:
    found = next((p for p in services.profiles.all() if p.capabilities.direct_entry), None)
    if found is None:
        return None
    security = services.security
    security.session.step_up("administrator-demo")
    edited = parse_sandbox_edit(found, {"name": found.name, "direct_entry": "on"})
    return security.settings.save_profile(edited, {})


async def _direct(services: Services, profile: Profile, number: str, cvc: str, reference: str) -> None:
    card = CardDetails(number, 12, date.today().year + 2, cvc, "Ada Lovelace")
    payment = await services.payments.charge_direct(
        profile.id, OperationKind.SALE, Money(1250, profile.currency), card,
        return_url=RETURN_URL, merchant_reference=reference, customer_id="C-77",
    )  # fmt: skip
    if payment.challenge is not None:
        await services.payments.cancel_direct(payment)
    print(reference, payment.outcome.operation.state.value, flush=True)


async def flows(services: Services) -> None:
    await hosted_payment(services, HOSTED_CARDS[0])
    await hosted_payment(services, HOSTED_CARDS[1], approve=False)
    profile = _direct_profile(services)
    if profile is None:
        print("no direct-entry gateway", flush=True)
        return
    for index, (number, cvc) in enumerate(DIRECT):
        await _direct(services, profile, number, cvc, f"SWEEP-{index}")


async def killed(services: Services) -> None:
    profile = _direct_profile(services)
    if profile is None:
        print("no direct-entry gateway", flush=True)
        return
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def send(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        response = await original(self, request)
        if KILLED[0].encode() in request.content:  # the request that carried the card was answered
            await response.aread()
            print("KILLING", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    httpx.AsyncHTTPTransport.handle_async_request = send  # type: ignore[method-assign]
    await _direct(services, profile, *KILLED, "SWEEP-KILLED")


def main() -> None:
    data_dir, mode = Path(sys.argv[1]), sys.argv[2]
    configure_logging(data_dir / "logs", level=logging.DEBUG)
    services = build_services(data_dir, force_sandbox=True, sign_in_as="demo-admin")
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(flows(services) if mode == "flows" else killed(services))
    finally:
        loop.run_until_complete(services.aclose())
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
