"""End of day: 1,000 open pre-authorisations captured by BatchCapture (bounded concurrency), each once.

The pre-authorisations are made first (direct entry on the Paymentz simulator, several at a time); the
figure is captures per second of `BatchCapture.run` alone. Exactly once is checked, not assumed: every
capture succeeded, every transaction is captured in full, and a second run captures nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import ExternalSimulators, use_external

GATEWAY = "paymentz"
RETURN_URL = "http://127.0.0.1:9/return/bench"


def run(count: int = 1000) -> dict[str, Any]:
    """Captures per second of a batch of `count` pre-authorisations."""
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as data_dir:
        return asyncio.run(_measure(Path(data_dir), count))


async def _measure(data_dir: Path, count: int) -> dict[str, Any]:
    from terminal.assembly import build_services
    from terminal.domain.ledger import TransactionState
    from terminal.services.batch import DEFAULT_CONCURRENCY, BatchCapture

    services = build_services(data_dir, force_sandbox=True)
    sims = ExternalSimulators()
    try:
        profile = use_external(services, sims, GATEWAY, direct_entry="on")
        made = time.perf_counter()
        ids = await _preauthorisations(services, profile.id, count)
        made_s = time.perf_counter() - made
        batch = BatchCapture(services.payments)
        wanted = [tx.id for tx in await batch.candidates()]
        if sorted(wanted) != sorted(ids):
            raise RuntimeError(f"{len(wanted)} candidates for {len(ids)} open pre-authorisations")
        started = time.perf_counter()
        summary = await batch.run(wanted)
        elapsed = time.perf_counter() - started
        if len(summary.captured) != count:
            raise RuntimeError(f"the batch did not capture each once: {summary.text}")
        for tx_id in ids:
            tx = await services.history.transaction(tx_id)
            if tx.state is not TransactionState.CAPTURED or tx.captured != tx.authorised:
                raise RuntimeError(f"{tx_id} is {tx.state} after the batch")
        again = await batch.run(ids)
        if again.captured or len(again.skipped) != count:
            raise RuntimeError(f"a second batch sent captures again: {again.text}")
    finally:
        await services.aclose()
        sims.close()
    return {
        "batch_capture_per_s": round(count / elapsed, 1),
        "_detail": {
            "captures": count,
            "batch_s": round(elapsed, 2),
            "concurrency": DEFAULT_CONCURRENCY,
            "preauthorisations_made_s": round(made_s, 1),
        },
    }


async def _preauthorisations(services: Any, profile_id: str, count: int) -> list[str]:
    from terminal.domain.money import Money
    from terminal.domain.operations import OperationKind
    from terminal.gateways.base import CardDetails

    card = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada Lovelace")
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> str:
        async with gate:
            payment = await services.payments.charge_direct(
                profile_id,
                OperationKind.AUTHORIZE,
                Money(1000 + n, "EUR"),
                card,
                return_url=RETURN_URL,
                merchant_reference=f"EOD-{n:05d}",
                customer_id=f"C-{n % 50}",
            )
        if payment.challenge is not None or not payment.outcome.approved:
            raise RuntimeError(f"pre-authorisation {n} was not approved: {payment.outcome.message}")
        return str(payment.outcome.transaction.id)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


if __name__ == "__main__":
    print(run())
