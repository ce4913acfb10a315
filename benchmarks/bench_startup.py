"""Cold start: `merchant-terminal` to its main window painted, over a bare PySide6 QMainWindow start.

Each start is a fresh process (interpreter, imports, database, simulators, window), timed from spawn
to the first paint of the main window (shown before the store opens), and to the first paint of its
Charge screen (the terminal usable); the figures are medians of several starts after one warm-up (which
writes the bytecode caches an installed build ships with, and migrates the data directory once).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, median

PROBE = str(Path(__file__).with_name("startup_probe.py"))
TIMEOUT_S = 60


def _env() -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed terminal starts from its bytecode cache
    env["PYTHONPATH"] = ROOT
    return env


def start_once(*args: str) -> float:
    """Seconds from spawning the probe to its READY line (the window's first paint)."""
    return start_times(*args)[0]


def start_times(*args: str) -> list[float]:
    """Seconds from spawning the probe to each line it prints: READY (the window's first paint) and, for
    the terminal, USABLE (its Charge screen's first paint)."""
    expected = ["READY", "USABLE"] if args[0] == "terminal" else ["READY"]
    times: list[float] = []
    started = time.perf_counter()
    with subprocess.Popen(  # noqa: S603 (our own interpreter and probe)
        [sys.executable, PROBE, *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            for want in expected:
                line = proc.stdout.readline()
                times.append(time.perf_counter() - started)
                if line.strip() != want:
                    raise RuntimeError(f"start-up probe {args[0]} failed (exit {proc.wait(TIMEOUT_S)})")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(TIMEOUT_S)
    return times


def run(repeats: int = 5) -> dict[str, Any]:
    """Median start-up of the terminal and of the bare window, alternated to share the machine's noise."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as data_dir:
        start_once("bare")
        start_times("terminal", data_dir)  # warm-up: bytecode, migrations, OS file cache
        bare, terminal, usable = [], [], []
        for _ in range(repeats):
            bare.append(start_once("bare"))
            shown, ready = start_times("terminal", data_dir)
            terminal.append(shown)
            usable.append(ready)
    startup_s = median(terminal)
    baseline = median(bare)
    return {
        "startup_s": round(startup_s, 3),
        "startup_ratio": round(startup_s / baseline, 2),
        "_detail": {
            "bare_qmainwindow_s": round(baseline, 3),
            "terminal_s": [round(t, 3) for t in terminal],
            # The Charge screen's first paint: the store open, the services and the screens built.
            "usable_s": round(median(usable), 3),
            "usable_ratio": round(median(usable) / baseline, 2),
            "terminal_usable_s": [round(t, 3) for t in usable],
        },
    }


if __name__ == "__main__":
    print(run())
