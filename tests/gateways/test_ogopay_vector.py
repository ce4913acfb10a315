"""OGO Pay's published HMAC vector (docs/gateways/ogopay.md 4.3) and the exact request our adapter sends.

This file alone uses httpx.MockTransport: it captures the bytes the adapter would put on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx

from terminal.domain.money import Money
from terminal.gateways.base import PaymentRequest
from terminal.gateways.ogopay import OgoPayConfig, OgoPayGateway, iso_date, sign
from tests.gateways.conftest import run

SECRET = "AXz7ovfpCdzznQMgFUnN8IPlyH1+qAVMjF5CaYbopIc="
DATE = "2019-06-02T09:30:01.561Z"
BODY = b'{"amount":100,"token":"3173b35fcc744fa88c5cdb425838cd08","orderId":"an-order-id","customerId":"23"}'
EXPECTED = "NI5HlmdhylurFACRLFuqbzWVokAldAu8lXUFzLzfsH0="
EXPECTED_HEX = "348e47966761ca5bab1400912c5baa6f3595a24025740bbc957505ccbcdfb07d"
WRONG_DECODED_KEY = "ROZEbj0u07pwDCWSDDoMYXe+zzKAmTp6728dZ9aPqew="


def test_published_vector() -> None:
    assert sign(SECRET, DATE, BODY) == EXPECTED
    assert base64.b64decode(EXPECTED).hex() == EXPECTED_HEX


def test_decoding_the_key_gives_the_documented_wrong_value() -> None:
    decoded = hmac.new(base64.b64decode(SECRET), DATE.encode() + b"\n" + BODY, hashlib.sha256).digest()
    assert base64.b64encode(decoded).decode() == WRONG_DECODED_KEY
    assert sign(SECRET, DATE, BODY) != WRONG_DECODED_KEY


def test_crlf_separator_gives_a_wrong_value() -> None:
    crlf = hmac.new(SECRET.encode(), DATE.encode() + b"\r\n" + BODY, hashlib.sha256).digest()
    assert base64.b64encode(crlf).decode() != EXPECTED


def test_iso_date_is_javascript_to_iso_string() -> None:
    assert iso_date(datetime(2019, 6, 2, 9, 30, 1, 561_999, tzinfo=UTC)) == DATE


def test_adapter_sends_exactly_the_signed_bytes() -> None:
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        result = {
            "responseCode": "00",
            "approvalCode": "3jcPVy",
            "transactionId": "t-1",
            "message": "Approved",
        }
        return httpx.Response(
            200, json={"success": True, "message": "Transaction successfull", "result": result}
        )

    config = OgoPayConfig(base_url="https://test-ipg.ogo.exchange", merchant_id="kangaroo", secret=SECRET)
    clock = datetime(2019, 6, 2, 9, 30, 1, 561_000, tzinfo=UTC)
    request = PaymentRequest(
        amount=Money(100, "LKR"),
        merchant_reference="an-order-id",
        idempotency_key="k-1",
        customer_id="23",
        token="3173b35fcc744fa88c5cdb425838cd08",
    )

    async def scenario() -> None:
        gateway = OgoPayGateway(config, transport=httpx.MockTransport(answer), clock=lambda: clock)
        try:
            await gateway.sale(request)
        finally:
            await gateway.aclose()

    run(scenario())
    [sent] = captured
    assert sent.method == "POST"
    assert str(sent.url) == "https://test-ipg.ogo.exchange/purchase"
    assert sent.content == BODY
    assert sent.headers["Date"] == DATE
    assert sent.headers["Authorization"] == f"OGO kangaroo:{EXPECTED}"
    assert sent.headers["Content-Type"] == "application/json"
    assert list(json.loads(sent.content)) == ["amount", "token", "orderId", "customerId"]
