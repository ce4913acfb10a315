"""Operators and the signed-in session: slow salted hashes, lockout, approvals and re-authentication.

- PINs and passwords are kept only as scrypt hashes (salted, memory-hard), compared in constant time.
- Ten failed attempts lock an operator for 30 minutes or until an administrator unlocks it (PCI-9).
- A supervisor approves one action for a clerk by typing their password at the clerk's screen; the
  approval is spent by the next action of that kind and recorded with the approver's name (issue 8).
- Administrative functions (settings, operators, direct entry, audit export) need the administrator to
  type their password again within the last five minutes ("step-up"). This is re-authentication, not a
  second factor: PCI DSS 8.4 MFA would add TOTP or a hardware key on top, which this terminal does not
  ship yet.

Every outcome is audited, failures included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from terminal.domain.roles import (
    MAX_FAILED_ATTEMPTS,
    CredentialError,
    Operator,
    Permission,
    Role,
    check_credential,
    check_login,
)
from terminal.services.audit import AuditTrail, Event
from terminal.store import DuplicateError
from terminal.store.operators import OperatorRepository

__all__ = [
    "DEMO_OPERATORS",
    "LOCKOUT",
    "STEP_UP_VALID",
    "AccessDenied",
    "OperatorService",
    "Session",
    "SignInError",
    "hash_secret",
    "verify_secret",
]

LOCKOUT = timedelta(minutes=30)
STEP_UP_VALID = timedelta(minutes=5)

# scrypt cost: 2**14 x 8 x 1 = 16 MiB and ~50 ms per check, the parameters of the Python docs' example.
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32

# Sandbox only: shown on the sign-in screen, so a fresh sandbox install opens straight away.
DEMO_OPERATORS: tuple[tuple[str, str, Role, str], ...] = (
    ("demo-clerk", "Demo clerk", Role.CLERK, "1111"),
    ("demo-supervisor", "Demo supervisor", Role.SUPERVISOR, "supervisor-demo"),
    ("demo-admin", "Demo admin", Role.ADMINISTRATOR, "administrator-demo"),
)

_DUMMY_HASH = ""  # filled lazily: a hash to check against when the login is unknown (same timing)


def hash_secret(secret: str) -> str:
    """'scrypt$n$r$p$salt$hash' of a PIN or password, with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    enc = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _dummy_hash() -> str:
    global _DUMMY_HASH  # noqa: PLW0603 - computed once, on first use
    if not _DUMMY_HASH:
        _DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))
    return _DUMMY_HASH


class SignInError(ValueError):
    """Sign-in refused; the message is safe to show (it never says which of login or secret was wrong)."""


class AccessDenied(PermissionError):
    """The signed-in operator may not do this; the message says who may.

    `approvable` is True when a supervisor's approval at this screen would allow it (the window then
    offers the approval dialog at once); `permission` names what was refused.
    """

    def __init__(
        self, message: str, *, permission: Permission | None = None, approvable: bool = False
    ) -> None:
        super().__init__(message)
        self.permission = permission
        self.approvable = approvable


