"""A payout the gateway holds for approval, approved and cancelled from the transaction detail by keyboard,
against the first sandbox gateway that declares payout_approval."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from terminal.assembly import Services, build_services
from terminal.domain.money import Money
from terminal.domain.operations import OperationState
from terminal.gateways.base import CardDetails
from terminal.ui.action_dialogs import Action
from terminal.ui.shell import Shell
from tests.ui.charge_flow import run_session, wait_until
from tests.ui.test_payout_screen import first_with, with_direct_entry


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(tmp_path / "data", force_sandbox=True)
    with_direct_entry(built)
    yield built
    gc.collect()


def test_held_payout_is_approved_or_cancelled_on_the_detail(
    qloop: asyncio.AbstractEventLoop, services: Services
) -> None:
    profile = first_with(services, "payout_approval")
    if not profile.capabilities.payout_to_card:
        pytest.skip(f"{profile.capabilities.display_name} holds payouts but cannot pay out to a typed card")
    if profile.gateway == "connect":
        # Connect pays out to cards on its Ogone platform only: the merchant's platform, set in Settings.
        registry = services.profiles
        registry._profiles[profile.id] = replace(
            profile, settings={**profile.settings, "platform_style": "ogone"}
        )

    async def held(reference: str) -> str:
        card = CardDetails("4242424242424242", 12, date.today().year + 2, "123", "Ada")
        outcome = await services.payouts.payout(
            profile.id, Money(2000, profile.currency), card=card, merchant_reference=reference
        )
        if outcome.operation.state is OperationState.FAILED:
            pytest.skip(f"the sandbox cannot hold a card payout yet: {outcome.message}")
        assert outcome.operation.state is OperationState.CHALLENGE, outcome.message
        return outcome.transaction.id

    async def decide(shell: Shell, tx_id: str, action: Action) -> OperationState:
        shell.open_transaction(tx_id)
        detail = shell.detail
        await wait_until(lambda: detail.tx is not None and detail.tx.id == tx_id, what="the detail")
        button = detail.buttons[action]
        assert button.isVisibleTo(detail) and button.isEnabled(), detail.reasons.text()
        assert not detail.buttons[Action.CAPTURE].isEnabled()
        button.setFocus()
        QTest.keyClick(button, Qt.Key.Key_Return)
        assert detail.dialog.pages.currentWidget() is detail.dialog.confirm_page
        QTest.keyClick(detail.dialog.confirm, Qt.Key.Key_Return)
        await wait_until(lambda: not shell.bridge.running, what="the gateway")
        assert detail.tx is not None
        first = detail.tx.first_operation
        assert first is not None
        assert not detail.buttons[action].isEnabled()  # no longer held
        return first.state

    async def scenario(shell: Shell) -> None:
        approved = await held("PO-APPROVE")
        assert await decide(shell, approved, Action.APPROVE_PAYOUT) is OperationState.SUCCEEDED
        cancelled = await held("PO-CANCEL")
        assert await decide(shell, cancelled, Action.CANCEL_PAYOUT) is OperationState.FAILED
        assert "cancelled" in shell.detail.message.text().lower()

    run_session(qloop, services, scenario)
