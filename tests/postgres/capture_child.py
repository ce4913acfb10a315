"""A second terminal in a process of its own, capturing on the shared database when told to:
`python -m tests.postgres.capture_child DATABASE_URL OGO_URL TX_ID MINOR`.

It opens the database and the profile, prints READY, waits for a line on stdin (the starting gun), runs
one capture through the real service, and prints one JSON line: {"state": ...} or {"refused": message}.
"""

from __future__ import annotations

import asyncio
import json
import sys

from terminal.domain.ledger import RuleViolation
from terminal.domain.money import Money
from terminal.services.journal import Journal
from terminal.services.payments import PaymentService
from terminal.services.profiles import ProfileRegistry, sandbox_profile
from terminal.store.database import open_database
from terminal.store.transactions import TransactionRepository


async def _capture(url: str, ogo_url: str, tx_id: str, minor: int) -> dict[str, str]:
    database = open_database(url=url)
    profiles = ProfileRegistry([sandbox_profile("ogopay", ogo_url)])
    journal = Journal(TransactionRepository(database.engine))
    payments = PaymentService(journal, profiles, operator="till-2")
    try:
        tx = await journal.get(tx_id)
        print("READY", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        try:
            outcome = await payments.capture(tx_id, Money(minor, tx.currency))
        except RuleViolation as exc:
            return {"refused": str(exc)}
        return {"state": outcome.operation.state.value}
    finally:
        await profiles.aclose()
        journal.close()
        database.close()


def main() -> None:
    url, ogo_url, tx_id, minor = sys.argv[1:5]
    print(json.dumps(asyncio.run(_capture(url, ogo_url, tx_id, int(minor)))), flush=True)


if __name__ == "__main__":
    main()
