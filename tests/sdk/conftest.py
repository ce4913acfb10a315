"""Worldline's own Python SDK (connect-sdk-python3, unchanged) against the Connect simulator, both styles.

The SDK is synchronous (requests); the simulators run in their own threads on loopback ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from worldline.connect.sdk.client import Client
from worldline.connect.sdk.communicator_configuration import CommunicatorConfiguration
from worldline.connect.sdk.factory import Factory
from worldline.connect.sdk.v1.merchant.merchant_client import MerchantClient

from terminal.sim.connect import GLOBALCOLLECT, OGONE, create_app
from terminal.sim.runner import serve_app

KEY_ID, SECRET, MERCHANT = "sandboxkeyid0001", "sandbox-connect-secret", "1234"


@dataclass
class SdkHarness:
    """An SDK client for merchant 1234 and the simulator's control API."""

    url: str
    client: Client
    control: httpx.Client

    @property
    def merchant(self) -> MerchantClient:
        return self.client.v1().merchant(MERCHANT)

    def ledger(self, kind: str | None = None) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control.get("/_sim/ledger").json()["entries"]
        return [e for e in entries if e["effect"] and (kind is None or e["kind"] == kind)]

    def settle(self) -> None:
        self.control.post("/_sim/settle").raise_for_status()


def sdk_client(url: str, secret: str = SECRET) -> Client:
    """The SDK exactly as a merchant would configure it: endpoint, key id, secret, v1HMAC."""
    config = CommunicatorConfiguration(
        api_endpoint=url,
        api_key_id=KEY_ID,
        secret_api_key=secret,
        authorization_type="v1HMAC",
        connect_timeout=5,
        socket_timeout=5,
        max_connections=2,
        integrator="MerchantTerminal tests",
    )
    return Factory.create_client_from_configuration(config)


@pytest.fixture(scope="session")
def connect_urls() -> Iterator[dict[str, str]]:
    """One simulator per platform style, for the session."""
    gc_url, stop_gc = serve_app(create_app(platform=GLOBALCOLLECT))
    ogone_url, stop_ogone = serve_app(create_app(platform=OGONE))
    yield {GLOBALCOLLECT: gc_url, OGONE: ogone_url}
    stop_gc()
    stop_ogone()


def _harness(url: str) -> Iterator[SdkHarness]:
    with httpx.Client(base_url=url, timeout=5.0) as control:
        control.post("/_sim/reset").raise_for_status()
        client = sdk_client(url)
        try:
            yield SdkHarness(url, client, control)
        finally:
            client.close()


@pytest.fixture
def gc(connect_urls: dict[str, str]) -> Iterator[SdkHarness]:
    """The GlobalCollect-style simulator, reset."""
    yield from _harness(connect_urls[GLOBALCOLLECT])


@pytest.fixture
def ogone(connect_urls: dict[str, str]) -> Iterator[SdkHarness]:
    """The Ogone-style simulator, reset."""
    yield from _harness(connect_urls[OGONE])
