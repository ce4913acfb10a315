"""OMPay's answers read into the common result: payment states, result codes, declines, the echoed amount.

Wire facts: docs/gateways/ompay.md 1.6 and its "Simulator decisions" (decline codes 2000-2015 are the
simulator's; 2099 is its failed 3-D Secure). Amounts travel as decimal strings with the currency's exponent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from terminal.domain.declines import DeclineCode
from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money, MoneyError, from_major_text
from terminal.domain.operations import OperationKind
from terminal.domain.scrub import scrub_mapping, scrub_text
from terminal.gateways.base import GatewayResult, Outcome
from terminal.gateways.errors import GatewayError, OutcomeUnknownError, ValidationError
from terminal.gateways.http import HttpReply
from terminal.gateways.ompay_caps import DISPLAY_NAME

__all__ = [
    "APPROVED_CODE",
    "DISPLAY_NAME",
    "REDIRECT_CODE",
    "decline_code",
    "error_of",
    "follow_up_of",
    "refusal",
    "result_of",
    "text",
    "wire_amount",
]

APPROVED_CODE: Final = "0000"
REDIRECT_CODE: Final = "1007"
# States of an operation that was approved (a later void/refund/lapse does not undo that approval).
_APPROVED_STATES: Final = frozenset(
    {"authorised", "authorized", "captured", "voided", "refunded", "cancelled"}
)
_DECLINED_STATES: Final = frozenset({"declined", "failed"})
_DECLINES: Final[Mapping[str, DeclineCode]] = {
    "2000": DeclineCode.DO_NOT_HONOUR,
    "2001": DeclineCode.INSUFFICIENT_FUNDS,
    "2004": DeclineCode.EXPIRED_CARD,
    "2010": DeclineCode.CVC_FAILED,
    "2015": DeclineCode.NOT_PERMITTED,
    "2099": DeclineCode.AUTHENTICATION_FAILED,
}
_DIGITS: Final = re.compile(r"^[0-9]{1,19}$")
# Refusals of the card reference: a nonce used before (4221), expired (4223), an unknown vault id (4226).
_TOKEN_CODES: Final = frozenset({"4221", "4223", "4226"})


def text(value: Any) -> str:
    """A string or number as stripped text; "" for anything else."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return str(value).strip()


def wire_amount(money: Money) -> str:
    """The one place an amount becomes OMPay's wire value: major units, the currency's decimals ("1.250")."""
    if money.minor <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    return money.plain()


def decline_code(code: str) -> DeclineCode:
    """OMPay's result code as a normalised decline."""
    return _DECLINES.get(code.strip(), DeclineCode.OTHER)


def _echoed(data: Mapping[str, Any]) -> Money | None:
    transaction = data.get("transaction")
    amount = transaction.get("amount") if isinstance(transaction, dict) else None
    if not isinstance(amount, dict):
        return None
    total, currency = text(amount.get("total")), text(amount.get("currency")).upper()
    try:
        return from_major_text(total, currency)
    except (MoneyError, TypeError):
        raise OutcomeUnknownError(
            f"{DISPLAY_NAME} answered with an amount that cannot be read ({total!r} {currency!r}); "
            "check the payment by hand."
        ) from None


def _card(data: Mapping[str, Any]) -> tuple[CardSummary | None, str]:
    """The card as OMPay describes it, and its vault id (kept out of the raw copy)."""
    payer = data.get("payer")
    instrument = payer.get("funding_instrument") if isinstance(payer, dict) else None
    card = instrument.get("credit_card") if isinstance(instrument, dict) else None
    if not isinstance(card, dict):
        return None, ""
    last4, first6 = text(card.get("last4")), text(card.get("bin"))
    month, year = text(card.get("expire_month")), text(card.get("expire_year"))
    expiry = ""
    if month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) == 4:
        expiry = f"{int(month):02d}/{year[2:]}"
    summary = CardSummary(
        brand=text(card.get("type"))[:40],
        first6=first6 if len(first6) == 6 and _DIGITS.match(first6) else "",
        last4=last4 if len(last4) == 4 and _DIGITS.match(last4) else "",
        expiry=expiry,
    )
    return summary, text(card.get("id"))


def _raw(data: Mapping[str, Any], secrets: Sequence[str]) -> dict[str, Any]:
    """A scrubbed copy without the vault id: that id could charge the card again."""
    raw = scrub_mapping(data, secrets)
    card = raw.get("payer", {}).get("funding_instrument", {}).get("credit_card")
    if isinstance(card, dict) and "id" in card:
        card["id"] = "(vault id)"
    return raw


