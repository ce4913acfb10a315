"""Payment links (F6): create an invoice / pay-by-link, hand the link over (QR code, copy, e-mail), and
follow every open link's live status.

The list is re-read from the gateway (InvoiceService.refresh: status reads only) on a timer and on
demand; cancel and remind are offered where the gateway's capabilities say so, and say why when not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QDateTime,
    QModelIndex,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.capabilities import Capabilities
from terminal.domain.ledger import RuleViolation, Transaction
from terminal.domain.money import MoneyError, parse_amount
from terminal.domain.operations import OperationKind, OperationState
from terminal.services.invoices import InvoiceService
from terminal.services.payments import PaymentInputError, PaymentOutcome
from terminal.services.profiles import Profile, ProfileError, ProfileRegistry
from terminal.ui.async_bridge import AsyncBridge, loop_running
from terminal.ui.field_errors import error_label, show_error
from terminal.ui.link_panel import LinkPanel
from terminal.ui.links_model import OpenLinksModel, mailto_url

REFRESH_EVERY_MS = 30_000


def link_profiles(profiles: ProfileRegistry) -> list[Profile]:
    """Profiles whose gateway creates invoices / payment links."""
    return [
        p
        for p in profiles.all()
        if p.capabilities.unavailable_reason(OperationKind.INVOICE, live=p.live) is None
    ]


class LinksScreen(QWidget):
    """Create a link (left), see it with its QR code (right), and the open links below."""

    # A link was created, cancelled or paid: its transaction id (History refreshes).
    changed = Signal(str)
    transaction_requested = Signal(str)

    def __init__(
        self,
        invoices: InvoiceService,
        profiles: ProfileRegistry,
        bridge: AsyncBridge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.invoices, self.bridge = invoices, bridge
        self._profiles = link_profiles(profiles)
        self.profile = QComboBox()
        for p in self._profiles:
            self.profile.addItem(p.label, p.id)
        self.amount = QLineEdit()
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount.setMaximumWidth(200)
        self.currency = QLabel()
        self.email = QLineEdit()
        self.email.setPlaceholderText("customer@example.com")
        self.description = QLineEdit()
        self.description.setPlaceholderText("What is being paid for")
        self.expiry = QDateTimeEdit()
        self.expiry.setCalendarPopup(True)
        self.expiry.setDisplayFormat("dd MMM yyyy HH:mm")
        self.errors = {
            n: error_label() for n in ("profile", "amount", "customer_email", "description", "expires_at")
        }
        self.create_button = QPushButton("Create &link  ⏎")
        self.create_button.setObjectName("primary")
        self.create_button.setAutoDefault(True)
        self.panel = LinkPanel()
        self.panel.done.setText("&New link")
        self.mail = QPushButton("Open &mail client")
        self.mail.setAutoDefault(True)
        self.model = OpenLinksModel()
        self.table = _table(self.model)
        self.refresh_button = QPushButton("Re&fresh status  Ctrl+R")
        self.cancel = QPushButton("&Withdraw link…")
        self.remind = QPushButton("Send a remin&der")
        self.reasons = QLabel()
        self.reasons.setObjectName("hint")
        self.reasons.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("actionMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self._current: PaymentOutcome | None = None
        self._armed_cancel = ""
        self._build()
        self._wire()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_EVERY_MS)
        self._timer.timeout.connect(self._tick)
        self._profile_changed()

    def _build(self) -> None:
        title = QLabel("Payment links")
        title.setObjectName("screenTitle")
        amount_row = QHBoxLayout()
        amount_row.addWidget(self.amount)
        amount_row.addWidget(self.currency)
        amount_row.addStretch(1)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for text, field, name in (
            ("&Gateway", self.profile, "profile"),
            ("&Amount", amount_row, "amount"),
            ("Customer &e-mail", self.email, "customer_email"),
            ("Descri&ption", self.description, "description"),
            ("E&xpires", self.expiry, "expires_at"),
        ):
            box = QVBoxLayout()
            box.setSpacing(2)
            if isinstance(field, QWidget):
                box.addWidget(field)
            else:
                box.addLayout(field)
            box.addWidget(self.errors[name])
            label = QLabel(text)
            label.setBuddy(field if isinstance(field, QWidget) else self.amount)
            form.addRow(label, box)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignRight)
        left.addStretch(1)
        # The link beside the form, without a second title and with Mail beside New link, so that the
        # open links below keep room for several rows at 800 px.
        self.panel.title.hide()
        self.panel.button_row.insertWidget(1, self.mail)
        top = QHBoxLayout()
        top.addLayout(left, 1)
        top.addWidget(self.panel, 1)
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.remind, self.cancel):
            button.setAutoDefault(True)
            buttons.addWidget(button)
        buttons.addStretch(1)
        open_title = QLabel("Open links (Enter opens the transaction)")
        open_title.setStyleSheet("font-size: 17px; font-weight: 600;")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(open_title)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.reasons)
        self.panel.hide()
        self.mail.hide()

    def _wire(self) -> None:
        self.profile.currentIndexChanged.connect(self._profile_changed)
        for edit in (self.amount, self.email, self.description):
            edit.returnPressed.connect(self.submit)
            edit.textEdited.connect(lambda _t: self._clear_errors())
        self.create_button.clicked.connect(self.submit)
        self.panel.closed.connect(self.new_link)
        self.mail.clicked.connect(self.open_mail)
        self.refresh_button.clicked.connect(self.refresh_all)
        QShortcut(QKeySequence("Ctrl+R"), self, self.refresh_all)
        self.cancel.clicked.connect(self.cancel_selected)
        self.remind.clicked.connect(self.remind_selected)
        self.table.activated.connect(self._open_row)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())

    # -- creating -------------------------------------------------------------------------------
    def current_profile(self) -> Profile | None:
        """The profile picked (None when no gateway makes links)."""
        index = self.profile.currentIndex()
        return self._profiles[index] if 0 <= index < len(self._profiles) else None

    def _profile_changed(self) -> None:
        profile = self.current_profile()
        self.create_button.setEnabled(profile is not None)
        if profile is None:
            self.message.setText("None of the configured gateways offers payment links.")
            return
        self.currency.setText(profile.currency)
        self._selection_changed()

    def new_link(self) -> None:
        """Empty the form for the next link (default expiry: in 7 days)."""
        for edit in (self.amount, self.email, self.description):
            edit.clear()
        self.expiry.setDateTime(QDateTime.currentDateTime().addDays(7))
        self._clear_errors()
        self.panel.hide()
        self.mail.hide()
        self.amount.setFocus()

    def _clear_errors(self) -> None:
        for label in self.errors.values():
            show_error(label, "")

    def submit(self) -> None:
        """Check the form and create the link."""
        self._clear_errors()
        profile = self.current_profile()
        if profile is None or not self.create_button.isEnabled():
            return
        try:
            amount = parse_amount(self.amount.text(), profile.currency)
        except MoneyError as exc:
            show_error(self.errors["amount"], exc.message)
            self.amount.setFocus()
            return
        expires = self.expires_at()
        self.bridge.run(
            self.invoices.create(
                profile.id,
                amount,
                customer_email=self.email.text(),
                description=self.description.text().strip(),
                expires_at=expires,
            ),
            on_done=self._created,
            on_error=self._refused,
            controls=[self.create_button],
            busy_text="Creating the payment link…",
        )

    def expires_at(self) -> datetime:
        """The chosen expiry as an aware UTC moment."""
        seconds = self.expiry.dateTime().toSecsSinceEpoch()
        return datetime.fromtimestamp(seconds, UTC)

    def _created(self, outcome: PaymentOutcome) -> None:
        self._current = outcome
        tx = outcome.transaction
        if tx.link_url:
            self.panel.show_link(
                tx.link_url, f"{tx.amount} for {tx.customer_email} — order {tx.merchant_reference}"
            )
            self.panel.show()
            self.mail.show()
            self.message.clear()
        else:
            self.message.setText(outcome.message)
        self.changed.emit(tx.id)
        self.reload()

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, PaymentInputError):
            show_error(self.errors.get(exc.field, self.errors["amount"]), exc.message)
        else:
            self.message.setText(f"The link could not be created: {exc}")

    def mail_url(self) -> QUrl | None:
        """The mailto: address for the link on show (None when none is)."""
        if self._current is None or not self._current.transaction.link_url:
            return None
        tx = self._current.transaction
        return mailto_url(tx.customer_email, tx.link_url, amount=str(tx.amount), description=tx.description)

    def open_mail(self) -> None:
        """Hand the link to the clerk's mail client, addressed to the customer."""
        url = self.mail_url()
        if url is not None and not QDesktopServices.openUrl(url):
            self.message.setText("No mail client answered; copy the link and send it yourself.")

    # -- the open links ---------------------------------------------------------------------------
    def shown(self) -> None:
        """F6: read the open links and follow them while the screen is in use."""
        if self.expiry.dateTime() <= QDateTime.currentDateTime():
            self.expiry.setDateTime(QDateTime.currentDateTime().addDays(7))
        self.refresh_all()
        self._timer.start()
        self.amount.setFocus()

    def _tick(self) -> None:
        # Followed only while the screen is shown and the terminal's event loop runs (not after closing).
        if not loop_running() or not self.isVisible():
            self._timer.stop()
            return
        self.refresh_all()

    def reload(self) -> None:
        """Read the open links from the store (no gateway call)."""
        self.bridge.run(self.invoices.open_links(), on_done=self._show_links, background=True)

    def refresh_all(self) -> None:
        """Ask the gateway for each open link's status, then show the list."""
        self.bridge.run(
            self._refresh(), on_done=self._show_links, background=True, busy_text="Reading links…"
        )

    async def _refresh(self) -> list[Transaction]:
        for tx in await self.invoices.open_links():
            try:
                outcome = await self.invoices.refresh(tx.id)
            except (RuleViolation, ProfileError):
                continue
            if outcome.operation.state is not OperationState.CHALLENGE:
                self.changed.emit(tx.id)
        return await self.invoices.open_links()

    def _show_links(self, links: list[Transaction]) -> None:
        current = self.selected()
        self.model.set_links(links)
        ids = [t.id for t in links]
        if current is not None and current.id in ids:
            self.table.selectRow(ids.index(current.id))
        elif links:
            self.table.selectRow(0)
        self._selection_changed()

    def selected(self) -> Transaction | None:
        """The link selected in the list."""
        return self.model.link(self.table.currentIndex().row())

    def _selection_changed(self) -> None:
        tx = self.selected()
        reasons = []
        for button, flag, what in (
            (self.cancel, "invoice_cancel", "withdraw a link"),
            (self.remind, "invoice_remind", "send reminders"),
        ):
            caps = self._caps_of(tx)
            able = tx is not None and caps is not None and bool(getattr(caps, flag))
            button.setEnabled(able)
            if tx is not None and caps is not None and not able:
                reasons.append(f"{caps.display_name} cannot {what}.")
        self.reasons.setText(" ".join(reasons))

    def _caps_of(self, tx: Transaction | None) -> Capabilities | None:
        if tx is None:
            return None
        for p in self._profiles:
            if p.id == tx.profile:
                return p.capabilities
        return None

    def cancel_selected(self) -> None:
        """Withdraw the selected link: the first press asks, the second (Enter) confirms."""
        tx = self.selected()
        if tx is None or not self.cancel.isEnabled():
            return
        if self._armed_cancel != tx.id:
            self._armed_cancel = tx.id
            self.message.setText(
                f"Withdraw the link of {tx.amount} for {tx.customer_email}? "
                "Press Enter to confirm, Esc to keep it."
            )
            self.cancel.setText("&Confirm withdraw  ⏎")
            self.cancel.setFocus()
            return
        self._disarm()
        self._act(self.invoices.cancel(tx.id), "Withdrawing the link…")

    def _disarm(self) -> None:
        self._armed_cancel = ""
        self.cancel.setText("&Withdraw link…")

    def remind_selected(self) -> None:
        """Ask the gateway to remind the customer of the selected link."""
        tx = self.selected()
        if tx is not None and self.remind.isEnabled():
            self._act(self.invoices.remind(tx.id), "Sending a reminder…", reminded=True)

    def _act(self, coro: Any, busy: str, *, reminded: bool = False) -> None:
        def done(outcome: PaymentOutcome) -> None:
            tx = outcome.transaction
            self.message.setText(
                f"Reminder sent to {tx.customer_email}."
                if reminded
                else f"Link {tx.merchant_reference} withdrawn."
            )
            self.changed.emit(tx.id)
            self.reload()

        self.bridge.run(
            coro,
            on_done=done,
            on_error=lambda exc: self.message.setText(str(exc)),
            controls=[self.cancel, self.remind],
            busy_text=busy,
        )

    def _open_row(self, index: QModelIndex) -> None:
        tx = self.model.link(index.row())
        if tx is not None:
            self.transaction_requested.emit(tx.id)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self._armed_cancel:
            self._disarm()
            self.message.setText("The link was kept.")
            event.accept()
            return
        super().keyPressEvent(event)


def _table(model: OpenLinksModel) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate((145, 120, 165, 110, 160, 145)):  # fits 1280 px; Link stretches
        table.setColumnWidth(column, width)
    return table
