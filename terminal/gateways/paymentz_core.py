"""Paymentz transport and answer reading shared by every verb: the profile, the wire amount, one signed POST
with the AuthToken (renewed once on 401), and the normalised result of a payment answer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx

from terminal.domain.ledger import CardSummary
from terminal.domain.money import Money
from terminal.domain.scrub import FIXED_MASK, scrub_mapping, scrub_text
from terminal.gateways.base import Challenge, Gateway, GatewayResult, Outcome
from terminal.gateways.errors import (
    AuthenticationError,
    NotSupportedError,
    OutcomeUnknownError,
    ValidationError,
)
from terminal.gateways.http import GatewayHttp, Safety, origin_of, raise_if_server_error
from terminal.gateways.paymentz_auth import AuthTokens, Credentials
from terminal.gateways.paymentz_caps import CURRENCIES, DISPLAY_NAME
from terminal.gateways.paymentz_status import Verdict, codes_of, decline_code, outcome_of, text, verdict_of

__all__ = [
    "API",
    "CURRENCIES",
    "DISPLAY_NAME",
    "PaymentzConfig",
    "PaymentzCore",
    "read_amount",
    "wire_amount",
]

API: Final = "/transactionServices/REST/v1"
_AMOUNT: Final = re.compile(r"^(\d{1,10})\.(\d{2})$")
_KINDS: Final = {
    "DB": "sale",
    "PA": "authorize",
    "payout": "payout",
    "CP": "capture",
    "RV": "void",
    "RF": "refund",
}
# Error descriptions name the wire field; the terminal's own field names for them.
_FIELDS: Final = (
    ("card.number", "card_number"),
    ("card.expiry", "card_expiry"),
    ("card.cvv", "card_cvc"),
    ("amount", "amount"),
    ("currency", "currency"),
    ("terminalid", "terminal_id"),
    ("merchanttransactionid", "reference"),
)


def wire_amount(money: Money) -> str:
    """The one place an amount becomes Paymentz's wire value: two decimals, JPY none."""
    if money.currency not in CURRENCIES:
        accepted = ", ".join(sorted(CURRENCIES))
        raise ValidationError(f"{DISPLAY_NAME} accepts {accepted}, not {money.currency}.", field="currency")
    if money.minor <= 0:
        raise ValidationError("The amount must be more than zero.", field="amount")
    if money.currency == "JPY":
        return str(money.minor)
    return f"{money.minor // 100}.{money.minor % 100:02d}"


def read_amount(value: Any, currency: Any) -> Money | None:
    """An echoed amount as Money, or None when it cannot be read."""
    code, amount = text(currency).upper(), text(value)
    if code not in CURRENCIES:
        return None
    if code == "JPY":
        return Money(int(amount), code) if amount.isascii() and amount.isdigit() else None
    match = _AMOUNT.match(amount)
    return Money(int(match[1]) * 100 + int(match[2]), code) if match else None


@dataclass(frozen=True, slots=True)
class PaymentzConfig:
    """One Paymentz merchant at one white-label host; the secure key stays out of repr."""

    host: str
    member_id: str
    partner_id: str
    username: str
    terminal_id: str
    secure_key: str = field(repr=False)
    direct_entry: bool = False
    live: bool = False


