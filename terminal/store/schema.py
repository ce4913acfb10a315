"""The tables, in SQLAlchemy Core: `transactions` and their append-only journal of `operations`.

Sizing rules:
- Bounded `String(n)` for what we generate or validate (ids, enum values, currency, gateway and profile
  names) and for the card columns, whose sizes are the point: brand, first six, last four, MM/YY expiry.
  A full card number does not fit, and CHECK constraints enforce the lengths on SQLite too (SQLite
  ignores VARCHAR lengths). There is no column for a card number, a CVC or track data (ARCH-3, PCI-1/2).
- `Text` for whatever a gateway or a clerk supplies (gateway references, codes, messages, names), so
  that writing an outcome can never fail on a length limit on PostgreSQL.
- Timestamps are `DateTime(timezone=True)`, always written in UTC: timestamptz on PostgreSQL, fixed-width
  ISO text on SQLite (which therefore sorts chronologically); the repository restores tzinfo on read.
- Enums are stored as their string values, not database enum types, so adding a value needs no migration.

Indexes serve the history screen and reconciliation; b-tree indexes are read backwards for "newest
first" on both SQLite and PostgreSQL, so plain ascending indexes suffice. The schema is created by the
migration `versions/0001_initial.py`; a test checks both stay identical.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Deterministic constraint names, so later migrations (batch mode on SQLite) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64
CARD_BRAND_LENGTH = 32
CARD_FIRST6_LENGTH = 6
CARD_LAST4_LENGTH = 4
CARD_EXPIRY_LENGTH = 5  # MM/YY

metadata = MetaData(naming_convention=NAMING_CONVENTION)

transactions = Table(
    "transactions",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
    Column("gateway", String(64), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("merchant_reference", String(128), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("card_brand", String(CARD_BRAND_LENGTH), nullable=False),
    Column("card_first6", String(CARD_FIRST6_LENGTH), nullable=False),
    Column("card_last4", String(CARD_LAST4_LENGTH), nullable=False),
    Column("card_expiry", String(CARD_EXPIRY_LENGTH), nullable=False),
    Column("card_token", Text, nullable=False),
    Column("sandbox", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Pay-by-link and invoices (migration 0002): the customer's link, its recipient and its expiry.
    Column("link_url", Text, nullable=False),
    Column("customer_email", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    # The history's summary of the journal (migration 0003), rewritten with every operation write so that
    # History filters and sorts a million rows by index: the opening kind and amount, the derived state.
    Column("opening_kind", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("state", String(24), nullable=False),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("gateway", "profile", "merchant_reference"),
    CheckConstraint(f"length(card_first6) <= {CARD_FIRST6_LENGTH}", name="card_first6_length"),
    CheckConstraint(f"length(card_last4) <= {CARD_LAST4_LENGTH}", name="card_last4_length"),
    CheckConstraint(f"length(card_expiry) <= {CARD_EXPIRY_LENGTH}", name="card_expiry_length"),
    CheckConstraint(f"length(card_brand) <= {CARD_BRAND_LENGTH}", name="card_brand_length"),
)
Index(None, transactions.c.created_at, transactions.c.id)
Index(None, transactions.c.merchant_reference)
Index(None, transactions.c.card_last4)
Index(None, transactions.c.customer_name)
Index(None, transactions.c.customer_id)
Index(None, transactions.c.state, transactions.c.created_at)  # History filtered by state (migration 0003)
Index(None, transactions.c.opening_kind, transactions.c.created_at)
Index(None, transactions.c.amount_minor)  # search and sort by amount

operations = Table(
    "operations",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
    Column("transaction_id", String(ID_LENGTH), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("idempotency_key", String(ID_LENGTH), nullable=False),
    Column("merchant_reference", String(128), nullable=False),
    Column("operator", Text, nullable=False),
    Column("gateway_reference", Text, nullable=False),
    Column("approval_code", Text, nullable=False),
    Column("decline_code", String(32), nullable=True),
    Column("gateway_code", Text, nullable=False),
    Column("gateway_message", Text, nullable=False),
    Column("avs_result", Text, nullable=False),
    # The gateway's verdict on the CVC check (match / no match / not checked), never the CVC itself.
    Column("cvc_result", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id"),
    ForeignKeyConstraint(["transaction_id"], ["transactions.id"]),
    UniqueConstraint("transaction_id", "seq"),  # also the index for loading a journal in order
    UniqueConstraint("idempotency_key"),
    CheckConstraint("seq >= 1", name="seq_positive"),
)
Index(None, operations.c.state, operations.c.created_at)  # "needs resolution", oldest first
Index(None, operations.c.gateway_reference)

# Operators and the audit trail (migration 0004). An operator's PIN or password is kept only as
# a slow salted hash (scrypt); `failed_attempts` and `locked_until` carry the lockout of PCI DSS 8.3.4.
operators = Table(
    "operators",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
    Column("login", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("credential_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("demo", Boolean, nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id"),
    UniqueConstraint("login"),
)

# Append-only and hash-chained: each entry stores the hash of the one before (PCI-12). `seq` is assigned
# by the repository under the write lock, so the chain order is the commit order.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, nullable=False, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("operator", Text, nullable=False),
    Column("event", String(48), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("origin", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("seq"),
)
Index(None, audit_log.c.at)
