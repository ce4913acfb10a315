"""The audit trail: every entry complete, the hash chain catches changed, removed and reordered entries."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from terminal.services.audit import Event
from tests.services.security_fixtures import Security, build_security

CARD = "4242424242424242"


@pytest.fixture
def sec(tmp_path: Path) -> Iterator[Security]:
    yield from build_security(tmp_path / "data")


def _fill(sec: Security, count: int = 6) -> None:
    for n in range(count):
        sec.audit.record(Event.MONEY, target=f"tx-{n}", operator="cleo", action="sale", amount="12.50 LKR")
        sec.clock.advance(minutes=1)


def _sql(sec: Security, statements: str) -> None:
    with sec.database.engine.begin() as conn:
        for statement in statements.split(";"):
            conn.execute(text(statement))


def test_each_entry_has_the_six_fields(sec: Security) -> None:
    record = sec.audit.record(
        Event.SETTINGS_CHANGED, target="receipt_header", operator="ada", old="", new="Shop"
    )
    assert record.seq == 1 and record.prev_hash == "0" * 64 and len(record.hash) == 64
    stored = sec.audit.latest(1)[0]
    assert stored == record
    assert stored.operator == "ada" and stored.event == "settings.changed" and stored.outcome == "success"
    assert isinstance(stored.at, datetime) and stored.at.utcoffset() is not None
    assert stored.origin == "till-1/tester" and stored.target == "receipt_header"
    assert json.loads(stored.detail) == {"new": "Shop", "old": ""}


def test_signed_in_operator_is_the_default_and_system_otherwise(sec: Security) -> None:
    assert sec.audit.record(Event.AUDIT_STARTED).operator == "system"
    sec.operators.ensure_demo_operators()
    sec.session.sign_in("demo-clerk", "1111")
    assert sec.audit.record(Event.AUDIT_VIEWED).operator == "demo-clerk"


def test_details_are_scrubbed_before_sealing(sec: Security) -> None:
    record = sec.audit.record(Event.MONEY, note=f"customer read {CARD}", cvc="123", api_token="s3cret-value")
    assert CARD not in record.detail and "s3cret-value" not in record.detail
    assert json.loads(record.detail)["cvc"] == "***"
    assert sec.audit.verify().ok


def test_intact_chain_verifies(sec: Security) -> None:
    _fill(sec)
    result = sec.audit.verify()
    assert result.ok and result.checked == 6
    assert result.last_hash == sec.audit.latest(1)[0].hash
    assert "intact" in result.summary


@pytest.mark.parametrize(
    ("statement", "bad", "words"),
    [
        # One changed byte in an old entry's content.
        ("UPDATE audit_log SET detail = replace(detail, '12.50', '12.51') WHERE seq = 2", 2, "changed"),
        ("UPDATE audit_log SET operator = 'eve' WHERE seq = 3", 3, "changed"),
        ("UPDATE audit_log SET at = replace(at, '09:02', '09:03') WHERE seq = 3", 3, "changed"),
        # An entry removed in the middle, at the start, at the end (the end is caught by the hash kept).
        ("DELETE FROM audit_log WHERE seq = 4", 4, "missing"),
        ("DELETE FROM audit_log WHERE seq = 1", 2, "removed"),
        # Reordered: two entries swap their numbers.
        (
            "UPDATE audit_log SET seq = -seq WHERE seq IN (2, 3);"
            "UPDATE audit_log SET seq = 3 WHERE seq = -2;"
            "UPDATE audit_log SET seq = 2 WHERE seq = -3",
            2,
            "does not follow",
        ),
        # A forged hash that matches the changed content still breaks the link to the next entry.
        ("UPDATE audit_log SET prev_hash = 'ab' || substr(prev_hash, 3) WHERE seq = 5", 5, "does not follow"),
    ],
)
def test_tampering_is_found_at_its_entry(sec: Security, statement: str, bad: int, words: str) -> None:
    _fill(sec)
    _sql(sec, statement)
    result = sec.audit.verify()
    assert not result.ok
    assert result.bad_seq == bad
    assert words in result.problem
    assert f"entry {bad}" in result.summary


def test_removed_last_entry_shows_as_a_different_final_hash(sec: Security) -> None:
    _fill(sec)
    kept = sec.audit.verify().last_hash
    _sql(sec, "DELETE FROM audit_log WHERE seq = 6")
    assert sec.audit.verify().last_hash != kept  # an exported final hash reveals it


def test_export_writes_every_entry_and_is_audited(sec: Security, tmp_path: Path) -> None:
    _fill(sec, 3)
    sec.audit.record(Event.MONEY, target='=HYPERLINK("http://evil")', operator="cleo")
    out = tmp_path / "audit.csv"
    result = sec.audit.export(out)
    assert result.ok and result.checked == 4
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][:4] == ["seq", "at_utc", "operator", "event"]
    assert [r[0] for r in rows[1:5]] == ["1", "2", "3", "4"]
    assert rows[4][6].startswith("'=")  # no spreadsheet formula
    assert rows[-1][:2] == ["#", "verified"]
    assert sec.audit.latest(1)[0].event == Event.AUDIT_EXPORTED
    assert sec.audit.verify().ok


def test_purge_keeps_a_year_and_stays_verifiable(sec: Security) -> None:
    _fill(sec, 3)  # "old" entries
    sec.clock.advance(days=400)
    _fill(sec, 2)
    assert sec.audit.purge() == 3
    entries = list(sec.audit.repository.entries())
    assert [e.seq for e in entries] == [4, 5, 6]
    assert entries[-1].event == Event.AUDIT_PURGED
    assert sec.audit.verify().ok
    # A purge run again now keeps everything younger than 365 days.
    sec.clock.advance(days=364)
    assert sec.audit.purge() == 0
    assert sec.audit.verify().ok


def test_removing_old_entries_without_a_purge_is_caught(sec: Security) -> None:
    _fill(sec, 4)
    _sql(sec, "DELETE FROM audit_log WHERE seq <= 2")
    result = sec.audit.verify()
    assert not result.ok and result.bad_seq == 3 and "removed" in result.problem
