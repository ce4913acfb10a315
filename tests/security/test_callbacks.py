"""HOOK-1..HOOK-4, JWT-1: a negative set for the callbacks of every registered gateway.

Each gateway's `verify_notification` gets a correctly signed callback (the positive control, so the set
can fail) and then the same callback broken each way an attacker or a bad proxy breaks it: body changed by
one byte, JSON re-serialised, wrong secret, signature header missing or repeated, unknown key id, `alg:
none` where JWTs are used. Everything wrong must end in AuthenticationError, never a crash or a trusted
result. None of the registered gateways signs a timestamp into its callbacks, so there is no window to
check for staleness (HOOK-2): the replay defence is that a verified callback only names what to read
again from the gateway (HOOK-3/HOOK-4), which the last tests check.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import pytest

from terminal.gateways.base import Gateway, Notification
from terminal.gateways.errors import AuthenticationError, GatewayError
from terminal.gateways.registry import GATEWAYS, SECRET_FIELDS, SETTINGS_FIELDS, build_gateway

SECRETS = {name: f"{name}-test-secret-0123456789" for names in SECRET_FIELDS.values() for name in names}


def _gateway(name: str) -> Gateway:
    settings = dict.fromkeys(SETTINGS_FIELDS[name], "Abc12345")
    for field in ("base_url", "api_url", "pmt_url", "endpoint"):
        if field in settings:
            settings[field] = "https://gateway.invalid"
    settings["host"] = "gateway.invalid"
    settings["platform_style"] = settings.get("platform_style", "") and "globalcollect"
    settings["webhook_key_id"] = "key-1"
    secrets = {field: SECRETS[field] for field in SECRET_FIELDS[name]}
    return build_gateway(name, settings, secrets, live=False)


def _verify(
    gateway: Gateway, headers: Mapping[str, str] | list[tuple[str, str]], body: bytes
) -> Notification:
    return asyncio.run(gateway.verify_notification(headers, body))  # type: ignore[arg-type]


# -- Worldline Connect: base64(HMAC-SHA256(webhook secret, raw body)), key chosen by X-GCS-KeyId ----------
CONNECT_BODY = json.dumps(
    {"apiVersion": "v1", "id": "evt-1", "type": "payment.captured",
     "payment": {"id": "pay-1", "paymentOutput": {"references": {"merchantReference": "ORD-1"}}}},
    separators=(",", ":"),
).encode()  # fmt: skip


def _connect_sig(body: bytes, secret: str = SECRETS["webhook_secret"]) -> str:
    import hashlib
    import hmac

    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class _Multi(dict[str, str]):
    """Headers that can carry a name twice, as httpx/starlette expose them (get_list)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def get_list(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k.lower() == name.lower()]


CONNECT_BAD: dict[str, tuple[list[tuple[str, str]], bytes]] = {
    "body changed by one byte": (
        [("X-GCS-Signature", _connect_sig(CONNECT_BODY)), ("X-GCS-KeyId", "key-1")],
        CONNECT_BODY.replace(b"pay-1", b"pay-2"),
    ),
    "json re-serialised": (
        [("X-GCS-Signature", _connect_sig(CONNECT_BODY)), ("X-GCS-KeyId", "key-1")],
        json.dumps(json.loads(CONNECT_BODY), indent=1).encode(),
    ),
    "wrong secret": (
        [("X-GCS-Signature", _connect_sig(CONNECT_BODY, "another")), ("X-GCS-KeyId", "key-1")],
        CONNECT_BODY,
    ),
    "missing signature": ([("X-GCS-KeyId", "key-1")], CONNECT_BODY),
    "missing key id": ([("X-GCS-Signature", _connect_sig(CONNECT_BODY))], CONNECT_BODY),
    "signature twice": (
        [("X-GCS-Signature", _connect_sig(CONNECT_BODY)), ("X-GCS-Signature", "x"), ("X-GCS-KeyId", "key-1")],
        CONNECT_BODY,
    ),
    "unknown key id": (
        [("X-GCS-Signature", _connect_sig(CONNECT_BODY)), ("X-GCS-KeyId", "key-9")],
        CONNECT_BODY,
    ),
    "empty signature": ([("X-GCS-Signature", ""), ("X-GCS-KeyId", "key-1")], CONNECT_BODY),
}


