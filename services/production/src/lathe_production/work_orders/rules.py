"""How production plans a work order's quantity, free of storage."""

from __future__ import annotations

from lathe_common.errors import InvalidInput

# A plan is one transaction and one WorkOrderPlannedEvent listing its LOTs: bounded, so the event
# stays far below the largest event a service may publish.
MAX_LOTS_PER_PLAN = 1000


def split_quantity(quantity: int, max_lot_quantity: int) -> list[int]:
    """The LOT sizes for ``quantity`` units: as many full LOTs as fit, then the rest
    (250 at 100 per LOT: 100, 100, 50)."""
    if quantity <= 0 or max_lot_quantity <= 0:
        raise InvalidInput("A work order plans a positive quantity.", code="invalid_quantity")
    full, rest = divmod(quantity, max_lot_quantity)
    return [max_lot_quantity] * full + ([rest] if rest else [])


def check_plan_size(quantity: int, max_lot_quantity: int) -> None:
    lots = -(-quantity // max_lot_quantity)
    if lots > MAX_LOTS_PER_PLAN:
        raise InvalidInput(
            f"{quantity} units at most {max_lot_quantity} per LOT would be {lots} LOTs; "
            f"a work order is planned in at most {MAX_LOTS_PER_PLAN}.",
            code="too_many_lots",
        )