def result_of(
    data: Mapping[str, Any], sent: Money | None, secrets: Sequence[str], *, keep_card: bool = False
) -> GatewayResult:
    """A payment object (or follow-up) as a result; approved, declined, pending (1007 Redirect) or unknown.

    `sent` is what we asked for: an echoed amount or currency that differs makes the outcome unknown.
    """
    state = text(data.get("state")).lower()
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    assert isinstance(result, dict)
    code = text(result.get("code"))
    message = scrub_text((text(result.get("description")) or text(result.get("message")))[:200])
    echoed = _echoed(data)
    if sent is not None and echoed is not None and echoed != sent:
        raise OutcomeUnknownError(
            f"{DISPLAY_NAME} answered for {echoed}, not the {sent} sent; check the payment by hand."
        )
    card, vault_id = _card(data)
    common: dict[str, Any] = {
        "gateway_reference": text(data.get("id")),
        "amount": echoed if echoed is not None else sent,
        "gateway_code": code,
        "gateway_message": message,
        "raw": _raw(data, secrets),
        "card": card,
    }
    if state in _APPROVED_STATES and code == APPROVED_CODE:
        return GatewayResult(
            outcome=Outcome.APPROVED,
            approval_code=text(result.get("authorisation_code")),
            token=vault_id if keep_card else "",
            **common,
        )
    if state in _DECLINED_STATES:
        return GatewayResult(outcome=Outcome.DECLINED, decline_code=decline_code(code), **common)
    if state == "pending":
        # 3-D Secure: the vault id is kept for complete_challenge, which returns it only once approved.
        return GatewayResult(outcome=Outcome.PENDING, token=vault_id if keep_card else "", **common)
    return GatewayResult(outcome=Outcome.UNKNOWN, **common)


def error_of(reply: HttpReply, secrets: Sequence[str]) -> tuple[str, str]:
    """The ``{"result": {code, description}}`` error as (code, description), else a safe excerpt."""
    try:
        data = reply.json()
    except OutcomeUnknownError:
        data = {}
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    assert isinstance(result, dict)
    code = text(result.get("code"))
    description = text(result.get("description")) or text(result.get("message")) or reply.text().strip()
    return code, scrub_text(description[:200], secrets) or f"HTTP {reply.status}"


def refusal(reply: HttpReply, secrets: Sequence[str], base_url: str) -> GatewayError:
    """The error for a 4xx answer to a payment call: refused, nothing happened; names the field at fault."""
    code, words = error_of(reply, secrets)
    if reply.status == 409 and code == "4090":
        return ValidationError(
            f"This order reference was already used at {DISPLAY_NAME}; nothing was charged. Use another.",
            field="reference",
            gateway_code=code,
            status=409,
        )
    if code in _TOKEN_CODES:
        return ValidationError(
            f"{DISPLAY_NAME} did not accept the card reference ({words}); nothing was charged. "
            "Enter the card again.",
            field="token",
            gateway_code=code,
            status=reply.status,
        )
    if code == "4222":
        return ValidationError(
            f"{DISPLAY_NAME} refused the amount: {words}", field="amount", gateway_code=code
        )
    if code == "4220":
        return ValidationError(f"Card: {words}", field="card", gateway_code=code, status=reply.status)
    if reply.status in (404, 405) and not code:
        return ValidationError(
            f"There is no {DISPLAY_NAME} API at {base_url} (HTTP {reply.status}); nothing was done.",
            field="base_url",
            status=reply.status,
        )
    return ValidationError(
        f"{DISPLAY_NAME} refused the request (HTTP {reply.status}): {words}",
        gateway_code=code,
        status=reply.status,
    )


# What the parent payment's state says about a capture, void or refund of it whose answer was lost.
# OMPay captures an authorisation once and voids only an uncaptured one, so the authorisation's state is
# a definite answer for both. A refund shows only once the payment is refunded in full: the payment object
# carries no refunded amount, so "captured" cannot tell a partial refund from none (it stays unknown).
_DONE: Final[Mapping[OperationKind, frozenset[str]]] = {
    OperationKind.CAPTURE: frozenset({"captured", "refunded"}),
    OperationKind.VOID: frozenset({"voided"}),
    OperationKind.REFUND: frozenset({"refunded"}),
}
_NOT_DONE: Final[Mapping[OperationKind, frozenset[str]]] = {
    # An expired authorisation is "cancelled": nothing can have been captured or voided after that.
    OperationKind.CAPTURE: frozenset({"authorised", "authorized", "voided", "cancelled"}),
    OperationKind.VOID: frozenset({"authorised", "authorized", "captured", "refunded", "cancelled"}),
    OperationKind.REFUND: frozenset(),
}


def follow_up_of(kind: OperationKind, parent: Mapping[str, Any], secrets: Sequence[str]) -> GatewayResult:
    """A lost follow-up judged from its parent payment (``GET /payment/{id}``): done, not done, or PENDING.

    The result carries no reference or amount of its own: the follow-up's id was in the lost answer, and
    the amount is the one the terminal sent (it was never re-sent).
    """
    state, label = text(parent.get("state")).lower(), kind.label.lower()
    common: dict[str, Any] = {"gateway_code": state, "raw": _raw(parent, secrets)}
    if state in _DONE.get(kind, frozenset()):
        return GatewayResult(
            Outcome.APPROVED, gateway_message=f"{DISPLAY_NAME} shows the payment {state}.", **common
        )
    if state in _NOT_DONE.get(kind, frozenset()):
        return GatewayResult(
            Outcome.DECLINED,
            decline_code=DeclineCode.OTHER,
            gateway_message=f"{DISPLAY_NAME} shows the payment {state}: the {label} did not take place.",
            **common,
        )
    return GatewayResult(
        Outcome.PENDING,
        gateway_message=f"{DISPLAY_NAME} shows the payment {state or 'without a state'}, which does not "
        f"tell whether the {label} took place; check the OMPay dashboard.",
        **common,
    )
