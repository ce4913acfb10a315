"""Paymentz's declared capabilities and published addresses, without any HTTP code.

The registry reads these at start-up; the adapter (paymentz.py), which pulls in httpx, is imported only
when a profile is built. paymentz.py re-exports every name here.
"""

from __future__ import annotations

from typing import Final

from terminal.domain.capabilities import Capabilities, Support
from terminal.domain.operations import OperationKind

__all__ = ["CAPABILITIES", "CURRENCIES", "DISPLAY_NAME", "TEST_HOST"]

DISPLAY_NAME: Final = "Paymentz"
TEST_HOST: Final = "https://test.paymentz.com"
# Two-decimal currencies (the platform's amount format) and JPY, written without decimals.
CURRENCIES: Final = frozenset({"EUR", "USD", "GBP", "INR", "JPY"})

CAPABILITIES: Final = Capabilities(
    gateway="paymentz",
    display_name=DISPLAY_NAME,
    operations={
        OperationKind.SALE: Support.DOCUMENTED,
        OperationKind.AUTHORIZE: Support.DOCUMENTED,
        OperationKind.CAPTURE: Support.DOCUMENTED,
        OperationKind.VOID: Support.DOCUMENTED,
        OperationKind.REFUND: Support.DOCUMENTED,
        OperationKind.PAYOUT: Support.DOCUMENTED,
        OperationKind.INVOICE: Support.DOCUMENTED,
    },
    currencies=CURRENCIES,
    partial_capture=True,
    multiple_capture=False,
    partial_refund=True,
    # The vendor document: "it is not possible to refund the same transaction more than once".
    multiple_refund=False,
    # RV cancels a pre-authorisation only while it is not captured.
    void_after_capture=False,
    hosted_entry=True,
    direct_entry=True,
    three_d_secure=True,
    lookup_by_reference=True,
    payment_link=True,
    saved_cards=True,
    recurring=True,
    payout_to_card=True,
    payout_to_payment=True,
    invoice_cancel=True,
    invoice_remind=True,
    payout_approval=False,
    transaction_list=True,
    # "tenDigitAmount": up to 10 integer digits; the terminal's absurd-amount bound is lower anyway.
    amount_limits=dict.fromkeys(CURRENCIES, (1, 999999999)),
    missing_note="Paymentz does not hold payouts for approval.",
)
