"""The operator repository: operators in and out of the `operators` table, as domain objects.

Only a hash of a PIN or password ever reaches it (the service hashes). Every write is one short, committed
database transaction; methods are synchronous and run from the services' executor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from terminal.domain.roles import Operator, Role
from terminal.store import DuplicateError, InvalidRecordError, NotFoundError
from terminal.store.database import writer
from terminal.store.schema import operators

__all__ = ["OperatorRepository"]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidRecordError(f"operator {what}: a time without a time zone is not stored")
    return value.astimezone(UTC)


def _row(op: Operator) -> dict[str, Any]:
    if op.credential_hash.isdigit() or not op.credential_hash.startswith("scrypt$"):
        # A PIN or password in clear would otherwise sit in the database (PCI DSS 8.3.2).
        raise InvalidRecordError(f"operator {op.login}: only a hashed credential is stored")
    return {
        "id": op.id,
        "login": op.login,
        "name": op.name,
        "role": op.role.value,
        "credential_hash": op.credential_hash,
        "disabled": op.disabled,
        "demo": op.demo,
        "failed_attempts": op.failed_attempts,
        "locked_until": None if op.locked_until is None else _aware(op.locked_until, "lock time"),
        "created_at": _aware(op.created_at, "creation time"),
        "updated_at": _aware(op.updated_at, "update time"),
    }


def _operator(row: Row[Any]) -> Operator:
    created, updated = _utc(row.created_at), _utc(row.updated_at)
    assert created is not None and updated is not None  # NOT NULL columns
    return Operator(
        id=row.id,
        login=row.login,
        name=row.name,
        role=Role(row.role),
        credential_hash=row.credential_hash,
        created_at=created,
        updated_at=updated,
        disabled=bool(row.disabled),
        demo=bool(row.demo),
        failed_attempts=int(row.failed_attempts),
        locked_until=_utc(row.locked_until),
    )


class OperatorRepository:
    """Operators stored through SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, op: Operator) -> None:
        """Store a new operator; DuplicateError when the login is taken."""
        try:
            with writer(self.engine).begin() as conn:
                conn.execute(insert(operators).values(**_row(op)))
        except IntegrityError:
            raise DuplicateError(f"the login {op.login!r} is already used by another operator") from None

    def save(self, op: Operator) -> None:
        """Write every field of an existing operator; NotFoundError when absent."""
        values = _row(op)
        values.pop("id")
        values.pop("created_at")
        try:
            with writer(self.engine).begin() as conn:
                done = conn.execute(update(operators).where(operators.c.id == op.id).values(**values))
        except IntegrityError:
            raise DuplicateError(f"the login {op.login!r} is already used by another operator") from None
        if done.rowcount != 1:
            raise NotFoundError(f"no operator {op.id}")

    def get(self, operator_id: str) -> Operator | None:
        """The operator with this id, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(operators).where(operators.c.id == operator_id)).first()
        return None if row is None else _operator(row)

    def by_login(self, login: str) -> Operator | None:
        """The operator with this login (already normalised to lower case), if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(operators).where(operators.c.login == login)).first()
        return None if row is None else _operator(row)

    def all(self) -> list[Operator]:
        """Every operator, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(operators).order_by(operators.c.name, operators.c.login)).all()
        return [_operator(row) for row in rows]

    def count_active(self, role: Role | None = None) -> int:
        """How many operators are enabled (of `role`, when given)."""
        query = select(func.count()).select_from(operators).where(operators.c.disabled.is_(False))
        if role is not None:
            query = query.where(operators.c.role == role.value)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
