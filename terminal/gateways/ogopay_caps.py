"""OGO Pay's declared capabilities and published addresses, without any HTTP code.

The registry reads these at start-up; the adapter (ogopay.py), which pulls in httpx, is imported only
when a profile is built. ogopay.py re-exports every name here.
"""

from __future__ import annotations

from typing import Final

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.operations import OperationKind

__all__ = ["CAPABILITIES", "CURRENCY", "DISPLAY_NAME", "LIVE_URL", "TEST_URL"]

DISPLAY_NAME: Final = "OGO Pay"
CURRENCY: Final = "LKR"
TEST_URL: Final = "https://test-ipg.ogo.exchange"
LIVE_URL: Final = "https://live-ipg.ogo.exchange"

CAPABILITIES: Final = Capabilities(
    gateway="ogopay",
    display_name=DISPLAY_NAME,
    operations={
        OperationKind.SALE: Support.DOCUMENTED,
        OperationKind.AUTHORIZE: Support.SANDBOX_ONLY,
        OperationKind.CAPTURE: Support.SANDBOX_ONLY,
        OperationKind.VOID: Support.SANDBOX_ONLY,
        OperationKind.REFUND: Support.SANDBOX_ONLY,
    },
    currencies=frozenset({CURRENCY}),
    # The simulator's completion takes up to the pre-authorised amount, once.
    partial_capture=True,
    multiple_capture=False,
    partial_refund=True,
    multiple_refund=True,
    # A purchase can be voided on the day it was made (before settlement).
    void_after_capture=True,
    hosted_entry=True,
    direct_entry=False,
    three_d_secure=True,
    lookup_by_reference=False,
    # OGO publishes no limits. From LKR 1.00 (OGO's own add-card flow charges 100 minor units) up to just
    # under the terminal's absurd-amount bound of ten million major units.
    amount_limits={CURRENCY: (100, 999_999_999)},
    sandbox_only_reason=(
        "OGO Pay offers pre-authorisation, capture, void and refund, but has not published how to call "
        "them; they work against the sandbox only, until OGO confirms the request formats."
    ),
)