# -- Paymentz: md5(paymentId|merchantTransactionId|amount|transactionStatus|secureKey) in the body ---------
def _paymentz_body(checksum: str | None = None, **changes: str) -> bytes:
    from terminal.gateways import paymentz_checksum as cs

    data = {
        "paymentId": "PZ-1",
        "merchantTransactionId": "ORD-1",
        "amount": "12.50",
        "transactionStatus": "Y",
    }
    data.update(changes)
    if checksum is None:
        checksum = cs.notification("PZ-1", "ORD-1", "12.50", "Y", SECRETS["secure_key"])
    return json.dumps({**data, "checksum": checksum}).encode()


PAYMENTZ_BAD: dict[str, tuple[list[tuple[str, str]], bytes]] = {
    "amount changed": ([], _paymentz_body(amount="1250.00")),
    "status changed": ([], _paymentz_body(transactionStatus="N")),
    "wrong secret": ([], _paymentz_body(checksum="0" * 32)),
    "missing checksum": ([], json.dumps({"paymentId": "PZ-1", "amount": "12.50"}).encode()),
    "not json": ([], b"paymentId=PZ-1&checksum=abc"),
    "json array": ([], b"[]"),
}


# -- ETpay: a JWT signed with the session's signature token ------------------------------------------
def _etpay_token(alg: str, key: str = "k" * 32) -> bytes:
    claims = {"session_token": "sess-1", "merchant_order_id": "ORD-1", "iat": 1_700_000_000}
    if alg == "none":
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        return header + b"." + payload + b"."
    return jwt.encode(claims, key, algorithm=alg).encode()


ETPAY_BAD: dict[str, tuple[list[tuple[str, str]], bytes]] = {
    "alg none": ([], _etpay_token("none")),
    "alg none in a json envelope": ([], json.dumps({"jwt": _etpay_token("none").decode()}).encode()),
    "hs256 for a session never opened (replay after restart)": ([], _etpay_token("HS256")),
    "empty body": ([], b""),
    "garbage": ([], b"not.a.jwt"),
    "envelope without token": ([], b'{"token": 1}'),
}

NEGATIVE_SETS: dict[str, dict[str, tuple[list[tuple[str, str]], bytes]]] = {
    "connect": CONNECT_BAD,
    "paymentz": PAYMENTZ_BAD,
    "etpay": ETPAY_BAD,
}
POSITIVE: dict[str, Callable[[], tuple[list[tuple[str, str]], bytes]]] = {
    "connect": lambda: (
        [("X-GCS-Signature", _connect_sig(CONNECT_BODY)), ("X-GCS-KeyId", "key-1")],
        CONNECT_BODY,
    ),
    "paymentz": lambda: ([], _paymentz_body()),
}
# Callbacks anyone could send to a gateway that takes none: refused whatever they carry.
ANY_CALLBACK = [([("X-Signature", "abc")], b'{"status":"APPROVED","amount":1250}'), ([], b"")]


def _cases() -> list[Any]:
    cases = []
    for name in GATEWAYS:
        bad = NEGATIVE_SETS.get(name, {f"unsolicited {i}": c for i, c in enumerate(ANY_CALLBACK)})
        cases += [
            pytest.param(name, headers, body, id=f"{name}: {why}") for why, (headers, body) in bad.items()
        ]
    return cases


@pytest.mark.parametrize(("name", "headers", "body"), _cases())
def test_a_bad_callback_is_refused(name: str, headers: list[tuple[str, str]], body: bytes) -> None:
    gateway = _gateway(name)
    with pytest.raises(GatewayError) as caught:
        _verify(gateway, _Multi(headers), body)
    if name in NEGATIVE_SETS:
        assert isinstance(caught.value, AuthenticationError), caught.value
    assert caught.value.message  # said in words


def test_every_registered_gateway_has_a_negative_set() -> None:
    # A newly registered gateway that verifies callbacks must get its own set above.
    for name in GATEWAYS:
        gateway = _gateway(name)
        try:
            _verify(gateway, _Multi([]), b"")
        except AuthenticationError:
            assert name in NEGATIVE_SETS, f"{name} verifies callbacks: add its negative set"
        except GatewayError:
            pass  # takes no callbacks at all


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_a_good_callback_only_names_what_to_read_again(name: str) -> None:
    headers, body = POSITIVE[name]()
    gateway = _gateway(name)
    first = _verify(gateway, _Multi(headers), body)
    assert first.gateway_reference and first.merchant_reference == "ORD-1"
    # The same delivery again (a replay) gives the same hint and nothing more: no amount, no state to trust.
    assert _verify(gateway, _Multi(headers), body) == first
    assert {f.name for f in dataclasses.fields(first)} == {"gateway_reference", "merchant_reference", "event"}
