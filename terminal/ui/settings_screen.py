"""Settings (F8): gateway profiles, default currency, receipt header. Administrators change; others read.

The profile form is generated from the registry (SETTINGS_FIELDS, SECRET_FIELDS, FIELD_LABELS, with the
vendor's PRESET_URLS offered in the address fields), so a new gateway needs no edit here. Secrets are
typed into password fields and go only to the OS keyring; an empty secret field keeps what is stored.
Direct card entry is a separate, explained switch. Saving asks the administrator's password again
(PCI-10 step-up); a bad field is named, focused, and everything typed stays.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from terminal.domain.roles import Permission
from terminal.gateways.registry import FIELD_LABELS, GATEWAYS, PRESET_URLS, SECRET_FIELDS, SETTINGS_FIELDS
from terminal.services.operators import AccessDenied, SignInError
from terminal.services.profiles import Profile, ProfileError, gateway_display_name
from terminal.services.security import Security
from terminal.services.settings import SettingsError, is_address, parse_profile, parse_sandbox_edit
from terminal.ui.async_bridge import AsyncBridge
from terminal.ui.sign_in import confirm_admin

__all__ = ["SettingsScreen"]

SAQ_WARNING = (
    "Typing card numbers into this terminal takes the merchant out of PCI SAQ C-VT: use it only if the "
    "business holds PCI DSS compliance for card entry. Turning it on or off is recorded in the audit log."
)
NEW_PROFILE = "new"


def _presets(gateway: str, field: str) -> list[str]:
    presets = PRESET_URLS.get(gateway, {})
    if field in presets:
        return [presets[field]]
    # Otherwise the presets are keyed by environment ('test', 'live') and name the first address field.
    by_field = any(key in SETTINGS_FIELDS[gateway] for key in presets)
    first_address = next((f for f in SETTINGS_FIELDS[gateway] if is_address(f)), None)
    return list(presets.values()) if field == first_address and not by_field else []


class SettingsScreen(QWidget):
    """Profiles on the left, the chosen profile's form and the terminal preferences on the right."""

    def __init__(
        self,
        security: Security,
        bridge: AsyncBridge,
        *,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__()
        self.security = security
        self.bridge = bridge
        # Asks the administrator's password again; tests pass their own.
        self.confirm = confirm or (lambda what: confirm_admin(security, what, self))
        self.inputs: dict[str, QLineEdit] = {}
        self.secret_inputs: dict[str, QLineEdit] = {}
        self._build()
        QShortcut(QKeySequence("Ctrl+S"), self, self.save_profile)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        title = QLabel("Settings")
        title.setObjectName("screenTitle")
        root.addWidget(title)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        root.addWidget(self.notice)
        body = QHBoxLayout()
        self.profiles = QListWidget()
        self.profiles.setFixedWidth(260)
        self.profiles.currentItemChanged.connect(lambda *_: self._show_profile())
        body.addWidget(self.profiles)
        right = QVBoxLayout()
        self.profile_box = QGroupBox("Gateway profile")
        self.profile_layout = QFormLayout(self.profile_box)
        right.addWidget(self.profile_box)
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        right.addWidget(self.error)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("&Save profile (Ctrl+S)")
        self.save_button.clicked.connect(self.save_profile)
        self.test_button = QPushButton("&Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.result, 1)
        right.addLayout(buttons)
        right.addWidget(self._preferences_box())
        right.addStretch(1)
        # A live profile's form (with its secrets) is taller than 800 px allows: it scrolls, the window stays.
        column = QWidget()
        column.setLayout(right)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(column)
        body.addWidget(scroll, 1)
        root.addLayout(body, 1)

    def _preferences_box(self) -> QGroupBox:
        box = QGroupBox("Terminal")
        form = QFormLayout(box)
        self.default_currency = QLineEdit()
        self.default_currency.setMaxLength(3)
        self.default_currency.setPlaceholderText("e.g. EUR (empty: each profile's own)")
        self.receipt_header = QPlainTextEdit()
        self.receipt_header.setTabChangesFocus(True)
        self.receipt_header.setFixedHeight(80)
        self.receipt_header.setPlaceholderText("Shop name\nStreet, town\nPhone")
        self.save_preferences_button = QPushButton("Save &terminal settings")
        self.save_preferences_button.clicked.connect(self.save_preferences)
        self.preferences_error = QLabel("")
        self.preferences_error.setStyleSheet("color: #b00020;")
        form.addRow("Default &currency", self.default_currency)
        form.addRow("Receipt &header", self.receipt_header)
        form.addRow(self.save_preferences_button, self.preferences_error)
        return box

    # -- showing ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the profiles and preferences (when the screen is shown)."""
        admin = self.security.session.current is not None and self.security.session.current.may(
            Permission.SETTINGS
        )
        self.notice.setText(
            "" if admin else "Only an administrator can change settings; you can read them here."
        )
        for widget in (self.save_button, self.save_preferences_button):
            widget.setEnabled(admin)
        current = self.profiles.currentItem()
        keep = current.data(Qt.ItemDataRole.UserRole) if current else None
        self.profiles.blockSignals(True)
        self.profiles.clear()
        for profile in self.security.settings.profiles.all():
            item = QListWidgetItem(profile.label)
            item.setData(Qt.ItemDataRole.UserRole, profile.id)
            self.profiles.addItem(item)
        new = QListWidgetItem("+ New live profile…")
        new.setData(Qt.ItemDataRole.UserRole, NEW_PROFILE)
        self.profiles.addItem(new)
        self.profiles.blockSignals(False)
        ids = [self.profiles.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.profiles.count())]
        self.profiles.setCurrentRow(ids.index(keep) if keep in ids else 0)
        prefs = self.security.settings.preferences()
        self.default_currency.setText(prefs.default_currency)
        self.receipt_header.setPlainText(prefs.receipt_header)
        self.profiles.setFocus()

    def selected(self) -> Profile | None:
        """The profile being edited (None for a new one)."""
        item = self.profiles.currentItem()
        profile_id = item.data(Qt.ItemDataRole.UserRole) if item else NEW_PROFILE
        if profile_id == NEW_PROFILE:
            return None
        try:
            return self.security.settings.profiles.get(profile_id)
        except ProfileError:
            return None

    def _show_profile(self) -> None:
        profile = self.selected()
        while self.profile_layout.rowCount():
            self.profile_layout.removeRow(0)
        self.inputs.clear()
        self.secret_inputs.clear()
        self.error.clear()
        self.result.clear()
        self.gateway = QComboBox()
        for code in GATEWAYS:
            self.gateway.addItem(gateway_display_name(code), code)
        gateway = profile.gateway if profile else GATEWAYS[0]
        self.gateway.setCurrentIndex(GATEWAYS.index(gateway) if gateway in GATEWAYS else 0)
        self.gateway.setEnabled(profile is None)
        self.gateway.currentIndexChanged.connect(lambda _i: self._rebuild_fields(None))
        self.profile_layout.addRow("&Gateway", self.gateway)
        self._rebuild_fields(profile)
        self.test_button.setEnabled(profile is not None)

    def _field(self, name: str, label: str, value: str, *, read_only: bool = False) -> QLineEdit:
        line = QLineEdit(value)
        line.setObjectName(name)
        line.setReadOnly(read_only)
        self.inputs[name] = line
        self.profile_layout.addRow(label, line)
        return line

    def _rebuild_fields(self, profile: Profile | None) -> None:
        while self.profile_layout.rowCount() > 1:
            self.profile_layout.removeRow(1)
        self.inputs.clear()
        self.secret_inputs.clear()
        gateway = self.gateway.currentData()
        sandbox = profile is not None and not profile.live
        settings = dict(profile.settings) if profile else {}
        mode = "SANDBOX (simulator, published test credentials)" if sandbox else "Live"
        self.profile_layout.addRow("Mode", QLabel(mode))
        self._field("id", "Profile &id", profile.id if profile else "", read_only=profile is not None)
        self._field("name", "&Name", profile.name if profile else "")
        self._field("currency", "&Currency", profile.currency if profile else "", read_only=sandbox)
        for field in SETTINGS_FIELDS[gateway]:
            line = self._field(field, FIELD_LABELS[gateway].get(field, field), settings.get(field, ""),
                               read_only=sandbox)  # fmt: skip
            presets = _presets(gateway, field)
            if presets and not sandbox:
                line.setPlaceholderText(" or ".join(presets))
                if not line.text():
                    line.setText(presets[0])
        if not sandbox:
            for name in SECRET_FIELDS[gateway]:
                secret = QLineEdit()
                secret.setObjectName(name)
                secret.setEchoMode(QLineEdit.EchoMode.Password)
                secret.setPlaceholderText("stored in the OS keyring; leave empty to keep" if profile else "")
                self.secret_inputs[name] = secret
                self.profile_layout.addRow(FIELD_LABELS[gateway].get(name, name), secret)
        self.direct_entry = QCheckBox("Allow typing card numbers into the terminal (&direct entry)")
        self.direct_entry.setChecked(settings.get("direct_entry") == "on")
        self.direct_entry.setToolTip(SAQ_WARNING)
        warning = QLabel(SAQ_WARNING)
        warning.setWordWrap(True)
        warning.setObjectName("saqWarning")
        self.profile_layout.addRow(self.direct_entry)
        self.profile_layout.addRow(warning)

    # -- actions -----------------------------------------------------------------------------------
    def form_values(self) -> dict[str, str]:
        """What the form holds, as text (secrets excluded)."""
        values = {name: line.text() for name, line in self.inputs.items()}
        values["direct_entry"] = "on" if self.direct_entry.isChecked() else ""
        return values

    def _show_error(self, label: QLabel, exc: Exception, fields: dict[str, QLineEdit]) -> None:
        label.setText(str(exc))
        target = fields.get(getattr(exc, "field", ""))
        if target is not None:
            target.setFocus()

    def save_profile(self) -> None:
        """Validate, ask the password again, then store: the keyring part runs in a worker thread.

        A keychain prompt or a slow D-Bus may take seconds; the window keeps painting meanwhile, and the
        save and test buttons stay disabled until the keyring answered (no second save on top).
        """
        existing = self.selected()
        gateway = existing.gateway if existing else self.gateway.currentData()
        live = existing.live if existing else True
        values = self.form_values()
        fields = {**self.inputs, **self.secret_inputs}
        try:
            if existing is not None and not existing.live:
                profile = parse_sandbox_edit(existing, values)
            else:
                profile = parse_profile(gateway, values, live=live)
            if not self.confirm("Save the gateway profile"):
                self.error.setText("Not saved: the password was not confirmed.")
                return
        except (SettingsError, ProfileError, AccessDenied, SignInError) as exc:
            self._show_error(self.error, exc, fields)
            return
        secrets = {name: line.text() for name, line in self.secret_inputs.items()}

        def saved(done: Profile) -> None:
            for line in self.secret_inputs.values():
                line.clear()
            self.error.clear()
            self.refresh()
            for row in range(self.profiles.count()):  # show what was saved (a new profile included)
                if self.profiles.item(row).data(Qt.ItemDataRole.UserRole) == done.id:
                    self.profiles.setCurrentRow(row)
            self.result.setText(f"Saved {done.label}.")

        def failed(exc: BaseException) -> None:
            self.result.clear()
            if isinstance(exc, SettingsError | ProfileError | AccessDenied | SignInError):
                self._show_error(self.error, exc, fields)  # everything typed stays
            else:
                self.error.setText(f"Not saved: {exc or type(exc).__name__}")

        self.result.setText("Saving…")
        self.bridge.run(
            self.security.settings.asave_profile(profile, secrets),
            on_done=saved,
            on_error=failed,
            controls=[self.save_button, self.test_button],
            busy_text="Storing the profile (OS keyring)…",
        )

    def save_preferences(self) -> None:
        """Save default currency and receipt header."""
        values = {
            "default_currency": self.default_currency.text(),
            "receipt_header": self.receipt_header.toPlainText(),
        }
        try:
            if not self.confirm("Save the terminal settings"):
                self.preferences_error.setText("Not saved: the password was not confirmed.")
                return
            self.security.settings.save_preferences(values)
        except (SettingsError, AccessDenied, SignInError) as exc:
            self._show_error(self.preferences_error, exc, {"default_currency": self.default_currency})
            return
        self.preferences_error.setText("Saved.")

    def test_connection(self) -> None:
        """Reach the selected profile's gateway with its stored credentials."""
        profile = self.selected()
        if profile is None:
            self.result.setText("Save the profile first.")
            return
        self.result.setText("Testing…")

        def done(answer: str) -> None:
            self.result.setText(f"Connected: {answer}")

        def failed(exc: BaseException) -> None:
            self.result.setText(f"Connection failed: {getattr(exc, 'message', None) or exc}")

        self.bridge.run(
            self.security.settings.test_connection(profile.id),
            on_done=done,
            on_error=failed,
            controls=[self.test_button],
            busy_text=f"Testing the connection of {profile.label}…",
        )
