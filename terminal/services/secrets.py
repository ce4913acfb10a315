"""Gateway secrets in the OS keyring (SECURITY.md KEY-1..KEY-3, KEY-6).

- Only a real OS keyring is used: keyring's fail and null backends, a chainer with nothing behind it,
  backends of priority below 1 and the `keyrings.alt` family (plaintext files) are refused by name.
- Every secret written is read back and compared, so a backend that drops or truncates is caught.
- Windows keeps at most 2560 bytes of UTF-16 per credential: a secret over 1000 characters is split into
  numbered entries, and a manifest naming their count and SHA-256 is written last.
- Keyring errors become a ProfileError with a message, never a crash; a secret value is never logged.
- KEY-6: test and live credentials live in separate namespaces, service `MerchantTerminal/test` and
  `MerchantTerminal/live`, so a test key can never be read for a live gateway (nor a live key by a test
  run). A profile is "test" when it is a sandbox profile or its gateway address is loopback or a vendor
  test host (test-, sandbox, preprod, staging, uat in the host name).
- Entries written before the namespaces existed (service `MerchantTerminal`) move on first read: read
  under the old name, write under the new, read back and compare, then delete the old entries. If the
  new write fails the old entry stays and is used, so an upgrade never locks a terminal out.

Every method here may block on the OS (a keychain prompt, a slow D-Bus): screens call them off the GUI
thread (SettingsService's async methods run them in a worker thread).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Final
from urllib.parse import urlsplit

from terminal.services.profiles import KEYRING_SERVICE, Profile, ProfileError, SecretStore
from terminal.services.profiles import keyring_module as _keyring

__all__ = ["CHUNK", "ENVIRONMENTS", "KeyringSecrets", "environment_of", "service_name"]

log = logging.getLogger(__name__)

CHUNK: Final = 1000  # characters per keyring entry (KEY-3)
ENVIRONMENTS: Final = ("live", "test")
LEGACY_SERVICE: Final = KEYRING_SERVICE  # the one namespace of earlier versions
_MANIFEST = "mt-chunked-v1:"
_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
_TEST_HOST_WORDS = frozenset({"test", "sandbox", "preprod", "staging", "uat"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def service_name(environment: str) -> str:
    """The keyring service of an environment: 'MerchantTerminal/live' or 'MerchantTerminal/test'."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown keyring environment {environment!r}")
    return f"{KEYRING_SERVICE}/{environment}"


def _host(value: str) -> str:
    if "://" in value:
        return (urlsplit(value).hostname or "").lower()
    return value.split("/", 1)[0].rsplit(":", 1)[0].lower()  # a bare 'host[:port]' (Paymentz)


def environment_of(profile: Profile) -> str:
    """'test' for a sandbox profile or one whose gateway address is loopback or a vendor test host."""
    if not profile.live:
        return "test"
    for field, value in profile.settings.items():
        if not (field.endswith("url") or field in ("host", "endpoint")) or not value:
            continue
        host = _host(value)
        if host in _LOOPBACK or _TEST_HOST_WORDS & set(re.split(r"[.-]", host)):
            return "test"
    return "live"


