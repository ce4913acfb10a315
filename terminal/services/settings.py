"""Settings: gateway profiles (non-secret settings in settings.json, secrets in the OS keyring), default
currency and receipt header (preferences.json). Administrators only, after typing their password again.

Secrets go to the OS keyring through terminal/services/secrets.py (KEY-1..KEY-3, KEY-6: only a real
keyring, each write read back, long secrets split, test and live namespaces). The keyring may block on a
prompt or a slow D-Bus, so the screen saves through `asave_profile`, which does the keyring part in a
worker thread and everything else (session, registry, files, audit) on the caller's thread.

Every change is audited with what changed (secret values never, only that they changed); turning on
direct card entry is its own audit event (SECURITY.md ARCH-2).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from terminal.domain.money import known_currencies
from terminal.domain.roles import Permission
from terminal.domain.scrub import contains_card_number
from terminal.gateways.registry import FIELD_LABELS, GATEWAYS, SECRET_FIELDS, SETTINGS_FIELDS, capabilities_of
from terminal.services.audit import AuditTrail, Event
from terminal.services.operators import Session
from terminal.services.profiles import Profile, ProfileError, ProfileRegistry
from terminal.services.secrets import CHUNK, KeyringSecrets, environment_of

__all__ = [
    "CHUNK",
    "KeyringSecrets",
    "Preferences",
    "SettingsError",
    "SettingsService",
    "parse_preferences",
    "parse_profile",
    "parse_sandbox_edit",
]

_PROFILE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
HEADER_MAX_LINES, HEADER_MAX_CHARS = 4, 200
PREFERENCES_FILE = "preferences.json"


class SettingsError(ValueError):
    """A setting that cannot be saved; `field` names the form field, the message says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Preferences:
    """Terminal-wide choices: the currency a new charge starts in and the text atop every receipt."""

    default_currency: str = ""
    receipt_header: str = ""


def parse_preferences(values: Mapping[str, str]) -> Preferences:
    """Preferences from form text; SettingsError naming the field otherwise."""
    currency = values.get("default_currency", "").strip().upper()
    if currency and (not re.fullmatch(r"[A-Z]{3}", currency) or currency not in known_currencies()):
        raise SettingsError(
            "default_currency", "Default currency: use a three-letter ISO 4217 code, e.g. EUR."
        )
    header = values.get("receipt_header", "").replace("\r\n", "\n").strip()
    lines = header.split("\n") if header else []
    if len(lines) > HEADER_MAX_LINES or len(header) > HEADER_MAX_CHARS:
        raise SettingsError(
            "receipt_header",
            f"Receipt header: at most {HEADER_MAX_LINES} lines and {HEADER_MAX_CHARS} characters.",
        )
    if any(not ch.isprintable() for line in lines for ch in line):
        raise SettingsError("receipt_header", "Receipt header: remove control characters.")
    if contains_card_number(header):
        raise SettingsError("receipt_header", "Receipt header: this looks like a card number.")
    return Preferences(currency, header)


def is_address(field: str) -> bool:
    """True for the settings that name where the gateway is (a URL or a host)."""
    return field.endswith("url") or field in ("host", "endpoint")


def _check_url(gateway: str, field: str, text: str, *, live: bool) -> str:
    label = FIELD_LABELS[gateway].get(field, field)
    parts = urlsplit(text)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise SettingsError(field, f"{label}: enter an address like https://gateway.example.com.")
    if parts.scheme == "http" and (live or not loopback):
        raise SettingsError(field, f"{label}: a live gateway needs https://.")
    return text.rstrip("/")


