"""History's filter bar: period (with a custom date range), gateway profile, state and operation kind.

Each control is a plain combo box or date field reachable with Tab; `changed` fires on any change and
`query(search)` turns the bar into a `HistoryQuery`. Dates are the clerk's local calendar days; the
query holds the matching UTC instants [first day 00:00, day after the last 00:00).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terminal.domain.ledger import TransactionState
from terminal.domain.operations import OperationKind
from terminal.store.queries import HistoryQuery

PERIODS = ("Any time", "Today", "Last 7 days", "Last 30 days", "This month", "Custom range")
CUSTOM = len(PERIODS) - 1
# The kinds that open a transaction, which is what a History row's "Type" is.
KINDS = tuple(kind for kind in OperationKind if kind.opens_transaction)


def local_midnight(day: date) -> datetime:
    """The instant the local calendar day `day` starts."""
    return datetime.combine(day, time()).astimezone()


def period_range(
    period: int, today: date, first: date, last: date
) -> tuple[datetime | None, datetime | None]:
    """The [from, to) instants of a period choice (`first`/`last` are the custom range's days)."""
    if period == 1:
        return local_midnight(today), local_midnight(today + timedelta(days=1))
    if period in (2, 3):
        days = 7 if period == 2 else 30
        return local_midnight(today - timedelta(days=days - 1)), local_midnight(today + timedelta(days=1))
    if period == 4:
        return local_midnight(today.replace(day=1)), local_midnight(today + timedelta(days=1))
    if period == CUSTOM:
        low, high = min(first, last), max(first, last)
        return local_midnight(low), local_midnight(high + timedelta(days=1))
    return None, None


def _shrinkable(combo: QComboBox, characters: int = 26) -> None:
    """Let a combo box narrow below its longest entry (a long profile name); its list still shows it whole."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    view = combo.view()
    view.setMinimumWidth(view.sizeHintForColumn(0) + 24)


class FilterBar(QWidget):
    """Period, gateway, state and type filters for History, with a Clear button."""

    changed = Signal()

    def __init__(self, profiles: Sequence[tuple[str, str]] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.period = QComboBox()
        self.period.addItems(PERIODS)
        self.period.setAccessibleName("Period")
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-6))
        self.date_to = QDateEdit(today)
        for edit, name in ((self.date_from, "From date"), (self.date_to, "To date")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
            edit.setAccessibleName(name)
            edit.setEnabled(False)
        self.profile = QComboBox()
        self.profile.setAccessibleName("Gateway")
        self.profile.addItem("All gateways", None)
        for profile_id, label in profiles:
            self.profile.addItem(label, profile_id)
        self.state = QComboBox()
        self.state.setAccessibleName("State")
        self.state.addItem("All states", None)
        for state in TransactionState:
            self.state.addItem(state.label, state.value)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Type")
        self.kind.addItem("All types", None)
        for kind in KINDS:
            self.kind.addItem(kind.label, kind.value)
        self.clear = QPushButton("Clear filters")
        _shrinkable(self.profile)
        # Two rows, so that History fits 1280 px beside the navigation: when, then which.
        when, which = QHBoxLayout(), QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(when)
        layout.addLayout(which)
        for row, label, widget in (
            (when, "&Period", self.period),
            (when, "", self.date_from),
            (when, "–", self.date_to),
            (which, "&Gateway", self.profile),
            (which, "S&tate", self.state),
            (which, "T&ype", self.kind),
        ):
            if label:
                caption = QLabel(label)
                caption.setBuddy(widget)
                row.addWidget(caption)
                if widget is self.date_to:
                    self._dash = caption
            row.addWidget(widget)
        when.addStretch(1)
        which.addStretch(1)
        which.addWidget(self.clear)
        self._period_changed(self.period.currentIndex())
        self.period.currentIndexChanged.connect(self._period_changed)
        for combo in (self.profile, self.state, self.kind):
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(lambda _d: self.changed.emit())
        self.clear.clicked.connect(self.reset)

    def _period_changed(self, index: int) -> None:
        custom = index == CUSTOM
        for widget in (self.date_from, self.date_to, self._dash):
            widget.setEnabled(custom)
            widget.setVisible(custom)  # the dates only matter, and only show, for a custom range
        self.changed.emit()

    def reset(self) -> None:
        """Back to every transaction (one `changed` signal)."""
        self.blockSignals(True)
        for combo in (self.period, self.profile, self.state, self.kind):
            combo.setCurrentIndex(0)
        self.blockSignals(False)
        self.changed.emit()

    def query(self, base: HistoryQuery, search: str) -> HistoryQuery:
        """`base` (its sort order) with this bar's filters and `search`."""
        date_from, date_to = period_range(
            self.period.currentIndex(),
            date.today(),
            self.date_from.date().toPython(),  # type: ignore[arg-type]
            self.date_to.date().toPython(),  # type: ignore[arg-type]
        )
        profile, state, kind = self.profile.currentData(), self.state.currentData(), self.kind.currentData()
        return replace(
            base,
            search=search,
            date_from=date_from,
            date_to=date_to,
            profiles=(profile,) if profile else (),
            states=(TransactionState(state),) if state else (),  # Qt hands enum data back as plain text
            kinds=(OperationKind(kind),) if kind else (),
        )

    @property
    def active(self) -> bool:
        """Whether any filter narrows the history."""
        return any(c.currentIndex() for c in (self.period, self.profile, self.state, self.kind))
