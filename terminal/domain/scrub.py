"""Remove card data and secrets from text, JSON values and headers before anything is logged or kept raw.

Pure functions, no I/O (SECURITY.md PCI-1, PCI-2, PCI-3). Rules by field name: a card number keeps its
last four, a BIN its first six, a CVC is masked whole, an expiry keeps only its separators, and keys,
tokens, secrets, passwords, signatures and authorisations become a fixed ``***`` so not even their
length shows. Free text is also swept for card numbers: any run of 13-19 digits (single spaces or
dashes allowed between them, or '+' and '%20' as form encoding writes a space) that passes the Luhn
check is masked wherever it appears; a Luhn-valid 13-19 digit window inside a longer run of digits is
masked too, at the price of sometimes masking a long reference number. Base64 forms are not detected.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any
from urllib.parse import unquote

__all__ = [
    "FIXED_MASK",
    "contains_card_number",
    "luhn_ok",
    "scrub_headers",
    "scrub_mapping",
    "scrub_text",
    "scrub_value",
]

FIXED_MASK = "***"
_PAN_MIN, _PAN_MAX = 13, 19
# Secrets shorter than this are not searched for in text: they would mask ordinary words and digits.
_MIN_SECRET_LEN = 4


class _Kind(Enum):
    PAN = "pan"
    BIN = "bin"
    CVC = "cvc"
    EXPIRY = "expiry"
    CREDENTIAL = "credential"


def _norm(key: str) -> str:
    """'card_number', 'Card-Number', 'card[number]' -> 'cardnumber'."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


_PAN_KEYS = frozenset(
    {
        "cardnumber", "pan", "number", "ccnumber", "cardno", "cardnum", "creditcardnumber",
        "primaryaccountnumber", "accountnumber", "cardpan", "iban", "bankaccountnumber",
    }
)  # fmt: skip
_BIN_KEYS = frozenset({"bin", "cardbin", "iin"})
_CVC_KEYS = frozenset(
    {
        "cvc", "cvv", "cvn", "cvc2", "cvv2", "cid", "csc", "cvd", "securitycode", "cardsecuritycode",
        "cardverificationcode", "cardverificationvalue", "cardcvc", "cardcvv",
    }
)  # fmt: skip
_EXPIRY_KEYS = frozenset(
    {
        "expiry", "expirydate", "expirymonth", "expiryyear", "expmonth", "expyear", "expdate", "exp",
        "expiration", "expirationdate", "expirationmonth", "expirationyear", "validthru", "cardexpiry",
        "cardexpirydate", "expirydateyymm",
    }
)  # fmt: skip
_SECRET_EXACT = frozenset(
    {
        "authorization", "proxyauthorization", "pin", "pinblock", "cookie", "setcookie",
        # A payer's national id and bank account (ETpay's user_rut, user_account) are personal data.
        "rut", "userrut", "useraccount",
    }
)  # fmt: skip
_SECRET_PARTS = ("secret", "password", "passwd", "token", "apikey", "signature", "hmac")
_SECRET_ENDINGS = ("key", "hash", "sig")
# Identifiers that merely end like a secret name; they are needed to match a log line with the journal.
_NOT_SECRET = frozenset({"idempotencykey", "keyid", "apikeyid", "publickey"})


_BY_NAME: dict[str, _Kind] = {
    **dict.fromkeys(_PAN_KEYS, _Kind.PAN),
    **dict.fromkeys(_CVC_KEYS, _Kind.CVC),
    **dict.fromkeys(_EXPIRY_KEYS, _Kind.EXPIRY),
    **dict.fromkeys(_BIN_KEYS, _Kind.BIN),
    **dict.fromkeys(_SECRET_EXACT, _Kind.CREDENTIAL),
}


@functools.lru_cache(maxsize=2048)  # a pure function of a field name; answers parse the same names again
def _kind(key: str) -> _Kind | None:
    """Which masking rule a field name calls for (None: not sensitive by name)."""
    name = _norm(key)
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name in _NOT_SECRET:
        return None
    if any(part in name for part in _SECRET_PARTS) or name.endswith(_SECRET_ENDINGS):
        return _Kind.CREDENTIAL
    return None


