"""Plain words for what a gateway said about an operation: states, declines, AVS and CVC results, times.

Gateways report address and security-code checks as one-letter codes (Visa/Mastercard AVS and CVV2
result codes) or as words; a clerk on the phone needs "the postcode matched, the street did not".
Codes we do not know are shown as they came, never guessed.
"""

from __future__ import annotations

from datetime import datetime

from terminal.domain.declines import plain_words
from terminal.domain.ledger import Operation
from terminal.domain.operations import OperationState

# The card schemes' AVS result codes (Visa and Mastercard agree on these letters).
_AVS: dict[str, str] = {
    "Y": "Address and postcode match",
    "X": "Address and postcode match",
    "D": "Address and postcode match",
    "M": "Address and postcode match",
    "F": "Address and postcode match",
    "A": "Address matches, postcode does not",
    "B": "Address matches, postcode not checked",
    "Z": "Postcode matches, address does not",
    "W": "Postcode matches, address does not",
    "P": "Postcode matches, address not checked",
    "N": "Neither address nor postcode match",
    "C": "Address and postcode not checked",
    "U": "Address not checked (the issuer does not support it)",
    "R": "Address check unavailable; try again later",
    "S": "Address check not supported by the issuer",
    "G": "Address not checked (card issued abroad)",
    "I": "Address not checked (card issued abroad)",
    "E": "Address check not allowed for this kind of payment",
}

# CVV2 / CVC2 result codes.
_CVC: dict[str, str] = {
    "M": "Security code matches",
    "N": "Security code does not match",
    "P": "Security code not checked",
    "S": "Security code should be on the card but was not given",
    "U": "The issuer does not check security codes",
    "X": "Security code not checked",
}

# Gateways that answer in words rather than letters.
_WORDS: dict[str, str] = {
    "match": "matches",
    "matched": "matches",
    "pass": "matches",
    "passed": "matches",
    "no_match": "does not match",
    "nomatch": "does not match",
    "mismatch": "does not match",
    "fail": "does not match",
    "failed": "does not match",
    "not_checked": "not checked",
    "unchecked": "not checked",
    "not_provided": "not given",
    "unavailable": "check unavailable",
}


def avs_words(code: str) -> str:
    """The address check in plain words ('' when the gateway gave none)."""
    return _check_words(code, _AVS, "Address")


def cvc_words(code: str) -> str:
    """The security-code check in plain words ('' when the gateway gave none)."""
    return _check_words(code, _CVC, "Security code")


def _check_words(code: str, letters: dict[str, str], subject: str) -> str:
    raw = code.strip()
    if not raw:
        return ""
    if raw.upper() in letters:
        return letters[raw.upper()]
    word = _WORDS.get(raw.lower().replace(" ", "_").replace("-", "_"))
    if word:
        return f"{subject} {word}"
    return f"{subject} check: {raw} (gateway code)"


def card_checks(op: Operation) -> str:
    """AVS and CVC results of one operation, in one line ('' when the gateway gave neither)."""
    return "; ".join(words for words in (avs_words(op.avs_result), cvc_words(op.cvc_result)) if words)


_STATE_WORDS: dict[OperationState, str] = {
    OperationState.CREATED: "Written, not sent",
    OperationState.SENT: "Sent, waiting for the answer",
    OperationState.CHALLENGE: "Waiting for the customer",
    OperationState.SUCCEEDED: "Approved",
    OperationState.DECLINED: "Declined",
    OperationState.FAILED: "Not sent",
    OperationState.UNKNOWN: "Outcome unknown",
}


def state_words(state: OperationState) -> str:
    """An operation's state as a clerk says it."""
    return _STATE_WORDS[state]


def outcome_words(op: Operation) -> str:
    """Why an operation ended as it did: the decline reason, the gateway's message, or the refund reason."""
    if op.state is OperationState.DECLINED:
        words = plain_words(op.decline_code) if op.decline_code else ""
        own = f" (gateway code {op.gateway_code})" if op.gateway_code else ""
        return (words or op.gateway_message or "Declined.") + own
    if op.state in (OperationState.FAILED, OperationState.UNKNOWN):
        return op.gateway_message
    if op.reason:
        return f"Reason: {op.reason}"
    return ""


def local_time(moment: datetime) -> str:
    """A stored (UTC) moment in the terminal's local time: '14 Mar 2025 10:30:05'."""
    return moment.astimezone().strftime("%d %b %Y %H:%M:%S")
