"""Wire compatibility: Worldline's published SDK, unchanged, drives every Connect area of the simulator.

Each test is one area (connection, payments, approve, captures, cancel, refunds, payouts, tokens, hosted
checkouts, sessions, errors, idempotence, webhooks) and asserts on the SDK's typed answers and on the
simulator's ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from worldline.connect.sdk.call_context import CallContext
from worldline.connect.sdk.communication.request_header import RequestHeader
from worldline.connect.sdk.v1.authorization_exception import AuthorizationException
from worldline.connect.sdk.v1.declined_payment_exception import DeclinedPaymentException
from worldline.connect.sdk.v1.declined_payout_exception import DeclinedPayoutException
from worldline.connect.sdk.v1.domain.approve_payment_request import ApprovePaymentRequest
from worldline.connect.sdk.v1.domain.approve_payout_request import ApprovePayoutRequest
from worldline.connect.sdk.v1.domain.capture_payment_request import CapturePaymentRequest
from worldline.connect.sdk.v1.domain.create_hosted_checkout_request import CreateHostedCheckoutRequest
from worldline.connect.sdk.v1.domain.create_payment_request import CreatePaymentRequest
from worldline.connect.sdk.v1.domain.create_payout_request import CreatePayoutRequest
from worldline.connect.sdk.v1.domain.create_token_request import CreateTokenRequest
from worldline.connect.sdk.v1.domain.refund_request import RefundRequest
from worldline.connect.sdk.v1.domain.session_request import SessionRequest
from worldline.connect.sdk.v1.domain.tokenize_payment_request import TokenizePaymentRequest
from worldline.connect.sdk.v1.idempotence_exception import IdempotenceException
from worldline.connect.sdk.v1.merchant.payments.find_payments_params import FindPaymentsParams
from worldline.connect.sdk.v1.merchant.payments.get_payment_params import GetPaymentParams
from worldline.connect.sdk.v1.merchant.refunds.find_refunds_params import FindRefundsParams
from worldline.connect.sdk.v1.merchant.tokens.delete_token_params import DeleteTokenParams
from worldline.connect.sdk.v1.reference_exception import ReferenceException
from worldline.connect.sdk.v1.validation_exception import ValidationException
from worldline.connect.sdk.v1.webhooks.v1_webhooks_factory import V1WebhooksFactory
from worldline.connect.sdk.webhooks.in_memory_secret_key_store import InMemorySecretKeyStore

from terminal.sim.runner import serve_app
from tests.sdk.conftest import SdkHarness, sdk_client

YEAR = time.gmtime().tm_year % 100 + 3


def payment_request(
    reference: str, *, card: str = "4111111111111111", mode: str = "SALE", amount: int = 10_000, **extra: Any
) -> CreatePaymentRequest:
    specific = {
        "paymentProductId": 1,
        "card": {
            "cardNumber": card,
            "cvv": "123",
            "expiryDate": f"12{YEAR}",
            "cardholderName": "Ann Example",
        },
        "authorizationMode": mode,
        "transactionChannel": "MOTO",
        "returnUrl": "https://merchant.example/return",
        **extra,
    }
    return CreatePaymentRequest().from_dictionary(
        {
            "order": {
                "amountOfMoney": {"amount": amount, "currencyCode": "EUR"},
                "references": {"merchantReference": reference},
            },
            "cardPaymentMethodSpecificInput": specific,
        }
    )


def test_test_connection(gc: SdkHarness) -> None:
    assert gc.merchant.services().testconnection().result == "OK"


def test_wrong_secret_is_an_authorization_exception(gc: SdkHarness) -> None:
    client = sdk_client(gc.url, secret="not-the-secret")
    try:
        with pytest.raises(AuthorizationException) as refused:
            client.v1().merchant("1234").services().testconnection()
        assert refused.value.errors[0].code == "9002"
    finally:
        client.close()


def test_create_get_and_find_a_sale(gc: SdkHarness) -> None:
    created = gc.merchant.payments().create(payment_request("SDK-SALE-1"))
    payment = created.payment
    assert (payment.status, payment.status_output.status_code) == ("CAPTURE_REQUESTED", 800)
    assert payment.payment_output.card_payment_method_specific_output.card.card_number.endswith("1111")
    read = gc.merchant.payments().get(payment.id, GetPaymentParams())
    assert read.payment_output.amount_of_money.amount == 10_000
    query = FindPaymentsParams()
    query.merchant_reference = "SDK-SALE-1"
    found = gc.merchant.payments().find(query)
    assert found.total_count == 1 and found.payments[0].id == payment.id
    gc.settle()
    assert gc.merchant.payments().get(payment.id, GetPaymentParams()).status == "PAID"
    assert [e["amount"] for e in gc.ledger("sale")] == [10_000]


def test_pre_authorisation_approve_and_refunds_globalcollect(gc: SdkHarness) -> None:
    payment = gc.merchant.payments().create(payment_request("SDK-PRE-1", mode="PRE_AUTHORIZATION")).payment
    assert (payment.status, payment.status_output.status_code) == ("PENDING_APPROVAL", 600)
    approve = ApprovePaymentRequest().from_dictionary({"amount": 7_000})
    approved = gc.merchant.payments().approve(payment.id, approve)
    assert approved.payment.status == "CAPTURE_REQUESTED"
    refund = {
        "amountOfMoney": {"amount": 2_000, "currencyCode": "EUR"},
        "refundReferences": {"merchantReference": "SDK-PRE-1-R1"},
    }
    first = gc.merchant.payments().refund(payment.id, RefundRequest().from_dictionary(refund))
    assert first.status == "REFUND_REQUESTED"
    second = gc.merchant.payments().refund(
        payment.id,
        RefundRequest().from_dictionary(
            {
                **refund,
                "amountOfMoney": {"amount": 5_000, "currencyCode": "EUR"},
                "refundReferences": {"merchantReference": "SDK-PRE-1-R2"},
            }
        ),
    )
    with pytest.raises(ReferenceException):  # nothing left to refund
        gc.merchant.payments().refund(payment.id, RefundRequest().from_dictionary(refund))
    assert len(gc.merchant.payments().refunds(payment.id).refunds) == 2
    gc.settle()
    assert gc.merchant.refunds().get(second.id).status == "REFUNDED"
    query = FindRefundsParams()
    query.merchant_reference = "SDK-PRE-1-R1"
    assert gc.merchant.refunds().find(query).total_count == 1
    assert [e["amount"] for e in gc.ledger("refund")] == [2_000, 5_000]


def test_cancel_and_cancel_approval(gc: SdkHarness) -> None:
    payment = gc.merchant.payments().create(payment_request("SDK-CAN-1", mode="PRE_AUTHORIZATION")).payment
    gc.merchant.payments().approve(payment.id, ApprovePaymentRequest().from_dictionary({"amount": 10_000}))
    back = gc.merchant.payments().cancelapproval(payment.id)
    assert back.payment.status == "PENDING_APPROVAL"
    cancelled = gc.merchant.payments().cancel(payment.id)
    assert (cancelled.payment.status, cancelled.payment.status_output.status_code) == ("CANCELLED", 99999)
    with pytest.raises(ReferenceException):
        gc.merchant.payments().cancel(payment.id)


def test_several_partial_captures_ogone(ogone: SdkHarness) -> None:
    payment = ogone.merchant.payments().create(payment_request("SDK-OG-1", mode="PRE_AUTHORIZATION")).payment
    assert payment.status == "PENDING_CAPTURE"
    first = ogone.merchant.payments().capture(
        payment.id, CapturePaymentRequest().from_dictionary({"amount": 3_000})
    )
    assert first.status == "CAPTURE_REQUESTED"
    ogone.merchant.payments().capture(payment.id, CapturePaymentRequest().from_dictionary({"amount": 4_000}))
    with pytest.raises(ReferenceException):
        ogone.merchant.payments().capture(
            payment.id, CapturePaymentRequest().from_dictionary({"amount": 3_001})
        )
    assert len(ogone.merchant.payments().captures(payment.id).captures) == 2
    final = ogone.merchant.payments().finalizecapture(payment.id)
    assert final.status == "CAPTURE_REQUESTED"
    ogone.settle()
    assert ogone.merchant.captures().get(first.id).status == "CAPTURED"
    assert [e["amount"] for e in ogone.ledger("capture")] == [3_000, 4_000]


def test_declined_card_and_validation(gc: SdkHarness) -> None:
    with pytest.raises(DeclinedPaymentException) as declined:
        gc.merchant.payments().create(payment_request("SDK-DEC-1", card="4000000000000002"))
    result = declined.value.create_payment_result.payment
    assert (result.status, result.status_output.status_code) == ("REJECTED", 100)
    assert declined.value.errors[0].code == "430330"
    with pytest.raises(ValidationException) as invalid:
        gc.merchant.payments().create(payment_request("SDK-DEC-2", card="4111111111111112"))
    assert invalid.value.errors[0].code == "21000020"
    assert gc.ledger() == []


def test_idempotence_replay(gc: SdkHarness) -> None:
    context = CallContext(idempotence_key="sdk-key-1")
    first = gc.merchant.payments().create(payment_request("SDK-IDEM-1"), context)
    assert context.idempotence_request_timestamp is None
    again = gc.merchant.payments().create(payment_request("SDK-IDEM-1"), context)
    assert again.payment.id == first.payment.id
    assert context.idempotence_request_timestamp is not None
    assert len(gc.ledger("sale")) == 1
    assert IdempotenceException  # raised for 409/1409 while a first attempt runs (not reproducible here)


def test_tokens_and_tokenize(gc: SdkHarness) -> None:
    body = {
        "paymentProductId": 1,
        "card": {
            "customer": {"merchantCustomerId": "C1"},
            "data": {"cardWithoutCvv": {"cardNumber": "4242424242424242", "expiryDate": f"11{YEAR}"}},
        },
    }
    created = gc.merchant.tokens().create(CreateTokenRequest().from_dictionary(body))
    assert created.is_new_token
    assert gc.merchant.tokens().get(created.token).card.data.card_without_cvv.card_number.endswith("4242")
    payment = (
        gc.merchant.payments()
        .create(
            CreatePaymentRequest().from_dictionary(
                {
                    "order": {"amountOfMoney": {"amount": 500, "currencyCode": "EUR"}},
                    "cardPaymentMethodSpecificInput": {"token": created.token, "transactionChannel": "MOTO"},
                }
            )
        )
        .payment
    )
    assert payment.status == "CAPTURE_REQUESTED"
    tokenized = gc.merchant.payments().tokenize(payment.id, TokenizePaymentRequest())
    assert tokenized.token == created.token and tokenized.original_payment_id == payment.id
    gc.merchant.tokens().delete(created.token, DeleteTokenParams())
    with pytest.raises(ReferenceException):
        gc.merchant.tokens().get(created.token)


def test_payouts_ogone_approve_and_cancel(ogone: SdkHarness, gc: SdkHarness) -> None:
    def payout(reference: str, card: str = "5555555555554444") -> CreatePayoutRequest:
        return CreatePayoutRequest().from_dictionary(
            {
                "amountOfMoney": {"amount": 2_500, "currencyCode": "EUR"},
                "cardPayoutMethodSpecificInput": {
                    "paymentProductId": 3,
                    "card": {"cardNumber": card, "expiryDate": f"10{YEAR}"},
                    "recipient": {"surname": "Example"},
                },
                "references": {"merchantReference": reference},
            }
        )

    held = ogone.merchant.payouts().create(payout("SDK-PO-1"))
    assert held.status == "PENDING_APPROVAL"
    approved = ogone.merchant.payouts().approve(
        held.id, ApprovePayoutRequest().from_dictionary({"payoutDate": "20300101"})
    )
    assert approved.status == "PAYOUT_REQUESTED"
    other = ogone.merchant.payouts().create(payout("SDK-PO-2"))
    ogone.merchant.payouts().cancel(other.id)
    assert ogone.merchant.payouts().get(other.id).status == "CANCELLED"
    with pytest.raises(DeclinedPayoutException):
        ogone.merchant.payouts().create(payout("SDK-PO-3", card="4000000000000002"))
    ogone.settle()
    assert ogone.merchant.payouts().get(held.id).status == "ACCOUNT_CREDITED"
    assert [e["amount"] for e in ogone.ledger("payout_approve")] == [2_500]
    with pytest.raises(ValidationException):  # the vendor: card payouts on the Ogone platform only
        gc.merchant.payouts().create(payout("SDK-PO-4"))


def test_hosted_checkout_and_session(gc: SdkHarness) -> None:
    body = {
        "order": {
            "amountOfMoney": {"amount": 1_234, "currencyCode": "EUR"},
            "references": {"merchantReference": "SDK-HC-1"},
        },
        "hostedCheckoutSpecificInput": {"returnUrl": "https://merchant.example/back", "locale": "en_GB"},
    }
    created = gc.merchant.hostedcheckouts().create(CreateHostedCheckoutRequest().from_dictionary(body))
    assert created.returnmac and created.partial_redirect_url.endswith(created.hosted_checkout_id)
    assert gc.merchant.hostedcheckouts().get(created.hosted_checkout_id).status == "IN_PROGRESS"
    session = gc.merchant.sessions().create(SessionRequest())
    assert session.client_session_id and session.region == "EU"


@pytest.fixture
def webhook_sink() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A merchant webhook endpoint that answers the verification GET and keeps every POST."""
    received: list[tuple[bytes, dict[str, str]]] = []
    arrived = threading.Event()

    async def endpoint(request: Request) -> Response:
        if request.method == "GET":
            return PlainTextResponse(request.headers.get("X-GCS-Webhooks-Endpoint-Verification", ""))
        received.append((await request.body(), dict(request.headers)))
        arrived.set()
        return Response(status_code=200)

    url, stop = serve_app(Starlette(routes=[Route("/hook", endpoint, methods=["GET", "POST"])]))
    yield f"{url}/hook", received
    stop()


def test_webhooks_verify_with_the_sdk_helper(
    gc: SdkHarness, webhook_sink: tuple[str, list[tuple[bytes, dict[str, str]]]]
) -> None:
    url, received = webhook_sink
    assert gc.control.post("/_sim/webhooks", json={"url": url}).json()["verified"] is True
    payment = gc.merchant.payments().create(payment_request("SDK-WH-1")).payment
    deadline = time.monotonic() + 5
    while not any(b"capture_requested" in body for body, _ in received) and time.monotonic() < deadline:
        time.sleep(0.05)
    store = InMemorySecretKeyStore.instance()
    store.store_secret_key("sandbox-webhook-key", "sandbox-webhook-secret")
    helper = V1WebhooksFactory.create_helper(store)
    body, headers = next((b, h) for b, h in received if b"capture_requested" in b)
    wanted = ("x-gcs-signature", "x-gcs-keyid")
    event = helper.unmarshal(body, [RequestHeader(k, v) for k, v in headers.items() if k.lower() in wanted])
    assert (event.type, event.payment.id, event.merchant_id) == (
        "payment.capture_requested",
        payment.id,
        "1234",
    )
