"""Worldline Connect's declared capabilities and published addresses, without any HTTP code.

The registry reads these at start-up; the adapter (connect.py), which pulls in httpx, is imported only
when a profile is built. connect.py re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.operations import OperationKind

__all__ = [
    "CAPABILITIES",
    "CURRENCY",
    "DISPLAY_NAME",
    "ENDPOINTS",
    "GLOBALCOLLECT",
    "OGONE",
    "capabilities_for",
]

DISPLAY_NAME: Final = "Worldline Connect"
CURRENCY: Final = "EUR"
GLOBALCOLLECT: Final = "globalcollect"
OGONE: Final = "ogone"
# The documented environments (docs/gateways/connect.md 5.2), offered as choices for the endpoint.
ENDPOINTS: Final[Mapping[str, str]] = {
    "sandbox": "https://eu.sandbox.api-ingenico.com",
    "preprod": "https://api.preprod.connect.worldline-solutions.com",
    "preprod_ogone": "https://eu.preprod.api-ingenico.com",
    "live": "https://api.connect.worldline-solutions.com",
    "live_ingenico": "https://eu.api-ingenico.com",
}

CAPABILITIES: Final = Capabilities(
    gateway="connect",
    display_name=DISPLAY_NAME,
    operations={
        OperationKind.SALE: Support.DOCUMENTED,
        OperationKind.AUTHORIZE: Support.DOCUMENTED,
        OperationKind.CAPTURE: Support.DOCUMENTED,
        OperationKind.VOID: Support.DOCUMENTED,
        OperationKind.REFUND: Support.DOCUMENTED,
        OperationKind.PAYOUT: Support.DOCUMENTED,
    },
    currencies=frozenset(
        {"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "JPY", "AUD", "CAD"}
    ),
    partial_capture=True,
    # Several captures on the Ogone platform; a GlobalCollect profile's second approve is refused by Connect.
    multiple_capture=True,
    partial_refund=True,
    multiple_refund=True,
    # A capture not yet settled can be cancelled (POST /payments/{id}/cancel).
    void_after_capture=True,
    hosted_entry=True,
    direct_entry=True,
    three_d_secure=True,
    lookup_by_reference=True,
    saved_cards=True,
    recurring=True,
    payout_to_card=True,
    payout_approval=True,
)


def capabilities_for(platform_style: str) -> Capabilities:
    """What a profile on this platform style can do: card payouts exist on the Ogone platform only.

    CAPABILITIES is the union (what Connect offers on some platform); a profile's own is this.
    """
    if platform_style == OGONE:
        return CAPABILITIES
    operations: dict[OperationKind, Support] = {
        k: v for k, v in CAPABILITIES.operations.items() if k is not OperationKind.PAYOUT
    }
    return replace(
        CAPABILITIES,
        operations=operations,
        payout_to_card=False,
        payout_approval=False,
        missing_note=f"{DISPLAY_NAME} pays out to cards on its Ogone platform only.",
    )
