"""What every benchmark shares: the targets, timing helpers, UI-stall and memory probes, the machine."""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Target:
    """One line of issue 11's table: the results.json key, what it measures, and its bound."""

    key: str
    what: str
    bound: float
    at_most: bool = True  # False: the figure must be at least `bound`
    unit: str = ""

    def met(self, value: float) -> bool:
        """Whether `value` meets the target."""
        return value <= self.bound if self.at_most else value >= self.bound


TARGETS = (
    Target("startup_ratio", "cold start to main window, over a bare QMainWindow", 1.5, unit="×"),
    Target("startup_s", "cold start to main window", 1.0, unit="s"),
    Target("history_open_ms", "History opened on 1,000,000 rows, to first rows painted", 200, unit="ms"),
    Target("history_search_ms", "search by reference or last four on that store", 100, unit="ms"),
    Target("history_filter_ms", "a filter change on that store", 100, unit="ms"),
    Target("history_scroll_stall_ms", "longest UI stall scrolling top to bottom", 50, unit="ms"),
    Target("charge_overhead_ratio", "sale through the service over a raw httpx POST", 1.3, unit="×"),
    Target("batch_capture_per_s", "end-of-day captures of 1,000 pre-authorisations", 200, False, "/s"),
    Target(
        "ui_max_stall_ms", "longest UI stall: charge, export of 100,000 rows, reconciliation", 50, unit="ms"
    ),
    Target("rss_mb", "resident memory, History on the big store and a web view open", 400, unit="MB"),
)


def median(values: list[float]) -> float:
    """The median (benchmarks report medians: one noisy run on a shared 2-core machine is not the figure)."""
    return float(statistics.median(values))


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
    """The peak resident memory of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class StallMonitor:
    """A 5 ms QTimer on the UI thread; the longest gap between its ticks is the longest UI stall.

    A tick can only be late when the UI thread was busy (or the event loop starved), which is what a
    clerk sees as a frozen window. `reset()` starts a new measurement; `longest_ms` reads it.
    """

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self._longest = 0.0

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self._last = time.perf_counter()
        self._longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self._longest = max(self._longest, now - self._last)
        self._last = now

    @property
    def longest_ms(self) -> float:
        """The longest gap between ticks since `reset`, in ms (including the gap up to now)."""
        return max(self._longest, time.perf_counter() - self._last) * 1000


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Let the event loop run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.001)


async def timed(work: Awaitable[Any]) -> tuple[float, Any]:
    """(seconds, result) of awaiting `work`."""
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


def machine() -> dict[str, str]:
    """The machine the figures were measured on."""
    import PySide6
    from PySide6.QtCore import qVersion

    memory = "?"
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            total_kb = int(info.readline().split()[1])
        memory = f"{total_kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    import sqlite3

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "pyside6": PySide6.__version__,
        "qt": qVersion(),
        "sqlite": sqlite3.sqlite_version,
    }


def qt_loop() -> asyncio.AbstractEventLoop:
    """The qasync loop over a QApplication (offscreen unless a platform is set), as the terminal runs."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    import qasync
    from PySide6.QtWidgets import QApplication

    from terminal.ui.startup import prepare_qt

    prepare_qt()  # as the terminal does: QtWebEngine may then load with the first web view
    app = QApplication.instance() or QApplication([sys.argv[0]])
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop


class ExternalSimulators:
    """The gateway simulators in their own process (`merchant-terminal sim`), as a real gateway would be:
    in the terminal's process they would compete with it for the interpreter lock on a 2-core machine."""

    def __init__(self) -> None:
        import subprocess

        self._proc = subprocess.Popen(
            [sys.executable, "-m", "terminal.app", "sim"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.urls: dict[str, str] = {}
        assert self._proc.stdout is not None
        deadline = time.perf_counter() + 30
        while len(self.urls) < 5 and time.perf_counter() < deadline:
            line = self._proc.stdout.readline()
            if not line:
                break
            name, url = line.split()
            self.urls[name] = url
        if not self.urls:
            self.close()
            raise RuntimeError("the simulators did not start")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)


def use_external(services: Any, sims: ExternalSimulators, gateway: str, **settings: str) -> Any:
    """Point the sandbox profile of `gateway` at the external simulator (with extra `settings`)."""
    from dataclasses import replace

    profile = next(p for p in services.profiles.all() if p.gateway == gateway)
    profile = replace(profile, settings={**profile.settings, "base_url": sims.urls[gateway], **settings})
    services.profiles.put(profile)
    return profile
