"""ETpay's JWTs: the negative set of SECURITY.md JWT-1 (fixed algorithm, no `none`, no key confusion),
tampering, missing claims, and the system-error token signed with the session_token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from terminal.gateways import etpay_jwt
from terminal.gateways.etpay_jwt import TokenRefusedError, decode, read_return, unverified_claim

# Tests sign with short keys on purpose (ETpay picks its key lengths); PyJWT warns about them when encoding.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SIGNATURE_TOKEN = "sig-Jq3xv0bXo1mB4m7yQnW2cZk8T5rLhE9aPdUsGfYtVRi"
SESSION_TOKEN = "ses-9Ls2KxWq4eNbT7uYcRzA1hVmP0oJdGfI3kB5nXyQwEr"
NOW = int(time.time())
CLAIMS: dict[str, Any] = {
    "session_token": SESSION_TOKEN,
    "merchant_order_id": "ORDER7",
    "merchant_amount": 12_500,
    "merchant_currency": "CLP",
    "payment_token": "pay-1",
    "payment_status": True,
    "payment_process": "auto",
    "iat": NOW,
}
SYSTEM_ERROR = {"session_token": SESSION_TOKEN, "system_error": True, "iat": NOW}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def by_hand(
    header: dict[str, Any], claims: dict[str, Any], key: bytes | None, digest: Any = hashlib.sha256
) -> str:
    """A JWT assembled from base64url parts; unsigned (empty signature) when key is None."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def good(claims: dict[str, Any] | None = None, key: str = SIGNATURE_TOKEN) -> str:
    return jwt.encode(claims or CLAIMS, key, algorithm="HS256")


def refused(token: str, key: str = SIGNATURE_TOKEN) -> None:
    with pytest.raises(TokenRefusedError):
        decode(token, key)
    assert read_return(token, SIGNATURE_TOKEN, SESSION_TOKEN).kind == "unverified"


def _rsa_public_pem() -> bytes:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# -- accepted -------------------------------------------------------------------------------------------
def test_valid_token_is_accepted() -> None:
    assert decode(good(), SIGNATURE_TOKEN) == CLAIMS
    verdict = read_return(good(), SIGNATURE_TOKEN, SESSION_TOKEN)
    assert (verdict.kind, verdict.claims) == ("payment", CLAIMS)


def test_hand_built_hs256_is_accepted() -> None:
    """The by-hand builder is right, so the refusals below are about what they change."""
    token = by_hand({"alg": "HS256", "typ": "JWT"}, CLAIMS, SIGNATURE_TOKEN.encode())
    assert decode(token, SIGNATURE_TOKEN) == CLAIMS


def test_iat_is_not_judged_against_our_clock() -> None:
    """ETpay's tokens have no exp; a token only triggers a status read, so its age is not checked."""
    for iat in (NOW - 10 * 86_400, NOW + 3600):
        assert decode(good({**CLAIMS, "iat": iat}), SIGNATURE_TOKEN)["iat"] == iat


# -- the negative set ---------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(alg: str) -> None:
    refused(by_hand({"alg": alg, "typ": "JWT"}, CLAIMS, None))


def test_alg_none_with_a_signature_is_refused() -> None:
    refused(by_hand({"alg": "none"}, CLAIMS, SIGNATURE_TOKEN.encode()))


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_refused(alg: str) -> None:
    refused(jwt.encode(CLAIMS, SIGNATURE_TOKEN, algorithm=alg))


def test_hs512_by_hand_is_refused() -> None:
    refused(by_hand({"alg": "HS512"}, CLAIMS, SIGNATURE_TOKEN.encode(), hashlib.sha512))


def test_rs256_header_over_an_hmac_signature_is_refused() -> None:
    refused(by_hand({"alg": "RS256", "typ": "JWT"}, CLAIMS, SIGNATURE_TOKEN.encode()))


def test_real_rs256_token_is_refused() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(jwt.encode(CLAIMS, private, algorithm="RS256"))


def test_hs256_keyed_with_an_rsa_public_key_is_refused() -> None:
    """Key confusion (JWT-1, CVE-2022-29217): a PEM public key is never an HMAC secret."""
    pem = _rsa_public_pem()
    token = by_hand({"alg": "HS256", "typ": "JWT"}, CLAIMS, pem)
    with pytest.raises(TokenRefusedError):
        decode(token, pem.decode())


def test_changed_payload_with_the_old_signature_is_refused() -> None:
    header, _, signature = good().split(".")
    forged = segment({**CLAIMS, "merchant_amount": 1})
    refused(f"{header}.{forged}.{signature}")


