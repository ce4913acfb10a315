"""History queries against a store seeded with a few thousand transactions through the real repository.

The expected answers come from the domain objects that were stored (their derived state, opening kind
and amount), filtered and sorted in Python; the queries must agree row for row, page after page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from terminal.domain.ledger import CardSummary, Operation, Transaction, TransactionState
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind, OperationState
from terminal.store.database import Database, open_database
from terminal.store.queries import HistoryQueries, HistoryQuery, SortKey
from terminal.store.transactions import TransactionRepository, TransactionRow

ROWS = 2000
START = datetime(2026, 3, 1, tzinfo=UTC)
PROFILES = (
    ("ogopay", "ogopay-sandbox", "LKR"),
    ("etpay", "etpay-sandbox", "CLP"),
    ("ompay", "ompay-x", "OMR"),
)
KINDS = (OperationKind.SALE, OperationKind.AUTHORIZE, OperationKind.SALE, OperationKind.PAYOUT)
STATES = (OperationState.SUCCEEDED, OperationState.DECLINED, OperationState.SUCCEEDED, OperationState.UNKNOWN)


def make(i: int) -> Transaction:
    gateway, profile, currency = PROFILES[i % 3]
    at = START + timedelta(minutes=37 * i)
    kind, state = KINDS[i % 4], STATES[(i // 4) % 4]
    tx = Transaction(
        f"tx{i:05d}",
        gateway,
        profile,
        f"REF-{i:05d}",
        currency,
        at,
        customer_id=f"C-{i % 50}",
        customer_name=f"Customer {i % 13}",
        card=CardSummary("Visa" if i % 2 else "Mastercard", "424242", f"{(i * 7) % 10000:04d}"),
        sandbox=True,
    )
    minor = 1250 if i % 11 == 0 else 12500 if i % 13 == 0 else 100 + (i % 301) * 25
    amount = Money(minor, currency)
    op = Operation(f"op{i:05d}", tx.id, kind, amount, state, f"key-{i}", tx.merchant_reference, at, at)
    tx = tx.with_operation(op)
    if kind is OperationKind.AUTHORIZE and state is OperationState.SUCCEEDED and i % 3 == 0:
        capture = Operation(
            f"cap{i:05d}", tx.id, OperationKind.CAPTURE, amount, OperationState.SUCCEEDED,
            f"capkey-{i}", tx.merchant_reference, at, at,
        )  # fmt: skip
        tx = tx.with_operation(capture)
    return tx


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, list[Transaction]]]:
    db = open_database(Path(tmp_path_factory.mktemp("queries")))
    repo = TransactionRepository(db.engine)
    stored = [make(i) for i in range(ROWS)]
    for tx in stored:
        repo.add(tx)
    yield db, stored
    db.close()


def all_rows(queries: HistoryQueries, query: HistoryQuery, page: int = 170) -> list[TransactionRow]:
    rows: list[TransactionRow] = []
    for chunk in queries.iterate(query, page):
        rows.extend(chunk)
        assert len(rows) <= ROWS
    return rows


def ids(rows: list[TransactionRow] | list[Transaction]) -> list[str]:
    return [r.id for r in rows]


def newest_first(txs: list[Transaction]) -> list[Transaction]:
    return sorted(txs, key=lambda t: (t.created_at, t.id), reverse=True)


def test_default_order_pages_through_everything_once(seeded: tuple[Database, list[Transaction]]) -> None:
    db, stored = seeded
    rows = all_rows(HistoryQueries(db.engine), HistoryQuery())
    assert ids(rows) == ids(newest_first(stored))
    by_id = {tx.id: tx for tx in stored}
    for row in rows[:300]:
        tx = by_id[row.id]
        assert (row.state, row.kind, row.amount) == (tx.state, tx.first_operation.kind, tx.amount)  # type: ignore[union-attr]


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("descending", [False, True])
def test_server_sort_matches_python_sort(
    seeded: tuple[Database, list[Transaction]], sort: SortKey, descending: bool
) -> None:
    db, stored = seeded
    rows = all_rows(HistoryQueries(db.engine), HistoryQuery(sort=sort, descending=descending), page=333)
    key = {
        SortKey.DATE: lambda t: (t.created_at,),
        SortKey.REFERENCE: lambda t: (t.merchant_reference,),
        SortKey.GATEWAY: lambda t: (t.profile,),
        SortKey.KIND: lambda t: (t.first_operation.kind.value,),
        SortKey.AMOUNT: lambda t: (t.currency, t.amount.minor),
        SortKey.STATE: lambda t: (t.state.value,),
        SortKey.CARD: lambda t: (t.card.brand, t.card.last4),
        SortKey.CUSTOMER: lambda t: (t.customer_name,),
    }[sort]
    expected = sorted(stored, key=lambda t: (*key(t), t.id), reverse=descending)
    assert ids(rows) == ids(expected)


def test_filters_by_profile_state_kind_and_dates(seeded: tuple[Database, list[Transaction]]) -> None:
    db, stored = seeded
    queries = HistoryQueries(db.engine)
    low, high = START + timedelta(days=10), START + timedelta(days=40)
    query = HistoryQuery(
        profiles=("ogopay-sandbox", "ompay-x"),
        states=(TransactionState.CAPTURED, TransactionState.UNKNOWN),
        kinds=(OperationKind.SALE, OperationKind.AUTHORIZE),
        date_from=low,
        date_to=high,
    )
    expected = [
        t
        for t in newest_first(stored)
        if t.profile in query.profiles
        and t.state in query.states
        and t.first_operation.kind in query.kinds  # type: ignore[union-attr]
        and low <= t.created_at < high
    ]
    assert len(expected) > 20
    assert ids(all_rows(queries, query, page=7)) == ids(expected)
    assert queries.count_upto(query, 10_000) == len(expected)
    assert queries.count_upto(HistoryQuery(), 100) == 101  # capped: "100+"
    authorised = all_rows(queries, HistoryQuery(states=(TransactionState.AUTHORISED,)))
    assert ids(authorised) == ids([t for t in newest_first(stored) if t.state is TransactionState.AUTHORISED])


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("REF-0012", lambda t: t.merchant_reference.startswith("REF-0012")),
        ("ref-0012", lambda t: t.merchant_reference.startswith("REF-0012")),
        ("customer 12", lambda t: t.customer_name == "Customer 12"),
        ("C-49", lambda t: t.customer_id == "C-49"),
        ("0700", lambda t: t.card.last4 == "0700" or t.amount.minor == 700 * 10**t.amount.exponent),
        # 12.50 is 1250 minor units of LKR, 12500 of OMR, and no CLP amount (CLP has no decimals).
        ("12.50", lambda t: (t.currency, t.amount.minor) in {("LKR", 1250), ("OMR", 12500)}),
        # '1.250' is 1.250 OMR, and 1250 CLP (a dot groups thousands where there are no decimals).
        ("1.250", lambda t: (t.currency, t.amount.minor) in {("OMR", 1250), ("CLP", 1250)}),
        ("7225", lambda t: t.card.last4 == "7225" or t.amount.minor == 7225 * 10**t.amount.exponent),
        ("%", lambda t: False),
    ],
)
def test_search_by_reference_customer_last_four_and_amount(
    seeded: tuple[Database, list[Transaction]], text: str, matches: object
) -> None:
    db, stored = seeded
    expected = [t for t in newest_first(stored) if matches(t)]  # type: ignore[operator]
    assert ids(all_rows(HistoryQueries(db.engine), HistoryQuery(search=text))) == ids(expected)
    if text not in ("%", "7225"):
        assert expected, text


def test_summary_follows_the_journal(seeded: tuple[Database, list[Transaction]], tmp_path: Path) -> None:
    db = open_database(tmp_path)
    repo = TransactionRepository(db.engine)
    tx = make(1)  # an approved pre-authorisation without capture
    assert tx.state is TransactionState.AUTHORISED
    repo.add(tx)
    queries = HistoryQueries(db.engine)
    assert all_rows(queries, HistoryQuery())[0].state is TransactionState.AUTHORISED
    at = tx.created_at + timedelta(minutes=1)
    capture = Operation(
        "c1", tx.id, OperationKind.CAPTURE, tx.amount, OperationState.SENT, "k-c1", "R", at, at
    )
    repo.append_operation(capture)
    repo.update_operation(capture.moved_to(OperationState.UNKNOWN, at))
    assert all_rows(queries, HistoryQuery(states=(TransactionState.UNKNOWN,)))[0].id == tx.id
    repo.update_operation(capture.moved_to(OperationState.UNKNOWN, at).moved_to(OperationState.SUCCEEDED, at))
    assert all_rows(queries, HistoryQuery())[0].state is TransactionState.CAPTURED
    db.close()
