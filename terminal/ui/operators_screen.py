"""Operators & audit (F9): create, edit, disable and unlock operators; read, verify and export the audit log.

Administrators only: changes and the export ask the administrator's password again (step-up). Opening the
audit list is itself audited (PCI DSS 10.2.1.3). The tables are plain read-only models over lists the
services return; the audit list shows the newest 500 entries, verification and export cover all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.roles import CredentialError, Operator, Permission, Role
from terminal.services.audit import Event
from terminal.services.operators import AccessDenied, SignInError
from terminal.services.security import Security
from terminal.store.audit import AuditRecord
from terminal.ui.sign_in import confirm_admin

__all__ = ["AuditModel", "OperatorModel", "OperatorsScreen"]

_Index = QModelIndex | QPersistentModelIndex


class _ListModel(QAbstractTableModel):
    headers: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(self.headers):
            return self.headers[section]
        return None

    def cell(self, row: Any, column: int) -> str:
        raise NotImplementedError

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cell(self.rows[index.row()], index.column())
        return None


class OperatorModel(_ListModel):
    """Operators: name, login, role, state."""

    headers = ("Name", "Login", "Role", "State")

    def cell(self, row: Operator, column: int) -> str:
        state = "disabled" if row.disabled else "locked out" if row.locked_until else "active"
        values = (row.name + (" (demo)" if row.demo else ""), row.login, row.role.label, state)
        return values[column] if 0 <= column < len(values) else ""


class AuditModel(_ListModel):
    """Audit entries, newest first."""

    headers = ("#", "Time (UTC)", "Operator", "Event", "Outcome", "Target", "Detail")

    def cell(self, row: AuditRecord, column: int) -> str:
        detail = ", ".join(
            f"{k}={v}" for k, v in json.loads(row.detail or "{}").items() if v not in ("", None)
        )
        values = (str(row.seq), f"{row.at:%Y-%m-%d %H:%M:%S}", row.operator, row.event, row.outcome,
                  row.target, detail)  # fmt: skip
        return values[column] if 0 <= column < len(values) else ""


class OperatorsScreen(QWidget):
    """The operators table with its edit form, and the audit log with Verify and Export."""

    def __init__(
        self,
        security: Security,
        *,
        confirm: Callable[[str], bool] | None = None,
        choose_export_path: Callable[[], Path | None] | None = None,
    ) -> None:
        super().__init__()
        self.security = security
        self.confirm = confirm or (lambda what: confirm_admin(security, what, self))
        self.choose_export_path = choose_export_path or self._ask_export_path
        root = QVBoxLayout(self)
        title = QLabel("Operators & audit")
        title.setObjectName("screenTitle")
        root.addWidget(title)
        self.notice = QLabel("")
        root.addWidget(self.notice)
        top = QHBoxLayout()
        self.operator_model = OperatorModel()
        self.operator_table = QTableView()
        self.operator_table.setModel(self.operator_model)
        self.operator_table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.operator_table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.operator_table.horizontalHeader().setStretchLastSection(True)
        self.operator_table.selectionModel().currentRowChanged.connect(lambda *_: self._load_selected())
        top.addWidget(self.operator_table, 1)
        top.addWidget(self._form(), 1)
        root.addLayout(top, 1)
        root.addWidget(self._audit_box(), 1)

    def _form(self) -> QGroupBox:
        box = QGroupBox("Operator")
        form = QFormLayout(box)
        self.login = QLineEdit()
        self.name = QLineEdit()
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(role.label, role)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("PIN (clerk) or password of 12+ characters; empty keeps it")
        self.disabled = QCheckBox("&Disabled (cannot sign in)")
        form.addRow("&Login", self.login)
        form.addRow("&Name", self.name)
        form.addRow("&Role", self.role)
        form.addRow("&PIN / password", self.secret)
        form.addRow(self.disabled)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("&New")
        self.new_button.clicked.connect(self.new_operator)
        self.save_button = QPushButton("&Save operator")
        self.save_button.clicked.connect(self.save_operator)
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.clicked.connect(self.unlock_operator)
        for button in (self.new_button, self.save_button, self.unlock_button):
            buttons.addWidget(button)
        form.addRow(buttons)
        self.secret.returnPressed.connect(self.save_operator)
        return box

    def _audit_box(self) -> QGroupBox:
        box = QGroupBox("Audit log (newest first)")
        layout = QVBoxLayout(box)
        self.audit_model = AuditModel()
        self.audit_table = QTableView()
        self.audit_table.setModel(self.audit_model)
        self.audit_table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.audit_table, 1)
        buttons = QHBoxLayout()
        self.verify_button = QPushButton("&Verify the log")
        self.verify_button.clicked.connect(self.verify)
        self.export_button = QPushButton("&Export…")
        self.export_button.clicked.connect(self.export)
        self.audit_result = QLabel("")
        self.audit_result.setWordWrap(True)
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.audit_result, 1)
        layout.addLayout(buttons)
        return box

    # -- showing --------------------------------------------------------------------------------
    @property
    def admin(self) -> Operator | None:
        """The signed-in operator when they may manage operators."""
        current = self.security.session.current
        return current if current is not None and current.may(Permission.OPERATORS) else None

    def refresh(self) -> None:
        """Reload both tables (the screen was shown); viewing the audit log is audited."""
        admin = self.admin
        self.notice.setText(
            "" if admin else "Only an administrator can manage operators and read the audit log."
        )
        controls: list[QWidget] = [self.new_button, self.save_button, self.unlock_button, self.verify_button]
        controls += [self.export_button, self.login, self.name, self.role, self.secret, self.disabled]
        for widget in controls:
            widget.setEnabled(admin is not None)
        self.operator_model.set_rows(self.security.operators.all() if admin else [])
        self.audit_model.set_rows(self.security.audit.latest(500) if admin else [])
        if admin:
            self.security.audit.record(Event.AUDIT_VIEWED, target="audit_log")
        self.operator_table.resizeColumnsToContents()
        self.audit_table.resizeColumnsToContents()
        self.operator_table.setFocus()

    def _selected(self) -> Operator | None:
        row = self.operator_table.currentIndex().row()
        return self.operator_model.rows[row] if 0 <= row < len(self.operator_model.rows) else None

    def _load_selected(self) -> None:
        operator = self._selected()
        if operator is None:
            return
        self.login.setText(operator.login)
        self.login.setReadOnly(True)
        self.name.setText(operator.name)
        self.role.setCurrentIndex(list(Role).index(operator.role))
        self.disabled.setChecked(operator.disabled)
        self.secret.clear()
        self.error.clear()

    def new_operator(self) -> None:
        """Empty the form for a new operator."""
        self.operator_table.clearSelection()
        self.operator_table.setCurrentIndex(QModelIndex())
        for line in (self.login, self.name, self.secret):
            line.clear()
        self.login.setReadOnly(False)
        self.role.setCurrentIndex(0)
        self.disabled.setChecked(False)
        self.error.clear()
        self.login.setFocus()

    # -- actions --------------------------------------------------------------------------------
    def _fail(self, exc: Exception) -> None:
        self.error.setText(str(exc))
        field = getattr(exc, "field", "")
        target = {"login": self.login, "name": self.name, "role": self.role}.get(field, self.secret)
        target.setFocus()

    def save_operator(self) -> None:
        """Create (no selection) or change the selected operator; asks the password again."""
        admin = self.admin
        if admin is None:
            self.error.setText("Only an administrator can manage operators.")
            return
        selected = self._selected() if self.login.isReadOnly() else None
        try:
            if not self.confirm("Change operators"):
                self.error.setText("Not saved: the password was not confirmed.")
                return
            self.security.session.authorise(Permission.OPERATORS, step_up=True)
            role = Role(self.role.currentData())  # Qt hands the enum back as its value
            if selected is None:
                self.security.operators.create(
                    admin, self.login.text(), self.name.text(), role, self.secret.text()
                )
            else:
                self.security.operators.update(admin, selected.id, name=self.name.text(), role=role,
                                               secret=self.secret.text() or None,
                                               disabled=self.disabled.isChecked())  # fmt: skip
        except (CredentialError, AccessDenied, SignInError) as exc:
            self._fail(exc)
            return
        self.secret.clear()
        self.error.setText("Saved.")
        self.refresh()

    def unlock_operator(self) -> None:
        """Lift the selected operator's lockout."""
        admin, selected = self.admin, self._selected()
        if admin is None or selected is None:
            self.error.setText("Select an operator first.")
            return
        try:
            self.security.operators.unlock(admin, selected.id)
        except (CredentialError, AccessDenied) as exc:
            self._fail(exc)
            return
        self.error.setText(f"{selected.name} can sign in again.")
        self.refresh()

    def verify(self) -> None:
        """Walk the whole hash chain and say what was found (audited)."""
        result = self.security.audit.verify()
        self.security.audit.record(Event.AUDIT_VERIFIED, success=result.ok, entries=result.checked,
                                   problem=result.problem)  # fmt: skip
        self.audit_result.setText(result.summary)
        self.audit_model.set_rows(self.security.audit.latest(500))

    def export(self) -> None:
        """Export the whole log to CSV, after the administrator's password (PCI-10)."""
        try:
            if not self.confirm("Export the audit log"):
                self.audit_result.setText("Not exported: the password was not confirmed.")
                return
            self.security.session.authorise(Permission.OPERATORS, step_up=True)
        except (AccessDenied, SignInError) as exc:
            self.audit_result.setText(str(exc))
            return
        path = self.choose_export_path()
        if path is None:
            return
        result = self.security.audit.export(path)
        self.audit_result.setText(f"Exported to {path}. {result.summary}")
        self.audit_model.set_rows(self.security.audit.latest(500))

    def _ask_export_path(self) -> Path | None:
        name, _filter = QFileDialog.getSaveFileName(
            self, "Export the audit log", "audit-log.csv", "CSV (*.csv)"
        )
        return Path(name) if name else None
