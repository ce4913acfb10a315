"""Regenerate docs/screenshots/: Charge, the card page and 3-D Secure inside it, the result, History.

Run from the checkout: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtWidgets import QApplication

from terminal.app import build_services
from terminal.ui.shell import Shell
from tests.ui.charge_flow import charge_by_keyboard, run_session, wait_until

OUT = ROOT / "docs" / "screenshots"


async def shoot(shell: Shell) -> None:
    window = shell.window
    window.resize(1280, 800)

    def snap(name: str) -> None:
        QApplication.processEvents()
        window.grab().save(str(OUT / f"{name}.png"))
        print("wrote", OUT / f"{name}.png")

    await charge_by_keyboard(
        shell, amount="1250.50", reference="INV-10231", card="4242424242424242", snap=snap
    )
    for amount, reference, card in (
        ("89.90", "INV-10232", "4000000000009995"),
        ("15000", "INV-10233", "5555555555554444"),
    ):
        shell.charge.new_payment()
        await charge_by_keyboard(shell, amount=amount, reference=reference, card=card)
        if reference == "INV-10232":
            snap("result_declined")
    shell.window.show_history()
    await wait_until(lambda: shell.history.model.rowCount() == 3, what="History rows")
    await asyncio.sleep(0.3)
    snap("history")


def main() -> int:
    import qasync

    OUT.mkdir(parents=True, exist_ok=True)
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    services = build_services(Path(tempfile.mkdtemp(prefix="mt-shots-")), force_sandbox=True)

    with loop:
        run_session(loop, services, shoot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
