"""Who may move money, and the audit entry of every money action (PCI-7, PCI-11; issue 8).

`guard_money` wraps the public money methods of the payment, payout and invoice services on the instance:
before the call, the session's `authorise` checks the signed-in operator's role (or spends a supervisor's
approval); after it, one audit entry records who, what, amount, gateway reference, outcome and approver.
Wrapping from outside keeps the money services free of sign-in concerns and needs no edit to them when
they gain a method: a method named in the table is wrapped if the service has it.

Continuations of an action already authorised (completing a card page, following a link, cancelling
an unfinished page) are audited but not re-authorised: the clerk who opened the payment finishes it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from terminal.domain.operations import OperationKind
from terminal.domain.roles import Operator, Permission
from terminal.services.audit import AuditTrail, Event
from terminal.services.operators import Session

__all__ = ["INVOICE_ACTIONS", "PAYMENT_ACTIONS", "PAYOUT_ACTIONS", "guard_money", "permission_for_kind"]

log = logging.getLogger(__name__)

# How a call's arguments decide the permission it needs; None: audited only.
Rule = Callable[[tuple[Any, ...], dict[str, Any]], Permission | None]


def permission_for_kind(kind: object) -> Permission:
    """A sale needs CHARGE, a pre-authorisation PREAUTHORISE."""
    return Permission.PREAUTHORISE if kind is OperationKind.AUTHORIZE else Permission.CHARGE


def _by_kind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Permission:
    kind = kwargs["kind"] if "kind" in kwargs else args[1] if len(args) > 1 else None
    return permission_for_kind(kind)


def _fixed(permission: Permission | None) -> Rule:
    return lambda _args, _kwargs: permission


PAYMENT_ACTIONS: Mapping[str, Rule] = {
    "begin_hosted": _by_kind,
    "charge_direct": _by_kind,
    "charge_saved": _by_kind,
    "capture": _fixed(Permission.CAPTURE),
    "void": _fixed(Permission.VOID),
    "refund": _fixed(Permission.REFUND),
    "complete_hosted": _fixed(None),
    "complete_direct": _fixed(None),
    "cancel_hosted": _fixed(None),
    "cancel_direct": _fixed(None),
    "follow": _fixed(None),
}
PAYOUT_ACTIONS: Mapping[str, Rule] = {
    "payout": _fixed(Permission.PAYOUT),
    "approve": _fixed(Permission.PAYOUT),
    "cancel": _fixed(Permission.PAYOUT),
}
INVOICE_ACTIONS: Mapping[str, Rule] = {
    "create": _fixed(Permission.INVOICE),
    "cancel": _fixed(Permission.INVOICE),
    "remind": _fixed(Permission.INVOICE),
}


def _described(result: object) -> tuple[str, dict[str, Any]]:
    """The transaction id and the audit detail of whatever a money method returned."""
    outcome = getattr(result, "outcome", None)
    source = outcome if outcome is not None and hasattr(outcome, "operation") else result
    op = getattr(source, "operation", None)
    if op is None:
        return "", {}
    detail = {
        "kind": op.kind.value,
        "amount": op.amount.plain(),
        "currency": op.amount.currency,
        "state": op.state.value,
        "gateway_reference": op.gateway_reference,
        "merchant_reference": op.merchant_reference,
        "operation": op.id,
    }
    return str(op.transaction_id), detail


def _wrap(
    name: str,
    method: Callable[..., Awaitable[Any]],
    rule: Rule,
    session: Session,
    audit: AuditTrail,
    check: Callable[[str, tuple[Any, ...], dict[str, Any]], None] | None,
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        permission = rule(args, kwargs)
        approver: Operator | None = None
        if permission is not None:
            approver = session.authorise(permission)  # AccessDenied, audited, when not allowed
            if check is not None:
                check(name, args, kwargs)
        extra = {"action": name, "approver": approver.login if approver else ""}
        try:
            result = await method(*args, **kwargs)
        except Exception as exc:
            # Refused input, a rule violation or a gateway error: recorded as a failed action.
            audit.record_soon(Event.MONEY, success=False, target=str(args[0]) if args else "",
                              error=str(exc)[:300], **extra)  # fmt: skip
            raise
        target, detail = _described(result)
        state = detail.get("state", "")
        success = state not in ("failed", "declined")
        # Queued behind the operation's own writes on the store's worker; the clerk does not wait for it.
        audit.record_soon(Event.MONEY, success=success, target=target, **extra, **detail)
        return result

    return guarded


def guard_money(
    service: object,
    actions: Mapping[str, Rule],
    session: Session,
    audit: AuditTrail,
    *,
    check: Callable[[str, tuple[Any, ...], dict[str, Any]], None] | None = None,
) -> list[str]:
    """Wrap the methods of `service` named in `actions`; returns the names wrapped.

    `check(name, args, kwargs)` runs after the role check for authorised actions: a hook for rules that
    depend on settings (e.g. direct entry switched on for the profile).
    """
    wrapped = []
    for name, rule in actions.items():
        method = getattr(service, name, None)
        if method is None or getattr(method, "__guarded__", False):
            continue
        guarded = _wrap(name, method, rule, session, audit, check)
        guarded.__guarded__ = True  # type: ignore[attr-defined]
        setattr(service, name, guarded)
        wrapped.append(name)
    return wrapped
