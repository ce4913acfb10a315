"""Signing in, creating the first administrator, and the short password prompts of approvals and step-up.

The sign-in form is one widget used three ways: the window shown before the main window, the lock screen
(the login fixed to the operator who locked), and inside the approval dialog. Enter submits, Esc cancels;
a wrong PIN keeps the login typed and clears only the secret. In SANDBOX mode the demo operators are listed
with their PIN or password: they are practice accounts and say so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.roles import CredentialError, Operator, Permission, Role
from terminal.services.operators import DEMO_OPERATORS, AccessDenied, SignInError
from terminal.services.security import Security

__all__ = ["ApprovalDialog", "FirstAdminForm", "SignInForm", "StepUpDialog", "ensure_signed_in"]

# Actions a clerk may ask a supervisor to approve at the clerk's screen.
APPROVABLE = (Permission.CAPTURE, Permission.VOID, Permission.REFUND, Permission.PAYOUT, Permission.INVOICE)


def _error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.setStyleSheet("color: #b00020;")
    return label


def _cancel_only(dialog: QDialog) -> QDialogButtonBox:
    """A Cancel button (Esc) that Enter never presses."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    buttons.rejected.connect(dialog.reject)
    for button in buttons.buttons():
        if isinstance(button, QPushButton):
            button.setAutoDefault(False)
    return buttons


