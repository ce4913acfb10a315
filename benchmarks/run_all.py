"""Run every benchmark of issue 11, print a table against the targets, write `benchmarks/results.json`.

    .venv/bin/python benchmarks/run_all.py            # the real thing (first run builds the 1M store)
    .venv/bin/python benchmarks/run_all.py --tiny     # a quick check that the harness works

Each benchmark runs in its own process, so one's memory, threads and Qt state never colour another's.
`results.json` holds exactly the keys of the issue; the details behind each figure and the machine go to
`results_detail.json` beside it. Benchmarks are not tests: nothing here fails on a missed target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import TARGETS  # noqa: E402

HERE = Path(__file__).resolve().parent
MARK = "BENCHMARK-RESULT "

# name -> (full-size arguments, tiny arguments)
BENCHMARKS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "startup": ({"repeats": 5}, {"repeats": 1}),
    "history": ({"rows": 1_000_000}, {"rows": 2_000, "scroll_rows": 1_000, "web_view": False}),
    "charge": ({"repeats": 60}, {"repeats": 3}),
    "batch": ({"count": 1000}, {"count": 10}),
    "ui": ({"rows": 1_000_000}, {"rows": 2_000, "charges": 3, "lost": 1}),
}


def run_one(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Run benchmark `name` in a child process; its result dictionary."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
    }
    code = (
        "import json, os, sys\n"
        f"from benchmarks import bench_{name} as bench\n"
        f"result = bench.run(**json.loads({json.dumps(json.dumps(kwargs))}))\n"
        f"print({MARK!r} + json.dumps(result), flush=True)\n"
        "sys.stderr.flush()\n"
        "os._exit(0)  # Qt and the simulators' threads need no orderly teardown here\n"
    )
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result: dict[str, Any] = json.loads(line[len(MARK) :])
            result.setdefault("_detail", {})["wall_s"] = round(time.perf_counter() - started, 1)
            return result
    raise RuntimeError(f"benchmark {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def table(results: dict[str, float]) -> str:
    """The results against the targets, one line each."""
    lines = [f"{'key':<26}{'result':>12}  {'target':<10}{'':<6}what", "-" * 100]
    for target in TARGETS:
        value = results.get(target.key)
        bound = f"{'≤' if target.at_most else '≥'} {target.bound:g}{target.unit}"
        if value is None:
            lines.append(f"{target.key:<26}{'—':>12}  {bound:<10}{'':<6}{target.what}")
            continue
        verdict = "ok" if target.met(value) else "MISS"
        lines.append(f"{target.key:<26}{value:>11g}{target.unit:<1} {bound:<10}{verdict:<6}{target.what}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes: prove the harness works, fast")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="where to write the results")
    args = parser.parse_args(argv)
    from benchmarks.common import machine

    results: dict[str, float] = {}
    details: dict[str, Any] = {"machine": machine(), "tiny": args.tiny}
    for name in args.only or list(BENCHMARKS):
        full, tiny = BENCHMARKS[name]
        print(f"running {name}…", flush=True)
        result = run_one(name, tiny if args.tiny else full)
        details[name] = result.pop("_detail", {})
        results.update(result)
        print(f"  {result}  {details[name]}", flush=True)
    ordered = {t.key: results[t.key] for t in TARGETS if t.key in results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")
    detail_path = args.out.with_name(args.out.stem + "_detail.json")
    detail_path.write_text(json.dumps(details, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print()
    print(table(ordered))
    print(f"\nwrote {args.out} and {detail_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
