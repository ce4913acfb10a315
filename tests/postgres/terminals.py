"""Terminals sharing one PostgreSQL database and one set of simulators, as tills in one shop do."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import URL

from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from terminal.services.changes import ChangeFeed
from terminal.services.history import HistoryService
from terminal.services.journal import Journal
from terminal.services.payments import PaymentOutcome, PaymentService
from terminal.services.profiles import ProfileRegistry, sandbox_profile
from terminal.services.reconciliation import Reconciler
from terminal.store.database import open_database
from terminal.store.transactions import TransactionRepository
from tests.e2e.conftest import run
from tests.e2e.flows import RETURN_URL, expiry_year
from tests.support.form_browser import type_card_and_authenticate


class SharedTerminal:
    """One terminal's services on the shared database: its own engine, journal worker, reconciler, feed."""

    def __init__(self, url: URL, ogo_url: str, operator: str) -> None:
        self.database = open_database(url=url)
        self.profiles = ProfileRegistry([sandbox_profile("ogopay", ogo_url)])
        self.journal = Journal(TransactionRepository(self.database.engine))
        self.payments = PaymentService(self.journal, self.profiles, operator=operator)
        self.reconciler = Reconciler(self.journal, self.profiles, self.payments)
        self.history = HistoryService(self.journal)
        self.changes = ChangeFeed(self.database.engine)

    def close(self) -> None:
        run(self.profiles.aclose())
        self.changes.close()
        self.history.close()
        self.journal.close()
        self.database.close()

    async def open_payment(self, kind: OperationKind, minor: int) -> PaymentOutcome:
        """A sale or pre-authorisation through the OGO card page and 3-D Secure."""
        profile = self.profiles.all()[0]
        hosted = await self.payments.begin_hosted(
            profile.id, kind, Money(minor, profile.currency), return_url=RETURN_URL
        )
        assert hosted.challenge.html is not None and hosted.challenge.base_url is not None
        typed = {"cardNumber": "4242424242424242", "expiryMonth": "12", "expiryYear": expiry_year()}
        _, fields = await type_card_and_authenticate(hosted.challenge.html, hosted.challenge.base_url, typed)
        return await self.payments.complete_hosted(hosted, fields)


def sim(ogo_url: str, endpoint: str, **body: object) -> object:
    """Call the OGO simulator's control API (GET without a body, POST with one)."""
    url = ogo_url + endpoint
    reply = httpx.post(url, json=body, timeout=5) if body else httpx.get(url, timeout=5)
    reply.raise_for_status()
    data = reply.json()
    return data["entries"] if isinstance(data, dict) and "entries" in data else data


def completions(ogo_url: str) -> int:
    """How many captures the simulator has applied."""
    entries = sim(ogo_url, "/_sim/ledger")
    assert isinstance(entries, list)
    return sum(1 for e in entries if e["kind"] == "completion" and e["effect"])


def slow_completions(ogo_url: str, delay_ms: int, times: int = 2) -> None:
    """Hold the simulator's next capture answers, so that captures overlap."""
    sim(
        ogo_url,
        "/_sim/faults",
        method="POST",
        path="/completion",
        fault="slow",
        times=times,
        delay_ms=delay_ms,
    )
