"""Who hears the gateways' clocks (PCI-15), kept apart from http.py so that it costs no httpx import.

The services layer subscribes at start-up (services/clock.py); importing http.py for that would pull
httpx into the terminal's cold start (issue 11). http.py re-exports both names and calls the observers.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ClockObserver", "observe_clock", "observers"]

# PCI-15: whoever cares about this computer's clock (the services layer) hears, for every reply carrying a
# `Date` header, the gateway's name and how far its clock is ahead of ours in seconds (negative: behind).
# The gateways layer only measures; warning, auditing and showing it belong to the layers above.
ClockObserver = Callable[[str, float], None]
observers: list[ClockObserver] = []


def observe_clock(observer: ClockObserver) -> Callable[[], None]:
    """Call `observer(gateway, skew_s)` after each reply with a `Date` header; returns the unsubscribe."""
    observers.append(observer)

    def stop() -> None:
        if observer in observers:
            observers.remove(observer)

    return stop
