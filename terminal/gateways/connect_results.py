"""Worldline Connect objects (payment, refund, payout, capture) as GatewayResults, scrubbed.

The raw copy keeps what support needs (ids, statuses, codes) but no card token, RETURNMAC, card number
or expiry. Amounts echoed by the gateway must be what was asked for: a mismatch is "check by hand".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money, MoneyError
from terminal.domain.scrub import FIXED_MASK, scrub_mapping
from terminal.gateways.base import GatewayResult, Outcome
from terminal.gateways.connect_status import DISPLAY_NAME, decline_code, first_error, outcome_of, sub, text
from terminal.gateways.errors import OutcomeUnknownError

__all__ = ["BRANDS", "card_summary", "money_of", "result_of"]

BRANDS: Final[dict[int, str]] = {
    1: "Visa",
    2: "American Express",
    3: "Mastercard",
    117: "Maestro",
    125: "JCB",
}
_OUTPUT: Final[dict[str, str]] = {
    "payment": "paymentOutput",
    "refund": "refundOutput",
    "payout": "payoutOutput",
    "capture": "captureOutput",
}
_HIDDEN: Final = frozenset({"RETURNMAC", "returnmac", "cardNumber", "expiryDate", "token", "tokens"})


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (FIXED_MASK if k in _HIDDEN and v else _hide(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def money_of(data: Any) -> Money | None:
    """``{amount, currencyCode}`` as Money (None when absent or unreadable)."""
    if not isinstance(data, Mapping):
        return None
    amount, currency = data.get("amount"), data.get("currencyCode")
    if type(amount) is not int or not isinstance(currency, str):
        return None
    try:
        return Money(amount, currency)
    except MoneyError:
        return None


def card_summary(output: Mapping[str, Any]) -> CardSummary | None:
    """The card a payment names (brand, last four, expiry MM/YY), from its card output."""
    card_output = output.get("cardPaymentMethodSpecificOutput")
    if not isinstance(card_output, Mapping):
        return None
    card = sub(card_output, "card")
    number, expiry = text(card.get("cardNumber")), text(card.get("expiryDate"))
    product = card_output.get("paymentProductId")
    brand = BRANDS.get(product, "") if type(product) is int else ""
    return CardSummary(
        brand=brand,
        last4=number[-4:] if number[-4:].isdigit() else "",
        expiry=f"{expiry[:2]}/{expiry[2:]}" if len(expiry) == 4 else "",
    )


_HELD: Final = frozenset({"PENDING_APPROVAL", "PENDING_CAPTURE"})


def result_of(
    kind: str,
    obj: Mapping[str, Any],
    *,
    sent: Money | None,
    secrets: Sequence[str],
    amount: Money | None = None,
) -> GatewayResult:
    """One Connect object as a result. ``sent`` is checked against the echoed amount; ``amount`` (a capture
    or void of part of a payment) is what the result reports instead of the object's total."""
    status_output = sub(obj, "statusOutput")
    status = text(obj.get("status"))
    outcome = outcome_of(kind, status, text(status_output.get("statusCategory")))
    output = sub(obj, _OUTPUT[kind])
    echoed = money_of(output.get("amountOfMoney"))
    if sent is not None and amount is None and echoed is not None and echoed != sent:
        raise OutcomeUnknownError(
            f"{DISPLAY_NAME} answered for {echoed}, not the {sent} asked for; check the {kind} by hand."
        )
    references = sub(output, "references")
    card_output = output.get("cardPaymentMethodSpecificOutput")
    card_output = card_output if isinstance(card_output, Mapping) else {}
    fraud = sub(card_output, "fraudResults")
    code, message, _ = first_error(status_output)
    decline = None
    if outcome is Outcome.DECLINED:
        decline = decline_code(code) if code else (DeclineCode.OTHER if status != "CANCELLED" else None)
        decline = decline or DeclineCode.OTHER
    status_code = text(status_output.get("statusCode"))
    return GatewayResult(
        outcome=outcome,
        gateway_reference=text(obj.get("id")),
        amount=(amount or echoed or sent) if outcome is Outcome.APPROVED else None,
        approval_code=text(card_output.get("authorisationCode")),
        decline_code=decline,
        gateway_code=code or status_code,
        gateway_message=message or f"{status} ({status_code})".strip(),
        avs_result=text(fraud.get("avsResult")),
        cvc_result=text(fraud.get("cvvResult")),
        raw=scrub_mapping(_hide(dict(obj)), secrets),
        merchant_reference=text(references.get("merchantReference")),
        token=text(card_output.get("token")),
        card=card_summary(output) if kind == "payment" else None,
        # A payment still waiting for its capture is a hold: reconciliation must not take it for a sale.
        kind="authorize" if kind == "payment" and status in _HELD else kind,
    )