def test_changed_header_is_refused() -> None:
    _, payload, signature = good().split(".")
    refused(f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': 'x'})}.{payload}.{signature}")


def test_changed_signature_is_refused() -> None:
    header, payload, signature = good().split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    refused(f"{header}.{payload}.{flipped}")


def test_stripped_signature_is_refused() -> None:
    header, payload, _ = good().split(".")
    refused(f"{header}.{payload}.")


def test_wrong_key_is_refused() -> None:
    refused(good(key="another-signature-token-of-some-other-session"))


@pytest.mark.parametrize(
    "token",
    ["", " ", "garbage", "a.b.c", "....", "e30.e30.", "ñ.ñ.ñ", "x" * 10_000],
    ids=["empty", "blank", "word", "abc", "dots", "empty-objects", "non-ascii", "huge"],
)
def test_garbage_is_refused(token: str) -> None:
    refused(token)


def test_payload_that_is_not_an_object_is_refused() -> None:
    signing_input = f"{segment({'alg': 'HS256'})}.{b64url(b'[1,2]')}"
    signature = hmac.new(SIGNATURE_TOKEN.encode(), signing_input.encode(), hashlib.sha256).digest()
    refused(f"{signing_input}.{b64url(signature)}")


def test_missing_iat_is_refused() -> None:
    refused(good({k: v for k, v in CLAIMS.items() if k != "iat"}))


@pytest.mark.parametrize("iat", ["1700000000", 1.7e9, True, None])
def test_iat_that_is_not_a_whole_number_is_refused(iat: Any) -> None:
    refused(good({**CLAIMS, "iat": iat}))


def test_empty_key_is_refused() -> None:
    with pytest.raises(TokenRefusedError):
        decode(good(), "")


# -- the system-error token -----------------------------------------------------------------------------
def test_system_error_token_signed_with_the_session_token_is_recognised() -> None:
    verdict = read_return(good(SYSTEM_ERROR, key=SESSION_TOKEN), SIGNATURE_TOKEN, SESSION_TOKEN)
    assert (verdict.kind, verdict.claims) == ("system_error", SYSTEM_ERROR)


def test_system_error_token_with_a_wrong_key_is_refused() -> None:
    token = good(SYSTEM_ERROR, key="not-the-session-token-of-this-payment")
    assert read_return(token, SIGNATURE_TOKEN, SESSION_TOKEN).kind == "unverified"


def test_system_error_token_for_another_session_is_refused() -> None:
    other = {**SYSTEM_ERROR, "session_token": "another-session"}
    assert read_return(good(other, key=SESSION_TOKEN), SIGNATURE_TOKEN, SESSION_TOKEN).kind == "unverified"


def test_payment_claims_signed_with_the_session_token_are_not_believed() -> None:
    """The session_token is in the funnel URL: anything but a system error signed with it is ignored."""
    assert read_return(good(key=SESSION_TOKEN), SIGNATURE_TOKEN, SESSION_TOKEN).kind == "unverified"


@pytest.mark.parametrize("alg", ["none", "HS512"])
def test_system_error_token_with_another_algorithm_is_refused(alg: str) -> None:
    key = None if alg == "none" else SESSION_TOKEN.encode()
    token = by_hand({"alg": alg}, SYSTEM_ERROR, key, hashlib.sha512)
    assert read_return(token, SIGNATURE_TOKEN, SESSION_TOKEN).kind == "unverified"


# -- reading the key's name before verifying ------------------------------------------------------------
def test_unverified_claim_only_picks_a_key() -> None:
    assert unverified_claim(good(key="any-key-at-all-will-do-here-32b"), "session_token") == SESSION_TOKEN
    assert unverified_claim(good(), "merchant_amount") == ""  # not text
    for junk in ("", "garbage", "a.b.c", "x" * 10_000):
        assert unverified_claim(junk, "session_token") == ""


def test_algorithms_are_fixed() -> None:
    assert etpay_jwt.ALGORITHMS == ("HS256",)


@given(
    st.text(min_size=1, max_size=64),
    st.text(min_size=1, max_size=64),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=4),
)
def test_a_token_verifies_only_with_its_own_key(signing: str, other: str, extra: dict[str, Any]) -> None:
    claims = {**extra, "iat": NOW}
    token = jwt.encode(claims, signing, algorithm="HS256")
    assert decode(token, signing) == claims
    if other != signing:
        with pytest.raises(TokenRefusedError):
            decode(token, other)
