"""OMPay's declared capabilities and published addresses, without any HTTP code.

The registry reads these at start-up; the adapter (ompay.py), which pulls in httpx, is imported only
when a profile is built. ompay.py re-exports every name here.
"""

from __future__ import annotations

from typing import Final

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.operations import OperationKind

__all__ = ["CAPABILITIES", "CURRENCIES", "DISPLAY_NAME", "LIVE_URL"]

DISPLAY_NAME: Final = "OMPay"
LIVE_URL: Final = "https://api.ompay.com"
CURRENCIES: Final = frozenset({"OMR", "USD"})

CAPABILITIES: Final = Capabilities(
    gateway="ompay",
    display_name=DISPLAY_NAME,
    operations={
        OperationKind.SALE: Support.DOCUMENTED,
        OperationKind.AUTHORIZE: Support.DOCUMENTED,
        OperationKind.CAPTURE: Support.DOCUMENTED,
        OperationKind.VOID: Support.DOCUMENTED,
        OperationKind.REFUND: Support.DOCUMENTED,
        OperationKind.INVOICE: Support.DOCUMENTED,
    },
    currencies=CURRENCIES,
    partial_capture=True,
    multiple_capture=False,
    partial_refund=True,
    multiple_refund=True,
    void_after_capture=False,
    hosted_entry=True,
    direct_entry=True,
    three_d_secure=True,
    # No lookup by merchant reference is documented: an unanswered create is resolved by an operator.
    lookup_by_reference=False,
    # ...but a lost capture, void or refund is read back from its payment (fetch_follow_up).
    follow_up_lookup=True,
    saved_cards=True,
    # The hosted payment page is sent as a link through create_invoice (link_url), not through the card
    # page of begin_hosted_entry, which is the nonce page: see create_invoice.
    payment_link=False,
    # OMPay publishes no limits: from the smallest unit up to just under the absurd-amount bound.
    amount_limits={"OMR": (1, 9_999_999_999), "USD": (1, 999_999_999)},
    missing_note="OMPay voids only pre-authorisations that are not captured; refund a sale instead.",
)
