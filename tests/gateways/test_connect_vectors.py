"""Every published Worldline Connect vector (docs/gateways/connect.md 5.3, 5.9) against the signing code.

The request vectors come from the SDKs' authenticator tests and the API reference; the webhook vector is
the SDKs' ``valid-body`` resource, whose bytes are pinned by their SHA-256 before the signature is checked.
"""

from __future__ import annotations

import hashlib

import pytest

from terminal.gateways.connect_auth import (
    authorization_header,
    server_meta_info,
    sign,
    string_to_sign,
    webhook_signature,
)

KEY_ID = "5e45c937b9db33ae"
SECRET = "I42Zf4pVnRdroHfuHnRiJjJ2B6+22h0yQt/R3nZR8Xg="
DATE = "Fri, 06 Jun 2014 13:39:43 GMT"
PATH = "/v1/9991/tokens/123456789"
GET_TEXT = f"GET\n\n{DATE}\n{PATH}\n"
PROCESSED = {
    "X-GCS-ServerMetaInfo": "processed header value",
    "X-GCS-ClientMetaInfo": "processed header value",
    "X-GCS-CustomerHeader": "processed header value",
    "Content-Type": "application/json",  # not an X-GCS header: never in the header lines
}
DELETE_TEXT = (
    f"DELETE\napplication/json\n{DATE}\n"
    "x-gcs-clientmetainfo:processed header value\n"
    "x-gcs-customerheader:processed header value\n"
    "x-gcs-servermetainfo:processed header value\n"
    f"{PATH}\n"
)

# The SDKs' tests/resources/webhooks/valid-body: LF newlines, 2-space indent, no trailing newline.
VALID_BODY = b"""{
  "apiVersion": "v1",
  "id": "8ee793f6-4553-4749-85dc-f2ef095c5ab0",
  "created": "2017-02-02T11:24:14.040+0100",
  "merchantId": "20000",
  "type": "payment.paid",
  "payment": {
    "id": "00000200000143570012",
    "paymentOutput": {
      "amountOfMoney": {
        "amount": 1000,
        "currencyCode": "EUR"
      },
      "references": {
        "paymentReference": "200001681810"
      },
      "paymentMethod": "bankTransfer",
      "bankTransferPaymentMethodSpecificOutput": {
        "paymentProductId": 11
      }
    },
    "status": "PAID",
    "statusOutput": {
      "isCancellable": false,
      "statusCategory": "COMPLETED",
      "statusCode": 1000,
      "statusCodeChangeDateTime": "20170202112414",
      "isAuthorized": true
    }
  }
}"""


def test_get_without_content_type() -> None:
    assert string_to_sign("get", "", DATE, {}, PATH) == GET_TEXT
    assert sign(SECRET, GET_TEXT) == "J5LjfSBvrQNhu7gG0gvifZt+IWNDReGCmHmBmth6ueI="


def test_delete_with_gcs_headers_sorted_by_name() -> None:
    text = string_to_sign("DELETE", "application/json", DATE, PROCESSED, PATH)
    assert text == DELETE_TEXT
    assert sign(SECRET, text) == "jGWLz3ouN4klE+SkqO5gO+KkbQNM06Rric7E3dcfmqw="


def test_delete_with_the_other_secret() -> None:
    assert sign("secretApiKey", DELETE_TEXT) == "VfnXpPBQQoHZivTcAg0JvOWkhnzlPnaCPKpTQn/uMJM="


def test_folded_header_value_is_normalised() -> None:
    folded = {**PROCESSED, "X-GCS-ServerMetaInfo": "processed header\n         value"}
    text = string_to_sign("DELETE", "application/json", DATE, folded, PATH)
    assert text == DELETE_TEXT
    assert sign(SECRET, text) == "jGWLz3ouN4klE+SkqO5gO+KkbQNM06Rric7E3dcfmqw="


def test_get_with_the_third_secret() -> None:
    expected = "9ond5EIN05dBXJGCLRK5om9pxHsyrh/12pZJ7bvmwNM="
    assert sign("6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1", GET_TEXT) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=na%20me", "3XV7LMYus9q7fp87/D4Qih2bKNtz20iqsttdrgJ09AU="),  # as sent (what this adapter signs)
        ("q=na me", "x9S2hQmLhLTbpK0YdTuYCD8TB4D+Kf60tNW0Xw5Xls0="),  # decoded (accepted by the simulator)
    ],
    ids=["encoded", "decoded"],
)
def test_query_string_both_forms(query: str, expected: str) -> None:
    text = string_to_sign("GET", "", DATE, {}, f"/v1/consumer/ANDR%C3%89E/?{query}")
    assert text == f"GET\n\n{DATE}\n/v1/consumer/ANDR%C3%89E/?{query}\n"
    assert sign(SECRET, text) == expected


def test_authorization_header_shape() -> None:
    assert authorization_header(KEY_ID, "abc=") == "GCS v1HMAC:5e45c937b9db33ae:abc="


def test_server_meta_info_is_base64_json() -> None:
    import base64
    import json

    meta = json.loads(base64.b64decode(server_meta_info()))
    assert set(meta) >= {"platformIdentifier", "sdkIdentifier", "sdkCreator", "integrator"}


def test_webhook_vector() -> None:
    assert len(VALID_BODY) == 765
    assert hashlib.sha256(VALID_BODY).hexdigest() == (
        "2882e2ba85e87c14a16cff1ff9351d79336bb6eaf998608d2e8d95b06ae72189"
    )
    assert webhook_signature("hello+world", VALID_BODY) == "2S7doBj/GnJnacIjSJzr5fxGM5xmfQyFAwxv1I53ZEk="
