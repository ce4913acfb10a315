"""The security services of one run, built together: audit trail, operators, session, settings.

Kept apart from app.py so the composition root only asks for "security" and hands it the money services
to guard. In SANDBOX mode the demo operators exist (clearly named "Demo ...") and a caller may sign one in
at once (tests, the self-test, screenshots); a live terminal always starts signed out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from terminal.domain.roles import Operator
from terminal.services.audit import AuditTrail, Event
from terminal.services.clock import ClockWatch
from terminal.services.guard import Rule, guard_money
from terminal.services.operators import OperatorService, Session
from terminal.services.profiles import ProfileRegistry
from terminal.services.settings import KeyringSecrets, SettingsService
from terminal.services.store_worker import StoreWorker
from terminal.store.audit import AuditRepository
from terminal.store.database import Database
from terminal.store.operators import OperatorRepository

__all__ = ["Security", "build_security"]


@dataclass
class Security:
    """Everything sign-in, roles, audit and settings need."""

    audit: AuditTrail
    operators: OperatorService
    session: Session
    settings: SettingsService
    sandbox: bool
    # Compares this computer's clock with every gateway reply's Date header (PCI-15).
    clock: ClockWatch = field(init=False)

    def __post_init__(self) -> None:
        self.clock = ClockWatch(self.audit)

    def close(self) -> None:
        """End the session (audited) and finish pending audit writes; before the database closes."""
        self.clock.stop()
        if self.session.current is not None:
            self.session.sign_out()
        self.audit.close()


def build_security(
    database: Database,
    profiles: ProfileRegistry,
    data_dir: Path,
    *,
    money: Sequence[tuple[object, Mapping[str, Rule]]] = (),
    sign_in_as: str | None = None,
    worker: StoreWorker | None = None,
) -> Security:
    """Build the security services, guard the money services, and sign in `sign_in_as` (sandbox only)."""
    sandbox = profiles.sandbox
    audit = AuditTrail(AuditRepository(database.engine), worker=worker)
    audit.record(Event.AUDIT_STARTED, sandbox=sandbox)
    operators = OperatorService(OperatorRepository(database.engine), audit)
    session = Session(operators)
    if sandbox:
        operators.ensure_demo_operators()
    services = [service for service, _ in money]

    def attribute(operator: Operator | None) -> None:
        # Operations written from now on carry the signed-in operator's login (PCI-7).
        for service in services:
            if hasattr(service, "operator"):
                service.operator = operator.login if operator else ""

    session.listeners.append(attribute)
    for service, actions in money:
        guard_money(service, actions, session, audit)
    settings = SettingsService(data_dir, profiles, session, audit, KeyringSecrets())
    settings.apply_sandbox_overrides()
    if sign_in_as and sandbox:
        operator = operators.repository.by_login(sign_in_as)
        if operator is not None:
            session.adopt(operator)
    security = Security(audit, operators, session, settings, sandbox)
    security.clock.start()
    return security
