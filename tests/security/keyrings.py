"""In-memory keyring backends for tests: never the real OS keychain (SECURITY.md KEY-5).

`MemoryKeyring` behaves like a real store (and passes keyring's own BackendBasicTests). The others
misbehave on purpose, each the way a real backend has been seen to: drop writes, truncate, enforce the
Windows credential size limit, or raise on every write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.errors
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """A dictionary, priority 1 like the OS backends keyring recommends."""

    priority = 1  # type: ignore[assignment]
    # Never picked by keyring's automatic selection (nor chained): only installed by `using`.
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


class DroppingKeyring(MemoryKeyring):
    """Accepts every write and keeps nothing (what keyring's null backend does, under another name)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


class TruncatingKeyring(MemoryKeyring):
    """Keeps only the first 64 characters of each value."""

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password[:64]


class WindowsSizedKeyring(MemoryKeyring):
    """Refuses a blob over 2560 bytes of UTF-16, as Windows CredWrite does (error 1783)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) > 2560:
            raise keyring.errors.PasswordSetError("(1783, 'CredWrite', 'The stub received bad data.')")
        super().set_password(service, username, password)


class RefusingKeyring(MemoryKeyring):
    """Raises on every write (a locked collection, a D-Bus error)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("Failed to unlock the collection!")


class LowPriorityKeyring(MemoryKeyring):
    """A backend keyring itself would not recommend (priority below 1)."""

    priority = 0.5  # type: ignore[assignment]


@contextmanager
def using(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """Install `backend` for the block, then put the previous one back."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
