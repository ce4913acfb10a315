"""KEY-1..KEY-3, KEY-5, KEY-6: only a real keyring, every write read back, long secrets split, errors said,
test and live secrets in separate namespaces (old entries moved over)."""

from __future__ import annotations

import hashlib
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

from terminal.services.profiles import KEYRING_SERVICE, Profile, ProfileError, ProfileRegistry
from terminal.services.secrets import environment_of, service_name
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
    assert memory.store[(service_name("live"), "shop/secret")] == SENTINEL
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
    memory.store[(service_name("live"), "shop/secret#1")] = "z" * CHUNK
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


def _ogo(profile_id: str, base_url: str) -> Profile:
    return Profile(profile_id, "ogopay", profile_id, "LKR", True, {"base_url": base_url, "merchant_id": "m"})


@pytest.mark.parametrize(
    ("address", "environment"),
    [
        ("https://live-ipg.ogo.exchange", "live"),
        ("https://test-ipg.ogo.exchange", "test"),
        ("https://eu.sandbox.api-ingenico.com", "test"),
        ("https://api.preprod.connect.worldline-solutions.com", "test"),
        ("http://127.0.0.1:8401", "test"),
        ("https://contest.example.com", "live"),  # 'test' inside a word is not a test host
    ],
)
def test_a_profile_environment_follows_its_gateway_address(address: str, environment: str) -> None:
    assert environment_of(_ogo("shop", address)) == environment
    paymentz = Profile("pz", "paymentz", "pz", "EUR", True, {"host": "test.paymentz.com"})
    assert environment_of(paymentz) == "test"


def test_test_and_live_secrets_live_in_separate_namespaces(memory: MemoryKeyring) -> None:
    secrets = KeyringSecrets()
    live, test = _ogo("shop", "https://live-ipg.ogo.exchange"), _ogo("shop", "https://test-ipg.ogo.exchange")
    secrets.put("shop", "secret", "live-key", environment="live")
    secrets.put("shop", "secret", "test-key", environment="test")
    assert memory.store[("MerchantTerminal/live", "shop/secret")] == "live-key"
    assert memory.store[("MerchantTerminal/test", "shop/secret")] == "test-key"
    assert secrets.get_for(live, "secret") == "live-key" and secrets.get_for(test, "secret") == "test-key"
    # The registry reads through the profile, so each adapter gets its own environment's key.
    del memory.store[("MerchantTerminal/live", "shop/secret")]
    registry = ProfileRegistry([live], secrets)
    with pytest.raises(ProfileError, match="not set in the OS keyring"):
        registry.gateway("shop")  # the test key is never handed to the live gateway


def test_old_entries_move_to_the_new_namespace_on_first_read(memory: MemoryKeyring) -> None:
    long_token = "t" * 2500  # split into parts under the old name too
    secrets = KeyringSecrets()
    memory.store[(KEYRING_SERVICE, "shop/secret")] = SENTINEL
    memory.store[(KEYRING_SERVICE, "database/password")] = "db-password"
    old_manifest = f"mt-chunked-v1:3:{hashlib.sha256(long_token.encode()).hexdigest()}"
    memory.store[(KEYRING_SERVICE, "sandbox-shop/secret")] = old_manifest
    for index in range(3):
        memory.store[(KEYRING_SERVICE, f"sandbox-shop/secret#{index}")] = long_token[
            index * CHUNK : (index + 1) * CHUNK
        ]

    assert secrets.get_for(_ogo("shop", "https://live-ipg.ogo.exchange"), "secret") == SENTINEL
    assert secrets.get("database", "password") == "db-password"
    assert secrets.get_for(_ogo("sandbox-shop", "https://test-ipg.ogo.exchange"), "secret") == long_token

    # Old name read, new written and verified, old deleted: nothing is left under the old service.
    assert not [key for key in memory.store if key[0] == KEYRING_SERVICE]
    assert memory.store[("MerchantTerminal/live", "shop/secret")] == SENTINEL
    assert memory.store[("MerchantTerminal/live", "database/password")] == "db-password"
    assert secrets.get("sandbox-shop", "secret", environment="test") == long_token
    assert ("MerchantTerminal/live", "sandbox-shop/secret") not in memory.store


class _RefusesNewNames(MemoryKeyring):
    """Holds old entries but refuses every write (a keychain that went read-only)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("read-only")


def test_a_failed_move_keeps_the_old_entry_and_still_answers() -> None:
    with using(_RefusesNewNames()) as backend:
        store = backend.store  # type: ignore[attr-defined]
        store[(KEYRING_SERVICE, "shop/secret")] = SENTINEL
        assert KeyringSecrets().get("shop", "secret") == SENTINEL
        assert store == {(KEYRING_SERVICE, "shop/secret"): SENTINEL}  # nothing lost
