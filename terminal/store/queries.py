"""History queries: the filtered, sorted, paged view of the transactions table.

Built for a million rows: every page is a keyset query (`WHERE (sort key, id) beyond the last row
seen ORDER BY sort key, id LIMIT n`) over the summary columns that the repository keeps with every
journal write (opening kind, amount, derived state; migration 0003), so a page never reads the
journal and never skips rows with OFFSET. Counting is capped (`count_upto`): the screen says
"10,000+" rather than scanning every matching row on each keystroke.
"""

from __future__ import annotations

import string
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from terminal.domain.ledger import TransactionState
from terminal.domain.money import Money, MoneyError, exponent, known_currencies, parse_amount
from terminal.domain.operations import OperationKind
from terminal.store.schema import CARD_LAST4_LENGTH, operations, transactions
from terminal.store.transactions import TransactionRow

__all__ = ["HistoryQueries", "HistoryQuery", "SortKey"]


class SortKey(StrEnum):
    """The columns History sorts by (the server sorts; the model never sorts in memory)."""

    DATE = "date"
    REFERENCE = "reference"
    GATEWAY = "gateway"
    KIND = "kind"
    AMOUNT = "amount"
    STATE = "state"
    CARD = "card"
    CUSTOMER = "customer"


_SORT_COLUMNS: dict[SortKey, tuple[Any, ...]] = {
    SortKey.DATE: (transactions.c.created_at,),
    SortKey.REFERENCE: (transactions.c.merchant_reference,),
    SortKey.GATEWAY: (transactions.c.profile,),
    SortKey.KIND: (transactions.c.opening_kind,),
    # Amounts of different currencies are not comparable: group by currency, then by amount.
    SortKey.AMOUNT: (transactions.c.currency, transactions.c.amount_minor),
    SortKey.STATE: (transactions.c.state,),
    SortKey.CARD: (transactions.c.card_brand, transactions.c.card_last4),
    SortKey.CUSTOMER: (transactions.c.customer_name,),
}


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What History shows: search text, filters and sort order; the dates are an instant range [from, to)."""

    search: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    profiles: tuple[str, ...] = ()
    states: tuple[TransactionState, ...] = ()
    kinds: tuple[OperationKind, ...] = ()
    sort: SortKey = SortKey.DATE
    descending: bool = True
    # Filled by the screen for display only; never part of the SQL.
    label: str = field(default="", compare=False)


def sort_values(row: TransactionRow, sort: SortKey) -> tuple[Any, ...]:
    """The keyset position of `row` under `sort`, matching `_SORT_COLUMNS` (then the id)."""
    values: dict[SortKey, tuple[Any, ...]] = {
        SortKey.DATE: (_stored_time(row.created_at),),
        SortKey.REFERENCE: (row.merchant_reference,),
        SortKey.GATEWAY: (row.profile,),
        SortKey.KIND: (row.kind.value if row.kind else "",),
        SortKey.AMOUNT: (row.amount.currency, row.amount.minor),
        SortKey.STATE: (row.state.value,),
        SortKey.CARD: (row.card_brand, row.card_last4),
        SortKey.CUSTOMER: (row.customer_name,),
    }
    return (*values[sort], row.id)


class HistoryQueries:
    """Read-only history queries on the store (synchronous: services run them off the UI thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._customers = _CustomerValues()

    def warm(self) -> None:
        """Read the distinct customer names and ids now (at start-up, off the UI thread), not at a search."""
        with self._engine.connect() as conn:
            self._customers.matching(conn, "")

    def _conditions(self, conn: Connection, query: HistoryQuery) -> list[ColumnElement[bool]]:
        text = query.search.strip()
        customers = self._customers.matching(conn, text.lower()) if text else None
        return conditions(query, customers, binary_order=conn.dialect.name == "sqlite")

    def page(self, query: HistoryQuery, after: TransactionRow | None, limit: int) -> list[TransactionRow]:
        """Up to `limit` rows in `query`'s order, starting after `after` (from the first row when None)."""
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(self._page_statement(conn, query, after, limit))]

    def _page_statement(
        self, conn: Connection, query: HistoryQuery, after: TransactionRow | None, limit: int
    ) -> Select[Any]:
        keys = [*_SORT_COLUMNS[query.sort], transactions.c.id]
        statement = select(*_ROW_COLUMNS).where(*self._conditions(conn, query))
        if after is not None:
            position = sort_values(after, query.sort)
            beyond = (
                tuple_(*keys) < tuple_(*position) if query.descending else tuple_(*keys) > tuple_(*position)
            )
            statement = statement.where(beyond)
        order = [key.desc() if query.descending else key.asc() for key in keys]
        return statement.order_by(*order).limit(max(limit, 0))

    def count_upto(self, query: HistoryQuery, cap: int) -> int:
        """How many rows match, counting at most `cap + 1` (a result above `cap` means "more than cap")."""
        with self._engine.connect() as conn:
            inner = select(transactions.c.id).where(*self._conditions(conn, query)).limit(cap + 1).subquery()
            return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

    def iterate(self, query: HistoryQuery, chunk: int) -> Iterator[list[TransactionRow]]:
        """Every matching row in `query`'s order, `chunk` rows at a time (for export)."""
        after: TransactionRow | None = None
        while True:
            rows = self.page(query, after, chunk)
            if rows:
                yield rows
            if len(rows) < chunk:
                return
            after = rows[-1]


