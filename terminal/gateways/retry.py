"""The retry policy (SECURITY.md IDEM-4): what is sent again, when, and why, decided in one place.

`GatewayHttp.request` asks `RetryPolicy.should_retry` after every failed attempt and sleeps
`RetryPolicy.sleep_time` before the next. Adapters only say how safe a request is to repeat:

| failure of the attempt                          | READ  | IDEMPOTENT (same key) | MONEY            |
|-------------------------------------------------|-------|-----------------------|------------------|
| not sent: refused, connect/pool timeout         | retry | retry                 | retry            |
| answer lost: read timeout, reset, cut body      | retry | retry                 | never (unknown)  |
| HTTP 429 Too Many Requests                      | retry | retry                 | retry            |
| HTTP 500, 502, 503, 504                         | retry | retry                 | never (unknown)  |
| any other status (4xx, a decline, a 200)        | never | never                 | never            |

- READ: status inquiries and lookups; they move no money, so any transient failure is retried.
- IDEMPOTENT: a money request the gateway de-duplicates by a key sent with it (Worldline Connect's
  X-GCS-Idempotence-Key, inside its 24 h window): the same bytes and key replay the first answer.
- MONEY: everything else that may move money. It is repeated only when no byte can have reached the
  gateway, or when the gateway said it did not process it (429). A lost answer is left `unknown`, for
  reconciliation to resolve by lookup; it is never sent blindly again (activemerchant PR #2082).

A gateway's `Retry-After` (seconds) is honoured up to `max_delay`; otherwise the delay grows
exponentially from `base_delay` with jitter, capped at `max_delay` (stripe-python's policy).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = ["NO_RETRY", "Failure", "RetryPolicy", "Safety"]


class Safety(StrEnum):
    """How safe a request is to send again."""

    READ = "read"
    IDEMPOTENT = "idempotent"
    MONEY = "money"


class Failure(StrEnum):
    """What became of one attempt."""

    NOT_SENT = "not_sent"  # nothing can have reached the gateway
    ANSWER_LOST = "answer_lost"  # sent; the answer did not arrive whole
    STATUS = "status"  # a complete answer with an HTTP status


_THROTTLED: Final = 429
_TRANSIENT_SERVER: Final = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential back-off and jitter; `max_retries` counts repeats, not attempts."""

    max_retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 4.0
    # The delay is drawn from [d * (1 - jitter), d]: spread out, never longer than the back-off itself.
    jitter: float = 0.5
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def should_retry(self, safety: Safety, failure: Failure, attempt: int, status: int | None = None) -> bool:
        """Whether to send again after attempt number `attempt` (1 for the first) failed this way."""
        if attempt > self.max_retries:
            return False
        if failure is Failure.NOT_SENT:
            return True
        if failure is Failure.ANSWER_LOST:
            return safety is not Safety.MONEY
        if status == _THROTTLED:
            return True
        return status in _TRANSIENT_SERVER and safety is not Safety.MONEY

    def sleep_time(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before the repeat that follows attempt number `attempt`."""
        hinted = _seconds(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay)
        backoff = min(self.base_delay * 2.0 ** max(attempt - 1, 0), self.max_delay)
        draw: float = self.random()
        return backoff * (1 - self.jitter * draw)


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After given in seconds; an HTTP date or garbage is ignored (back-off applies)."""
    if retry_after is None:
        return None
    try:
        value = float(retry_after.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


NO_RETRY: Final = RetryPolicy(max_retries=0)
