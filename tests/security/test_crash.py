"""PCI-6: an unhandled error with card data in its message and in a frame's locals leaves a crash report
and a log record without them, on the main thread and on a worker thread, in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from terminal.services.crash import CrashReporter

ROOT = Path(__file__).resolve().parents[2]
PAN, CVC, SECRET = "4111111111111111", "913", "sk_live_CRASH-SENTINEL-42"

CHILD = f"""
import logging, sys, threading
from pathlib import Path
from terminal.services.logs import configure_logging
configure_logging(Path(sys.argv[1]), level=logging.DEBUG)

def adapter_call(card_number, cvc):
    body = {{"cardNumber": card_number, "cvc": cvc, "api_key": "{SECRET}"}}  # a local, as in an adapter
    raise ValueError(f"gateway refused {{body}} for card {{card_number}} cvc={{cvc}}")

worker = threading.Thread(target=adapter_call, args=("{PAN}", "{CVC}"), name="journal")
worker.start()
worker.join()
adapter_call("{PAN}", "{CVC}")
"""


def _assert_clean(text: str) -> None:
    assert PAN not in text and "4111 1111" not in text
    assert f"cvc={CVC}" not in text and f"'cvc': '{CVC}'" not in text
    assert SECRET not in text


def test_crash_reports_of_a_real_process_hold_no_card_data(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(logs)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    reports = sorted(logs.glob("crash-*.txt"))
    assert len(reports) == 2  # the worker thread's and the main thread's
    texts = [p.read_text(encoding="utf-8") for p in reports]
    assert any("thread journal" in t for t in texts) and any("main thread" in t for t in texts)
    for text in texts:
        assert "ValueError" in text and "adapter_call" in text  # still useful to a developer
        assert "1111" in text  # the last four stay, as on a receipt
        _assert_clean(text)
    log = (logs / "terminal.log").read_text(encoding="utf-8")
    assert "Unhandled error" in log
    _assert_clean(log)
    _assert_clean(result.stderr)


def test_reporter_masks_named_secrets_and_keeps_twenty_reports(tmp_path: Path) -> None:
    reporter = CrashReporter(tmp_path, secrets=lambda: (SECRET,))
    for _ in range(25):
        try:
            raise RuntimeError(f"token {SECRET} rejected")
        except RuntimeError as exc:
            path = reporter.report(type(exc), exc, exc.__traceback__)
    assert path is not None and SECRET not in path.read_text(encoding="utf-8")
    assert len(list(tmp_path.glob("crash-*.txt"))) == 20


def test_threading_hook_reports(tmp_path: Path) -> None:
    reporter = CrashReporter(tmp_path)
    previous = threading.excepthook
    threading.excepthook = reporter.threading_hook
    try:
        worker = threading.Thread(target=lambda: 1 / 0, name="reconcile")
        worker.start()
        worker.join()
    finally:
        threading.excepthook = previous
    assert reporter.last_report is not None
    assert "thread reconcile" in reporter.last_report.read_text(encoding="utf-8")
