"""History summary columns: each transaction's opening kind and amount and its derived state, indexed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

History filters by state and operation kind, searches and sorts by amount, over a million rows. Those
values come from the journal (the first operation, and the state derived from every operation); reading
them through a join and a derivation per row would scan the whole journal on every keystroke. The
repository rewrites these three columns in the same database transaction as every journal write.
Existing rows are filled here from their journals with the domain's own derivation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

from terminal.domain.ledger import Operation, Transaction
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("opening_kind", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("amount_minor", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("state", sa.String(24), nullable=False, server_default="pending"))
    if not context.is_offline_mode():  # offline (SQL script) mode has no rows to read
        _fill_summaries(op.get_bind())
    with op.batch_alter_table("transactions") as batch:
        batch.alter_column("opening_kind", server_default=None)
        batch.alter_column("amount_minor", server_default=None)
        batch.alter_column("state", server_default=None)
        batch.create_index("ix_transactions_state_created_at", ["state", "created_at"])
        batch.create_index("ix_transactions_opening_kind_created_at", ["opening_kind", "created_at"])
        batch.create_index("ix_transactions_amount_minor", ["amount_minor"])


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_index("ix_transactions_amount_minor")
        batch.drop_index("ix_transactions_opening_kind_created_at")
        batch.drop_index("ix_transactions_state_created_at")
        batch.drop_column("state")
        batch.drop_column("amount_minor")
        batch.drop_column("opening_kind")


def _fill_summaries(conn: sa.Connection) -> None:
    # Plain SQL on the columns as of this revision: later migrations may change the tables' metadata.
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM transactions"))]
    at = datetime.now(UTC)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        rows = conn.execute(
            sa.text(
                "SELECT transaction_id, kind, state, amount_minor, currency FROM operations "
                "WHERE transaction_id IN :ids ORDER BY transaction_id, seq"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": chunk},
        ).all()
        journals: dict[str, list[Operation]] = {}
        for n, (tx_id, kind, state, minor, currency) in enumerate(rows):
            journals.setdefault(tx_id, []).append(
                Operation(
                    f"{tx_id}-{n}", tx_id, OperationKind(kind), Money(int(minor), currency),
                    OperationState(state), f"{tx_id}-{n}", "", at, at,
                )
            )  # fmt: skip
        for tx_id in chunk:
            ops = journals.get(tx_id, [])
            currency = ops[0].amount.currency if ops else "XXX"
            summary = _summary(tx_id, currency, ops) if ops else ("", 0, "pending")
            conn.execute(
                sa.text(
                    "UPDATE transactions SET opening_kind = :k, amount_minor = :a, state = :s WHERE id = :i"
                ),
                {"k": summary[0], "a": summary[1], "s": summary[2], "i": tx_id},
            )


def _summary(tx_id: str, currency: str, ops: list[Operation]) -> tuple[str, int, str]:
    at = ops[0].created_at
    tx = Transaction(tx_id, "", "", "", currency, at, operations=tuple(ops))
    return ops[0].kind.value, ops[0].amount.minor, tx.state.value
