"""The operations table of the transaction detail (qtmodeltester) and the plain words it shows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt

from terminal.domain.declines import DeclineCode
from terminal.ui.detail_model import COLUMNS, OperationsModel
from terminal.ui.operation_text import avs_words, card_checks, cvc_words, local_time, outcome_words
from tests.unit.ledger_builders import K, S, op


def journal() -> tuple[Any, ...]:
    auth = replace(
        op(K.AUTHORIZE, 10000),
        operator="ada",
        gateway_reference="GW-1",
        approval_code="A1B2C3",
        avs_result="Z",
        cvc_result="M",
    )
    declined = replace(
        op(K.CAPTURE, 20000, S.DECLINED), decline_code=DeclineCode.INSUFFICIENT_FUNDS, gateway_code="51"
    )
    lost = replace(op(K.REFUND, 500, S.UNKNOWN), gateway_message="The connection broke.")
    return (auth, declined, lost)


def test_model_passes_qtmodeltester(qtmodeltester: Any) -> None:
    model = OperationsModel()
    qtmodeltester.check(model)
    model.set_operations(journal())
    qtmodeltester.check(model)
    assert model.rowCount() == 3 and model.columnCount() == len(COLUMNS)


def test_rows_say_what_happened_in_plain_words() -> None:
    model = OperationsModel()
    ops = journal()
    model.set_operations(ops)
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert (
        row[0]
        == local_time(ops[0].created_at)
        == ops[0].created_at.astimezone().strftime("%d %b %Y %H:%M:%S")
    )
    assert row[1:8] == [
        "ada",
        "Pre-authorisation",
        "€100.00",
        "Approved",
        "GW-1",
        "A1B2C3",
        "Postcode matches, address does not; Security code matches",
    ]
    assert model.index(1, 8).data() == "Insufficient funds on the card. (gateway code 51)"
    assert model.index(2, 4).data() == "Outcome unknown"
    assert model.index(2, 8).data() == "The connection broke."
    assert model.headerData(5, Qt.Orientation.Horizontal) == "Gateway reference"
    assert model.index(0, 3).data(Qt.ItemDataRole.TextAlignmentRole) is not None


def test_avs_and_cvc_codes_and_words() -> None:
    assert avs_words("y") == "Address and postcode match"
    assert avs_words("N") == "Neither address nor postcode match"
    assert avs_words("") == ""
    assert avs_words("QQ") == "Address check: QQ (gateway code)"  # never guessed
    assert cvc_words("N") == "Security code does not match"
    assert cvc_words("no match") == "Security code does not match"
    assert cvc_words("MATCH") == "Security code matches"
    assert card_checks(op(K.SALE, 1)) == ""


def test_outcome_words_give_the_refund_reason() -> None:
    refund = replace(op(K.REFUND, 100), reason="damaged on arrival")
    assert outcome_words(refund) == "Reason: damaged on arrival"
    assert outcome_words(op(K.SALE, 100)) == ""
