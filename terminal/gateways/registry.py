"""Which gateways exist, what each needs to be configured, and how to build its adapter.

The services layer builds adapters only through here; a settings screen can be generated from
SETTINGS_FIELDS, SECRET_FIELDS and FIELD_LABELS. Secrets come from the caller (the OS keyring or the
published sandbox credentials), never from settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from terminal.domain.capabilities import Capabilities
from terminal.gateways import connect_caps, etpay_caps, ogopay_caps, ompay_caps, paymentz_caps
from terminal.gateways.errors import ValidationError

if TYPE_CHECKING:
    import httpx

    from terminal.gateways.base import Gateway

__all__ = [
    "FIELD_LABELS",
    "GATEWAYS",
    "PRESET_URLS",
    "SECRET_FIELDS",
    "SETTINGS_FIELDS",
    "build_gateway",
    "capabilities_of",
]

GATEWAYS: Final[tuple[str, ...]] = ("ogopay", "etpay", "ompay", "paymentz", "connect")

# Non-secret settings (stored in the settings file) and secrets (OS keyring), by gateway.
SETTINGS_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "ogopay": ("base_url", "merchant_id"),
    "etpay": ("api_url", "pmt_url", "merchant_code"),
    "ompay": ("base_url", "merchant_id", "client_id"),
    "paymentz": ("host", "member_id", "partner_id", "username", "terminal_id"),
    "connect": ("endpoint", "merchant_id", "api_key_id", "platform_style", "webhook_key_id"),
}
SECRET_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "ogopay": ("secret",),
    "etpay": ("merchant_api_token",),
    "ompay": ("client_secret",),
    "paymentz": ("secure_key",),
    "connect": ("secret_api_key", "webhook_secret"),
}

FIELD_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "ogopay": {"base_url": "Gateway address", "merchant_id": "Merchant id", "secret": "Secret key"},
    "etpay": {
        "api_url": "API address",
        "pmt_url": "Payment page address",
        "merchant_code": "Merchant code",
        "merchant_api_token": "API token",
    },
    "ompay": {
        "base_url": "Gateway address",
        "merchant_id": "Merchant id",
        "client_id": "Client id",
        "client_secret": "Client secret",
        "direct_entry": "Direct card entry (PCI DSS merchants)",
    },
    "paymentz": {
        "host": "Host (your provider's brand)",
        "member_id": "Member id",
        "partner_id": "Partner id",
        "username": "Username",
        "terminal_id": "Terminal id",
        "secure_key": "Secure key",
        "direct_entry": "Direct card entry (PCI DSS merchants)",
    },
    "connect": {
        "endpoint": "API endpoint",
        "merchant_id": "Merchant id",
        "api_key_id": "API key id",
        "secret_api_key": "Secret API key",
        "platform_style": "Platform (globalcollect or ogone)",
        "direct_entry": "Direct card entry (PCI DSS merchants)",
        "webhook_key_id": "Webhook key id",
        "webhook_secret": "Webhook secret key",
    },
}

# Capabilities and addresses come from the *_caps modules, which hold no HTTP code: importing the
# adapters (and httpx with them) costs a noticeable part of the terminal's cold start, so build_gateway
# imports an adapter only when a profile is built (issue 11).

# The vendor's published addresses, offered as choices for base_url. ETpay has two address fields and
# publishes only its sandbox ones (production addresses come at onboarding): keyed by field.
PRESET_URLS: Final[Mapping[str, Mapping[str, str]]] = {
    "ogopay": {"test": ogopay_caps.TEST_URL, "live": ogopay_caps.LIVE_URL},
    "etpay": {"api_url": etpay_caps.SANDBOX_API_URL, "pmt_url": etpay_caps.SANDBOX_PMT_URL},
    "ompay": {"live": ompay_caps.LIVE_URL},
    "paymentz": {"test": paymentz_caps.TEST_HOST},
    "connect": connect_caps.ENDPOINTS,
}

_CAPABILITIES: Final[Mapping[str, Capabilities]] = {
    "ogopay": ogopay_caps.CAPABILITIES,
    "etpay": etpay_caps.CAPABILITIES,
    "ompay": ompay_caps.CAPABILITIES,
    "paymentz": paymentz_caps.CAPABILITIES,
    "connect": connect_caps.CAPABILITIES,
}


# Settings a profile may leave empty (their defaults apply), by gateway.
_OPTIONAL_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "connect": frozenset({"platform_style", "webhook_key_id", "webhook_secret"}),
}


def capabilities_of(gateway: str, settings: Mapping[str, str] | None = None) -> Capabilities:
    """The declared capabilities of a gateway; KeyError for a gateway this terminal does not know.

    With a profile's `settings`, what that profile can do: some depend on its settings (Connect's card
    payouts exist on its Ogone platform style only). Without, everything the gateway offers somewhere.
    """
    try:
        declared = _CAPABILITIES[gateway]
    except KeyError:
        raise KeyError(f"unknown gateway {gateway!r}; known: {', '.join(GATEWAYS)}") from None
    if gateway == "connect" and settings is not None:
        return connect_caps.capabilities_for(
            settings.get("platform_style", "").strip().lower() or connect_caps.GLOBALCOLLECT
        )
    return declared


def _missing(gateway: str, name: str) -> ValidationError:
    label = FIELD_LABELS[gateway].get(name, name)
    return ValidationError(
        f"{capabilities_of(gateway).display_name}: the {label.lower()} is not set.", field=name
    )


# Address fields a sandbox profile fills from its one simulator address (base_url).
_SANDBOX_ADDRESS_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "etpay": ("api_url", "pmt_url"),
    "paymentz": ("host",),
    "connect": ("endpoint",),
}


def build_gateway(
    gateway: str,
    settings: Mapping[str, str],
    secrets: Mapping[str, str],
    *,
    live: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout | None = None,
) -> Gateway:
    """The adapter for one profile. ValidationError (with `field`) names a missing or unusable setting."""
    capabilities_of(gateway)
    values = {name: settings.get(name, "").strip() for name in SETTINGS_FIELDS[gateway]}
    # A sandbox profile names its simulator as base_url; a live one names each address field itself
    # (ETpay's simulator serves both its API and its payment page; Paymentz's host is its brand's).
    for name in _SANDBOX_ADDRESS_FIELDS.get(gateway, ()):
        values[name] = values[name] or settings.get("base_url", "").strip()
    # Off unless an administrator set the profile option (SECURITY ARCH-2).
    direct_entry = settings.get("direct_entry", "").strip().lower() == "on"
    # Secrets are used exactly as given: OGO's key is the text itself, never trimmed or decoded.
    keys = {name: secrets.get(name, "") for name in SECRET_FIELDS[gateway]}
    for name, value in (*values.items(), *keys.items()):
        if not value and name not in _OPTIONAL_FIELDS.get(gateway, frozenset()):
            raise _missing(gateway, name)
    # Imported here, not at module level: see the note above PRESET_URLS.
    if gateway == "ogopay":
        from terminal.gateways import ogopay

        config = ogopay.OgoPayConfig(
            base_url=values["base_url"], merchant_id=values["merchant_id"], secret=keys["secret"], live=live
        )
        return ogopay.OgoPayGateway(config, transport=transport, timeout=timeout)
    if gateway == "etpay":
        from terminal.gateways import etpay

        etpay_config = etpay.EtpayConfig(
            api_url=values["api_url"],
            pmt_url=values["pmt_url"],
            merchant_code=values["merchant_code"],
            api_token=keys["merchant_api_token"],
            live=live,
        )
        return etpay.EtpayGateway(etpay_config, transport=transport, timeout=timeout)
    if gateway == "ompay":
        from terminal.gateways import ompay

        ompay_config = ompay.OmpayConfig(
            base_url=values["base_url"],
            merchant_id=values["merchant_id"],
            client_id=values["client_id"],
            client_secret=keys["client_secret"],
            direct_entry=direct_entry,
            live=live,
        )
        return ompay.OmpayGateway(ompay_config, transport=transport, timeout=timeout)
    if gateway == "paymentz":
        from terminal.gateways import paymentz

        paymentz_config = paymentz.PaymentzConfig(
            host=values["host"],
            member_id=values["member_id"],
            partner_id=values["partner_id"],
            username=values["username"],
            terminal_id=values["terminal_id"],
            secure_key=keys["secure_key"],
            direct_entry=direct_entry,
            live=live,
        )
        return paymentz.PaymentzGateway(paymentz_config, transport=transport, timeout=timeout)
    if gateway == "connect":
        from terminal.gateways import connect

        connect_config = connect.ConnectConfig(
            endpoint=values["endpoint"],
            merchant_id=values["merchant_id"],
            api_key_id=values["api_key_id"],
            secret_api_key=keys["secret_api_key"],
            platform_style=values["platform_style"].lower() or connect_caps.GLOBALCOLLECT,
            direct_entry=direct_entry,
            webhook_key_id=values["webhook_key_id"],
            webhook_secret=keys["webhook_secret"],
            live=live,
        )
        return connect.ConnectGateway(connect_config, transport=transport, timeout=timeout)
    raise KeyError(f"unknown gateway {gateway!r}")  # pragma: no cover - capabilities_of refused it already
