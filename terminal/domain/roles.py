"""Roles and what each may do: pure rules, no I/O (SECURITY.md PCI-7, PCI-10; issue 8).

Three roles, each including everything of the one below it:
- clerk: charge, pre-authorise, look up;
- supervisor: + capture, void, refund, payout, invoices, and approving one action for a clerk;
- administrator: + settings, operators, enabling direct card entry.

Clerks sign in with a PIN (4-8 ASCII digits); supervisors and administrators with a password of at
least 12 characters (PCI DSS 8.3.6). The credential rules live here so that the sign-in screen, the
operators screen and the service give the same message for the same mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "MAX_FAILED_ATTEMPTS",
    "MIN_PASSWORD_LENGTH",
    "CredentialError",
    "Operator",
    "Permission",
    "Role",
    "check_credential",
    "check_login",
    "role_of",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
PIN_LENGTHS = (4, 8)
# PCI DSS 8.3.4: lock the ID after at most 10 failed attempts.
MAX_FAILED_ATTEMPTS = 10

_PIN = re.compile(r"^[0-9]{4,8}$")  # ASCII only: str.isdigit() accepts Arabic-Indic digits too
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")


class Permission(StrEnum):
    """One thing an operator may be allowed to do."""

    CHARGE = "charge"
    PREAUTHORISE = "preauthorise"
    LOOK_UP = "look_up"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    PAYOUT = "payout"
    INVOICE = "invoice"
    APPROVE = "approve"
    SETTINGS = "settings"
    OPERATORS = "operators"
    DIRECT_ENTRY = "direct_entry"

    @property
    def label(self) -> str:
        """How the action is named to an operator ('Pre-authorise', 'Direct entry')."""
        return _LABELS[self]


_LABELS = {
    Permission.CHARGE: "Charge",
    Permission.PREAUTHORISE: "Pre-authorise",
    Permission.LOOK_UP: "Look up payments",
    Permission.CAPTURE: "Capture",
    Permission.VOID: "Void",
    Permission.REFUND: "Refund",
    Permission.PAYOUT: "Payout",
    Permission.INVOICE: "Invoices and payment links",
    Permission.APPROVE: "Approve an action for a clerk",
    Permission.SETTINGS: "Change settings",
    Permission.OPERATORS: "Manage operators",
    Permission.DIRECT_ENTRY: "Enable direct card entry",
}

_CLERK = frozenset({Permission.CHARGE, Permission.PREAUTHORISE, Permission.LOOK_UP})
_SUPERVISOR = _CLERK | {
    Permission.CAPTURE,
    Permission.VOID,
    Permission.REFUND,
    Permission.PAYOUT,
    Permission.INVOICE,
    Permission.APPROVE,
}
_ADMINISTRATOR = _SUPERVISOR | {Permission.SETTINGS, Permission.OPERATORS, Permission.DIRECT_ENTRY}


class Role(StrEnum):
    """An operator's role; the value is what the store keeps."""

    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything this role may do."""
        return {Role.CLERK: _CLERK, Role.SUPERVISOR: _SUPERVISOR, Role.ADMINISTRATOR: _ADMINISTRATOR}[self]

    def may(self, permission: Permission) -> bool:
        """True when this role may do `permission` on its own."""
        return permission in self.permissions

    @property
    def uses_pin(self) -> bool:
        """Clerks sign in with a PIN; the other roles with a password."""
        return self is Role.CLERK

    @property
    def label(self) -> str:
        """'Clerk', 'Supervisor', 'Administrator'."""
        return self.value.capitalize()

    @property
    def credential_name(self) -> str:
        """'PIN' or 'Password', as the forms call it."""
        return "PIN" if self.uses_pin else "Password"


class CredentialError(ValueError):
    """A PIN, password or login name that breaks the rules; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def role_of(text: str) -> Role:
    """The role named `text` (its value or label, any case); CredentialError otherwise."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise CredentialError("role", f"Role: choose one of {names}.") from None


def check_credential(role: Role, secret: str) -> str:
    """The PIN or password unchanged if it fits `role`'s rules; CredentialError naming what is wrong."""
    if role.uses_pin:
        if not _PIN.match(secret):
            low, high = PIN_LENGTHS
            raise CredentialError("pin", f"PIN: use {low} to {high} digits (0-9).")
        return secret
    if len(secret) < MIN_PASSWORD_LENGTH:
        raise CredentialError(
            "password",
            f"Password: use at least {MIN_PASSWORD_LENGTH} characters ({len(secret)} typed).",
        )
    if len(secret) > MAX_PASSWORD_LENGTH:
        raise CredentialError("password", f"Password: use at most {MAX_PASSWORD_LENGTH} characters.")
    if secret != secret.strip():
        raise CredentialError("password", "Password: no spaces at the start or the end.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in secret):
        raise CredentialError("password", "Password: control characters are not allowed.")
    return secret


def check_login(text: str) -> str:
    """A login name normalised to lower case: 2-32 of a-z, 0-9, '.', '_', '-'; CredentialError otherwise."""
    login = text.strip().lower()
    if not _LOGIN.match(login):
        raise CredentialError(
            "login", "Login: use 2 to 32 letters, digits, dots, dashes or underscores, starting with one."
        )
    return login


@dataclass(frozen=True, slots=True)
class Operator:
    """A person who signs in to the terminal. `credential_hash` is a slow salted hash, never the secret."""

    id: str
    login: str
    name: str
    role: Role
    credential_hash: str
    created_at: datetime
    updated_at: datetime
    disabled: bool = False
    demo: bool = False
    failed_attempts: int = 0
    locked_until: datetime | None = None

    def may(self, permission: Permission) -> bool:
        """True when this operator's role allows `permission` (a disabled operator may do nothing)."""
        return not self.disabled and self.role.may(permission)

    @property
    def label(self) -> str:
        """'Ada Lovelace (Supervisor)', with 'demo' for the sandbox's demo operators."""
        demo = ", demo" if self.demo else ""
        return f"{self.name} ({self.role.label}{demo})"
