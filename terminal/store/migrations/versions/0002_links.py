"""Pay-by-link and invoices: where the customer pays, who received it, and until when.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Three columns on `transactions`, empty for card payments: the link's address (shown again as a QR code
and in the list of open links), the customer's e-mail it was sent to, and when the gateway expires it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("link_url", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("customer_email", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # The default only filled the existing rows; the repository writes every column from now on.
    with op.batch_alter_table("transactions") as batch:
        batch.alter_column("link_url", server_default=None)
        batch.alter_column("customer_email", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("customer_email")
        batch.drop_column("link_url")
