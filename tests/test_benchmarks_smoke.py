"""The benchmark harness runs end to end in its tiny mode (2,000 rows, a few charges): no timing asserted.

Benchmarks are not tests; this only proves `benchmarks/run_all.py` and every benchmark still work against
the real services, screens and simulators, and that results.json holds exactly the issue's keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEYS = [
    "startup_ratio",
    "startup_s",
    "history_open_ms",
    "history_search_ms",
    "history_filter_ms",
    "history_scroll_stall_ms",
    "charge_overhead_ratio",
    "batch_capture_per_s",
    "ui_max_stall_ms",
    "rss_mb",
]


@pytest.mark.timeout(400)
def test_run_all_in_tiny_mode_writes_every_key(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--tiny", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert list(results) == KEYS
    assert all(isinstance(value, int | float) and value > 0 for value in results.values()), results
    detail = json.loads((tmp_path / "results_detail.json").read_text(encoding="utf-8"))
    assert detail["tiny"] is True and detail["machine"]["python"]
    assert detail["history"]["search_ms"].keys() == {"reference", "last_four"}
    assert detail["ui"]["exported_rows"] > 0 and detail["batch"]["captures"] == 10
    for key in KEYS:  # the table names every target
        assert key in proc.stdout
