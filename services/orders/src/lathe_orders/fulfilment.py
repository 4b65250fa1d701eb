"""Fulfilment, computed from what moved: receipts and returns against purchase order lines,
shipments and returns against sales order lines, production's units against work orders. Pure.

A line's *net* quantity is what the plant has (or the customer has) after returns: received and
accepted minus returned to the supplier; shipped minus returned by the customer. The open balance
is what the order still expects; a line closed short expects nothing more. Tolerances (percent)
let a receipt or a shipment exceed the ordered quantity a little, as suppliers and packing do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from lathe_common.errors import Conflict, InvalidInput

from lathe_orders.lifecycles import WorkOrderStatus

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class ReceiptState(StrEnum):
    NOT_RECEIVED = "NOT_RECEIVED"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"


class ShipmentState(StrEnum):
    NOT_SHIPPED = "NOT_SHIPPED"
    IN_PRODUCTION = "IN_PRODUCTION"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"


@dataclass(frozen=True)
class LineMovements:
    """One line: what was ordered and what moved against it, in the line's unit."""

    ordered: Decimal
    moved: Decimal = ZERO  # received and accepted (purchase) or shipped (sales)
    rejected: Decimal = ZERO  # received but refused at inspection (purchase only)
    returned: Decimal = ZERO
    closed_short: bool = False

    @property
    def net(self) -> Decimal:
        return self.moved - self.returned

    @property
    def open_balance(self) -> Decimal:
        return ZERO if self.closed_short else max(self.ordered - self.net, ZERO)


def _state(lines: Iterable[LineMovements], none: StrEnum, partly: StrEnum, fully: StrEnum) -> StrEnum:
    lines = list(lines)
    if lines and all(line.open_balance == 0 for line in lines):
        return fully
    if any(line.net > 0 for line in lines):
        return partly
    return none


def receipt_state(lines: Iterable[LineMovements]) -> ReceiptState:
    return ReceiptState(
        _state(lines, ReceiptState.NOT_RECEIVED, ReceiptState.PARTIALLY_RECEIVED, ReceiptState.RECEIVED)
    )


def shipment_state(lines: Iterable[LineMovements], *, in_production: bool) -> ShipmentState:
    state = ShipmentState(
        _state(lines, ShipmentState.NOT_SHIPPED, ShipmentState.PARTIALLY_SHIPPED, ShipmentState.SHIPPED)
    )
    if state is ShipmentState.NOT_SHIPPED and in_production:
        return ShipmentState.IN_PRODUCTION
    return state


def check_within_tolerance(line: LineMovements, more: Decimal, tolerance_percent: Decimal, *, what: str) -> None:
    """Receiving or shipping ``more`` must keep the net quantity within the ordered one plus the
    tolerance (over-receipt, over-delivery)."""
    if more <= 0:
        raise InvalidInput(f"A {what} quantity must be positive.", code="invalid_quantity")
    allowed = line.ordered * (HUNDRED + tolerance_percent) / HUNDRED
    if line.net + more > allowed:
        raise Conflict(
            f"That {what} would bring the line to {line.net + more}, beyond the {line.ordered} ordered "
            f"(tolerance {tolerance_percent} %).",
            code=f"over_{what.replace(' ', '_')}",
            ordered=str(line.ordered),
            already=str(line.net),
            allowed=str(allowed),
        )


def check_returnable(line: LineMovements, quantity: Decimal) -> None:
    if quantity <= 0:
        raise InvalidInput("A return quantity must be positive.", code="invalid_quantity")
    if quantity > line.net:
        raise Conflict(
            f"Only {line.net} can be returned on this line, not {quantity}.",
            code="over_return",
            returnable=str(line.net),
        )


def check_quantity_not_below_done(line: LineMovements, new_quantity: Decimal) -> None:
    """A changed order quantity never goes below what already moved."""
    if new_quantity < line.net:
        raise Conflict(
            f"The quantity cannot go below the {line.net} already moved.",
            code="quantity_below_done",
            done=str(line.net),
        )


@dataclass(frozen=True)
class WorkOrderProgress:
    quantity: int
    good: int = 0  # units PASSED
    scrapped: int = 0  # units FAILED or SCRAPPED
    in_progress: int = 0  # units started and not finished

    @property
    def percent(self) -> int:
        """0-100: the share of the ordered quantity produced good (floored: 100 only when done)."""
        if self.quantity <= 0:
            return 0
        share = Decimal(min(self.good, self.quantity)) * HUNDRED / Decimal(self.quantity)
        return int(share.to_integral_value(rounding=ROUND_FLOOR))

    @property
    def done(self) -> bool:
        return self.good >= self.quantity


FINISHED_WORK_ORDERS = frozenset({WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED})


def overdue(status: WorkOrderStatus, due: date | None, today: date) -> bool:
    return due is not None and due < today and status not in FINISHED_WORK_ORDERS
