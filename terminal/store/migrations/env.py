"""Alembic environment: run by `terminal.store.database.upgrade_to_head` with an open connection.

There is no alembic.ini: the configuration is built in code (`database.alembic_config`) and the
connection to migrate is passed in `config.attributes["connection"]`, inside the caller's transaction.
Offline mode (`--sql`) renders the DDL for a DBA when a URL is set as `sqlalchemy.url`.
"""

from __future__ import annotations

from alembic import context

from terminal.store.schema import metadata

config = context.config


def run_offline() -> None:
    """Write the migration SQL instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate the connection handed over by the caller."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("Run migrations through terminal.store.database.upgrade_to_head(engine).")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER much: later migrations rebuild tables in batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
