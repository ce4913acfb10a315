"""Trustworthy time (SECURITY.md PCI-15): warn when this computer's clock and a gateway's disagree.

Audit timestamps, the order of the audit chain and the ±300 s window of signed callbacks all rest on the
local clock. Every gateway reply carries the gateway's own time in its `Date` header; `ClockWatch` hears
each one (terminal/gateways/http.py `observe_clock`) and, when the two differ by more than 60 seconds,
logs a warning, writes an audit entry and tells its listeners (the window's status bar). It warns once per
gateway and then at most hourly while the clock stays off, so a skewed clock does not flood the audit log;
once a reply agrees again the next drift is reported at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from terminal.gateways.clock_observers import observe_clock
from terminal.services.audit import AuditTrail, Event

__all__ = ["REPEAT_EVERY_S", "SKEW_LIMIT_S", "ClockWatch", "describe_skew"]

log = logging.getLogger(__name__)

SKEW_LIMIT_S = 60.0  # PCI-15
REPEAT_EVERY_S = 3600.0


def describe_skew(gateway: str, skew_s: float) -> str:
    """The warning in words: how far, which way, and what to do."""
    amount = abs(skew_s)
    size = f"{amount / 60:.0f} minutes" if amount >= 120 else f"{amount:.0f} seconds"
    way = "behind" if skew_s > 0 else "ahead of"
    return (
        f"This computer's clock is {size} {way} {gateway}'s. Set the system time (turn on automatic time): "
        "audit times and callback checks depend on it."
    )


class ClockWatch:
    """Hears the gateways' clocks; warns (log, audit, listeners) when one is more than `limit_s` off."""

    def __init__(
        self,
        audit: AuditTrail,
        *,
        limit_s: float = SKEW_LIMIT_S,
        repeat_s: float = REPEAT_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self.limit_s = limit_s
        self.repeat_s = repeat_s
        self.monotonic = monotonic
        # Called with the warning text; may be called from whichever thread the reply arrived on.
        self.listeners: list[Callable[[str], None]] = []
        self.last_skew: dict[str, float] = {}
        self._warned_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen to every gateway reply from now on."""
        if self._stop is None:
            self._stop = observe_clock(self.observe)

    def stop(self) -> None:
        """Stop listening (at shutdown)."""
        if self._stop is not None:
            self._stop()
            self._stop = None

    def observe(self, gateway: str, skew_s: float) -> None:
        """One reply's measurement: warn if it is over the limit and not warned about recently."""
        now = self.monotonic()
        with self._lock:
            self.last_skew[gateway] = skew_s
            if abs(skew_s) <= self.limit_s:
                if self._warned_at.pop(gateway, None) is not None:
                    log.info("%s's clock and this computer's agree again (%.0f s apart)", gateway, skew_s)
                return
            last = self._warned_at.get(gateway)
            if last is not None and now - last < self.repeat_s:
                return
            self._warned_at[gateway] = now
        message = describe_skew(gateway, skew_s)
        log.warning("%s (measured %.0f s)", message, skew_s)
        try:
            self.audit.record(
                Event.CLOCK_SKEW, success=False, target=gateway, skew_s=round(skew_s), limit_s=self.limit_s
            )
        except Exception:  # the audit database closing under a late reply: the log line above stays
            log.warning("Clock warning not audited", exc_info=True)
        for listener in list(self.listeners):
            try:
                listener(message)
            except Exception:  # a closed window's listener must not break the gateway call
                log.debug("Clock listener failed", exc_info=True)
