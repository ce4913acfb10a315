"""Gateway profiles: which gateway, where, with which ids; secrets come from the OS keyring only.

A profile file (`settings.json` beside the database) names profiles and their non-secret settings.
Sandbox profiles point at the local simulators and carry the public sandbox credentials of
SANDBOX.md, so SANDBOX mode works on a machine without a keyring service.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from terminal.domain.capabilities import Capabilities
from terminal.gateways.base import Gateway
from terminal.gateways.registry import SECRET_FIELDS, build_gateway, capabilities_of

KEYRING_SERVICE = "MerchantTerminal"


def keyring_module() -> ModuleType:
    """The keyring package, imported on first use: a sandbox start-up never needs it (about 40 ms)."""
    import keyring
    import keyring.backends.chainer
    import keyring.errors

    return keyring


# The published sandbox credentials (docs/SANDBOX.md): public test values, not secrets.
SANDBOX_CREDENTIALS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "ogopay": ({"merchant_id": "sandbox-merchant"}, {"secret": "sandbox-ogo-secret"}),
    "etpay": ({"merchant_code": "sandbox_merchant"}, {"merchant_api_token": "sandbox-api-token"}),
    "ompay": (
        {"merchant_id": "sandboxmerchant1", "client_id": "sandboxclientid1"},
        {"client_secret": "sandboxsecret001"},
    ),
    "paymentz": (
        {"member_id": "10001", "partner_id": "1", "username": "sandbox", "terminal_id": "1"},
        {"secure_key": "sandbox-secure-key"},
    ),
    "connect": (
        {"merchant_id": "1234", "api_key_id": "sandboxkeyid0001", "webhook_key_id": "sandbox-webhook-key"},
        {"secret_api_key": "sandbox-connect-secret", "webhook_secret": "sandbox-webhook-secret"},
    ),
}

# Currency each gateway's demo profile charges in.
SANDBOX_CURRENCY: dict[str, str] = {
    "ogopay": "LKR",
    "etpay": "CLP",
    "ompay": "OMR",
    "paymentz": "EUR",
    "connect": "EUR",
}


class ProfileError(RuntimeError):
    """A profile that cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Profile:
    """One configured gateway account: live, or a sandbox profile against a simulator."""

    id: str
    gateway: str
    name: str
    currency: str
    live: bool
    settings: Mapping[str, str] = field(default_factory=dict)
    sandbox_secrets: Mapping[str, str] = field(default_factory=dict)

    @property
    def capabilities(self) -> Capabilities:
        """What this profile's gateway can do with this profile's settings (Connect: its platform style)."""
        return capabilities_of(self.gateway, self.settings)

    @property
    def label(self) -> str:
        """How the profile appears in pickers."""
        return f"{self.name} (SANDBOX)" if not self.live else self.name


def gateway_display_name(gateway: str) -> str:
    """The gateway's name as people write it ('OGO Pay'), or the code when unknown."""
    try:
        return capabilities_of(gateway).display_name
    except KeyError:
        return gateway


def sandbox_profile(gateway: str, base_url: str) -> Profile:
    """The demo profile of `gateway` against its simulator at `base_url`."""
    settings, secrets = SANDBOX_CREDENTIALS[gateway]
    caps = capabilities_of(gateway)
    return Profile(
        id=f"{gateway}-sandbox",
        gateway=gateway,
        name=f"{caps.display_name} demo",
        currency=SANDBOX_CURRENCY[gateway],
        live=False,
        settings={**settings, "base_url": base_url},
        sandbox_secrets=secrets,
    )


