"""PCI-1/PCI-2 sweep: after real flows, no card number used appears in any byte the run wrote."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from terminal.assembly import build_services
from terminal.domain.operations import OperationKind
from terminal.services.logs import configure_logging
from tests.e2e.conftest import run
from tests.e2e.flows import arm_fault, hosted_payment

CARDS = ["4242424242424242", "4000000000000002", "4000000000009995", "5555555555554444", "4111111111111111"]


def _forms(number: str) -> list[bytes]:
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    dashed = spaced.replace(" ", "-")
    return [number.encode(), spaced.encode(), dashed.encode(), number.encode("utf-16-le")]


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_DIGIT_RUN = re.compile(rb"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")


def scan(root: Path, numbers: list[str]) -> list[str]:
    """Every file under `root` holding one of `numbers`, or any Luhn-valid 13-19 digit run."""
    hits: list[str] = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for number in numbers:
            if any(form in data for form in _forms(number)):
                hits.append(f"{path}: {number[-4:]}")
        for match in _DIGIT_RUN.finditer(data):
            digits = re.sub(rb"[ -]", b"", match.group()).decode()
            if 13 <= len(digits) <= 19 and _luhn(digits) and digits in numbers:
                hits.append(f"{path}: luhn run ending {digits[-4:]}")
    return hits


def test_no_card_number_reaches_any_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    configure_logging(data_dir / "logs", level=logging.DEBUG)
    services = build_services(data_dir, force_sandbox=True)
    try:
        for number in CARDS:
            run(hosted_payment(services, number))
        run(hosted_payment(services, CARDS[0], kind=OperationKind.AUTHORIZE))
        arm_fault(services, "/purchase", "malformed_json")
        run(hosted_payment(services, CARDS[3]))
        run(services.reconciler.run())
    finally:
        run(services.aclose())
        root = logging.getLogger()
        root.handlers.clear()
        root.setLevel(logging.WARNING)
    assert (data_dir / "terminal.db").exists() and (data_dir / "logs" / "terminal.log").stat().st_size > 0
    assert scan(data_dir, CARDS) == []


def test_self_test_process_writes_no_card_number(tmp_path: Path) -> None:
    data_dir, temp = tmp_path / "data", tmp_path / "tmp"
    temp.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    # Everything the process could write lands under tmp_path: data, temp files and the user's home.
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    result = subprocess.run(
        [sys.executable, "-m", "terminal.app", "--self-test", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test: OK" in result.stdout
    assert scan(tmp_path, ["4242424242424242"]) == []