def _gateway_setting(gateway: str, field: str, values: Mapping[str, str], *, live: bool) -> str:
    text = values.get(field, "").strip()
    label = FIELD_LABELS[gateway].get(field, field)
    if not text:
        raise SettingsError(field, f"{label}: required.")
    if contains_card_number(text):
        raise SettingsError(field, f"{label}: this looks like a card number.")
    if is_address(field) and "://" in text:
        return _check_url(gateway, field, text, live=live)
    if is_address(field) and not re.fullmatch(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", text):
        raise SettingsError(field, f"{label}: enter a host name or an https:// address.")
    if len(text) > 200 or not text.isprintable():
        raise SettingsError(field, f"{label}: up to 200 printable characters.")
    return text


def parse_profile(gateway: str, values: Mapping[str, str], *, live: bool) -> Profile:
    """A profile from form text (id, name, currency, gateway settings, direct_entry); SettingsError else."""
    if gateway not in GATEWAYS:
        raise SettingsError("gateway", "Gateway: choose one from the list.")
    caps = capabilities_of(gateway)
    profile_id = values.get("id", "").strip().lower()
    if not _PROFILE_ID.match(profile_id):
        raise SettingsError("id", "Profile id: 2-40 lower-case letters, digits or dashes.")
    name = values.get("name", "").strip()
    if not name or len(name) > 60 or not name.isprintable():
        raise SettingsError("name", "Name: enter up to 60 printable characters.")
    currency = values.get("currency", "").strip().upper()
    if currency not in caps.currencies:
        known = ", ".join(sorted(caps.currencies))
        raise SettingsError("currency", f"Currency: {caps.display_name} takes {known}.")
    settings = {
        field: _gateway_setting(gateway, field, values, live=live) for field in SETTINGS_FIELDS[gateway]
    }
    direct = values.get("direct_entry", "").strip().lower()
    if direct not in ("", "on", "off"):
        raise SettingsError("direct_entry", "Direct entry: on or off.")
    if direct == "on":
        if not caps.direct_entry:
            raise SettingsError(
                "direct_entry", f"Direct entry: {caps.display_name} takes cards on its page only."
            )
        settings["direct_entry"] = "on"
    return Profile(id=profile_id, gateway=gateway, name=name, currency=currency, live=live, settings=settings)


def parse_sandbox_edit(existing: Profile, values: Mapping[str, str]) -> Profile:
    """A sandbox profile keeps its simulator and credentials: only its name and direct entry change."""
    name = values.get("name", "").strip()
    if not name or len(name) > 60 or not name.isprintable():
        raise SettingsError("name", "Name: enter up to 60 printable characters.")
    direct = values.get("direct_entry", "").strip().lower()
    if direct not in ("", "on", "off"):
        raise SettingsError("direct_entry", "Direct entry: on or off.")
    if direct == "on" and not existing.capabilities.direct_entry:
        why = f"Direct entry: {existing.capabilities.display_name} takes cards on its own page only."
        raise SettingsError("direct_entry", why)
    return replace(existing, name=name, settings={**existing.settings, **_direct(direct == "on")})


@dataclass(frozen=True, slots=True)
class _Save:
    """A profile save, checked and ready to write."""

    profile: Profile
    old: Profile | None
    secrets: Mapping[str, str]
    was_direct: bool
    now_direct: bool


class SettingsService:
    """Reads and changes settings, for administrators who have just re-typed their password."""

    def __init__(
        self,
        data_dir: Path,
        profiles: ProfileRegistry,
        session: Session,
        audit: AuditTrail,
        secrets: KeyringSecrets | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.profiles = profiles
        self.session = session
        self.audit = audit
        self.secrets = secrets or KeyringSecrets()

    # -- preferences ---------------------------------------------------------------------------
    def preferences(self) -> Preferences:
        """The saved preferences (defaults when none are saved, or the file is unreadable)."""
        data = self._read_preferences()
        return Preferences(str(data.get("default_currency", "")), str(data.get("receipt_header", "")))

    def _read_preferences(self) -> dict[str, object]:
        path = self.data_dir / PREFERENCES_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_preferences(self, data: Mapping[str, object]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / PREFERENCES_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(data), indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    def save_preferences(self, values: Mapping[str, str]) -> Preferences:
        """Validate and save; audited per changed field."""
        self.session.authorise(Permission.SETTINGS, step_up=True)
        new = parse_preferences(values)
        old = self.preferences()
        data = self._read_preferences()
        data.update(default_currency=new.default_currency, receipt_header=new.receipt_header)
        self._write_preferences(data)
        for field in ("default_currency", "receipt_header"):
            before, after = getattr(old, field), getattr(new, field)
            if before != after:
                self.audit.record(Event.SETTINGS_CHANGED, target=field, old=before, new=after)
        return new

    def sandbox_direct_entry(self) -> set[str]:
        """Sandbox profiles an administrator switched direct entry on for (kept across restarts)."""
        value = self._read_preferences().get("sandbox_direct_entry", [])
        return {str(v) for v in value} if isinstance(value, list) else set()

    def apply_sandbox_overrides(self) -> None:
        """Put saved sandbox switches back on the freshly built sandbox profiles (at start-up)."""
        for profile_id in self.sandbox_direct_entry():
            try:
                profile = self.profiles.get(profile_id)
            except ProfileError:
                continue
            if not profile.live:
                self.profiles.put(replace(profile, settings={**profile.settings, "direct_entry": "on"}))

    # -- profiles --------------------------------------------------------------------------------
    def save_profile(self, profile: Profile, secrets: Mapping[str, str]) -> Profile:
        """Store a profile: secrets to the keyring (read back), settings to disk, then the live registry.

        Empty secrets keep what the keyring holds. Turning direct entry on or off needs the administrator's
        DIRECT_ENTRY permission and is audited on its own. Blocks on the keyring: screens use
        `asave_profile`.
        """
        save = self._plan_save(profile, secrets)
        self._store_secrets(save)
        return self._finish_save(save)

    async def asave_profile(self, profile: Profile, secrets: Mapping[str, str]) -> Profile:
        """`save_profile`, its keyring writes in a worker thread: a keychain prompt never freezes a window.

        The checks before and the registry, file and audit writes after run on the caller's thread, as in
        `save_profile`; only the OS keyring calls leave it.
        """
        save = self._plan_save(profile, secrets)
        await asyncio.to_thread(self._store_secrets, save)
        return self._finish_save(save)

    def _plan_save(self, profile: Profile, secrets: Mapping[str, str]) -> _Save:
        """Authorise and validate a save; what is to be written. Nothing is written yet."""
        self.session.authorise(Permission.SETTINGS, step_up=True)
        try:
            old: Profile | None = self.profiles.get(profile.id)
        except ProfileError:
            old = None
        was_direct = bool(old and old.settings.get("direct_entry") == "on")
        now_direct = profile.settings.get("direct_entry") == "on"
        if was_direct != now_direct:
            self.session.authorise(Permission.DIRECT_ENTRY, step_up=True)
        if old is not None and not old.live:
            # Sandbox profiles keep their simulator address and published credentials.
            profile = replace(old, name=profile.name, settings={**old.settings, **_direct(now_direct)})
        to_store: dict[str, str] = {}
        if profile.live:
            # Test and live secrets are kept apart (KEY-6): moving a profile between a gateway's test and
            # live addresses needs its secrets typed again.
            same_place = old is not None and old.live and environment_of(old) == environment_of(profile)
            for name in SECRET_FIELDS[profile.gateway]:
                value = secrets.get(name, "")
                if value:
                    to_store[name] = value
                elif not same_place:
                    label = FIELD_LABELS[profile.gateway].get(name, name)
                    why = (
                        "a new live profile"
                        if old is None or not old.live
                        else "a profile moved between test and live"
                    )
                    raise SettingsError(name, f"{label}: required for {why}.")
        return _Save(profile, old, to_store, was_direct, now_direct)

    def _store_secrets(self, save: _Save) -> None:
        """The keyring part of a save (blocking; any thread)."""
        environment = environment_of(save.profile)
        for name, value in save.secrets.items():
            self.secrets.put(save.profile.id, name, value, environment=environment)

    def _finish_save(self, save: _Save) -> Profile:
        profile, old = save.profile, save.old
        self.profiles.put(profile)
        self._persist()
        changes = {
            key: value
            for key, value in {
                **dict(profile.settings),
                "name": profile.name,
                "currency": profile.currency,
            }.items()
            if old is None
            or {**dict(old.settings), "name": old.name, "currency": old.currency}.get(key) != value
        }
        self.audit.record(
            Event.PROFILE_CHANGED, target=profile.id, gateway=profile.gateway, live=profile.live,
            created=old is None, changed=sorted(changes), stored_in_keyring=sorted(save.secrets),
            keyring_environment=environment_of(profile),
        )  # fmt: skip
        if save.was_direct != save.now_direct:
            self.audit.record(Event.DIRECT_ENTRY, target=profile.id, enabled=save.now_direct,
                              note="direct entry takes the merchant out of SAQ C-VT")  # fmt: skip
        return profile

    def _persist(self) -> None:
        live = [p for p in self.profiles.all() if p.live]
        if live:
            from terminal.services.profiles import save_profiles

            save_profiles(self.data_dir / "settings.json", live)
        sandbox_on = sorted(
            p.id for p in self.profiles.all() if not p.live and p.settings.get("direct_entry") == "on"
        )
        data = self._read_preferences()
        if data.get("sandbox_direct_entry", []) != sandbox_on:
            data["sandbox_direct_entry"] = sandbox_on
            self._write_preferences(data)

    async def test_connection(self, profile_id: str) -> str:
        """Reach the profile's gateway with its credentials; the answer in words (audited)."""
        self.session.authorise(Permission.SETTINGS)
        try:
            # Building the adapter reads its secrets from the keyring: in a worker thread.
            gateway = await asyncio.to_thread(self.profiles.gateway, profile_id)
            answer = await gateway.test_connection()
        except Exception as exc:
            await self.audit.arecord(Event.PROFILE_CHANGED, success=False, target=profile_id,
                                     action="test_connection", error=str(exc)[:200])  # fmt: skip
            raise
        await self.audit.arecord(Event.PROFILE_CHANGED, target=profile_id, action="test_connection")
        return answer


def _direct(on: bool) -> dict[str, str]:
    return {"direct_entry": "on"} if on else {"direct_entry": "off"}