class SecretStore:
    """Reads live profiles' secrets from the OS keyring, refusing backends that do not really store."""

    _REFUSED = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

    def backend_problem(self) -> str | None:
        """Why the keyring cannot hold secrets on this machine (None when it can)."""
        backend = keyring_module().get_keyring()
        module = type(backend).__module__
        if any(module.startswith(prefix) for prefix in self._REFUSED):
            return (
                "No secure OS keyring is available, so live gateway secrets cannot be stored. "
                "Install and unlock one: GNOME Keyring or KWallet (Secret Service) on Linux; "
                "Windows Credential Manager and the macOS Keychain are built in."
            )
        return None

    def get(self, profile_id: str, name: str) -> str:
        """The secret `name` of a profile; ProfileError when absent or the keyring is unusable."""
        problem = self.backend_problem()
        if problem:
            raise ProfileError(problem)
        try:
            value: str | None = keyring_module().get_password(KEYRING_SERVICE, f"{profile_id}/{name}")
        except keyring_module().errors.KeyringError as exc:
            raise ProfileError(f"The OS keyring could not be read: {exc}") from None
        if not value:
            raise ProfileError(
                f"Profile {profile_id}: the {name.replace('_', ' ')} is not set in the OS keyring."
            )
        return value

    def get_for(self, profile: Profile, name: str) -> str:
        """The secret `name` of `profile`; a store may use the profile to pick a namespace (KEY-6)."""
        return self.get(profile.id, name)


class ProfileRegistry:
    """The profiles in use this session and one live adapter per profile."""

    def __init__(self, profiles: list[Profile], secrets: SecretStore | None = None) -> None:
        self._profiles = {p.id: p for p in profiles}
        self._secrets = secrets or SecretStore()
        self._gateways: dict[str, Gateway] = {}
        self._retired: list[Gateway] = []

    def all(self) -> list[Profile]:
        """Every profile, in the order configured."""
        return list(self._profiles.values())

    def get(self, profile_id: str) -> Profile:
        """The profile of this id."""
        try:
            return self._profiles[profile_id]
        except KeyError:
            raise ProfileError(f"No gateway profile {profile_id!r} is configured.") from None

    def put(self, profile: Profile) -> None:
        """Add or replace a profile (Settings); its adapter is rebuilt on next use."""
        self._profiles[profile.id] = profile
        retired = self._gateways.pop(profile.id, None)
        if retired is not None:
            self._retired.append(retired)

    @property
    def sandbox(self) -> bool:
        """True when every profile is a sandbox one (the terminal is in SANDBOX mode)."""
        return all(not p.live for p in self._profiles.values())

    def gateway(self, profile_id: str) -> Gateway:
        """The adapter of a profile, built once."""
        if profile_id not in self._gateways:
            profile = self.get(profile_id)
            self._gateways[profile_id] = build_gateway(
                profile.gateway, profile.settings, self._secrets_of(profile), live=profile.live
            )
        return self._gateways[profile_id]

    def _secrets_of(self, profile: Profile) -> Mapping[str, str]:
        if not profile.live:
            return profile.sandbox_secrets
        return {name: self._secrets.get_for(profile, name) for name in SECRET_FIELDS[profile.gateway]}

    async def aclose(self) -> None:
        """Close every adapter's connections."""
        for gateway in [*self._gateways.values(), *self._retired]:
            await gateway.aclose()
        self._gateways.clear()
        self._retired.clear()


def load_profiles(path: Path) -> list[Profile]:
    """Live profiles from the settings file; an absent file means none (SANDBOX mode)."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            Profile(
                id=str(item["id"]),
                gateway=str(item["gateway"]),
                name=str(item.get("name") or item["id"]),
                currency=str(item["currency"]).upper(),
                live=bool(item.get("live", True)),
                settings={str(k): str(v) for k, v in dict(item.get("settings", {})).items()},
            )
            for item in data.get("profiles", [])
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(f"The settings file {path} cannot be read: {exc}") from None


def save_profiles(path: Path, profiles: list[Profile]) -> None:
    """Write the live profiles (never secrets) atomically."""
    data = {
        "profiles": [
            {
                "id": p.id,
                "gateway": p.gateway,
                "name": p.name,
                "currency": p.currency,
                "live": p.live,
                "settings": dict(p.settings),
            }
            for p in profiles
            if p.live
        ]
    }
    # Other keys (the shared database's `database_url`, README) are set by hand: keep them.
    kept: dict[str, object] = {**_other_settings(path), **data}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(kept, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _other_settings(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k != "profiles"} if isinstance(data, dict) else {}