class OperatorService:
    """Creating, editing, disabling and authenticating operators."""

    def __init__(
        self,
        repository: OperatorRepository,
        audit: AuditTrail,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repository = repository
        self.audit = audit
        self.now = now

    # -- reading ---------------------------------------------------------------------------------
    def all(self) -> list[Operator]:
        """Every operator, by name."""
        return self.repository.all()

    def needs_first_administrator(self) -> bool:
        """True until an enabled administrator exists (first start on a live profile)."""
        return self.repository.count_active(Role.ADMINISTRATOR) == 0

    # -- creating and editing --------------------------------------------------------------------
    def create(
        self, actor: Operator | None, login: str, name: str, role: Role, secret: str, *, demo: bool = False
    ) -> Operator:
        """A new operator. `actor` must be an administrator, except for the very first administrator."""
        bootstrap = actor is None and role is Role.ADMINISTRATOR and self.needs_first_administrator()
        if not bootstrap and not demo:
            self._require(actor, Permission.OPERATORS, "create operators")
        login = check_login(login)
        name = name.strip()
        if not name:
            raise CredentialError("name", "Name: enter the operator's name.")
        check_credential(role, secret)
        at = self.now()
        operator = Operator(
            id=uuid.uuid4().hex, login=login, name=name, role=role, credential_hash=hash_secret(secret),
            created_at=at, updated_at=at, demo=demo,
        )  # fmt: skip
        try:
            self.repository.add(operator)
        except DuplicateError:
            raise CredentialError("login", f"Login: {login} is already used by another operator.") from None
        self.audit.record(
            Event.OPERATOR_CREATED, target=login, operator=actor.login if actor else "setup",
            role=role.value, name=name, demo=demo,
        )  # fmt: skip
        return operator

    def update(
        self,
        actor: Operator,
        operator_id: str,
        *,
        name: str | None = None,
        role: Role | None = None,
        secret: str | None = None,
        disabled: bool | None = None,
    ) -> Operator:
        """Change an operator; a new role needs a new credential when PIN and password rules differ."""
        self._require(actor, Permission.OPERATORS, "change operators")
        current = self.repository.get(operator_id)
        if current is None:
            raise CredentialError("login", "That operator no longer exists.")
        new_role = role or current.role
        if new_role.uses_pin != current.role.uses_pin and not secret:
            raise CredentialError(
                new_role.credential_name.lower(),
                f"{new_role.credential_name}: a {new_role.label.lower()} needs a new "
                f"{new_role.credential_name.lower()}.",
            )
        changes: dict[str, object] = {}
        if name is not None and name.strip() != current.name:
            if not name.strip():
                raise CredentialError("name", "Name: enter the operator's name.")
            changes["name"] = name.strip()
        if new_role is not current.role:
            changes["role"] = new_role
        if disabled is not None and disabled != current.disabled:
            if disabled and current.id == actor.id:
                raise CredentialError("disabled", "You cannot disable yourself while signed in.")
            changes["disabled"] = disabled
        if secret:
            check_credential(new_role, secret)
            changes.update(credential_hash=hash_secret(secret), failed_attempts=0, locked_until=None)
        leaving_admin = current.role is Role.ADMINISTRATOR and (
            changes.get("role", Role.ADMINISTRATOR) is not Role.ADMINISTRATOR or changes.get("disabled")
        )
        if leaving_admin and self.repository.count_active(Role.ADMINISTRATOR) <= 1:
            raise CredentialError("role", "Role: the last enabled administrator must stay one.")
        if not changes:
            return current
        updated = replace(current, updated_at=self.now(), **changes)  # type: ignore[arg-type]
        self.repository.save(updated)
        # Never the hash itself: only that the credential changed.
        kept = ("name", "role", "disabled")
        shown: dict[str, Any] = {k: str(v) for k, v in changes.items() if k in kept}
        if "credential_hash" in changes:
            shown["credential"] = "changed"
        event = Event.CREDENTIAL_CHANGED if set(shown) == {"credential"} else Event.OPERATOR_CHANGED
        self.audit.record(event, target=current.login, operator=actor.login, **shown)
        return updated

    def unlock(self, actor: Operator, operator_id: str) -> Operator:
        """Lift a lockout before its 30 minutes are over (an administrator confirmed the identity)."""
        self._require(actor, Permission.OPERATORS, "unlock operators")
        current = self.repository.get(operator_id)
        if current is None:
            raise CredentialError("login", "That operator no longer exists.")
        updated = replace(current, failed_attempts=0, locked_until=None, updated_at=self.now())
        self.repository.save(updated)
        self.audit.record(Event.OPERATOR_CHANGED, target=current.login, operator=actor.login, unlocked=True)
        return updated

    def ensure_demo_operators(self) -> None:
        """Create the sandbox's demo operators if they are missing (sandbox mode only)."""
        for login, name, role, secret in DEMO_OPERATORS:
            if self.repository.by_login(login) is None:
                self.create(None, login, name, role, secret, demo=True)

    # -- authenticating --------------------------------------------------------------------------
    def authenticate(self, login: str, secret: str, *, event: Event = Event.SIGN_IN) -> Operator:
        """The operator whose login and PIN/password these are; SignInError (audited) otherwise."""
        try:
            key = check_login(login)
        except CredentialError:
            key = login.strip().lower()[:32]
        operator = self.repository.by_login(key)
        now = self.now()
        if operator is None:
            verify_secret(secret, _dummy_hash())  # same time as a real check: no login enumeration
            self.audit.record(event, success=False, target=key, operator=key or "?", reason="unknown login")
            raise SignInError("Login or PIN/password not recognised.")
        if operator.disabled:
            self.audit.record(event, success=False, target=key, operator=key, reason="disabled")
            raise SignInError("This operator is disabled; ask an administrator.")
        if operator.locked_until is not None and now < operator.locked_until:
            self.audit.record(event, success=False, target=key, operator=key, reason="locked out")
            raise SignInError(_locked_message(operator.locked_until))
        if not verify_secret(secret, operator.credential_hash):
            failures = operator.failed_attempts + 1
            locked = now + LOCKOUT if failures >= MAX_FAILED_ATTEMPTS else None
            self.repository.save(
                replace(operator, failed_attempts=0 if locked else failures, locked_until=locked)
            )
            self.audit.record(event, success=False, target=key, operator=key, reason="wrong secret",
                              attempt=failures)  # fmt: skip
            if locked is not None:
                self.audit.record(Event.LOCKED_OUT, success=False, target=key, operator=key,
                                  until=locked.isoformat())  # fmt: skip
                raise SignInError(_locked_message(locked))
            left = MAX_FAILED_ATTEMPTS - failures
            raise SignInError(f"Login or PIN/password not recognised. {left} attempts left before lockout.")
        if operator.failed_attempts or operator.locked_until:
            operator = replace(operator, failed_attempts=0, locked_until=None)
            self.repository.save(operator)
        self.audit.record(event, target=key, operator=key, role=operator.role.value)
        return operator

    def _require(self, actor: Operator | None, permission: Permission, what: str) -> None:
        if actor is None or not actor.may(permission):
            who = actor.login if actor else "nobody"
            self.audit.record(Event.ACCESS_DENIED, success=False, operator=who, permission=permission.value)
            raise AccessDenied(f"Only an administrator may {what}.")


def _locked_message(until: datetime) -> str:
    local = until.astimezone()
    return (
        f"This operator is locked after {MAX_FAILED_ATTEMPTS} failed attempts until {local:%H:%M}, "
        "or until an administrator unlocks it."
    )


class Session:
    """Who is signed in now, their one-shot approvals, and when they last re-authenticated."""

    def __init__(self, operators: OperatorService) -> None:
        self.operators = operators
        self.audit = operators.audit
        self.current: Operator | None = None
        self.locked = False
        self._approvals: dict[Permission, Operator] = {}
        self._stepped_up_at: datetime | None = None
        self.listeners: list[Callable[[Operator | None], None]] = []
        self.audit.operator = lambda: self.current.login if self.current else ""

    @property
    def login(self) -> str:
        """The signed-in operator's login ('' when nobody)."""
        return self.current.login if self.current else ""

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener(self.current)

    def sign_in(self, login: str, secret: str) -> Operator:
        """Authenticate and make that operator the current one; SignInError otherwise."""
        operator = self.operators.authenticate(login, secret)
        self.current, self.locked = operator, False
        self._approvals.clear()
        self._stepped_up_at = None
        self._changed()
        return operator

    def adopt(self, operator: Operator) -> None:
        """Make an already-authenticated operator current (start-up of a sandbox or test session)."""
        self.current, self.locked = operator, False
        self.audit.record(Event.SIGN_IN, target=operator.login, operator=operator.login, how="sandbox")
        self._changed()

    def sign_out(self) -> None:
        """End the session (audited)."""
        if self.current is not None:
            self.audit.record(Event.SIGN_OUT, target=self.current.login)
        self.current, self.locked = None, False
        self._approvals.clear()
        self._stepped_up_at = None
        self._changed()

    def lock(self, reason: str = "idle") -> None:
        """Lock the screen: the operator stays, but must type their PIN/password again."""
        if self.current is not None and not self.locked:
            self.locked = True
            self._approvals.clear()
            self._stepped_up_at = None
            self.audit.record(Event.LOCKED, target=self.current.login, reason=reason)

    def unlock(self, secret: str) -> None:
        """Unlock with the current operator's PIN/password; SignInError (audited) otherwise."""
        if self.current is None:
            raise SignInError("Nobody is signed in.")
        self.current = self.operators.authenticate(self.current.login, secret, event=Event.UNLOCKED)
        self.locked = False

    def approve(self, permission: Permission, login: str, password: str) -> Operator:
        """A supervisor or administrator approves the next `permission` action of the current operator."""
        approver = self.operators.authenticate(login, password, event=Event.APPROVAL)
        if not approver.may(permission) or not approver.may(Permission.APPROVE):
            self.audit.record(Event.APPROVAL, success=False, target=approver.login,
                              permission=permission.value, reason="may not approve")  # fmt: skip
            raise AccessDenied(f"{approver.name} may not approve: {permission.label}.")
        self._approvals[permission] = approver
        self.audit.record(Event.APPROVAL, target=approver.login, permission=permission.value,
                          approver=approver.login)  # fmt: skip
        return approver

    def step_up(self, password: str) -> None:
        """The current operator types their password again, for the administrative action that follows."""
        if self.current is None:
            raise SignInError("Nobody is signed in.")
        self.current = self.operators.authenticate(self.current.login, password, event=Event.STEP_UP)
        self._stepped_up_at = self.operators.now()

    def stepped_up(self) -> bool:
        """True within five minutes of the last successful step-up."""
        at = self._stepped_up_at
        return at is not None and self.operators.now() - at <= STEP_UP_VALID

    def authorise(self, permission: Permission, *, step_up: bool = False) -> Operator | None:
        """Check that the current operator may do `permission` now; returns the approver, if one was used.

        AccessDenied (audited) when nobody is signed in, the screen is locked, the role does not allow it
        and no approval is waiting, or a step-up is needed and has not happened.
        """
        who = self.current
        reason = ""
        approvable = False
        if who is None:
            reason = "Sign in first."
        elif self.locked:
            reason = "The screen is locked; sign in again."
        elif who.may(permission):
            if step_up and not self.stepped_up():
                reason = f"{permission.label}: type your password again to confirm."
            else:
                return None
        elif permission in self._approvals:
            return self._approvals.pop(permission)
        elif not Role.SUPERVISOR.may(permission):
            reason = f"{permission.label}: for administrators only."
        else:
            reason = f"{permission.label} needs a supervisor; ask one to approve it at this screen."
            approvable = True
        self.audit.record(Event.ACCESS_DENIED, success=False, permission=permission.value, reason=reason)
        raise AccessDenied(reason, permission=permission, approvable=approvable)
