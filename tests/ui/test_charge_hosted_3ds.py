"""pytest-qt: the Charge screen on OMPay, whose card page hands back a nonce that meets 3-D Secure only when
it is charged. The screen shows the 3-D Secure page next, in the web view, and the gateway's own answer
decides; the payment never ends as "unknown" on the way."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.domain.operations import OperationState
from terminal.ui.page_driver import click, run_js, wait_for_js
from terminal.ui.shell import Shell
from tests.ui.charge_flow import run_session, wait_until

pytestmark = pytest.mark.webengine

CHALLENGE_CARD = "4000 0000 0000 3220"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    yield build_services(tmp_path / "data", force_sandbox=True)
    gc.collect()


async def _type_on_card_page(shell: Shell, card: str) -> None:
    view = shell.charge.view
    assert view is not None
    page = view.web_page()
    await wait_for_js(page, "document.getElementById('cardNumber') !== null")
    values = {"cardNumber": card, "expiryMonth": "12", "expiryYear": f"{(date.today().year + 2) % 100:02d}",
              "cvv2": "123"}  # fmt: skip
    script = "".join(
        f"document.getElementById({json.dumps(k)}).value = {json.dumps(v)};" for k, v in values.items()
    )
    await run_js(page, script + "document.getElementById('submit').click(); true;")


@pytest.mark.parametrize("answer", ["approve", "decline"])
def test_card_page_then_three_d_secure(
    qloop: asyncio.AbstractEventLoop, services: Services, answer: str
) -> None:
    async def scenario(shell: Shell) -> None:
        form = shell.charge.form
        index = form.profile.findData("ompay-sandbox")
        assert index >= 0, "the OMPay demo profile is offered"
        form.profile.setCurrentIndex(index)
        form.amount.setFocus()
        QTest.keyClicks(form.amount, "2.500")
        QTest.keyClick(form.amount, Qt.Key.Key_Return)
        await wait_until(lambda: shell.charge.view is not None, what="the card page")
        card_view = shell.charge.view
        await _type_on_card_page(shell, CHALLENGE_CARD)
        # The nonce comes back, the sale meets 3-D Secure: a second page, in a new web view.
        await wait_until(
            lambda: shell.charge.view is not None and shell.charge.view is not card_view,
            what="the 3-D Secure page",
        )
        view = shell.charge.view
        assert view is not None
        page = view.web_page()
        await wait_for_js(page, "document.querySelector('#approve') !== null")
        await click(page, f"#{answer}")
        await wait_until(
            lambda: shell.charge.stack.currentWidget() is shell.charge.result and not shell.bridge.running,
            what="the result",
        )
        headline = shell.charge.result.headline.text()
        [row] = await services.history.page(0, 5)
        tx = await services.history.transaction(row.id)
        state = tx.operations[0].state
        if answer == "approve":
            assert "Approved" in headline, shell.charge.result.details.text()
            assert state is OperationState.SUCCEEDED
        else:
            assert "Approved" not in headline
            assert state is OperationState.DECLINED

    run_session(qloop, services, scenario)
