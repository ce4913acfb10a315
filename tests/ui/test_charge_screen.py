"""pytest-qt: the Charge screen through the real web view to an approved charge in History, and a decline."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.ui.shell import Shell
from tests.ui.charge_flow import Scenario, charge_by_keyboard, run_session, wait_until

pytestmark = pytest.mark.webengine


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True)
    yield built


def run_shell(qloop: asyncio.AbstractEventLoop, services: Services, scenario: Scenario) -> None:
    run_session(qloop, services, scenario)
    gc.collect()  # free the window's widgets now, at a quiet point, not in the middle of the next test


def test_approved_charge_appears_in_history(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        headline = await charge_by_keyboard(
            shell, amount="1250.50", reference="UI-APPROVED", card="4242424242424242"
        )
        assert "Approved" in headline
        details = shell.charge.result.details.text()
        assert "Approval code" in details and "Visa •••• 4242" in details
        QTest.keyClick(shell.window, Qt.Key.Key_F3)
        model = shell.history.model
        await wait_until(lambda: model.rowCount() == 1, what="the History row")
        row = [model.index(0, c).data() for c in range(model.columnCount())]
        assert row[1] == "UI-APPROVED"
        assert row[2] == "OGO Pay"
        assert row[3] == "Sale"
        assert "1,250.50" in row[4]
        assert row[5] == "Captured"
        assert row[6] == "Visa •••• 4242"

    run_shell(qloop, services, scenario)


def test_declined_charge_says_why(qloop: asyncio.AbstractEventLoop, services: Services) -> None:
    async def scenario(shell: Shell) -> None:
        headline = await charge_by_keyboard(
            shell, amount="20", reference="UI-DECLINED", card="4000000000009995"
        )
        assert "Declined" in headline
        assert "Insufficient funds" in shell.charge.result.details.text()
        QTest.keyClick(shell.charge.result.new_payment, Qt.Key.Key_Return)
        await wait_until(lambda: shell.charge.stack.currentWidget() is shell.charge.form, what="a new form")
        assert shell.charge.form.amount.text() == ""
        shell.window.show_history()
        await wait_until(lambda: shell.history.model.rowCount() == 1, what="the History row")
        assert shell.history.model.index(0, 5).data() == "Declined"

    run_shell(qloop, services, scenario)


def test_bad_amount_names_the_field_and_keeps_the_input(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    async def scenario(shell: Shell) -> None:
        form = shell.charge.form
        QTest.keyClicks(form.reference, "KEEP-ME")
        QTest.keyClicks(form.amount, "12.345")
        QTest.keyClick(form.amount, Qt.Key.Key_Return)
        error = form._errors["amount"]
        assert error.isVisibleTo(shell.window)
        assert error.text() == "Amount: LKR allows at most 2 decimals."
        assert form.amount.text() == "12.345" and form.reference.text() == "KEEP-ME"
        assert shell.charge.view is None

    run_shell(qloop, services, scenario)
