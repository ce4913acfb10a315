"""A terminal's payment service in a process of its own, which kills itself (SIGKILL) at one point of a
capture: `python -m tests.e2e.killed_child DATA_DIR SIMS_JSON TX_ID MINOR POINT [GATEWAY]`.

POINT is where the process dies:
- before_send: the operation is written (`sent`), no request byte has left;
- after_send: the request has left; the parent kills this process while the answer is held (it prints
  SENT and waits);
- after_response: the whole answer arrived, nothing of it was recorded;
- after_commit: the outcome was committed.
GATEWAY (default ogopay) says which request is the capture: OGO Pay's `/completion`, or Paymentz's
`POST /payments/{id}` with `paymentType=CP` (its inquiry uses the same path). Nothing else is changed: the
real service, adapter, store and simulator run as in the terminal.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from terminal.domain.money import Money
from terminal.domain.operations import OperationState
from terminal.services.journal import Journal
from terminal.services.payments import PaymentService
from terminal.services.profiles import ProfileRegistry, sandbox_profile
from terminal.store.database import open_database
from terminal.store.transactions import TransactionRepository

_PZ_PAYMENT = re.compile(r"/transactionServices/REST/v1/payments/[^/]+$")
CAPTURE_REQUEST: dict[str, Callable[[httpx.Request], bool]] = {
    "ogopay": lambda r: r.url.path.endswith("/completion"),
    "paymentz": lambda r: (
        r.method == "POST" and bool(_PZ_PAYMENT.search(r.url.path)) and b"paymentType=CP" in r.content
    ),
}


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _install(point: str, gateway: str) -> None:
    is_capture = CAPTURE_REQUEST[gateway]
    original_send = httpx.AsyncHTTPTransport.handle_async_request
    original_move = Journal.move

    async def send(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        money = is_capture(request)
        if money and point == "before_send":
            _die()
        if money and point == "after_send":
            print("SENT", flush=True)
        response = await original_send(self, request)
        if money and point == "after_response":
            await response.aread()
            _die()
        return response

    async def move(self: Journal, op: Any, state: OperationState, **outcome: object) -> Any:
        moved = await original_move(self, op, state, **outcome)
        if point == "after_commit" and state.is_final:
            _die()
        return moved

    httpx.AsyncHTTPTransport.handle_async_request = send  # type: ignore[method-assign]
    Journal.move = move  # type: ignore[method-assign]


async def _capture(data_dir: Path, sims: dict[str, str], tx_id: str, minor: int) -> None:
    database = open_database(data_dir)
    profiles = ProfileRegistry([sandbox_profile(name, url) for name, url in sims.items()])
    journal = Journal(TransactionRepository(database.engine))
    payments = PaymentService(journal, profiles)
    tx = await journal.get(tx_id)
    outcome = await payments.capture(tx_id, Money(minor, tx.currency))
    print("DONE", outcome.operation.state.value, flush=True)


def main() -> None:
    data_dir, sims, tx_id, minor, point = sys.argv[1:6]
    _install(point, sys.argv[6] if len(sys.argv) > 6 else "ogopay")
    asyncio.run(_capture(Path(data_dir), json.loads(sims), tx_id, int(minor)))


if __name__ == "__main__":
    main()
