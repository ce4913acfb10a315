"""Initial schema: transactions and their journal of operations.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written by hand and frozen: it does not import schema.py, so a later change to the tables needs a new
revision (tests/unit/test_migrations.py fails until schema.py and the migrations agree). Names are
wrapped in op.f() so that the naming convention env.py hands to Alembic is not applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("merchant_reference", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("customer_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("card_brand", sa.String(32), nullable=False),
        sa.Column("card_first6", sa.String(6), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("card_expiry", sa.String(5), nullable=False),
        sa.Column("card_token", sa.Text(), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint(
            "gateway",
            "profile",
            "merchant_reference",
            name=op.f("uq_transactions_gateway_profile_merchant_reference"),
        ),
        sa.CheckConstraint("length(card_first6) <= 6", name=op.f("ck_transactions_card_first6_length")),
        sa.CheckConstraint("length(card_last4) <= 4", name=op.f("ck_transactions_card_last4_length")),
        sa.CheckConstraint("length(card_expiry) <= 5", name=op.f("ck_transactions_card_expiry_length")),
        sa.CheckConstraint("length(card_brand) <= 32", name=op.f("ck_transactions_card_brand_length")),
    )
    op.create_index(op.f("ix_transactions_created_at_id"), "transactions", ["created_at", "id"])
    op.create_index(op.f("ix_transactions_merchant_reference"), "transactions", ["merchant_reference"])
    op.create_index(op.f("ix_transactions_card_last4"), "transactions", ["card_last4"])
    op.create_index(op.f("ix_transactions_customer_name"), "transactions", ["customer_name"])
    op.create_index(op.f("ix_transactions_customer_id"), "transactions", ["customer_id"])

    op.create_table(
        "operations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("merchant_reference", sa.String(128), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("gateway_reference", sa.Text(), nullable=False),
        sa.Column("approval_code", sa.Text(), nullable=False),
        sa.Column("decline_code", sa.String(32), nullable=True),
        sa.Column("gateway_code", sa.Text(), nullable=False),
        sa.Column("gateway_message", sa.Text(), nullable=False),
        sa.Column("avs_result", sa.Text(), nullable=False),
        sa.Column("cvc_result", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_operations_transaction_id_transactions")
        ),
        sa.UniqueConstraint("transaction_id", "seq", name=op.f("uq_operations_transaction_id_seq")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_operations_idempotency_key")),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_operations_seq_positive")),
    )
    op.create_index(op.f("ix_operations_state_created_at"), "operations", ["state", "created_at"])
    op.create_index(op.f("ix_operations_gateway_reference"), "operations", ["gateway_reference"])


def downgrade() -> None:
    op.drop_table("operations")
    op.drop_table("transactions")
