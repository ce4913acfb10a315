"""A migrated store of N realistic transactions, built fast with bulk inserts and cached between runs.

The rows are what the repository itself would write: a transaction with its journal (one opening
operation, and a capture, void or refund where the state needs one) and the History summary columns
(opening kind, amount, derived state) that `TransactionRepository` keeps with every journal write.
Every operation is final, so a reconciliation pass over this store has nothing to send anywhere.
Building a million rows takes a minute or two; the file is cached under `benchmarks/.cache/`.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from terminal.store.database import Database, open_database
from terminal.store.schema import operations, transactions

# BENCH_CACHE moves the cache (the smoke test keeps its tiny store in its own temporary directory).
CACHE = Path(os.environ.get("BENCH_CACHE") or Path(__file__).resolve().parent / ".cache")
_BATCH = 20_000
_SCHEMA_TAG = "v1"  # bump when the generated data changes, so an old cache is rebuilt

# (gateway, profile, currency, card brands or "" for a bank transfer, typical amount in minor units)
_PROFILES = (
    ("ogopay", "ogopay-sandbox", "LKR", ("Visa", "Mastercard"), 450_000),
    ("etpay", "etpay-sandbox", "CLP", ("",), 25_000),
    ("ompay", "ompay-sandbox", "OMR", ("Visa", "Mastercard"), 25_000),
    ("paymentz", "paymentz-sandbox", "EUR", ("Visa", "Mastercard", "Amex"), 8_000),
    ("connect", "connect-sandbox", "EUR", ("Visa", "Mastercard", "Amex"), 12_000),
)
_FIRST = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Niklaus",
    "Margaret",
    "John",
    "Sophie",
    "Tim",
    "Hedy",
    "Claude",
    "Katherine",
    "Dennis",
    "Anita",
    "Linus",
)
_LAST = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Wirth",
    "Hamilton",
    "Backus",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Shannon",
    "Johnson",
    "Ritchie",
    "Borg",
    "Torvalds",
    "Perera",
    "Fernando",
    "Silva",
    "Al-Harthy",
    "Muñoz",
    "Rojas",
)


def store_dir(rows: int) -> Path:
    """Where the cached store of `rows` transactions lives (a terminal data directory)."""
    return CACHE / f"store-{rows}-{_SCHEMA_TAG}"


def ensure_store(rows: int, *, log: Any = print) -> Path:
    """The data directory of a store with `rows` transactions, building it when not cached."""
    target = store_dir(rows)
    if (target / "complete").exists():
        return target
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    log(f"building a store of {rows:,} transactions in {building} (cached for later runs)…")
    database = open_database(building)
    try:
        fill(database, rows)
    finally:
        database.close()
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    (target / "complete").write_text(f"{rows}\n", encoding="utf-8")
    log(f"store built in {time.perf_counter() - started:.0f} s")
    return target


def fill(database: Database, rows: int, *, seed: int = 11) -> None:
    """Insert `rows` transactions and their journals through SQLAlchemy Core, in large batches."""
    rng = random.Random(seed)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=730)
    step = (end - start) / max(rows, 1)
    engine = database.engine
    for first in range(0, rows, _BATCH):
        tx_rows: list[dict[str, Any]] = []
        op_rows: list[dict[str, Any]] = []
        for n in range(first, min(first + _BATCH, rows)):
            at = start + step * n + timedelta(seconds=rng.randint(0, 30))
            tx, ops = _transaction(rng, n, at)
            tx_rows.append(tx)
            op_rows.extend(ops)
        with engine.begin() as conn:
            conn.execute(insert(transactions), tx_rows)
            conn.execute(insert(operations), op_rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _transaction(rng: random.Random, n: int, at: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gateway, profile, currency, brands, typical = _PROFILES[rng.choices(range(5), (40, 10, 15, 20, 15))[0]]
    tx_id = f"bench{n:010d}"
    amount = max(1, int(rng.lognormvariate(0, 0.8) * typical))
    roll = rng.random()
    plan = _plan(gateway, roll)
    kind, state, follow = plan
    brand = rng.choice(brands)
    customer = rng.randrange(20_000)
    tx = {
        "id": tx_id,
        "gateway": gateway,
        "profile": profile,
        "merchant_reference": f"ORD-{n:08d}",
        "currency": currency,
        "customer_id": f"C-{customer:05d}",
        "customer_name": f"{_FIRST[customer % len(_FIRST)]} {_LAST[customer // len(_FIRST) % len(_LAST)]}",
        "description": "Phone order",
        "card_brand": brand or "Bank transfer",
        "card_first6": "424242" if brand else "",
        "card_last4": f"{rng.randrange(10_000):04d}" if brand else "",
        "card_expiry": f"{rng.randint(1, 12):02d}/{rng.randint(27, 31)}" if brand else "",
        "card_token": "",
        "sandbox": True,
        "created_at": at,
        "link_url": "",
        "customer_email": "",
        "expires_at": None,
        "opening_kind": kind,
        "amount_minor": amount,
        "state": state,
    }
    first_state = "declined" if state == "declined" else "failed" if state == "failed" else "succeeded"
    ops = [_op(tx_id, 1, kind, first_state, amount, currency, at, n)]
    for seq, follow_kind in enumerate(follow, start=2):
        part = amount // 2 if state.startswith("partially") else amount
        ops.append(_op(tx_id, seq, follow_kind, "succeeded", part, currency, at + timedelta(hours=seq), n))
    return tx, ops


def _plan(gateway: str, roll: float) -> tuple[str, str, tuple[str, ...]]:
    """(opening kind, derived state, follow-up kinds) with shop-like frequencies."""
    if gateway == "etpay":
        return ("sale", "captured", ()) if roll < 0.9 else ("sale", "declined", ())
    if roll < 0.55:
        return "sale", "captured", ()
    if roll < 0.62:
        return "sale", "declined", ()
    if roll < 0.63:
        return "sale", "failed", ()
    if roll < 0.66:
        return "sale", "refunded", ("refund",)
    if roll < 0.67:
        return "sale", "partially_refunded", ("refund",)
    if roll < 0.75:
        return "authorize", "authorised", ()
    if roll < 0.88:
        return "authorize", "captured", ("capture",)
    if roll < 0.89:
        return "authorize", "partially_captured", ("capture",)
    if roll < 0.92:
        return "authorize", "voided", ("void",)
    if roll < 0.97:
        return "payout", "paid_out", ()
    return "invoice", "authorised", ()  # a paid invoice, as the ledger derives it


def _op(
    tx_id: str, seq: int, kind: str, state: str, amount: int, currency: str, at: datetime, n: int
) -> dict[str, Any]:
    return {
        "id": f"{tx_id}-{seq}",
        "transaction_id": tx_id,
        "seq": seq,
        "kind": kind,
        "state": state,
        "amount_minor": amount,
        "currency": currency,
        "idempotency_key": f"{tx_id}-{seq}",
        "merchant_reference": f"ORD-{n:08d}",
        "operator": "demo-clerk",
        "gateway_reference": f"GW{n:09d}{seq}" if state != "failed" else "",
        "approval_code": f"{n % 1_000_000:06d}" if state == "succeeded" else "",
        "decline_code": "do_not_honour" if state == "declined" else None,
        "gateway_code": "00" if state == "succeeded" else "05",
        "gateway_message": "Approved" if state == "succeeded" else "Not approved",
        "avs_result": "",
        "cvc_result": "match" if seq == 1 else "",
        "reason": "",
        "created_at": at,
        "updated_at": at + timedelta(seconds=2),
    }
