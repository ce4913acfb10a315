"""KEY-1..KEY-3, KEY-5, KEY-6: only a real keyring, every write read back, long secrets split, errors said."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import pytest
from keyring.compat import properties
from keyring.testing.backend import BackendBasicTests

from terminal.services.profiles import KEYRING_SERVICE, ProfileError
from terminal.services.settings import CHUNK, KeyringSecrets
from tests.security.keyrings import (
    DroppingKeyring,
    LowPriorityKeyring,
    MemoryKeyring,
    RefusingKeyring,
    TruncatingKeyring,
    WindowsSizedKeyring,
    using,
)

SENTINEL = "sk_live_SENTINEL-7f3a9c1e"


class TestMemoryKeyringIsARealBackend(BackendBasicTests):
    """Our in-memory backend passes keyring's own backend suite, so tests on it mean something."""

    def init_keyring(self) -> MemoryKeyring:
        return MemoryKeyring()


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring (the package is not installed here)."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


class EmptyChainer(keyring.backends.chainer.ChainerBackend):
    """A chainer that found no backend to chain (what an unconfigured Linux box gets)."""

    @properties.classproperty
    def backends(cls) -> list[object]:  # type: ignore[override]
        return []


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    with using(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


@pytest.mark.parametrize(
    "backend",
    [
        keyring.backends.fail.Keyring(),
        keyring.backends.null.Keyring(),
        EmptyChainer(),
        PlaintextKeyring(),
        LowPriorityKeyring(),
    ],
    ids=["fail", "null", "empty-chainer", "keyrings.alt-plaintext", "low-priority"],
)
def test_backends_that_do_not_really_store_are_refused(backend: object) -> None:
    with using(backend):  # type: ignore[arg-type]
        secrets = KeyringSecrets()
        problem = secrets.backend_problem()
        assert problem is not None and "OS keyring is not usable" in problem
        assert "GNOME Keyring" in problem  # how to fix it
        with pytest.raises(ProfileError, match="not usable"):
            secrets.put("shop", "secret", SENTINEL)
        with pytest.raises(ProfileError, match="not usable"):
            secrets.get("shop", "secret")


def test_backend_chosen_through_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    try:
        keyring.core.init_backend()
        assert type(keyring.get_keyring()).__module__ == "keyring.backends.null"
        assert KeyringSecrets().backend_problem() is not None
    finally:
        keyring.set_keyring(previous)


def test_an_allowed_backend_stores_and_reads_back(memory: MemoryKeyring) -> None:
    secrets = KeyringSecrets()
    assert secrets.backend_problem() is None
    secrets.put("shop", "secret", SENTINEL)
    assert memory.store[(KEYRING_SERVICE, "shop/secret")] == SENTINEL
    assert secrets.get("shop", "secret") == SENTINEL


@pytest.mark.parametrize("backend", [DroppingKeyring(), TruncatingKeyring()], ids=["drops", "truncates"])
def test_a_write_that_does_not_stick_fails_visibly(backend: MemoryKeyring) -> None:
    with using(backend), pytest.raises(ProfileError, match="did not keep the api token"):
        KeyringSecrets().put("shop", "api_token", "x" * 100)


def test_keyring_errors_become_a_message_not_a_crash() -> None:
    with using(RefusingKeyring()), pytest.raises(ProfileError, match=r"refused to store the secret \(Pass"):
        KeyringSecrets().put("shop", "secret", SENTINEL)


def test_a_3kb_token_survives_the_windows_size_limit() -> None:
    token = "".join(chr(0x41 + i % 26) for i in range(3000)) + "é✓"
    with using(WindowsSizedKeyring()) as backend:
        # The backend really refuses the whole token in one entry.
        with pytest.raises(keyring.errors.PasswordSetError):
            backend.set_password("probe", "probe", token)
        secrets = KeyringSecrets()
        secrets.put("shop", "merchant_api_token", token)
        assert secrets.get("shop", "merchant_api_token") == token
        stored = backend.store  # type: ignore[attr-defined]
        parts = [k for k in stored if k[1].startswith("shop/merchant_api_token#")]
        assert len(parts) == -(-len(token) // CHUNK)
        assert all(len(stored[k].encode("utf-16-le")) <= 2560 for k in stored)


def test_a_damaged_split_secret_is_reported(memory: MemoryKeyring) -> None:
    secrets = KeyringSecrets()
    secrets.put("shop", "secret", "y" * 2500)
    memory.store[(KEYRING_SERVICE, "shop/secret#1")] = "z" * CHUNK
    with pytest.raises(ProfileError, match="incomplete"):
        secrets.get("shop", "secret")


def test_no_secret_reaches_a_log(memory: MemoryKeyring, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = KeyringSecrets()
    secrets.put("shop", "secret", SENTINEL)
    secrets.get("shop", "secret")
    with using(RefusingKeyring()), pytest.raises(ProfileError) as caught:
        KeyringSecrets().put("shop", "secret", SENTINEL)
    assert SENTINEL not in caplog.text and SENTINEL not in str(caught.value)
