"""Logging for the terminal: one rotating file in the data directory, every record scrubbed first."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from terminal.domain.scrub import scrub_text
from terminal.services.crash import install as install_crash_reporter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries whose own debug output carries raw headers and URLs: our adapters log those, scrubbed.
QUIET_LIBRARIES = ("httpx", "httpcore", "h11", "uvicorn", "asyncio", "alembic", "sqlalchemy")


class ScrubbingFilter(logging.Filter):
    """Removes card numbers, CVCs and known secrets from a record's final text, traceback included."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_text(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub_text(text, self.secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info, self.secrets)
        return True


def configure_logging(log_dir: Path | None, *, level: int = logging.INFO) -> None:
    """Send the terminal's logs to `log_dir/terminal.log` (and stderr), scrubbed on every handler."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "terminal.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.addFilter(ScrubbingFilter())
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    handlers[0].setLevel(logging.WARNING)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Unhandled errors on any thread: a scrubbed report file beside the log, and a scrubbed record (PCI-6).
    install_crash_reporter(log_dir)