_ROW_COLUMNS = (
    transactions.c.id,
    transactions.c.created_at,
    transactions.c.merchant_reference,
    transactions.c.gateway,
    transactions.c.profile,
    transactions.c.currency,
    transactions.c.amount_minor,
    transactions.c.state,
    transactions.c.opening_kind,
    transactions.c.card_brand,
    transactions.c.card_last4,
    transactions.c.customer_name,
    transactions.c.sandbox,
)


def _row(r: Any) -> TransactionRow:  # a Row of _ROW_COLUMNS
    created = r.created_at
    return TransactionRow(
        id=r.id,
        created_at=created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC),
        merchant_reference=r.merchant_reference,
        gateway=r.gateway,
        profile=r.profile,
        amount=Money(int(r.amount_minor), r.currency),
        state=TransactionState(r.state),
        kind=OperationKind(r.opening_kind) if r.opening_kind else None,
        card_brand=r.card_brand,
        card_last4=r.card_last4,
        customer_name=r.customer_name,
        sandbox=bool(r.sandbox),
    )


def conditions(
    query: HistoryQuery, customers: dict[str, list[str]] | None = None, *, binary_order: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of `query` (filters and search), for pages, counts and export alike.

    `customers` are the customer names and ids (by column) that contain the search text, when known;
    otherwise the query finds them itself. `binary_order`: text sorts by code point (SQLite's BINARY),
    so a reference prefix can be looked up by index ranges; a linguistic collation (PostgreSQL's
    usual one) orders text otherwise, and the prefix is then tested row by row."""
    where: list[ColumnElement[bool]] = []
    if query.date_from is not None:
        where.append(transactions.c.created_at >= _stored_time(query.date_from))
    if query.date_to is not None:
        where.append(transactions.c.created_at < _stored_time(query.date_to))
    if query.profiles:
        where.append(transactions.c.profile.in_(query.profiles))
    if query.states:
        where.append(transactions.c.state.in_([state.value for state in query.states]))
    if query.kinds:
        where.append(transactions.c.opening_kind.in_([kind.value for kind in query.kinds]))
    text = query.search.strip()
    if text:
        where.append(or_(*_search_matches(text, customers, binary_order)))
    return where


def _search_matches(
    text: str, customers: dict[str, list[str]] | None, binary_order: bool
) -> list[ColumnElement[bool]]:
    """The search terms (any one matches), each able to use an index.

    Both forms below match the same rows; they differ in the plan they lead SQLite to. Text with a digit
    (an order or gateway reference, a last four, an amount, a customer id) usually matches a handful of
    a million rows: one `id IN (lookups)` finds them through the indexes. Text without one (a name)
    usually matches many: the terms are tested row by row down the date index until a page is full.
    """
    lowered = text.lower()
    t = transactions
    matches: list[ColumnElement[bool]] = [
        and_(
            or_(*_prefix_ranges(t.c.merchant_reference, text)) if binary_order else true(),
            func.lower(t.c.merchant_reference).startswith(lowered, autoescape=True),
        ),
        *(
            column.in_(customers[column.name] if customers else _distinct_containing(column, lowered))
            for column in (t.c.customer_name, t.c.customer_id)
        ),
        t.c.id.in_(select(operations.c.transaction_id).where(operations.c.gateway_reference == text)),
    ]
    if len(text) == CARD_LAST4_LENGTH and text.isascii() and text.isdigit():
        matches.append(t.c.card_last4 == text)
    matches.extend(_amount_matches(text))
    if not any(char.isdigit() for char in text):
        return matches
    return [t.c.id.in_(union_all(*(select(t.c.id).where(match) for match in matches)))]


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_MANY = 500  # more matching customers than this: the query selects them itself (bound parameter limits)


class _CustomerValues:
    """The distinct customer names and ids, kept in memory and read again only for new rows (SQLite).

    Customers repeat across their payments, and a transaction's customer never changes nor is a
    transaction deleted, so the values of rows up to the highest rowid seen stay valid. Matching them
    here (as SQLite's lower() and LIKE do: ASCII letters folded) spares every search a scan of the
    customer indexes. On other databases, and once the store has more than `LIMIT` distinct values in a
    column (memory: every customer a stranger), `matching` returns None and the query does it.
    """

    _COLUMNS = (transactions.c.customer_name, transactions.c.customer_id)
    LIMIT = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0
        self._given_up = False
        # Per column: each value folded as SQLite folds it (the search's form), and the value itself.
        self._values: dict[str, dict[str, str]] = {column.name: {} for column in self._COLUMNS}

    def matching(self, conn: Connection, lowered: str) -> dict[str, list[str]] | None:
        """Names and ids containing `lowered`, by column; None when not known here or too many."""
        if conn.dialect.name != "sqlite" or self._given_up:
            return None
        with self._lock:
            top = int(conn.exec_driver_sql("SELECT max(rowid) FROM transactions").scalar() or 0)
            if top > self._seen:
                for column in self._COLUMNS:
                    statement = select(column).distinct()
                    if self._seen:
                        statement = statement.where(literal_column("rowid") > self._seen)
                    known = self._values[column.name]
                    for value in conn.execute(statement).scalars():
                        known[value] = value.translate(_ASCII_LOWER)
                self._seen = top
                if any(len(values) > self.LIMIT for values in self._values.values()):
                    self._given_up = True
                    self._values = {}
                    return None
            found = {
                name: [value for value, folded in values.items() if lowered in folded]
                for name, values in self._values.items()
            }
        return None if any(len(values) > _MANY for values in found.values()) else found


# Case variants of at most this many leading ASCII letters become index ranges (2**6 at most).
_CASE_LETTERS = 6


def _prefix_ranges(column: Any, text: str) -> list[ColumnElement[bool]]:
    """Index ranges holding every value whose SQL lower() starts with `text` lowered (SQLite folds ASCII
    only): one range per upper/lower spelling of the leading letters; the caller filters exactly."""
    prefix, letters = "", 0
    for char in text.lower():
        if char.isascii() and char.isalpha():
            if letters == _CASE_LETTERS:
                break
            letters += 1
        prefix += char
    spellings = [""]
    for char in prefix:
        cases = (char, char.upper()) if char.isascii() and char.isalpha() else (char,)
        spellings = [done + case for done in spellings for case in cases]
    return [and_(column >= s, column < s + "\U0010ffff") for s in spellings]


def _distinct_containing(column: Any, lowered: str) -> Any:
    """The distinct values of an indexed `column` containing `lowered`: customers repeat across their
    payments, so reading each value once (a skip-ahead index scan) is far cheaper than every row."""
    values = (
        select(column.label("value")).distinct().cte(f"distinct_{column.name}").prefix_with("MATERIALIZED")
    )
    return select(values.c.value).where(func.lower(values.c.value).contains(lowered, autoescape=True))


def _amount_matches(text: str) -> list[ColumnElement[bool]]:
    """'12.50' matches 12.50 in every two-decimal currency, '1.250' 1.250 OMR, '15000' 15000 CLP, ..."""
    matches: list[ColumnElement[bool]] = []
    for digits, currencies in _currencies_by_exponent().items():
        try:
            minor = parse_amount(text, currencies[0]).minor
        except MoneyError:
            continue
        if digits == _COMMON_EXPONENT:
            # Most currencies have two decimals: name the few that do not instead of the many that do.
            others = [c for d, cs in _currencies_by_exponent().items() if d != digits for c in cs]
            in_currency: ColumnElement[bool] = transactions.c.currency.notin_(others)
        else:
            in_currency = transactions.c.currency.in_(currencies)
        matches.append(and_(transactions.c.amount_minor == minor, in_currency))
    return matches


_COMMON_EXPONENT = 2


@cache
def _currencies_by_exponent() -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for code in sorted(known_currencies()):
        grouped.setdefault(exponent(code), []).append(code)
    return grouped


def _stored_time(moment: datetime) -> datetime:
    # Times are stored in UTC (the repository's rule); a naive value is taken as UTC already.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