class KeyringSecrets(SecretStore):
    """The OS keyring, refusing backends that do not really store, reading back each write."""

    def backend_problem(self) -> str | None:
        """Why the keyring cannot hold secrets here (None when it can), with how to fix it."""
        backend = _keyring().get_keyring()
        module = type(backend).__module__
        name = type(backend).__name__
        empty_chain = isinstance(backend, _keyring().backends.chainer.ChainerBackend) and not backend.backends
        weak = float(getattr(backend, "priority", 0)) < 1
        if (
            any(module.startswith(prefix) for prefix in _REFUSED_MODULES)
            or empty_chain
            or weak
            or "plaintext" in name.lower()
        ):
            return (
                f"The OS keyring is not usable ({name}), so live gateway secrets cannot be stored. "
                "Install and unlock one: GNOME Keyring or KWallet (Secret Service) on Linux; Windows "
                "Credential Manager and the macOS Keychain are built in. Remove PYTHON_KEYRING_BACKEND "
                "or a keyringrc.cfg that selects another backend."
            )
        return None

    def _check(self) -> None:
        problem = self.backend_problem()
        if problem:
            raise ProfileError(problem)

    @staticmethod
    def _read(service: str, user: str) -> str | None:
        try:
            value: str | None = _keyring().get_password(service, user)
            return value
        except _keyring().errors.KeyringError as exc:
            raise ProfileError(f"The OS keyring could not be read: {type(exc).__name__}.") from None

    def _joined(self, service: str, profile_id: str, name: str) -> str | None:
        """The whole value under `service` (parts joined and checked), None when there is none."""
        user = f"{profile_id}/{name}"
        value = self._read(service, user)
        if not value or not value.startswith(_MANIFEST):
            return value or None
        label = name.replace("_", " ")
        try:
            count_text, digest = value[len(_MANIFEST) :].split(":", 1)
            parts = [self._read(service, f"{user}#{index}") or "" for index in range(int(count_text))]
        except ValueError:
            raise ProfileError(f"Profile {profile_id}: the {label} in the OS keyring is damaged.") from None
        joined = "".join(parts)
        if hashlib.sha256(joined.encode("utf-8")).hexdigest() != digest:
            raise ProfileError(f"Profile {profile_id}: the {label} in the OS keyring is incomplete.")
        return joined

    def get_for(self, profile: Profile, name: str) -> str:
        """The secret `name` of `profile`, from the namespace of the profile's environment."""
        return self.get(profile.id, name, environment=environment_of(profile))

    def get(self, profile_id: str, name: str, *, environment: str = "live") -> str:
        """The secret `name` of a profile (joined again when it was split); ProfileError when unusable."""
        self._check()
        service = service_name(environment)
        value = self._joined(service, profile_id, name)
        if value is None:
            value = self.migrate(profile_id, name, environment=environment)
        if value is None:
            label = name.replace("_", " ")
            raise ProfileError(f"Profile {profile_id}: the {label} is not set in the OS keyring.")
        return value

    def migrate(self, profile_id: str, name: str, *, environment: str) -> str | None:
        """Move an entry of the one namespace of earlier versions into `environment`'s; returns its value.

        Old name read, new name written and read back, old entries deleted: in that order, so a failure
        at any step leaves a readable copy. None when there was nothing to move.
        """
        old = self._joined(LEGACY_SERVICE, profile_id, name)
        if old is None:
            return None
        try:
            self.put(profile_id, name, old, environment=environment)
        except ProfileError as exc:
            log.warning("Keyring entry %s/%s not moved to %s (kept where it was): %s",
                        profile_id, name, service_name(environment), exc)  # fmt: skip
            return old
        self._delete(LEGACY_SERVICE, profile_id, name)
        log.info("Keyring entry %s/%s moved to %s", profile_id, name, service_name(environment))
        return old

    def _delete(self, service: str, profile_id: str, name: str) -> None:
        user = f"{profile_id}/{name}"
        users = [user]
        try:
            head = _keyring().get_password(service, user) or ""
            if head.startswith(_MANIFEST):
                count = int(head[len(_MANIFEST) :].split(":", 1)[0])
                users = [user, *(f"{user}#{index}" for index in range(count))]  # manifest first
            for entry in users:
                _keyring().delete_password(service, entry)
        except (_keyring().errors.KeyringError, ValueError) as exc:
            log.warning("Old keyring entry %s/%s not removed: %s", profile_id, name, type(exc).__name__)

    def put(self, profile_id: str, name: str, value: str, *, environment: str = "live") -> None:
        """Store a secret (split when long), then read it back; ProfileError when it did not stick."""
        self._check()
        service = service_name(environment)
        user = f"{profile_id}/{name}"
        label = name.replace("_", " ")
        try:
            if len(value) <= CHUNK:
                _keyring().set_password(service, user, value)
            else:
                parts = [value[i : i + CHUNK] for i in range(0, len(value), CHUNK)]
                for index, part in enumerate(parts):
                    _keyring().set_password(service, f"{user}#{index}", part)
                digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
                _keyring().set_password(service, user, f"{_MANIFEST}{len(parts)}:{digest}")
        except _keyring().errors.KeyringError as exc:
            raise ProfileError(
                f"The OS keyring refused to store the {label} ({type(exc).__name__}); nothing was changed."
            ) from None
        try:
            back = self._joined(service, profile_id, name)
        except ProfileError:
            back = None
        if back != value:
            raise ProfileError(
                f"The OS keyring did not keep the {label} (reading it back gave something else). "
                "Check that the keyring is unlocked and supported."
            )
