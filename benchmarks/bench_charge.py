"""Charge overhead: a direct-entry sale through PaymentService against the Paymentz simulator, over a raw
httpx POST of the same request to the same simulator.

The raw request is the one the adapter itself sent (captured from a warm-up sale: URL, headers with the
AuthToken, form body), with only the order reference changed and the checksum that covers it recomputed,
so the simulator does the same work for both. Sales and raw POSTs alternate; the figure is the ratio of
their medians. The service's extra work is the terminal's: card checks, the journal written ahead and
committed (fsync) before sending, the outcome committed after.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from benchmarks.common import ExternalSimulators, median, use_external

GATEWAY = "paymentz"
RETURN_URL = "http://127.0.0.1:9/return/bench"


def run(repeats: int = 60) -> dict[str, Any]:
    """Median sale through the service and median raw POST, `repeats` of each, alternated."""
    with tempfile.TemporaryDirectory(prefix="bench-charge-") as data_dir:
        return asyncio.run(_measure(Path(data_dir), repeats))


async def _measure(data_dir: Path, repeats: int) -> dict[str, Any]:
    from terminal.assembly import build_services

    services = build_services(data_dir, force_sandbox=True)
    sims = ExternalSimulators()
    try:
        profile = use_external(services, sims, GATEWAY, direct_entry="on")
        sent: list[httpx.Request] = []
        original_send = httpx.AsyncClient.send

        async def capturing(
            client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
        ) -> httpx.Response:
            sent.append(request)
            return await original_send(client, request, **kwargs)

        httpx.AsyncClient.send = capturing  # type: ignore[method-assign,assignment]
        try:
            await _sale(services, profile.id, "BENCH-WARM-1")
        finally:
            httpx.AsyncClient.send = original_send  # type: ignore[method-assign]
        template = next(r for r in reversed(sent) if r.method == "POST" and r.url.path.endswith("/payments"))
        await _sale(services, profile.id, "BENCH-WARM-2")  # warm: connection open, token cached
        service_s, raw_s = [], []
        async with httpx.AsyncClient() as raw:
            await _raw(raw, template, profile.settings, "BENCH-RAW-WARM")
            for n in range(repeats):
                service_s.append(await _timed(_sale(services, profile.id, f"BENCH-SVC-{n}")))
                raw_s.append(await _timed(_raw(raw, template, profile.settings, f"BENCH-RAW-{n}")))
    finally:
        await services.aclose()
        sims.close()
    service, baseline = median(service_s), median(raw_s)
    return {
        "charge_overhead_ratio": round(service / baseline, 2),
        "_detail": {"service_sale_ms": round(service * 1000, 2), "raw_post_ms": round(baseline * 1000, 2)},
    }


async def _timed(work: Any) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def _sale(services: Any, profile_id: str, reference: str) -> None:
    from terminal.domain.money import Money
    from terminal.domain.operations import OperationKind
    from terminal.gateways.base import CardDetails

    card = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada Lovelace")
    payment = await services.payments.charge_direct(
        profile_id,
        OperationKind.SALE,
        Money(1250, "EUR"),
        card,
        return_url=RETURN_URL,
        merchant_reference=reference,
        customer_id="C-42",
    )
    if payment.challenge is not None or not payment.outcome.approved:
        raise RuntimeError(f"the benchmark sale was not approved at once: {payment.outcome.message}")


async def _raw(
    client: httpx.AsyncClient, template: httpx.Request, settings: Mapping[str, str], ref: str
) -> None:
    from terminal.gateways import paymentz_checksum as cs
    from terminal.services.profiles import SANDBOX_CREDENTIALS

    fields = dict(parse_qsl(template.content.decode("utf-8"), keep_blank_values=True))
    fields["merchantTransactionId"] = ref
    secure_key = SANDBOX_CREDENTIALS[GATEWAY][1]["secure_key"]
    fields["authentication.checksum"] = cs.payment(settings["member_id"], secure_key, ref, fields["amount"])
    headers = {k: v for k, v in template.headers.items() if k.lower() != "content-length"}
    reply = await client.post(str(template.url), content=urlencode(fields).encode(), headers=headers)
    if reply.status_code != 200 or (
        "approved" not in reply.text.lower() and "success" not in reply.text.lower()
    ):
        raise RuntimeError(f"the raw POST was not a payment: HTTP {reply.status_code} {reply.text[:200]}")


if __name__ == "__main__":
    print(run())
