"""Needs attention (F4): operations whose outcome is unknown, and a guided way to resolve each one.

Where the gateway has a status lookup, "Check with the gateway now" asks it (never re-sending money).
Where it has none, the screen says step by step what to look for in the gateway's back office, and the
operator records the outcome found there by hand, with a mandatory note (kept on the operation and
handed to the audit log).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.ledger import Operation
from terminal.domain.operations import OperationState
from terminal.services.history import AttentionItem, NeedsAttention, ResolutionError
from terminal.ui.async_bridge import AsyncBridge

OUTCOMES = (
    (OperationState.SUCCEEDED, "&Succeeded — the money moved"),
    (OperationState.DECLINED, "&Declined — refused by the gateway or the bank"),
    (OperationState.FAILED, "&Failed — it never reached the gateway"),
)


def _plain(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)  # gateway text is never rendered as markup
    label.setWordWrap(True)
    return label


class AttentionScreen(QWidget):
    """The list of unresolved operations on the left, the selected one and its resolution on the right."""

    count_changed = Signal(int)
    resolved = Signal(str)  # the operation id, once its outcome is known

    def __init__(self, attention: NeedsAttention, bridge: AsyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attention = attention
        self.bridge = bridge
        self.items: list[AttentionItem] = []
        title = QLabel("Needs attention")
        title.setObjectName("screenTitle")
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.refresh_button = QPushButton("Refresh  Ctrl+R")
        self.list = QListWidget()
        self.list.setAccessibleName("Operations needing attention")
        self.list.setMinimumWidth(360)
        self.headline = _plain(QLabel())
        self.headline.setObjectName("resultDetails")
        self.facts = _plain(QLabel())
        self.check = QPushButton("Check with the gateway now  Ctrl+G")
        self.check.setObjectName("primary")
        self.steps_title = QLabel("Check it in the gateway's back office:")
        self.steps = _plain(QLabel())
        self.outcomes = QButtonGroup(self)
        self.note = QLineEdit()
        self.note.setPlaceholderText("What you checked, e.g. 'Found approved in the OGO portal, auth 123456'")
        self.note.setAccessibleName("Note")
        self.record = QPushButton("Record outcome  Ctrl+Enter")
        self.error = _plain(QLabel())
        self.error.setObjectName("fieldError")
        self.message = _plain(QLabel())
        self.message.setObjectName("hint")
        self.detail = self._detail_panel()
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.summary)
        top.addWidget(self.refresh_button)
        body = QHBoxLayout()
        body.addWidget(self.list, 2)
        body.addWidget(self.detail, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        self.list.currentRowChanged.connect(self._show_item)
        self.refresh_button.clicked.connect(self.refresh)
        self.check.clicked.connect(self.check_now)
        self.record.clicked.connect(self.record_by_hand)
        self.note.returnPressed.connect(self.record_by_hand)
        for keys, slot in (
            ("Ctrl+R", self.refresh),
            ("Ctrl+G", self.check_now),
            ("Ctrl+Return", self.record_by_hand),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._show_item(-1)

    def _detail_panel(self) -> QFrame:
        panel = QFrame()
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(panel)
        layout.addWidget(self.headline)
        layout.addWidget(self.facts)
        layout.addWidget(self.check)
        layout.addWidget(self.steps_title)
        layout.addWidget(self.steps)
        layout.addWidget(QLabel("Record the outcome by hand:"))
        for number, (_state, text) in enumerate(OUTCOMES):
            button = QRadioButton(text)
            self.outcomes.addButton(button, number)
            layout.addWidget(button)
        caption = QLabel("&Note (required)")
        caption.setBuddy(self.note)
        layout.addWidget(caption)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.record)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return panel

    # -- loading ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the list (on showing the screen, after each resolution, and on Ctrl+R)."""
        self.bridge.run(self.attention.items(), on_done=self._show_items, background=True)

    def _show_items(self, items: list[AttentionItem]) -> None:
        current = self.current()
        self.items = items
        self.list.clear()
        for item in items:
            tx, op = item.transaction, item.operation
            when = op.created_at.astimezone().strftime("%d %b %H:%M")
            QListWidgetItem(
                f"{item.headline}\n{tx.merchant_reference} · {item.gateway_name} · {when}", self.list
            )
        self.summary.setText(
            "Nothing needs attention."
            if not items
            else f"{len(items)} operation{'s' if len(items) != 1 else ''}"
        )
        self.count_changed.emit(len(items))
        ids = [i.operation.id for i in items]
        row = ids.index(current.operation.id) if current and current.operation.id in ids else 0
        self.list.setCurrentRow(row if items else -1)
        self._show_item(self.list.currentRow())

    def current(self) -> AttentionItem | None:
        """The item selected in the list."""
        row = self.list.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None

    def _show_item(self, row: int) -> None:
        item = self.items[row] if 0 <= row < len(self.items) else None
        self.detail.setEnabled(item is not None)
        self.error.clear()
        if item is None:
            self.headline.setText("Nothing to resolve.")
            for widget in (self.facts, self.steps):
                widget.clear()
            self.check.hide()
            return
        tx, op = item.transaction, item.operation
        self.headline.setText(item.headline)
        facts = [
            f"Order reference: {tx.merchant_reference}",
            f"Gateway: {item.gateway_name} ({tx.profile})",
            f"Sent: {op.created_at.astimezone():%d %b %Y %H:%M} by {op.operator or 'unknown operator'}",
        ]
        if tx.card.masked:
            facts.append(f"Card: {tx.card.masked}")
        if op.gateway_reference:
            facts.append(f"Gateway reference: {op.gateway_reference}")
        if op.gateway_message:
            facts.append(f"Last word from the gateway: {op.gateway_message}")
        self.facts.setText("\n".join(facts))
        self.check.setVisible(item.can_check)
        self.steps_title.setText(
            "If the check cannot settle it, look in the gateway's back office:"
            if item.can_check
            else f"{item.gateway_name} offers no status lookup. Check it in its back office:"
        )
        self.steps.setText("\n".join(f"{n}. {step}" for n, step in enumerate(item.steps, start=1)))

    # -- actions ----------------------------------------------------------------------------
    def check_now(self) -> None:
        """Ctrl+G: ask the gateway about the selected operation now."""
        item = self.current()
        if item is None or not item.can_check:
            return
        self.bridge.run(
            self.attention.check(item.operation.id),
            on_done=lambda op: self._checked(item, op),
            on_error=lambda exc: self.error.setText(f"The check failed: {exc}"),
            controls=[self.check, self.record],
            busy_text=f"Asking {item.gateway_name} about {item.transaction.merchant_reference}…",
        )

    def _checked(self, item: AttentionItem, op: Operation | None) -> None:
        reference = item.transaction.merchant_reference
        if op is None or op.state.is_final:
            state = op.state.value if op is not None else "resolved"
            self.message.setText(f"{reference}: {item.gateway_name} answered — {state}.")
            self.resolved.emit(item.operation.id)
        else:
            self.message.setText(
                f"{reference}: {item.gateway_name} could not confirm the outcome yet; "
                "check its back office and record it by hand."
            )
        self.refresh()

    def record_by_hand(self) -> None:
        """Ctrl+Enter: record the chosen outcome with the note; the note and choice stay on error."""
        item = self.current()
        if item is None:
            return
        chosen = self.outcomes.checkedId()
        if chosen < 0:
            self.error.setText("Outcome: choose succeeded, declined or failed.")
            self.outcomes.buttons()[0].setFocus()
            return
        state = OUTCOMES[chosen][0]
        self.bridge.run(
            self.attention.record_by_hand(item.operation.id, state, self.note.text()),
            on_done=lambda op: self._recorded(item, op),
            on_error=self._record_failed,
            controls=[self.record, self.check],
            busy_text="Recording the outcome…",
        )

    def _recorded(self, item: AttentionItem, op: Operation) -> None:
        self.message.setText(f"{item.transaction.merchant_reference}: recorded as {op.state.value}.")
        self.note.clear()
        checked = self.outcomes.checkedButton()
        if checked is not None:
            self.outcomes.setExclusive(False)
            checked.setChecked(False)
            self.outcomes.setExclusive(True)
        self.resolved.emit(op.id)
        self.refresh()

    def _record_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ResolutionError):
            self.error.setText(exc.message)
            if exc.field == "note":
                self.note.setFocus()
            return
        self.error.setText(f"Could not record the outcome: {exc}")
