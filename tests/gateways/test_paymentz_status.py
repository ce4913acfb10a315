"""Every Paymentz short status, long status and listed result code maps to an outcome or verdict; anything
unknown is pending (never declined or failed); declines get normalised codes."""

from __future__ import annotations

import pytest

from terminal.domain.declines import DeclineCode
from terminal.gateways.base import Outcome
from terminal.gateways.paymentz_status import (
    LONG_STATUS,
    RESULT_CODES,
    SHORT_STATUS,
    Verdict,
    decline_code,
    outcome_of,
    verdict_of,
)

# The doc's lists (docs/gateways/paymentz.md 2.7), copied here so a missing entry fails.
DOC_SHORT = {"Y", "N", "P", "3D", "C", "E"}
DOC_LONG = {
    "begun",
    "authstarted",
    "authstarted_3D",
    "confirmation_3D",
    "authsuccessful",
    "authfailed",
    "authcancelled",
    "capturestarted",
    "capturesuccess",
    "capturefailed",
    "settled",
    "markedforreversal",
    "acceptedforreversal",
    "consolidatedforreversal",
    "waitforreversal",
    "reversed",
    "cancelstarted",
    "cancelled",
    "chargeback",
    "chargebackreversed",
    "retrievalrequest",
    "payoutstarted",
    "payoutsuccessful",
    "payoutuploaded",
    "payoutfailed",
    "proofrequired",
    "failed",
}
DOC_CODES = {
    "00001",
    "00004",
    "00005",
    "00006",
    "00026",
    "00014",
    "00015",
    "200",
    "401",
    "403",
    "10001",
    "10005",
    "10006",
    "10007",
    "10026",
    "20007",
    "30086",
    "30087",
    "30088",
    "30089",
    "30090",
    "30091",
}


APPROVED_LONG = [
    "authsuccessful",
    "capturesuccess",
    "settled",
    "reversed",
    "chargeback",
    "markedforreversal",
    "cancelled",
]
PENDING_LONG = [
    "begun",
    "authstarted",
    "confirmation_3D",
    "capturestarted",
    "payoutstarted",
    "payoutuploaded",
    "proofrequired",
]


DECLINED_LONG = ("authfailed", "authcancelled", "capturefailed", "payoutfailed", "failed")


def test_every_documented_status_and_code_is_mapped() -> None:
    assert set(SHORT_STATUS) == DOC_SHORT
    assert set(LONG_STATUS) == DOC_LONG
    assert set(RESULT_CODES) >= DOC_CODES


@pytest.mark.parametrize(
    ("short", "outcome"),
    [("Y", Outcome.APPROVED), ("N", Outcome.DECLINED), ("P", Outcome.PENDING), ("3D", Outcome.CHALLENGE),
     ("C", Outcome.DECLINED), ("E", Outcome.PENDING), ("Q", Outcome.PENDING), ("", Outcome.PENDING)],
)  # fmt: skip
def test_short_status(short: str, outcome: Outcome) -> None:
    assert outcome_of({"transactionStatus": short}) is outcome


@pytest.mark.parametrize(
    ("long", "outcome"),
    [
        *[(s, Outcome.APPROVED) for s in APPROVED_LONG],
        *[(s, Outcome.DECLINED) for s in DECLINED_LONG],
        *[(s, Outcome.PENDING) for s in PENDING_LONG],
        ("authstarted_3D", Outcome.CHALLENGE),
    ],
)  # fmt: skip
def test_long_status_wins_over_short(long: str, outcome: Outcome) -> None:
    # Reversed and chargeback states keep short status Y: the original sale succeeded.
    assert outcome_of({"status": long, "transactionStatus": "Y"}) is outcome


def test_unknown_status_and_code_are_pending_never_failed() -> None:
    data = {"status": "somethingnew", "transactionStatus": "Z", "result": {"code": "99999"}}
    assert outcome_of(data) is Outcome.PENDING
    assert verdict_of(data) is Verdict.OK


@pytest.mark.parametrize(
    ("code", "verdict"),
    [("401", Verdict.TOKEN_REFUSED), ("403", Verdict.FORBIDDEN), ("30086", Verdict.CHECKSUM),
     ("30087", Verdict.INVALID), ("30090", Verdict.INVALID), ("30091", Verdict.DUPLICATE),
     ("10026", Verdict.NOT_FOUND), ("10005", Verdict.REFUSED), ("10006", Verdict.REFUSED),
     ("10007", Verdict.REFUSED), ("00001", Verdict.OK), ("10001", Verdict.OK), ("00030", Verdict.OK)],
)  # fmt: skip
def test_result_code_verdicts(code: str, verdict: Verdict) -> None:
    assert verdict_of({"result": {"code": code}}) is verdict


def test_joined_codes_take_the_most_serious() -> None:
    assert verdict_of({"result": {"code": "30089 | 30086"}}) is Verdict.CHECKSUM
    assert verdict_of({"result": {"code": "30091 | 30089"}}) is Verdict.DUPLICATE
    assert verdict_of({"statusInvoiceResult": {"code": "10026"}}) is Verdict.NOT_FOUND


@pytest.mark.parametrize(
    ("result", "extra", "code"),
    [
        ({"code": "10001", "bankCode": "05"}, {}, DeclineCode.DO_NOT_HONOUR),
        ({"code": "10001", "bankCode": "51"}, {}, DeclineCode.INSUFFICIENT_FUNDS),
        ({"code": "10001", "bankCode": "54"}, {}, DeclineCode.EXPIRED_CARD),
        ({"code": "10001", "bankCode": "N7"}, {}, DeclineCode.CVC_FAILED),
        (
            {"code": "10001", "description": "3D Secure authentication failed"},
            {},
            DeclineCode.AUTHENTICATION_FAILED,
        ),
        (
            {"code": "10001", "description": "Declined"},
            {"remark": "Insufficient Funds"},
            DeclineCode.INSUFFICIENT_FUNDS,
        ),
        ({"code": "11005", "description": "Bank declined"}, {}, DeclineCode.DO_NOT_HONOUR),
        ({"code": "20007", "description": "Declined"}, {}, DeclineCode.OTHER),
        ({"code": "10001"}, {"transactionStatus": "C"}, DeclineCode.CANCELLED_BY_PAYER),
        ({"code": "10001"}, {}, DeclineCode.OTHER),
    ],
)
def test_decline_codes(result: dict[str, str], extra: dict[str, str], code: DeclineCode) -> None:
    assert decline_code({"result": result, **extra}) is code
