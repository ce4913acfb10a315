"""The Alembic chain on a real PostgreSQL server: it builds exactly schema.py, reverses, and two terminals
starting at once on an empty database migrate it once."""

from __future__ import annotations

import re
import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL

from terminal.store.database import Database, alembic_config, head_revision, open_database, upgrade_to_head
from terminal.store.schema import metadata


def _check_text(sql: str) -> str:
    # PostgreSQL reflects `length(card_last4) <= 4` as `(length((card_last4)::text) <= 4)`.
    return re.sub(r"[()\s]", "", sql.replace("::text", ""))


def test_full_chain_builds_exactly_the_metadata(fresh_url: URL) -> None:
    engine = create_engine(fresh_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == (head_revision(),)
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) == {t.name for t in metadata.sorted_tables} | {
            "alembic_version"
        }
        for table in metadata.sorted_tables:
            reflected = {
                c["name"]: _check_text(str(c["sqltext"])) for c in inspector.get_check_constraints(table.name)
            }
            declared = {
                str(c.name): _check_text(str(c.sqltext))
                for c in table.constraints
                if c.__class__.__name__ == "CheckConstraint"
            }
            assert reflected == declared, table.name
            indexes = {  # PostgreSQL also lists the index behind each unique constraint: not ours
                str(i["name"]): list(i["column_names"])
                for i in inspector.get_indexes(table.name)
                if not i.get("duplicates_constraint")
            }
            assert indexes == {str(i.name): [c.name for c in i.columns] for i in table.indexes}, table.name
            columns = inspector.get_columns(table.name)
            assert [c["name"] for c in columns] == [c.name for c in table.columns]
            assert {c["name"]: c["nullable"] for c in columns} == {c.name: c.nullable for c in table.columns}
            # No server default survives the migrations: the repository writes every column.
            assert {c["name"]: c.get("default") for c in columns if c.get("default")} == {}, table.name
        for table, column in (
            ("operations", "updated_at"),
            ("transactions", "created_at"),
            ("audit_log", "at"),
        ):
            reflected_type = next(c["type"] for c in inspector.get_columns(table) if c["name"] == column)
            assert reflected_type.timezone is True, f"{table}.{column} must be timestamptz"
    finally:
        engine.dispose()


def test_chain_is_reversible_and_idempotent(fresh_url: URL) -> None:
    engine = create_engine(fresh_url)
    try:
        upgrade_to_head(engine)
        upgrade_to_head(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade_to_head(engine)
        assert {"transactions", "operations", "audit_log"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_two_terminals_starting_at_once_migrate_once(fresh_url: URL) -> None:
    opened: list[Database] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def open_one() -> None:
        start.wait(timeout=10)
        try:
            opened.append(open_database(url=fresh_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == [] and len(opened) == 3
        with opened[0].engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head_revision()]
    finally:
        for database in opened:
            database.close()


def test_a_wrong_password_is_one_line_without_the_password(fresh_url: URL) -> None:
    import pytest

    from terminal.store import StoreError

    wrong = fresh_url.set(username="mt_no_such_role", password="s3cret-never-shown")
    with pytest.raises(StoreError) as caught:
        open_database(url=wrong)
    message = str(caught.value)
    assert "\n" not in message and "s3cret-never-shown" not in message
    assert "mt_no_such_role" in message
