"""ETpay's declared capabilities and published addresses, without any HTTP code.

The registry reads these at start-up; the adapter (etpay.py), which pulls in httpx, is imported only
when a profile is built. etpay.py re-exports every name here.
"""

from __future__ import annotations

from typing import Final

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.operations import OperationKind

__all__ = ["CAPABILITIES", "CURRENCY", "DISPLAY_NAME", "SANDBOX_API_URL", "SANDBOX_PMT_URL"]

DISPLAY_NAME: Final = "ETpay"
CURRENCY: Final = "CLP"
SANDBOX_API_URL: Final = "https://api-sandbox.etpay.com"
SANDBOX_PMT_URL: Final = "https://pmt-sandbox.etpay.com"

CAPABILITIES: Final = Capabilities(
    gateway="etpay",
    display_name=DISPLAY_NAME,
    operations={OperationKind.SALE: Support.DOCUMENTED},
    currencies=frozenset({CURRENCY}),
    hosted_entry=True,
    cards=False,
    payment_link=True,
    direct_entry=False,
    three_d_secure=False,
    lookup_by_reference=True,
    # ETpay publishes no limits (banks set their own transfer limits): from 1 peso up to just under the
    # terminal's absurd-amount bound of ten million major units.
    amount_limits={CURRENCY: (1, 9_999_999)},
    missing_note="ETpay only takes bank transfers; give money back by a transfer from the merchant's bank.",
)