def base_url_of(host: str, *, live: bool) -> str:
    """'secure.brand.com' or a full URL -> the https base the documented paths are appended to."""
    value = host.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Paymentz host: enter the host name your provider gave you.", field="host")
    if live and parts.scheme != "https":
        raise ValidationError("Paymentz host: a live profile must use https://.", field="host")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class PaymentzCore(Gateway):
    """Transport and reading; the verbs live in the subclasses."""

    def __init__(
        self,
        config: PaymentzConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        for name, value in (
            ("member_id", config.member_id),
            ("partner_id", config.partner_id),
            ("username", config.username),
        ):
            if not value.strip():
                raise ValidationError(
                    f"Paymentz {name.replace('_', ' ')}: enter the value you were given.", field=name
                )
        if not config.secure_key:
            raise ValidationError("Paymentz secure key: enter the key you were given.", field="secure_key")
        self.config = config
        self.base_url = base_url_of(config.host, live=config.live)
        self._secrets = (config.secure_key,)
        self._http = GatewayHttp(
            "paymentz",
            self.base_url,
            timeout=timeout,
            transport=transport,
            secrets=self._secrets,
            display_name=DISPLAY_NAME,
        )
        credentials = Credentials(config.partner_id, config.username, config.member_id, config.secure_key)
        self.tokens = AuthTokens(self._http, credentials, clock)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    # -- transport --------------------------------------------------------------------------------
    def _authentication(self, checksum: str) -> dict[str, str]:
        fields = {"authentication.memberId": self.config.member_id, "authentication.checksum": checksum}
        if self.config.terminal_id:
            fields["authentication.terminalId"] = self.config.terminal_id
        return fields

    async def _post(
        self, path: str, fields: Mapping[str, str], safety: Safety = Safety.MONEY
    ) -> dict[str, Any]:
        """POST the form with the AuthToken; a 401 renews the token and sends once more (nothing was done).

        `safety` is Safety.READ for inquiries and lists (GatewayHttp may repeat them after a lost answer);
        every other call may move money and is never repeated once it may have arrived.

        Raises for the verdicts every call shares (credentials, checksum, invalid field, duplicate);
        not-found and refused follow-ups are the caller's to read.
        """
        body = urlencode(fields).encode("utf-8")
        for attempt in (1, 2):
            token = await self.tokens.get()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "AuthToken": token,
            }
            reply = await self._http.request("POST", path, content=body, headers=headers, safety=safety)
            raise_if_server_error(reply)
            if reply.status in (404, 405):
                raise NotSupportedError(
                    f"{DISPLAY_NAME} at {self.base_url} does not offer {path}; nothing was done.",
                    status=reply.status,
                )
            if reply.status != 200:
                raise OutcomeUnknownError(
                    f"{DISPLAY_NAME} answered HTTP {reply.status} instead of a result; "
                    "the operation may have been executed.",
                    status=reply.status,
                )
            data = reply.json()
            verdict = verdict_of(data)
            if verdict is Verdict.TOKEN_REFUSED:
                self.tokens.drop(token)
                if attempt == 1:
                    continue
                raise AuthenticationError(
                    f"{DISPLAY_NAME} refused a freshly issued AuthToken; nothing was done. "
                    "Check the profile's member id and username.",
                    gateway_code="401",
                )
            self._raise_for(verdict, data)
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for(self, verdict: Verdict, data: Mapping[str, Any]) -> None:
        code, message = " | ".join(codes_of(data)), self._description(data)
        if verdict in (Verdict.FORBIDDEN, Verdict.CHECKSUM):
            raise AuthenticationError(
                f"{DISPLAY_NAME} refused the request ({message}); nothing was done. "
                "Check the profile's secure key and member id.",
                gateway_code=code,
            )
        if verdict is Verdict.DUPLICATE:
            raise ValidationError(
                f"The order reference was already used at {DISPLAY_NAME}; nothing was charged. Use another.",
                field="reference",
                gateway_code=code,
            )
        if verdict is Verdict.INVALID:
            lowered = message.lower().replace(" ", "")
            name = next((ours for wire, ours in _FIELDS if wire in lowered), "")
            raise ValidationError(
                f"{DISPLAY_NAME} refused the request: {message}. Nothing was done.",
                field=name,
                gateway_code=code,
            )

    def _require_direct_entry(self) -> None:
        """Card details typed into the terminal only when the profile allows it (SECURITY ARCH-2)."""
        if not self.config.direct_entry:
            raise NotSupportedError(
                "Direct card entry is off for this Paymentz profile; use the hosted checkout page, "
                "or ask an administrator to enable direct entry (PCI DSS merchants only)."
            )

    def _description(self, data: Mapping[str, Any]) -> str:
        result = data.get("result") or data.get("statusInvoiceResult")
        words = text(result.get("description")) if isinstance(result, dict) else ""
        return scrub_text(words[:200], self._secrets) or "no description"

    # -- reading answers --------------------------------------------------------------------------
    def _raw(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A scrubbed copy: card fields masked by name, the reusable registration token masked too."""
        raw = scrub_mapping(data, self._secrets)
        if raw.get("registrationId"):
            raw["registrationId"] = FIXED_MASK
        return raw

    def _result(
        self,
        data: Mapping[str, Any],
        sent: Money | None,
        *,
        return_url: str = "",
        outcome: Outcome | None = None,
    ) -> GatewayResult:
        """A payment answer normalised; an approval must echo what was sent (integrity check)."""
        outcome = outcome or outcome_of(data)
        reference = text(data.get("paymentId"))
        reference = "" if reference == "-" else reference
        common: dict[str, Any] = {
            "gateway_reference": reference,
            "gateway_code": " | ".join(codes_of(data)),
            "gateway_message": self._description(data),
            "raw": self._raw(data),
            "merchant_reference": text(data.get("merchantTransactionId")),
            "kind": _KINDS.get(text(data.get("paymentType")), ""),
            "card": _card(data),
            "token": text(data.get("registrationId")),
        }
        if outcome is Outcome.APPROVED:
            echoed = read_amount(data.get("amount"), data.get("currency"))
            if echoed is None or (sent is not None and echoed != sent) or not reference:
                raise OutcomeUnknownError(
                    f"{DISPLAY_NAME} approved {text(data.get('amount'))} {text(data.get('currency'))} "
                    f"(payment {reference or 'without id'}), which does not match what was sent; "
                    "check the transaction by hand."
                )
            return GatewayResult(outcome=outcome, amount=echoed, **common)
        if outcome is Outcome.DECLINED:
            bank = ""
            result = data.get("result")
            if isinstance(result, dict):
                bank = text(result.get("bankCode"))
            common["gateway_code"] = bank or common["gateway_code"]
            return GatewayResult(outcome=outcome, decline_code=decline_code(data), **common)
        if outcome is Outcome.CHALLENGE:
            challenge = self._challenge(data, return_url)
            if challenge is None:
                return GatewayResult(outcome=Outcome.PENDING, **common)
            return GatewayResult(outcome=outcome, challenge=challenge, **common)
        return GatewayResult(outcome=Outcome.PENDING, **common)

    def _challenge(self, data: Mapping[str, Any], return_url: str) -> Challenge | None:
        """The 3-D Secure redirect (POST with parameters) as an auto-posting page for the web view."""
        redirect = data.get("redirect")
        if not isinstance(redirect, dict) or not return_url:
            return None
        url = text(redirect.get("url"))
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        params = redirect.get("parameters")
        pairs = [
            (text(p.get("name")), text(p.get("value")))
            for p in (params if isinstance(params, list) else [])
            if isinstance(p, dict)
        ]
        method = "get" if text(redirect.get("method")).upper() == "GET" else "post"
        return Challenge(
            return_url_prefix=return_url,
            allowed_origins=frozenset({origin_of(url), origin_of(return_url)}),
            html=autopost_html(url, method, pairs, "3-D Secure"),
            base_url=origin_of(return_url),
            title="3-D Secure",
            reference=text(data.get("paymentId")),
            context={"paymentId": text(data.get("paymentId"))},
        )


def autopost_html(action: str, method: str, pairs: list[tuple[str, str]], title: str) -> str:
    """A page that submits a form at once (a Continue button without JavaScript)."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in pairs if k
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body><form id="pz-form" method="{method}" action="{html.escape(action)}">{inputs}'
        '<button type="submit">Continue</button></form>'
        '<script>document.getElementById("pz-form").submit();</script></body></html>'
    )


def _card(data: Mapping[str, Any]) -> CardSummary | None:
    card = data.get("card")
    if not isinstance(card, dict):
        return None
    month, year = text(card.get("expiryMonth")), text(card.get("expiryYear"))
    expiry = f"{month.zfill(2)}/{year[-2:]}" if month.isdigit() and year.isdigit() else ""
    brands = {"VISA": "Visa", "MC": "Mastercard", "AMEX": "American Express", "JCB": "JCB"}
    brand = text(data.get("paymentBrand")).upper()
    last4 = text(card.get("last4Digits")) or text(card.get("lastFourDigits"))
    return CardSummary(
        brand=brands.get(brand, brand.title()),
        first6=text(card.get("bin"))[:6],
        last4=last4[-4:],
        expiry=expiry,
    )
