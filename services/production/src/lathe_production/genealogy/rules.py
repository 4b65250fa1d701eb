"""What may be built into a unit, free of storage.

A LOT *holds* its ``target_quantity``: the quantity planned for it, in the LOT's own unit of count.
Components consumed from a LOT (``quantity`` on each component row) may add up to that and no
more; ``lots.consumed_quantity`` keeps the running total, raised by one guarded UPDATE and bounded
by a CHECK constraint, so concurrent consumptions can never over-draw it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from lathe_common.errors import Conflict

from lathe_production.lots.rules import LotStatus, SerialStatus

# A failed or scrapped unit is not good material; it goes to repair or scrap, not into an assembly.
UNUSABLE_COMPONENT_STATUSES = frozenset({SerialStatus.FAILED, SerialStatus.SCRAPPED})
# A cancelled LOT was never made; a closed one is accounted for and its material gone.
UNUSABLE_LOT_STATUSES = frozenset({LotStatus.CANCELLED, LotStatus.CLOSED})


def check_component_usable(serial_number: str, status: SerialStatus) -> None:
    if status in UNUSABLE_COMPONENT_STATUSES:
        raise Conflict(
            f"Unit {serial_number} is {status}; it cannot be built into another unit.",
            code="component_not_usable",
            serial_number=serial_number,
            serial_status=status.value,
        )


def check_lot_usable(lot_number: str, status: LotStatus) -> None:
    if status in UNUSABLE_LOT_STATUSES:
        raise Conflict(
            f"LOT {lot_number} is {status}; nothing can be consumed from it.",
            code="lot_not_usable",
            lot_number=lot_number,
            lot_status=status.value,
        )


def remaining_quantity(holds: Decimal | int, consumed: Decimal) -> Decimal:
    return Decimal(holds) - consumed


def check_lot_quantity(lot_number: str, *, holds: Decimal | int, consumed: Decimal, wanted: Decimal) -> None:
    remaining = remaining_quantity(holds, consumed)
    if wanted > remaining:
        raise Conflict(
            f"LOT {lot_number} has {remaining} left, not {wanted}.",
            code="lot_quantity_exceeded",
            lot_number=lot_number,
            remaining_quantity=str(remaining),
            requested_quantity=str(wanted),
            target_quantity=str(holds),
        )


def quantities_by_lot(components: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """The total asked of each LOT: one request may name a LOT several times."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for lot_number, quantity in components:
        totals[lot_number] += quantity
    return dict(totals)
