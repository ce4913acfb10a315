"""History search by customer with the in-memory list of distinct customers (SQLite): a customer added
after a search is found by the next one, and the list matches exactly as the query alone would (SQLite's
lower() and LIKE fold ASCII letters only)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from terminal.store import queries as queries_module
from terminal.store.database import Database, open_database
from terminal.store.queries import HistoryQueries, HistoryQuery, conditions
from terminal.store.schema import transactions
from terminal.store.transactions import TransactionRepository
from tests.unit.test_queries import make


def found(queries: HistoryQueries, text: str) -> list[str]:
    return sorted(row.id for row in queries.page(HistoryQuery(search=text), None, 500))


def by_sql_alone(db: Database, text: str) -> list[str]:
    """The same search with no customer list: the query finds the customers itself."""
    statement = select(transactions.c.id).where(*conditions(HistoryQuery(search=text)))
    with db.engine.connect() as conn:
        return sorted(conn.execute(statement).scalars())


def test_new_customers_are_found_after_earlier_searches(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        repo = TransactionRepository(db.engine)
        for i in range(40):
            repo.add(make(i))
        queries = HistoryQueries(db.engine)
        queries.warm()
        assert found(queries, "zoë") == []
        assert len(found(queries, "customer 12")) == 3  # i = 12, 25, 38
        newcomer = replace(make(40), customer_name="Zoë Ñandú", customer_id="VIP-7")
        repo.add(newcomer)
        assert found(queries, "ZOË") == [newcomer.id]  # read since the last search
        assert found(queries, "vip-7") == [newcomer.id]
        assert found(queries, "ñandú") == []  # SQLite's lower() leaves Ñ as it is
        for text in ("ZOË", "zoë ñ", "ñandú", "Ñandú", "vip", "C-4", "customer 1", "12", "%", "_"):
            assert found(queries, text) == by_sql_alone(db, text), text
        assert queries.count_upto(HistoryQuery(search="Customer 1"), 100) == len(
            by_sql_alone(db, "Customer 1")
        )
    finally:
        db.close()


def test_too_many_customers_to_keep_leaves_the_search_to_the_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries_module._CustomerValues, "LIMIT", 10)  # 50 distinct ids in 60 rows
    db = open_database(tmp_path)
    try:
        repo = TransactionRepository(db.engine)
        for i in range(60):
            repo.add(make(i))
        queries = HistoryQueries(db.engine)
        queries.warm()
        for text in ("C-4", "customer 1", "12", "REF-0001"):
            assert found(queries, text) == by_sql_alone(db, text), text
    finally:
        db.close()