def luhn_ok(digits: str) -> bool:
    """True when an ASCII digit string passes the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _keep_last(value: str, keep: int) -> str:
    compact = re.sub(r"[ -]", "", value)
    if not compact.isascii() or not compact.isdigit():
        compact = value
    if len(compact) <= keep:
        return "*" * len(compact)
    return "*" * (len(compact) - keep) + compact[-keep:]


def _mask_by_kind(kind: _Kind, value: str) -> str:
    if kind is _Kind.PAN:
        return _keep_last(value, 4)
    if kind is _Kind.BIN:
        return value[:6] + "*" * max(len(value) - 6, 0)
    if kind is _Kind.EXPIRY:
        # Keep the shape ('**/**') so a reader sees an expiry was there, not which.
        return re.sub(r"[0-9A-Za-z]", "*", value)
    return FIXED_MASK


# -- card numbers in free text ---------------------------------------------------------------
# Digits joined by at most one space or dash, or by a space URL-encoded ('+', '%20') in form bodies; only
# runs of at least _PAN_MIN digits can hold a card number, so shorter ones are not even matched.
_ENCODED_RUN = re.compile(r"(?<!%)(?<!%2)[0-9](?:(?:[ +-]|%20)?[0-9]){" + str(_PAN_MIN - 1) + ",}")
# The plain rule (PCI-2's sweep), run last as a safety net: it also catches what an escape hid.
_DIGIT_RUN = re.compile(r"[0-9](?:[ -]?[0-9]){" + str(_PAN_MIN - 1) + ",}")


def _mask_run(run: str) -> str:
    # The '2' and '0' of a '%20' separator are not digits of the number.
    encoded = {i + offset for i in range(len(run)) if run[i] == "%" for offset in (1, 2)}
    positions = [i for i, ch in enumerate(run) if ch.isdigit() and i not in encoded]
    if len(positions) < _PAN_MIN:
        return run
    digits = "".join(run[i] for i in positions)
    if len(digits) <= _PAN_MAX and luhn_ok(digits):
        # A card number standing alone: keep its last four, as receipts do.
        return "*" * (len(digits) - 4) + digits[-4:]
    # Digits on either side hide a card number inside a longer run: mask every Luhn-valid window of
    # 13-19 digits entirely. One left-to-right pass suffices: masking only removes candidate digits.
    masked = [False] * len(digits)
    for start in range(len(digits) - _PAN_MIN + 1):
        if masked[start]:
            continue
        for length in range(min(_PAN_MAX, len(digits) - start), _PAN_MIN - 1, -1):
            window = range(start, start + length)
            if not any(masked[i] for i in window) and luhn_ok(digits[start : start + length]):
                for i in window:
                    masked[i] = True
                break
    chars = list(run)
    for index, position in enumerate(positions):
        if masked[index]:
            chars[position] = "*"
    return "".join(chars)


def _sweep_card_numbers(text: str) -> str:
    if len(text) < _PAN_MIN:
        return text
    text = _ENCODED_RUN.sub(lambda m: _mask_run(m.group(0)), text)
    return _DIGIT_RUN.sub(lambda m: _mask_run(m.group(0)), text)


def contains_card_number(text: str) -> bool:
    """True when `text` holds a run of 13-19 digits (single spaces/dashes allowed) that passes Luhn."""
    return _sweep_card_numbers(text) != text


# -- card-ish and secret fields in JSON-ish, form and XML text ---------------------------------
_JSON_PAIR = re.compile(
    r"""(?P<q>["'])(?P<key>[A-Za-z0-9_.\-\[\]]{1,64})(?P=q)(?P<sep>\s*:\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?[0-9][0-9.eE+\-]*)"""
)
_FORM_PAIR = re.compile(
    r"""(?P<pre>(?:^|[?&;\s,(]))(?P<key>[A-Za-z0-9_.\-\[\]%]{1,64})="""
    r"""(?P<value>"[^"]*"|'[^']*'|[^&\s;,"'<>()]*)"""
)
_XML_PAIR = re.compile(r"<(?P<key>[A-Za-z][A-Za-z0-9_.\-]{0,63})>(?P<value>[^<]*)</(?P=key)>")


def _masked_literal(kind: _Kind, value: str) -> str:
    """Mask a JSON literal: strings keep their quotes, a bare number becomes a masked string."""
    if value[:1] in "\"'":
        return value[0] + _mask_by_kind(kind, value[1:-1]) + value[0]
    return '"' + _mask_by_kind(kind, value.strip()) + '"'


def _json_pair(match: re.Match[str]) -> str:
    kind = _kind(match.group("key"))
    if kind is None:
        return match.group(0)
    q, key, sep = match.group("q"), match.group("key"), match.group("sep")
    return f"{q}{key}{q}{sep}{_masked_literal(kind, match.group('value'))}"


def _form_key(key: str) -> str:
    # 'card%5Bnumber%5D' and 'card[number]' name the field 'number'.
    plain = unquote(key)
    inner = re.findall(r"\[([^\]]*)\]", plain)
    return inner[-1] if inner and inner[-1] else plain


def _form_pair(match: re.Match[str]) -> str:
    kind = _kind(_form_key(match.group("key")))
    if kind is None or not match.group("value"):
        return match.group(0)
    value = match.group("value")
    quote = value[0] if value[0] in "\"'" else ""
    inner = unquote((value[1:-1] if quote else value).replace("+", " "))
    return f"{match.group('pre')}{match.group('key')}={quote}{_mask_by_kind(kind, inner)}{quote}"


def _xml_pair(match: re.Match[str]) -> str:
    kind = _kind(match.group("key"))
    if kind is None:
        return match.group(0)
    key = match.group("key")
    return f"<{key}>{_mask_by_kind(kind, match.group('value'))}</{key}>"


def _mask_secrets(text: str, secrets: Iterable[str]) -> str:
    present = {s for s in secrets if len(s) >= _MIN_SECRET_LEN and s in text}
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(present, key=len, reverse=True):
        text = text.replace(secret, FIXED_MASK)
    return text


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask the given secrets, card-ish and secret fields (JSON, form or XML) and any card number in text."""
    text = _mask_secrets(text, secrets)
    # Each pattern needs its own punctuation: a text without it cannot match (most strings scrubbed are
    # short values of a parsed answer, where this skips the patterns altogether).
    if '"' in text or "'" in text:
        text = _JSON_PAIR.sub(_json_pair, text)
    if "=" in text:
        text = _FORM_PAIR.sub(_form_pair, text)
    if "<" in text:
        text = _XML_PAIR.sub(_xml_pair, text)
    return _sweep_card_numbers(text)


# -- parsed JSON ----------------------------------------------------------------------------
def _scrub_field(kind: _Kind | None, value: Any, secrets: Sequence[str]) -> Any:
    if kind is _Kind.CREDENTIAL and isinstance(value, Mapping | list | tuple):
        return FIXED_MASK
    if kind is None or isinstance(value, Mapping | list | tuple):
        return scrub_value(value, secrets)
    if value is None or isinstance(value, bool):
        return value
    if kind is _Kind.CREDENTIAL or kind is _Kind.CVC:
        return FIXED_MASK
    return _mask_by_kind(kind, str(value))


def scrub_value(value: Any, secrets: Sequence[str] = ()) -> Any:
    """A scrubbed copy of a parsed JSON value: masked by field name, and every string swept as text."""
    if isinstance(value, Mapping):
        return {
            scrub_text(str(key), secrets): _scrub_field(_kind(str(key)), item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_value(item, secrets) for item in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** (_PAN_MIN - 1):
        # A card number sent as a JSON number (OGO's registercard-json example does this).
        text = str(value)
        swept = _sweep_card_numbers(text)
        return value if swept == text else swept
    return value


def scrub_mapping(obj: Mapping[str, Any], secrets: Sequence[str] = ()) -> dict[str, Any]:
    """A scrubbed copy of a JSON object (see :func:`scrub_value`), safe to log or keep as the raw copy."""
    result: dict[str, Any] = scrub_value(obj, secrets)
    return result


# -- headers --------------------------------------------------------------------------------
_SECRET_HEADERS = frozenset(
    {
        "authorization", "proxyauthorization", "cookie", "setcookie", "apikey", "xapikey", "xauthtoken",
        "xamzsecuritytoken", "xcsrftoken", "xxsrftoken",
    }
)  # fmt: skip


def _secret_header(name: str) -> bool:
    norm = _norm(name)
    if norm in _SECRET_HEADERS or any(part in norm for part in ("secret", "password", "token", "signature")):
        return True
    # X-...-Key, X-...-Signature, X-GCS-KeyId stays readable (an identifier, not a secret).
    return norm.startswith("x") and norm.endswith(("key", "auth", "hmac"))


def scrub_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], secrets: Sequence[str] = ()
) -> dict[str, str]:
    """Header names to values, credentials replaced by a fixed mask and the rest swept as text.

    A name that occurs twice has its values joined with ', ', as HTTP allows.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in pairs:
        shown = FIXED_MASK if _secret_header(name) else scrub_text(value, secrets)
        key = name.lower()
        result[key] = f"{result[key]}, {shown}" if key in result else shown
    return result
