"""Where the terminal keeps its data, without importing the database driver (the command line needs it
before the window shows; `terminal.store.database` opens what is there)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "MerchantTerminal"


def default_data_dir() -> Path:
    """The per-user data directory of the terminal (created by `open_database`, not here)."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_NAME))
