"""Operators: slow salted hashes, PIN and password rules, lockout after ten failures, roles, approvals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.domain.roles import CredentialError, Permission, Role
from terminal.services.audit import Event
from terminal.services.operators import (
    AccessDenied,
    SignInError,
    hash_secret,
    verify_secret,
)
from tests.services.security_fixtures import Security, build_security

ADMIN_PASSWORD = "correct horse battery"
SUPERVISOR_PASSWORD = "supervisor-password"


@pytest.fixture
def sec(tmp_path: Path) -> Iterator[Security]:
    yield from build_security(tmp_path / "data")


def _team(sec: Security) -> None:
    admin = sec.operators.create(None, "ada", "Ada Admin", Role.ADMINISTRATOR, ADMIN_PASSWORD)
    sec.operators.create(admin, "sam", "Sam Supervisor", Role.SUPERVISOR, SUPERVISOR_PASSWORD)
    sec.operators.create(admin, "cleo", "Cleo Clerk", Role.CLERK, "4321")


def test_hashes_are_salted_slow_and_verified() -> None:
    first, second = hash_secret("1234"), hash_secret("1234")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert "1234" not in first
    assert verify_secret("1234", first) and verify_secret("1234", second)
    assert not verify_secret("1235", first)
    assert not verify_secret("1234", "plain")
    assert not verify_secret("1234", "scrypt$x$8$1$AA==$AA==")


def test_no_pin_or_password_reaches_the_database(sec: Security, tmp_path: Path) -> None:
    _team(sec)
    sec.session.sign_in("cleo", "4321")
    sec.database.close()
    for path in (tmp_path / "data").iterdir():
        data = path.read_bytes()
        for secret in (ADMIN_PASSWORD, SUPERVISOR_PASSWORD):
            assert secret.encode() not in data, path


@pytest.mark.parametrize(
    ("role", "secret", "field", "words"),
    [
        (Role.CLERK, "12", "pin", "4 to 8 digits"),
        (Role.CLERK, "١٢٣٤", "pin", "4 to 8 digits"),  # Arabic-Indic digits are not ASCII digits
        (Role.CLERK, "12345678901", "pin", "4 to 8 digits"),
        (Role.SUPERVISOR, "short-pass1", "password", "at least 12 characters (11 typed)"),
        (Role.ADMINISTRATOR, " leading-space-pw", "password", "no spaces"),
    ],
)
def test_credential_rules_name_the_field(
    sec: Security, role: Role, secret: str, field: str, words: str
) -> None:
    admin = sec.operators.create(None, "ada", "Ada Admin", Role.ADMINISTRATOR, ADMIN_PASSWORD)
    with pytest.raises(CredentialError) as caught:
        sec.operators.create(admin, "new-one", "New One", role, secret)
    assert caught.value.field == field
    assert words in caught.value.message


def test_first_administrator_then_only_administrators_create(sec: Security) -> None:
    assert sec.operators.needs_first_administrator()
    with pytest.raises(AccessDenied):
        sec.operators.create(None, "cleo", "Cleo", Role.CLERK, "4321")
    _team(sec)
    assert not sec.operators.needs_first_administrator()
    with pytest.raises(AccessDenied):
        sec.operators.create(None, "eve", "Eve", Role.ADMINISTRATOR, "another-admin-pw")
    sam = sec.operators.authenticate("sam", SUPERVISOR_PASSWORD)
    with pytest.raises(AccessDenied):
        sec.operators.create(sam, "eve", "Eve", Role.CLERK, "9999")
    denied = [r for r in sec.audit.latest() if r.event == Event.ACCESS_DENIED]
    assert [r.operator for r in denied] == ["sam", "nobody", "nobody"]


def test_duplicate_login_is_refused_by_field(sec: Security) -> None:
    _team(sec)
    admin = sec.operators.authenticate("ada", ADMIN_PASSWORD)
    with pytest.raises(CredentialError) as caught:
        sec.operators.create(admin, "CLEO", "Other Cleo", Role.CLERK, "1212")
    assert caught.value.field == "login"


def test_ten_failures_lock_for_thirty_minutes(sec: Security) -> None:
    _team(sec)
    for attempt in range(1, 10):
        with pytest.raises(SignInError, match=f"{10 - attempt} attempts left"):
            sec.operators.authenticate("cleo", "0000")
    with pytest.raises(SignInError, match="locked after 10 failed attempts"):
        sec.operators.authenticate("cleo", "0000")
    # The right PIN does not open a locked operator, even 29 minutes later.
    sec.clock.advance(minutes=29, seconds=59)
    with pytest.raises(SignInError, match="locked"):
        sec.operators.authenticate("cleo", "4321")
    sec.clock.advance(seconds=1)
    assert sec.operators.authenticate("cleo", "4321").login == "cleo"
    events = [(r.event, r.outcome) for r in reversed(sec.audit.latest())]
    assert (Event.LOCKED_OUT.value, "failure") in events
    assert events[-1] == (Event.SIGN_IN.value, "success")


def test_an_administrator_unlocks_early(sec: Security) -> None:
    _team(sec)
    for _ in range(10):
        with pytest.raises(SignInError):
            sec.operators.authenticate("cleo", "0000")
    admin = sec.operators.authenticate("ada", ADMIN_PASSWORD)
    cleo = next(o for o in sec.operators.all() if o.login == "cleo")
    sec.operators.unlock(admin, cleo.id)
    assert sec.operators.authenticate("cleo", "4321").failed_attempts == 0


def test_unknown_login_and_wrong_pin_read_the_same(sec: Security) -> None:
    _team(sec)
    with pytest.raises(SignInError) as unknown:
        sec.operators.authenticate("nobody", "4321")
    with pytest.raises(SignInError) as wrong:
        sec.operators.authenticate("cleo", "0000")
    assert str(unknown.value).split(".")[0] == str(wrong.value).split(".")[0]


def test_disabled_operator_cannot_sign_in_and_last_admin_stays(sec: Security) -> None:
    _team(sec)
    admin = sec.operators.authenticate("ada", ADMIN_PASSWORD)
    cleo = next(o for o in sec.operators.all() if o.login == "cleo")
    sec.operators.update(admin, cleo.id, disabled=True)
    with pytest.raises(SignInError, match="disabled"):
        sec.operators.authenticate("cleo", "4321")
    with pytest.raises(CredentialError, match="yourself"):
        sec.operators.update(admin, admin.id, disabled=True)
    with pytest.raises(CredentialError, match="last enabled administrator"):
        sec.operators.update(admin, admin.id, role=Role.SUPERVISOR)


def test_role_change_between_pin_and_password_needs_a_new_credential(sec: Security) -> None:
    _team(sec)
    admin = sec.operators.authenticate("ada", ADMIN_PASSWORD)
    cleo = next(o for o in sec.operators.all() if o.login == "cleo")
    with pytest.raises(CredentialError) as caught:
        sec.operators.update(admin, cleo.id, role=Role.SUPERVISOR)
    assert caught.value.field == "password"
    promoted = sec.operators.update(admin, cleo.id, role=Role.SUPERVISOR, secret="cleo-now-supervises")
    assert promoted.role is Role.SUPERVISOR
    assert sec.operators.authenticate("cleo", "cleo-now-supervises").role is Role.SUPERVISOR
    changed = sec.audit.latest()[1]
    assert changed.event == Event.OPERATOR_CHANGED and changed.operator == "ada"
    assert json.loads(changed.detail) == {"credential": "changed", "role": "supervisor"}


def test_roles_decide_and_a_supervisor_approves_one_action(sec: Security) -> None:
    _team(sec)
    sec.session.sign_in("cleo", "4321")
    assert sec.session.authorise(Permission.CHARGE) is None
    with pytest.raises(AccessDenied, match="needs a supervisor"):
        sec.session.authorise(Permission.REFUND)
    with pytest.raises(SignInError):
        sec.session.approve(Permission.REFUND, "sam", "wrong-password-xx")
    approver = sec.session.approve(Permission.REFUND, "sam", SUPERVISOR_PASSWORD)
    assert sec.session.authorise(Permission.REFUND) == approver
    with pytest.raises(AccessDenied):  # one action only
        sec.session.authorise(Permission.REFUND)
    with pytest.raises(AccessDenied, match="may not approve"):
        sec.session.approve(Permission.SETTINGS, "sam", SUPERVISOR_PASSWORD)


def test_admin_functions_need_a_fresh_password(sec: Security) -> None:
    _team(sec)
    sec.session.sign_in("ada", ADMIN_PASSWORD)
    with pytest.raises(AccessDenied, match="type your password again"):
        sec.session.authorise(Permission.SETTINGS, step_up=True)
    sec.session.step_up(ADMIN_PASSWORD)
    assert sec.session.authorise(Permission.SETTINGS, step_up=True) is None
    sec.clock.advance(minutes=5, seconds=1)
    with pytest.raises(AccessDenied):
        sec.session.authorise(Permission.SETTINGS, step_up=True)
    failures = [r for r in sec.audit.latest() if r.event == Event.ACCESS_DENIED]
    assert len(failures) == 2 and all(r.outcome == "failure" and r.operator == "ada" for r in failures)


def test_nobody_signed_in_or_locked_may_do_nothing(sec: Security) -> None:
    _team(sec)
    with pytest.raises(AccessDenied, match="Sign in first"):
        sec.session.authorise(Permission.CHARGE)
    sec.session.sign_in("cleo", "4321")
    sec.session.lock()
    with pytest.raises(AccessDenied, match="locked"):
        sec.session.authorise(Permission.CHARGE)
    with pytest.raises(SignInError):
        sec.session.unlock("0000")
    sec.session.unlock("4321")
    assert sec.session.authorise(Permission.CHARGE) is None
    sec.session.sign_out()
    events = [(r.event, r.outcome) for r in reversed(sec.audit.latest())]
    assert events[-5:] == [
        (Event.LOCKED, "success"),
        (Event.ACCESS_DENIED, "failure"),
        (Event.UNLOCKED, "failure"),
        (Event.UNLOCKED, "success"),
        (Event.SIGN_OUT, "success"),
    ]


def test_demo_operators_are_marked(sec: Security) -> None:
    sec.operators.ensure_demo_operators()
    sec.operators.ensure_demo_operators()
    demo = sec.operators.all()
    assert {o.login for o in demo} == {"demo-clerk", "demo-supervisor", "demo-admin"}
    assert all(o.demo and "demo" in o.label for o in demo)
    assert sec.operators.authenticate("demo-clerk", "1111").role is Role.CLERK
