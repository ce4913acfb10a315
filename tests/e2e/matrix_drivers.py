"""How the fault matrix drives each gateway's money operations through the real service.

One `Driver` per (gateway, operation): the simulator path the fault is armed on, the simulator ledger kind
that shows the operation took effect, and a coroutine that prepares any parent (without faults) and then
runs the operation once through PaymentService, returning the operation it wrote. Adding a gateway to the
matrix means adding its drivers here and its rows to docs/RELIABILITY.md.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from terminal.app import Services
from terminal.domain.ledger import Operation
from terminal.domain.money import Money
from terminal.domain.operations import OperationKind
from tests.e2e.flows import hosted_payment

APPROVED = "4242424242424242"
Arm = Callable[[], None]


@dataclass(frozen=True)
class Driver:
    gateway: str
    operation: str
    path: str  # the simulator path (glob) the fault is armed on
    effect_kind: str  # the simulator ledger's kind for this operation
    run: Callable[[Services, Arm], Coroutine[Any, Any, Operation]]


async def _ogo_opening(services: Services, arm: Arm, kind: OperationKind) -> Operation:
    arm()
    return (await hosted_payment(services, APPROVED, 3100, kind=kind)).operation


async def _ogo_follow_up(services: Services, arm: Arm, kind: OperationKind) -> Operation:
    opening = OperationKind.SALE if kind is OperationKind.REFUND else OperationKind.AUTHORIZE
    parent = await hosted_payment(services, APPROVED, 3100, kind=opening)
    assert parent.approved, parent.message
    tx_id, amount = parent.transaction.id, Money(3100, parent.transaction.currency)
    arm()
    if kind is OperationKind.CAPTURE:
        outcome = await services.payments.capture(tx_id, amount)
    elif kind is OperationKind.VOID:
        outcome = await services.payments.void(tx_id)
    else:
        outcome = await services.payments.refund(tx_id, amount, reason="fault matrix")
    return outcome.operation


def _ogo(operation: str, path: str, kind: OperationKind) -> Driver:
    opening = kind in (OperationKind.SALE, OperationKind.AUTHORIZE)

    async def run(services: Services, arm: Arm) -> Operation:
        if opening:
            return await _ogo_opening(services, arm, kind)
        return await _ogo_follow_up(services, arm, kind)

    return Driver("ogopay", operation, path, path.strip("/"), run)


DRIVERS: tuple[Driver, ...] = (
    _ogo("sale", "/purchase", OperationKind.SALE),
    _ogo("authorize", "/preauth", OperationKind.AUTHORIZE),
    _ogo("capture", "/completion", OperationKind.CAPTURE),
    _ogo("void", "/void", OperationKind.VOID),
    _ogo("refund", "/refund", OperationKind.REFUND),
)
