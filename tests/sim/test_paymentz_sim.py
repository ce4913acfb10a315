"""The Paymentz simulator against its documented wire format, without our adapter: raw form and JSON
bodies, AuthToken rules, checksums, duplicates, follow-up rules and the control API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from terminal.sim.paymentz import create_app
from terminal.sim.runner import serve_app

API = "/transactionServices/REST/v1"
KEY = "sandbox-secure-key"


def md5(*parts: str) -> str:
    return hashlib.md5("|".join(parts).encode()).hexdigest()  # noqa: S324 - the vendor's formula


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    base, stop = serve_app(create_app(), "127.0.0.1", 0)
    yield base
    stop()


@pytest.fixture
def client(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=5) as c:
        c.post("/_sim/reset").raise_for_status()
        yield c


def token(client: httpx.Client) -> str:
    reply = client.post(
        f"{API}/authToken",
        data={"authentication.partnerId": "1", "merchant.username": "sandbox", "authentication.sKey": KEY},
    )
    body = reply.json()
    assert reply.status_code == 200 and body["result"]["code"] == "200" and body["memberId"] == "10001"
    return str(body["AuthToken"])


def sale_fields(reference: str, amount: str = "10.00", *, key: str = KEY) -> dict[str, str]:
    return {
        "authentication.memberId": "10001",
        "authentication.checksum": md5("10001", key, reference, amount),
        "authentication.terminalId": "1",
        "merchantTransactionId": reference,
        "amount": amount,
        "currency": "EUR",
        "paymentType": "DB",
        "card.number": "4111111111111111",
        "card.expiryMonth": "12",
        "card.expiryYear": "2031",
        "card.cvv": "123",
    }


def post(client: httpx.Client, path: str, fields: dict[str, str], auth: str) -> dict[str, Any]:
    reply = client.post(API + path, data=fields, headers={"AuthToken": auth})
    assert reply.status_code == 200  # business answers are always HTTP 200
    return dict(reply.json())


def effects(client: httpx.Client) -> list[str]:
    return [e["kind"] for e in client.get("/_sim/ledger").json()["entries"] if e["effect"]]


def test_auth_token_is_a_pz_jwt_and_wrong_credentials_are_403(client: httpx.Client) -> None:
    import jwt

    claims = jwt.decode(token(client), options={"verify_signature": False})
    assert (claims["iss"], claims["sub"], claims["role"]) == ("PZ", "sandbox", "merchant")
    assert claims["exp"] - claims["iat"] == 3600
    refused = client.post(
        f"{API}/authToken",
        data={"authentication.partnerId": "1", "merchant.username": "sandbox", "authentication.sKey": "nope"},
    ).json()
    assert refused["result"]["code"] == "403" and "AuthToken" not in refused


def test_missing_forged_or_expired_token_is_401(client: httpx.Client) -> None:
    assert post(client, "/payments", sale_fields("A1"), "")["result"]["code"] == "401"
    assert post(client, "/payments", sale_fields("A1"), "eyJ.forged.token")["result"]["code"] == "401"
    auth = token(client)
    client.post("/_sim/clock", json={"advance_s": 3601}).raise_for_status()
    assert post(client, "/payments", sale_fields("A1"), auth)["result"]["code"] == "401"
    assert effects(client) == []


def test_form_and_json_bodies_charge_alike(client: httpx.Client) -> None:
    auth = token(client)
    form = post(client, "/payments", sale_fields("F1"), auth)
    nested: dict[str, Any] = {}
    for name, value in sale_fields("J1").items():
        target = nested
        *parents, leaf = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    as_json = client.post(API + "/payments", json=nested, headers={"AuthToken": auth}).json()
    for body in (form, as_json):
        assert (body["transactionStatus"], body["status"], body["result"]["code"]) == (
            "Y",
            "capturesuccess",
            "00001",
        )
        assert body["amount"] == "10.00" and body["card"]["last4Digits"] == "1111"
        assert "number" not in body["card"]
    assert effects(client) == ["DB", "DB"]


def test_checksum_mismatch_and_duplicate_create_nothing(client: httpx.Client) -> None:
    auth = token(client)
    wrong = post(client, "/payments", sale_fields("C1", key="other-key"), auth)
    assert (wrong["result"]["code"], wrong["paymentId"]) == ("30086", "-")
    assert post(client, "/payments", sale_fields("C1"), auth)["transactionStatus"] == "Y"
    duplicate = post(client, "/payments", sale_fields("C1"), auth)
    assert (duplicate["transactionStatus"], duplicate["result"]["code"]) == ("N", "30091")
    bad_amount = post(client, "/payments", sale_fields("C2", amount="10.5"), auth)
    assert bad_amount["result"]["code"] == "30089"
    assert effects(client) == ["DB"]


def test_decline_card_gets_iso_bank_code(client: httpx.Client) -> None:
    auth = token(client)
    fields = {**sale_fields("D1"), "card.number": "4000000000009995"}
    body = post(client, "/payments", fields, auth)
    assert (body["transactionStatus"], body["status"], body["result"]["code"]) == ("N", "authfailed", "10001")
    assert body["result"]["bankCode"] == "51"
    assert effects(client) == []


def test_one_refund_only_and_inquiry_by_mid(client: httpx.Client) -> None:
    auth = token(client)
    sale = post(client, "/payments", sale_fields("R1", "20.00"), auth)
    pid = sale["paymentId"]

    def refund(amount: str) -> dict[str, Any]:
        fields = {
            "authentication.memberId": "10001",
            "authentication.checksum": md5("10001", KEY, pid, amount),
            "paymentType": "RF",
            "amount": amount,
        }
        return post(client, f"/payments/{pid}", fields, auth)

    assert refund("5.00")["result"]["code"] == "00005"
    assert refund("5.00")["result"]["code"] == "10006"
    inquiry = {
        "authentication.memberId": "10001",
        "authentication.checksum": md5("10001", KEY, "R1"),
        "paymentType": "IN",
        "idType": "MID",
    }
    found = post(client, "/payments/R1", inquiry, auth)
    assert (found["paymentId"], found["status"], found["result"]["code"]) == (pid, "reversed", "00026")
    assert effects(client) == ["DB", "RF"]


def test_three_d_card_answers_redirect_post_with_parameters(client: httpx.Client) -> None:
    auth = token(client)
    fields = {
        **sale_fields("S1"),
        "card.number": "4000000000003220",
        "merchantRedirectUrl": "http://127.0.0.1:9/r",
    }
    body = post(client, "/payments", fields, auth)
    assert (body["transactionStatus"], body["status"], body["result"]["code"]) == (
        "3D",
        "authstarted_3D",
        "00030",
    )
    redirect = body["redirect"]
    assert redirect["method"] == "POST" and [p["name"] for p in redirect["parameters"]] == ["PaReq", "MD"]
    assert effects(client) == []
