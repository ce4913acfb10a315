"""Crash reports that never carry card data (SECURITY.md PCI-6).

An unhandled exception on any thread (sys.excepthook, threading.excepthook, and errors Python can only
report as "unraisable") becomes one report file in the log directory and one log record. The report holds
the exception type, its message and the stack of file names, lines and function names, never the local
variables of the frames (where a request body or a card form could sit), and the whole text goes through
the same scrubbing as every log line: card numbers, CVCs and named secrets are masked.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from terminal.domain.scrub import scrub_text

__all__ = ["CrashReporter", "install"]

log = logging.getLogger("terminal.crash")
_KEEP = 20  # newest reports kept; older ones are removed so the folder does not grow forever


class CrashReporter:
    """Writes scrubbed crash reports to `directory`; `secrets()` names values to mask as well."""

    def __init__(self, directory: Path | None, secrets: Callable[[], tuple[str, ...]] = tuple) -> None:
        self.directory = directory
        self.secrets = secrets
        self.last_report: Path | None = None

    def report(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None, where: str = ""
    ) -> Path | None:
        """Write one report; returns its path (None when there is no directory or it cannot be written)."""
        lines = traceback.format_exception(kind, value, tb)  # frames and source lines, no locals
        header = f"Merchant Terminal crash report {datetime.now(UTC).isoformat()} pid {os.getpid()}"
        text = scrub_text("\n".join([header, where, "".join(lines)]), self.secrets())
        log.critical("Unhandled error%s: %s", f" in {where}" if where else "", scrub_text(repr(value)))
        if self.directory is None:
            return None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
            path = self.directory / f"crash-{stamp}-{os.getpid()}.txt"
            path.write_text(text, encoding="utf-8")
            self._prune()
        except OSError:
            return None
        self.last_report = path
        return path

    def _prune(self) -> None:
        assert self.directory is not None
        reports = sorted(self.directory.glob("crash-*.txt"))
        for old in reports[:-_KEEP]:
            old.unlink(missing_ok=True)

    # -- hooks ------------------------------------------------------------------------------------
    def excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """sys.excepthook: report, then let Python print its usual (now scrubbed) notice."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        self.report(kind, value, tb, "main thread")
        print(
            f"merchant-terminal: unexpected error ({kind.__name__}); a report was written.", file=sys.stderr
        )

    def threading_hook(self, args: threading.ExceptHookArgs) -> None:
        """threading.excepthook: a worker thread's unhandled error."""
        if args.exc_value is None:
            return
        thread = args.thread.name if args.thread is not None else "?"
        self.report(args.exc_type, args.exc_value, args.exc_traceback, f"thread {thread}")

    def unraisable_hook(self, unraisable: object) -> None:
        """sys.unraisablehook: errors in finalizers and callbacks Python cannot raise."""
        value = getattr(unraisable, "exc_value", None)
        if isinstance(value, BaseException):
            self.report(type(value), value, getattr(unraisable, "exc_traceback", None), "unraisable")


def install(directory: Path | None, secrets: Callable[[], tuple[str, ...]] = tuple) -> CrashReporter:
    """Route every unhandled error of the process through a scrubbing reporter writing to `directory`."""
    reporter = CrashReporter(directory, secrets)
    sys.excepthook = reporter.excepthook
    threading.excepthook = reporter.threading_hook
    sys.unraisablehook = reporter.unraisable_hook
    return reporter
