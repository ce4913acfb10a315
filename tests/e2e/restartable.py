"""A terminal stopped and started again on one data directory, against simulators that outlive it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.gateways.base import CardDetails
from terminal.services.journal import Journal
from terminal.services.payments import PaymentOutcome, PaymentService
from terminal.services.profiles import Profile, ProfileRegistry, sandbox_profile
from terminal.services.reconciliation import Reconciler
from terminal.sim.runner import RunningSims
from terminal.store.database import open_database
from terminal.store.transactions import TransactionRepository
from tests.e2e.conftest import run
from tests.e2e.flows import RETURN_URL, expiry_year
from tests.support.form_browser import type_card_and_authenticate

# Gateways whose payments are opened by a typed card (direct entry switched on for the demo profile): one
# request, no page to drive, so a step costs a round trip. OGO Pay has only its card page.
DIRECT_ENTRY = frozenset({"paymentz", "connect", "ompay"})


def demo_profile(gateway: str, sims: RunningSims) -> Profile:
    """The gateway's sandbox profile against the running simulator, with direct entry where it has it."""
    profile = sandbox_profile(gateway, sims.urls[gateway])
    if gateway in DIRECT_ENTRY:
        profile = replace(profile, settings={**profile.settings, "direct_entry": "on"})
    return profile


class Terminal:
    """The services a (re)started terminal builds on `data_dir`, with one gateway's demo profile."""

    def __init__(self, data_dir: Path, sims: RunningSims, gateway: str = "ogopay") -> None:
        self.gateway = gateway
        self.database = open_database(data_dir)
        self.profiles = ProfileRegistry([demo_profile(gateway, sims)])
        self.journal = Journal(TransactionRepository(self.database.engine))
        self.payments = PaymentService(self.journal, self.profiles)
        self.reconciler = Reconciler(self.journal, self.profiles, self.payments)

    def close(self) -> None:
        run(self.profiles.aclose())
        self.journal.close()
        self.database.close()

    async def open_payment(
        self, kind: OperationKind, minor: int, card: str = "4242424242424242"
    ) -> PaymentOutcome:
        """A sale or pre-authorisation: typed where the gateway has direct entry, else through the OGO card
        page and 3-D Secure."""
        profile = self.profiles.all()[0]
        amount = Money(minor, profile.currency)
        if self.gateway in DIRECT_ENTRY:
            typed = CardDetails(card, 12, date.today().year + 2, "123", "Ada Lovelace")
            direct = await self.payments.charge_direct(profile.id, kind, amount, typed, return_url=RETURN_URL)
            assert direct.challenge is None, "a frictionless card was asked for 3-D Secure"
            return direct.outcome
        hosted = await self.payments.begin_hosted(profile.id, kind, amount, return_url=RETURN_URL)
        assert hosted.challenge.html is not None and hosted.challenge.base_url is not None
        typed_fields = {"cardNumber": card, "expiryMonth": "12", "expiryYear": expiry_year()}
        _, fields = await type_card_and_authenticate(
            hosted.challenge.html, hosted.challenge.base_url, typed_fields
        )
        return await self.payments.complete_hosted(hosted, fields)
