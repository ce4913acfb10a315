"""A terminal stopped and started again on one data directory, against simulators that outlive it."""

from __future__ import annotations

from pathlib import Path

from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.services.journal import Journal
from terminal.services.payments import PaymentOutcome, PaymentService
from terminal.services.profiles import ProfileRegistry, sandbox_profile
from terminal.services.reconciliation import Reconciler
from terminal.sim.runner import RunningSims
from terminal.store.database import open_database
from terminal.store.transactions import TransactionRepository
from tests.e2e.conftest import run
from tests.e2e.flows import RETURN_URL, expiry_year
from tests.support.form_browser import type_card_and_authenticate


class Terminal:
    """The services a (re)started terminal builds on `data_dir`, with the OGO Pay demo profile."""

    def __init__(self, data_dir: Path, sims: RunningSims) -> None:
        self.database = open_database(data_dir)
        self.profiles = ProfileRegistry([sandbox_profile("ogopay", sims.urls["ogopay"])])
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
        """A sale or pre-authorisation through the OGO card page and 3-D Secure."""
        profile = self.profiles.all()[0]
        hosted = await self.payments.begin_hosted(
            profile.id, kind, Money(minor, profile.currency), return_url=RETURN_URL
        )
        assert hosted.challenge.html is not None and hosted.challenge.base_url is not None
        typed = {"cardNumber": card, "expiryMonth": "12", "expiryYear": expiry_year()}
        _, fields = await type_card_and_authenticate(hosted.challenge.html, hosted.challenge.base_url, typed)
        return await self.payments.complete_hosted(hosted, fields)