class SignInForm(QWidget):
    """Login and PIN/password; emits `signed_in(operator)` after `attempt` succeeds."""

    signed_in = Signal(object)

    def __init__(
        self,
        attempt: Callable[[str, str], Operator],
        *,
        title: str = "Sign in",
        fixed_login: str = "",
        demo: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._attempt = attempt
        layout = QVBoxLayout(self)
        self.title = QLabel(title)
        self.title.setObjectName("screenTitle")
        layout.addWidget(self.title)
        form = QFormLayout()
        self.login = QLineEdit(fixed_login)
        self.login.setObjectName("login")
        self.login.setReadOnly(bool(fixed_login))
        self.login.setMaxLength(32)
        self.secret = QLineEdit()
        self.secret.setObjectName("secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setMaxLength(256)
        form.addRow("&Login", self.login)
        form.addRow("&PIN or password", self.secret)
        layout.addLayout(form)
        self.error = _error_label()
        layout.addWidget(self.error)
        self.submit_button = QPushButton("Sign &in (Enter)")
        # Enter is handled by the fields (returnPressed): a dialog's default button would submit twice.
        self.submit_button.setAutoDefault(False)
        self.submit_button.clicked.connect(self.submit)
        layout.addWidget(self.submit_button)
        self.demo = QLabel(self._demo_text() if demo else "")
        self.demo.setObjectName("demoOperators")
        self.demo.setVisible(demo)
        self.demo.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.demo)
        layout.addStretch(1)
        self.login.returnPressed.connect(self.secret.setFocus)
        self.secret.returnPressed.connect(self.submit)

    @staticmethod
    def _demo_text() -> str:
        rows = [
            f"• {name}: login <b>{login}</b>, {role.credential_name} <b>{secret}</b>"
            for login, name, role, secret in DEMO_OPERATORS
        ]
        return "<b>SANDBOX demo operators</b> (practice accounts, no real money):<br>" + "<br>".join(rows)

    def focus_first(self) -> None:
        """Focus the first empty field."""
        (self.secret if self.login.text() else self.login).setFocus()

    def submit(self) -> None:
        """Try the login and secret; show why not, keeping the login."""
        login, secret = self.login.text(), self.secret.text()
        if not login.strip():
            self.error.setText("Login: enter your login.")
            self.login.setFocus()
            return
        try:
            operator = self._attempt(login, secret)
        except (SignInError, AccessDenied, CredentialError) as exc:
            self.error.setText(str(exc))
            self.secret.clear()
            self.secret.setFocus()
            return
        self.error.clear()
        self.secret.clear()
        self.signed_in.emit(operator)


class FirstAdminForm(QWidget):
    """First start on a live profile: create the first administrator (password of 12+ characters)."""

    created = Signal(object)

    def __init__(self, security: Security, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.security = security
        layout = QVBoxLayout(self)
        title = QLabel("Create the first administrator")
        title.setObjectName("screenTitle")
        layout.addWidget(title)
        intro = QLabel(
            "No administrator exists yet. The administrator manages operators and settings; "
            "use a password of at least 12 characters."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.login = QLineEdit()
        self.name = QLineEdit()
        self.password = QLineEdit()
        self.repeat = QLineEdit()
        for field in (self.password, self.repeat):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&Login", self.login)
        form.addRow("&Name", self.name)
        form.addRow("&Password", self.password)
        form.addRow("&Repeat password", self.repeat)
        layout.addLayout(form)
        self.error = _error_label()
        layout.addWidget(self.error)
        self.create_button = QPushButton("&Create administrator (Enter)")
        self.create_button.setAutoDefault(False)
        self.create_button.clicked.connect(self.submit)
        layout.addWidget(self.create_button)
        layout.addStretch(1)
        self.repeat.returnPressed.connect(self.submit)

    def submit(self) -> None:
        """Create the administrator and sign them in; field errors keep what was typed."""
        if self.password.text() != self.repeat.text():
            self.error.setText("Repeat password: the two passwords differ.")
            self.repeat.clear()
            self.repeat.setFocus()
            return
        try:
            self.security.operators.create(
                None, self.login.text(), self.name.text(), Role.ADMINISTRATOR, self.password.text()
            )
            operator = self.security.session.sign_in(self.login.text(), self.password.text())
        except (CredentialError, AccessDenied, SignInError) as exc:
            self.error.setText(str(exc))
            field = {"login": self.login, "name": self.name}.get(getattr(exc, "field", ""), self.password)
            field.setFocus()
            return
        self.created.emit(operator)


class SignInWindow(QDialog):
    """The window shown before the main window: first administrator, or sign in."""

    def __init__(self, security: Security, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Merchant Terminal — sign in" + (" — SANDBOX" if security.sandbox else ""))
        self.security = security
        self.operator: Operator | None = None
        layout = QVBoxLayout(self)
        if security.operators.needs_first_administrator() and not security.sandbox:
            self.form: QWidget = FirstAdminForm(security)
            self.form.created.connect(self._done)
        else:
            sign_in = SignInForm(security.session.sign_in, demo=security.sandbox)
            sign_in.signed_in.connect(self._done)
            self.form = sign_in
        layout.addWidget(self.form)
        self.resize(520, 420)

    def _done(self, operator: Operator) -> None:
        self.operator = operator
        self.accept()


async def ensure_signed_in(security: Security, parent: QWidget | None = None) -> bool:
    """Show the sign-in window (over `parent`, the main window at start-up) until someone signs in (True)
    or it is closed (False)."""
    if security.session.current is not None:
        return True
    window = SignInWindow(security, parent)
    finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def ended(code: int) -> None:
        if not finished.done():
            finished.set_result(code)

    window.finished.connect(ended)
    window.show()
    focus = getattr(window.form, "focus_first", None)
    if focus is not None:
        focus()
    await finished
    return security.session.current is not None


REPEAT_NOTE = (
    "The approval covers the clerk's next {action} only, and does not do it: after approving, "
    "the clerk repeats the action."
)


class ApprovalDialog(QDialog):
    """A supervisor approves one action for the clerk at this screen, with their own login and password.

    Opened by hand (Ctrl+Shift+A) or by the window when a clerk was just refused an action (`refused`
    names it and the dialog says why it opened); either way the clerk repeats the action afterwards.
    """

    def __init__(
        self,
        security: Security,
        parent: QWidget | None = None,
        *,
        permission: Permission | None = None,
        refused: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Supervisor approval")
        self.security = security
        layout = QVBoxLayout(self)
        self.reason = QLabel(
            f"{refused}\nA supervisor can approve it here now, or later with Ctrl+Shift+A." if refused else ""
        )
        self.reason.setObjectName("approvalReason")
        self.reason.setWordWrap(True)
        self.reason.setVisible(bool(refused))
        layout.addWidget(self.reason)
        self.action = QComboBox()
        for approvable in APPROVABLE:
            self.action.addItem(approvable.label, approvable)
        if permission in APPROVABLE:
            self.action.setCurrentIndex(self.action.findData(permission))
        form = QFormLayout()
        form.addRow("&Action to approve", self.action)
        layout.addLayout(form)
        self.note = QLabel("")
        self.note.setObjectName("approvalNote")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.action.currentIndexChanged.connect(lambda _i: self._show_note())
        self._show_note()
        self.form = SignInForm(self._approve, title="Supervisor: sign to approve one action")
        self.form.submit_button.setText("&Approve (Enter)")
        self.form.signed_in.connect(lambda _op: self.accept())
        layout.addWidget(self.form)
        buttons = _cancel_only(self)
        layout.addWidget(buttons)

    def permission(self) -> Permission:
        """The action chosen for approval."""
        return Permission(self.action.currentData())  # Qt hands the enum back as its value

    def _show_note(self) -> None:
        self.note.setText(REPEAT_NOTE.format(action=self.permission().label.lower()))

    def _approve(self, login: str, password: str) -> Operator:
        return self.security.session.approve(self.permission(), login, password)


class StepUpDialog(QDialog):
    """An administrator types their password again before an administrative change (PCI-10)."""

    def __init__(self, security: Security, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Confirm with your password")
        self.security = security
        layout = QVBoxLayout(self)
        login = security.session.login
        self.form = SignInForm(self._confirm, title=f"{what}: type your password again", fixed_login=login)
        self.form.submit_button.setText("&Confirm (Enter)")
        self.form.signed_in.connect(lambda _op: self.accept())
        layout.addWidget(self.form)
        buttons = _cancel_only(self)
        layout.addWidget(buttons)

    def _confirm(self, _login: str, password: str) -> Operator:
        self.security.session.step_up(password)
        current = self.security.session.current
        assert current is not None
        return current


def confirm_admin(security: Security, what: str, parent: QWidget | None = None) -> bool:
    """True when the administrator re-authenticated in the last five minutes or does so now."""
    if security.session.stepped_up():
        return True
    dialog = StepUpDialog(security, what, parent)
    dialog.form.focus_first()
    return dialog.exec() == QDialog.DialogCode.Accepted
