"""The composition root: opens the store, loads the profiles (or starts the sandbox simulators), wires the
services.

`terminal.app` (the command line) calls it once the window has painted; tests and benchmarks call
`build_services` directly.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.services.changes import ChangeFeed
from terminal.services.guard import INVOICE_ACTIONS, PAYMENT_ACTIONS, PAYOUT_ACTIONS
from terminal.services.history import HistoryService
from terminal.services.invoices import InvoiceService
from terminal.services.journal import Journal
from terminal.services.payments import PaymentService
from terminal.services.payouts import PayoutService
from terminal.services.profiles import (
    SANDBOX_CREDENTIALS,
    Profile,
    ProfileError,
    ProfileRegistry,
    load_profiles,
    sandbox_profile,
)
from terminal.services.reconciliation import Reconciler
from terminal.services.security import Security, build_security
from terminal.services.settings import KeyringSecrets
from terminal.services.store_worker import StoreWorker
from terminal.store.database import Database, StoreError, default_data_dir, open_database
from terminal.store.groups import write_groups
from terminal.store.postgres import database_url
from terminal.store.transactions import TransactionRepository

if TYPE_CHECKING:
    from terminal.sim.runner import RunningSims

log = logging.getLogger("terminal.app")


class StartupError(RuntimeError):
    """A reason the terminal cannot start, said in one line."""


@dataclass
class Services:
    """Everything below the UI, built once per run."""

    database: Database
    profiles: ProfileRegistry
    journal: Journal
    payments: PaymentService
    history: HistoryService
    reconciler: Reconciler
    payouts: PayoutService
    invoices: InvoiceService
    security: Security
    sims: RunningSims | None = None
    # Other terminals' writes on a shared (PostgreSQL) database, for History to refresh; idle on SQLite.
    changes: ChangeFeed | None = None
    # The store's worker thread shared by the journal and the audit trail (closed after both).
    worker: StoreWorker | None = None

    @property
    def sandbox(self) -> bool:
        """True when every profile points at a simulator."""
        return self.profiles.sandbox

    async def aclose(self) -> None:
        """Close connections, the journal's worker, the database and the simulators, in that order."""
        await self.profiles.aclose()
        self.history.close()
        self.journal.close()
        self.security.close()
        if self.worker is not None:
            self.worker.close()
        if self.changes is not None:
            self.changes.close()
        self.database.close()
        if self.sims is not None:
            self.sims.stop()

    def start_background(self) -> None:
        """Serve the simulators that `build_services(defer_sims=True)` reserved, on a background thread
        (the shell calls it once its window is shown; a request made meanwhile waits for its server)."""
        if self.sims is not None:
            threading.Thread(target=self._start_sims, name="sim-start", daemon=True).start()

    def _start_sims(self) -> None:
        assert self.sims is not None
        try:
            self.sims.start_pending()
        except Exception:  # a sandbox without its simulators: every charge says the gateway is unreachable
            log.exception("The sandbox simulators could not start")


def sandbox_profiles(sims: RunningSims) -> list[Profile]:
    """The demo profile of every running simulator that has one."""
    # In the order of SANDBOX_CREDENTIALS: the card gateway a clerk practises on first comes first.
    return [sandbox_profile(name, sims.urls[name]) for name in SANDBOX_CREDENTIALS if name in sims.urls]


def build_services(
    data_dir: Path | None,
    *,
    sim_port: int = 0,
    force_sandbox: bool = False,
    sign_in_as: str | None = "demo-admin",
    defer_sims: bool = False,
) -> Services:
    """Open the store, load profiles (starting the simulators when there are none) and build the services.

    In SANDBOX mode `sign_in_as` names the demo operator signed in at once (tests, self-test); the GUI passes
    None and shows the sign-in screen. A live terminal always starts signed out. With `defer_sims` the
    simulators' ports are taken now and their servers start with `Services.start_background()`.
    """
    try:
        # SQLite in the data directory unless a shared database is configured (README, Shared back office).
        url = database_url((data_dir or default_data_dir()) / "settings.json", os.environ, _database_password)
        database = open_database(data_dir, url=url)
    except StoreError as exc:
        raise StartupError(str(exc)) from None
    try:
        live = [] if force_sandbox else load_profiles((data_dir or default_data_dir()) / "settings.json")
        sims = None
        if not live:
            from terminal.sim.runner import reserve_simulators, start_simulators

            try:
                sims = reserve_simulators(port=sim_port) if defer_sims else start_simulators(port=sim_port)
            except OSError as exc:
                raise StartupError(f"The sandbox simulators cannot start: {exc}") from None
        profiles = ProfileRegistry(live if live else sandbox_profiles(sims) if sims else [], KeyringSecrets())
    except (ProfileError, StartupError):
        database.close()
        raise
    # One thread for the database's writes (the journal's and the audit trail's): group commits.
    worker = StoreWorker(write_groups(database.engine), name="store")
    journal = Journal(TransactionRepository(database.engine), worker=worker)
    payments = PaymentService(journal, profiles, operator="")
    payouts, invoices = PayoutService(payments), InvoiceService(payments)
    money = [(payments, PAYMENT_ACTIONS), (payouts, PAYOUT_ACTIONS), (invoices, INVOICE_ACTIONS)]
    security = build_security(
        database, profiles, data_dir or default_data_dir(), money=money, sign_in_as=sign_in_as, worker=worker
    )
    return Services(
        database=database,
        profiles=profiles,
        journal=journal,
        payments=payments,
        history=HistoryService(journal),
        reconciler=Reconciler(journal, profiles, payments),
        payouts=payouts,
        invoices=invoices,
        security=security,
        sims=sims,
        changes=ChangeFeed(database.engine),
        worker=worker,
    )


def _database_password() -> str | None:
    """The shared database's password from the OS keyring (MerchantTerminal, database/password), if any.

    None lets libpq look in PGPASSWORD and ~/.pgpass; settings.json never holds it.
    """
    try:
        return KeyringSecrets().get("database", "password")
    except ProfileError:
        return None
