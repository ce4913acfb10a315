"""End-to-end fixtures: the real services on a fresh data directory against the real simulators."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from terminal.assembly import Services, build_services

T = TypeVar("T")


_LOOP = asyncio.new_event_loop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion on the suite's loop (HTTP clients stay bound to one loop)."""
    return _LOOP.run_until_complete(coro)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    built = build_services(data_dir, force_sandbox=True)
    try:
        yield built
    finally:
        run(built.aclose())
