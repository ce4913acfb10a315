"""The Alembic migrations: they ship in the package, build exactly schema.py, and refuse newer databases."""

from __future__ import annotations

import io
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect

from terminal.store import NewerDatabaseError
from terminal.store.database import (
    DATABASE_FILE,
    alembic_config,
    head_revision,
    known_revisions,
    open_database,
    upgrade_to_head,
)
from terminal.store.schema import metadata


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'plain.db'}")


def test_migrations_ship_inside_the_package() -> None:
    migrations = files("terminal.store") / "migrations"
    assert (migrations / "env.py").is_file()
    assert (migrations / "versions" / "0001_initial.py").is_file()
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [head_revision()]
    # The head is the newest file in versions/, so a new migration needs no edit here.
    newest = max(p.name.split("_", 1)[0] for p in (migrations / "versions").glob("[0-9]*_*.py"))
    assert head_revision() == newest
    # Start-up reads the revisions without Alembic (store/database.py): they must be Alembic's own.
    assert known_revisions() == {revision.revision for revision in script.walk_revisions()}


def test_migrated_schema_equals_the_metadata(engine: Engine) -> None:
    upgrade_to_head(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, metadata) == []

    # Alembic does not compare CHECK constraints or index columns in detail: do it here.
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        reflected = {c["name"]: str(c["sqltext"]) for c in inspector.get_check_constraints(table.name)}
        declared = {
            str(c.name): str(c.sqltext)
            for c in table.constraints
            if c.__class__.__name__ == "CheckConstraint"
        }
        assert reflected == declared, table.name
        indexes = {str(i["name"]): list(i["column_names"]) for i in inspector.get_indexes(table.name)}
        assert indexes == {str(i.name): [c.name for c in i.columns] for i in table.indexes}, table.name
        columns = inspector.get_columns(table.name)
        assert [c["name"] for c in columns] == [c.name for c in table.columns]
        assert {c["name"]: c["nullable"] for c in columns} == {c.name: c.nullable for c in table.columns}
    engine.dispose()


def test_upgrade_is_idempotent_and_reversible(engine: Engine) -> None:
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade_to_head(engine)
    assert {"transactions", "operations"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    open_database(tmp_path).close()
    engine = create_engine(f"sqlite:///{tmp_path / DATABASE_FILE}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    with pytest.raises(NewerDatabaseError) as caught:
        open_database(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(tmp_path / DATABASE_FILE) in message
    assert "0099" in message


def test_migrations_render_for_postgresql() -> None:
    # Offline mode compiles every statement for PostgreSQL: nothing SQLite-only in the migrations.
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql://terminal@localhost/terminal")
    out = io.StringIO()
    config.output_buffer = out
    command.upgrade(config, "head", sql=True)
    ddl = out.getvalue()
    assert "CREATE TABLE transactions" in ddl
    assert "TIMESTAMP WITH TIME ZONE" in ddl
    assert "card_last4 VARCHAR(4) NOT NULL" in ddl
    assert "CONSTRAINT ck_transactions_card_last4_length CHECK (length(card_last4) <= 4)" in ddl


def test_a_database_at_the_head_opens_without_alembic(tmp_path: Path) -> None:
    # Alembic costs about 0.2 s of every start (docs/BENCHMARKS.md): only a new or older database needs it.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from terminal.store.database import open_database\n"
        "open_database(Path(sys.argv[1])).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # created (and migrated) by Alembic, then opened without it
