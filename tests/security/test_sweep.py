"""TEST-6 / PCI-1 / PCI-2: run the flows in real processes — hosted 3-D Secure sales (approved, failed),
direct-entry sales (approved, declined), and one process SIGKILLed mid-payment — then read every byte
under the run's data, log, settings and temp directories and its home (where QtWebEngine and keyring
would write): no card number used appears in any form, and no CVC next to a card-ish key.

The web view's own profile and cache are covered by tests/e2e/test_card_sweep.py, which sweeps a whole
GUI self-test process the same way.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from terminal.assembly import build_services
from tests.e2e.conftest import run
from tests.security.sweep_child import DIRECT, HOSTED_CARDS, KILLED

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def card_forms(number: str) -> list[bytes]:
    """The number plain, spaced, dashed, URL- and form-encoded, base64 and UTF-16."""
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    texts = [number, spaced, spaced.replace(" ", "-"), quote(spaced), quote_plus(spaced)]
    forms = [t.encode() for t in texts]
    forms += [base64.b64encode(number.encode()), number.encode("utf-16-le"), spaced.encode("utf-16-le")]
    return forms


def cvc_near_key(cvc: str) -> re.Pattern[bytes]:
    return re.compile(
        rb"(?i)(cvc|cvv|cvn|csc|security)[^0-9]{0,12}" + re.escape(cvc.encode()) + rb"(?![0-9])"
    )


def sweep(root: Path, cards: list[tuple[str, str]]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        for number, cvc in cards:
            if any(form in data for form in card_forms(number)):
                hits.append(f"{path}: card ending {number[-4:]}")
            if cvc and cvc_near_key(cvc).search(data):
                hits.append(f"{path}: CVC of the card ending {number[-4:]}")
    return hits


def _child(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    home, temp = tmp_path / "home", tmp_path / "tmp"
    for directory in (home, temp):
        directory.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.security.sweep_child", str(tmp_path / "data"), mode],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def test_sweep_helpers_find_what_they_look_for(tmp_path: Path) -> None:
    # The sweep itself must be able to fail.
    (tmp_path / "log.txt").write_bytes(b'{"cvc": "913", "n": "4111-1111-1111-1111"}')
    (tmp_path / "b64").write_bytes(base64.b64encode(b"4012888888881881"))
    hits = sweep(tmp_path, [DIRECT[0], (KILLED[0], "")])
    assert len(hits) == 3


def test_no_card_number_or_cvc_reaches_any_byte(tmp_path: Path) -> None:
    flows = _child(tmp_path, "flows")
    assert flows.returncode == 0, flows.stdout + flows.stderr[-3000:]
    assert "DONE" in flows.stdout
    killed = _child(tmp_path, "killed")
    direct = "no direct-entry gateway" not in flows.stdout
    if direct:
        assert "KILLING" in killed.stdout, killed.stdout + killed.stderr[-3000:]
        assert killed.returncode == -9  # SIGKILL: nothing after the answer was recorded or cleaned up
    # A restart over the killed run: start-up reconciliation reads the unresolved payment back.
    services = build_services(tmp_path / "data", force_sandbox=True, sign_in_as="demo-admin")
    try:
        run(services.reconciler.run())
        assert run(services.history.count()) >= 2 + (4 if direct else 0)
    finally:
        run(services.aclose())
    assert (tmp_path / "data" / "logs" / "terminal.log").stat().st_size > 0
    cards = [(HOSTED_CARDS[0], ""), (HOSTED_CARDS[1], ""), *DIRECT, KILLED]
    assert sweep(tmp_path, cards) == []
