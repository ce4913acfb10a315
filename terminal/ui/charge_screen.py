"""The Charge screen: form → the gateway's card page (and 3-D Secure) in the web view → the result.

On profiles with direct entry the card is typed into the form instead and sent from here; a 3-D
Secure page then opens in the same web view, returning to the same loopback listener. A saved card
of the customer is charged without either page unless the gateway asks for 3-D Secure.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from terminal.domain.ledger import Transaction
from terminal.gateways.base import Challenge
from terminal.gateways.errors import GatewayError, ValidationError
from terminal.services.payments import (
    DirectPayment,
    HostedPayment,
    PaymentInputError,
    PaymentOutcome,
    PaymentService,
)
from terminal.services.profiles import ProfileError, ProfileRegistry
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.charge_form import DIRECT, HOSTED, ChargeForm, ChargeInput
from terminal.ui.link_panel import LinkPanel
from terminal.ui.result_panel import ResultPanel
from terminal.ui.return_listener import PageSlot, ReturnListener

if TYPE_CHECKING:  # QtWebEngine is loaded with the first card page, not at start-up (ui/shell.py)
    from terminal.ui.web_view import PaymentWebView

log = logging.getLogger(__name__)


class ChargeScreen(QWidget):
    """Takes one payment at a time; `completed` fires with each outcome so History can refresh."""

    completed = Signal(object)
    history_requested = Signal()
    # Print receipt on an approved result (Ctrl+P): the transaction's id, for the shell's receipt preview.
    receipt_requested = Signal(str)

    def __init__(
        self,
        payments: PaymentService,
        profiles: ProfileRegistry,
        listener: ReturnListener,
        bridge: AsyncBridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.payments = payments
        self.profiles = profiles
        self.listener = listener
        self.bridge = bridge
        self.form = ChargeForm(profiles.all())
        self.result = ResultPanel()
        self.card_page = QWidget()
        self._card_layout = QVBoxLayout(self.card_page)
        self._card_layout.setContentsMargins(0, 0, 0, 0)
        self.view: PaymentWebView | None = None
        self._hosted: HostedPayment | None = None
        self._direct: DirectPayment | None = None
        self._slot: PageSlot | None = None
        self.link_panel = LinkPanel()
        self.stack = QStackedWidget()
        for page in (self.form, self.card_page, self.result, self.link_panel):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self.form.submitted.connect(self._start)
        self.form.link_requested.connect(self._start_link)
        self.form.customer_entered.connect(self._look_up_saved_cards)
        self.form.forget_requested.connect(self.forget_card)
        self.link_panel.closed.connect(self.new_payment)
        self.result.new_payment.clicked.connect(self.new_payment)
        self.result.show_history.clicked.connect(self.history_requested)
        self.result.print_receipt.clicked.connect(self.request_receipt)
        print_receipt = QShortcut(QKeySequence("Ctrl+P"), self.result)
        print_receipt.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        print_receipt.activated.connect(self.request_receipt)
        cancel = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.card_page)
        cancel.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        cancel.activated.connect(self.cancel_card_entry)

    # -- flow -------------------------------------------------------------------------------
    def _start(self, request: ChargeInput) -> None:
        if request.entry != HOSTED:
            self.bridge.run(
                self._charge_card(request),
                on_error=self._start_failed,
                controls=[self.form.enter_card],
                busy_text="Sending the payment to the gateway…",
            )
            return
        self.bridge.run(
            self._open_card_page(request),
            on_error=self._start_failed,
            controls=[self.form.enter_card],
            busy_text="Payment page open: waiting for the customer's details…",
        )

    async def _open_card_page(self, request: ChargeInput) -> None:
        profile = self.profiles.get(request.profile_id)
        slot = self.listener.new_page()
        try:
            hosted = await self.payments.begin_hosted(
                request.profile_id,
                request.kind,
                request.amount,
                return_url=slot.return_url,
                merchant_reference=request.reference,
                customer_id=request.customer_id,
                customer_name=request.customer_name,
                description=request.description,
            )
            self._hosted, self._slot = hosted, slot
            try:
                fields = await self._show_page(hosted.challenge, slot, live=profile.live)
            except BaseException:
                if self._hosted is hosted:  # not already closed by Esc: record that nothing was charged
                    self._hosted = self._slot = None
                    self._close_view()
                    await self.payments.cancel_hosted(
                        hosted, "The card page could not be used; nothing was charged"
                    )
                raise
        finally:
            self.listener.forget(slot)
        self._close_view()
        self.stack.setCurrentWidget(self.result)
        self.result.headline.setText("Charging…")
        self.result.details.setText("Waiting for the gateway. Do not close the terminal.")
        # Where a 3-D Secure page returns, for gateways that ask for one when the page's token is charged.
        challenge_slot = self.listener.new_page()
        try:
            payment = await self.payments.complete_hosted_payment(
                hosted, fields, challenge_return_url=challenge_slot.return_url
            )
        except Exception:
            self.listener.forget(challenge_slot)
            # The page returned, so money may have moved: never back to a filled form that invites a retry.
            log.exception("Completing the payment %s failed", hosted.operation.id)
            self._hosted = self._slot = None
            self.result.show_unknown(hosted.transaction.merchant_reference)
            self.stack.setCurrentWidget(self.result)
            return
        self._hosted = None
        await self._through_challenge(payment, challenge_slot, live=profile.live)

    async def _show_page(self, challenge: Challenge, slot: PageSlot, *, live: bool) -> dict[str, str]:
        from terminal.ui.web_view import PaymentWebView

        # Plain http to loopback only in the sandbox; the terminal's own listener (card page, return) always.
        view = PaymentWebView(challenge, allow_loopback_http=not live, local_origin=self.listener.origin)
        view.cancelled.connect(self.cancel_card_entry)
        view.load_failed.connect(self._page_failed)
        if challenge.html is not None:
            # The card page is served by our loopback listener, so it has a real http origin and headers.
            slot.set_page(challenge.html, challenge.allowed_origins)
        self._show_view(view, slot.entry_url if challenge.html is not None else None)
        return await slot.wait()

    # -- direct entry and saved cards ----------------------------------------------------------
    async def _charge_card(self, request: ChargeInput) -> None:
        profile = self.profiles.get(request.profile_id)
        slot = self.listener.new_page()
        try:
            payment = await self._send_card(request, slot.return_url)
        except BaseException:
            self.listener.forget(slot)
            raise
        finally:
            # The number and CVC are needed for this one request only, whatever its outcome.
            self.form.card.clear_sensitive()
        await self._through_challenge(payment, slot, live=profile.live)

    async def _through_challenge(self, payment: DirectPayment, slot: PageSlot, *, live: bool) -> None:
        """Show the gateway's 3-D Secure page for a payment waiting on it (`slot` is where the page returns),
        then let the gateway's own answer decide; a payment not waiting is shown as it stands."""
        try:
            if payment.challenge is None:
                self._finish(payment.outcome)
                return
            self._direct, self._slot = payment, slot
            try:
                fields = await self._show_page(payment.challenge, slot, live=live)
            except Exception:
                log.exception("The 3-D Secure page of %s could not be used", payment.operation.id)
                if self._direct is payment:  # not closed by Esc: the gateway holds it; show where it stands
                    self._direct = self._slot = None
                    self._close_view()
                    self._finish(await self.payments.cancel_direct(payment))
                return
        finally:
            self.listener.forget(slot)
        self._close_view()
        self._direct = self._slot = None
        self.stack.setCurrentWidget(self.result)
        self.result.headline.setText("Charging…")
        self.result.details.setText("Waiting for the gateway. Do not close the terminal.")
        self._finish(await self.payments.complete_direct(payment, fields))

    async def _send_card(self, request: ChargeInput, return_url: str) -> DirectPayment:
        if request.entry == DIRECT:
            assert request.card is not None  # the form reads a card for direct entry
            return await self.payments.charge_direct(
                request.profile_id,
                request.kind,
                request.amount,
                request.card,
                return_url=return_url,
                merchant_reference=request.reference,
                customer_id=request.customer_id,
                customer_name=request.customer_name,
                description=request.description,
                save_card=request.save_card,
            )
        return await self.payments.charge_saved(
            request.profile_id,
            request.kind,
            request.amount,
            request.saved_tx_id,
            return_url=return_url,
            merchant_reference=request.reference,
            description=request.description,
        )

    def _look_up_saved_cards(self, profile_id: str, customer_id: str) -> None:
        if not customer_id:
            self.form.set_saved_cards([])
            return
        self.bridge.run(
            self.payments.saved_cards(profile_id, customer_id),
            on_done=self.form.set_saved_cards,
            on_error=lambda exc: log.warning("Saved cards could not be read: %s", exc),
            busy_text="Looking up the customer's saved cards…",
            background=True,
        )

    def forget_card(self, tx_id: str) -> None:
        """Forget a saved card (the customer asked): at the gateway where it can, here always; then the
        customer's remaining cards are offered."""
        form = self.form
        masked = form.saved.currentText().split("  exp")[0]
        profile = form.current_profile()
        customer = form.customer_id.text().strip()

        async def forget() -> list[Transaction]:
            await self.payments.forget_card(tx_id)
            return await self.payments.saved_cards(profile.id, customer) if profile and customer else []

        def forgotten(cards: list[Transaction]) -> None:
            form.set_saved_cards(cards)
            form.message.setText(f"The saved card {masked} was forgotten; it cannot be charged again.")
            if cards:
                form.saved.setFocus()
            else:
                form.focus_field("entry")

        self.bridge.run(
            forget(),
            on_done=forgotten,
            on_error=lambda exc: form.message.setText(f"The saved card could not be forgotten: {exc}"),
            controls=[form.forget, form.enter_card],
            busy_text="Forgetting the saved card…",
        )

    def _start_link(self, request: ChargeInput) -> None:
        self.bridge.run(
            self._create_link(request),
            on_done=self._follow_link,
            on_error=self._start_failed,
            controls=[self.form.enter_card, self.form.send_link],
            busy_text="Creating the payment link…",
        )

    async def _create_link(self, request: ChargeInput) -> HostedPayment:
        profile = self.profiles.get(request.profile_id)
        # Where the customer's browser lands after paying: the shop's page on a live profile; in the
        # sandbox (training on this computer) the terminal's own listener.
        landing = profile.settings.get("link_return_url") or self.listener.new_page().return_url
        hosted = await self.payments.begin_hosted(
            request.profile_id,
            request.kind,
            request.amount,
            return_url=landing,
            merchant_reference=request.reference,
            customer_id=request.customer_id,
            customer_name=request.customer_name,
            description=request.description,
        )
        # Recorded as a link: Payment links (F6) lists it with the open links and follows its status.
        return await self.payments.record_link(hosted)

    def _follow_link(self, hosted: HostedPayment) -> None:
        summary = f"{hosted.operation.amount.display()} · order {hosted.transaction.merchant_reference}"
        self.link_panel.show_link(hosted.challenge.url or "", summary)
        self.stack.setCurrentWidget(self.link_panel)
        self.completed.emit(PaymentOutcome(hosted.transaction, hosted.operation))

        def followed(outcome: PaymentOutcome) -> None:
            self.link_panel.status.setText(outcome.message)
            self.completed.emit(outcome)

        self.bridge.run(
            self.payments.follow(hosted),
            on_done=followed,
            busy_text="Following the payment link…",
            background=True,
        )

    def _show_view(self, view: PaymentWebView, entry_url: str | None) -> None:
        self._close_view()
        self.view = view
        self._card_layout.addWidget(view)
        self.stack.setCurrentWidget(self.card_page)
        if entry_url:
            view.load_url(entry_url)
        else:
            view.load()
        view.setFocus()

    def _close_view(self) -> None:
        if self.view is not None:
            self.view.close_page()
            self._card_layout.removeWidget(self.view)
            self.view.deleteLater()
            self.view = None
            # The web view held the keyboard; give it back to the window so F2/F3/Enter keep working.
            self.window().activateWindow()
            self.setFocus()

    def _start_failed(self, exc: BaseException) -> None:
        self._close_view()
        self.stack.setCurrentWidget(self.form)
        field = getattr(exc, "field", "")
        if isinstance(exc, (PaymentInputError, ValidationError)) and field in self.form.field_names:
            self.form.show_error(field, exc.message)
            self.form.focus_field(field)
        elif isinstance(exc, (GatewayError, ProfileError)):
            self.form.message.setText(getattr(exc, "message", str(exc)))
        else:
            log.error("Opening the card page failed", exc_info=exc)
            self.form.message.setText("The card page could not be opened; nothing was charged. Try again.")

    def _page_failed(self, reason: str) -> None:
        self.form.message.setText(f"The card page could not be shown: {reason}")
        self.cancel_card_entry()

    def cancel_card_entry(self) -> None:
        """Esc on the card page: close it; the operation is recorded as not sent."""
        direct, slot = self._direct, self._slot
        if direct is not None and slot is not None and not slot.done:
            # 3-D Secure of a payment already at the gateway: the gateway decides, reconciliation reads it.
            slot.cancel()
            self._close_view()
            self._direct = self._slot = None
            self.bridge.run(self.payments.cancel_direct(direct), on_done=self._finish)
            return
        hosted = self._hosted
        if hosted is None or slot is None or slot.done:
            return
        slot.cancel()
        self._close_view()
        self._hosted = self._slot = None
        self.stack.setCurrentWidget(self.form)
        self.bridge.run(self.payments.cancel_hosted(hosted), on_done=self.completed.emit)

    def _finish(self, outcome: PaymentOutcome) -> None:
        self._hosted = self._direct = None
        self._slot = None
        self.result.show_outcome(outcome)
        self.stack.setCurrentWidget(self.result)
        self.result.new_payment.setFocus()
        self.completed.emit(outcome)

    def request_receipt(self) -> None:
        """Ask for the receipt of the approved payment on the result panel (nothing otherwise)."""
        if self.stack.currentWidget() is self.result and not self.result.print_receipt.isHidden():
            self.receipt_requested.emit(self.result.tx_id)

    def new_payment(self) -> None:
        """Back to an empty form for the next customer."""
        self.result.print_receipt.hide()
        self.form.reset()
        self.stack.setCurrentWidget(self.form)
        self.form.amount.setFocus()
