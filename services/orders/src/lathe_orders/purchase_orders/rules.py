"""The rules of purchase orders that need no storage: fulfilment per line and in total, four eyes
on approval, what may change once an order left its draft, and when a change needs re-approval.

- Fulfilment: a line's received quantity is accepted plus rejected (at inspection); what the plant
  has is accepted minus returned (``LineMovements.net``); a line closed short expects nothing
  more, and what it still lacked then is its *closed short* quantity.
- Four eyes: above ``approval_threshold`` nobody approves an order they created; an administrator
  (``APPROVE_OWN_SCOPE``) may, saying why, and the reason is kept with the order.
- After submission only dates (header and lines), notes, line quantities (never below what the
  plant has) and new lines change; every such change is logged. An APPROVED order whose total
  rises by more than the threshold above the approved total goes back to SUBMITTED.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from decimal import Decimal

from lathe_common.errors import Conflict, Forbidden, InvalidInput

from lathe_orders.fulfilment import LineMovements, ReceiptState, receipt_state
from lathe_orders.lifecycles import EDITABLE_PURCHASE_ORDER, PURCHASE_ORDER, PurchaseOrderStatus

ZERO = Decimal(0)
# The scope that lets an administrator approve an order they created (lathe_auth.roles).
APPROVE_OWN_SCOPE = "orders:approve-own"
# What may change once an order is submitted (beyond new lines): dates, notes, quantities.
HEADER_FIELDS_AFTER_SUBMISSION = frozenset({"expected_date", "notes"})
LINE_FIELDS_AFTER_SUBMISSION = frozenset({"required_date", "promised_date", "quantity"})
# A line's fields that a change may carry.
LINE_FIELDS = frozenset(
    {
        "item_code",
        "description",
        "quantity",
        "unit",
        "conversion_factor",
        "unit_price",
        "tax_rate",
        "discount_percent",
        "required_date",
        "promised_date",
    }
)


@dataclass(frozen=True)
class Fulfilment:
    """What moved against a line (or, summed, against an order), in the line's unit."""

    ordered: Decimal
    received: Decimal
    accepted: Decimal
    rejected: Decimal
    returned: Decimal
    closed_short: Decimal  # what a line closed short still lacked when it was closed
    open_balance: Decimal
    state: ReceiptState


def line_movements(
    *, quantity: Decimal, received: Decimal, rejected: Decimal, returned: Decimal, closed_short: bool
) -> LineMovements:
    """A purchase order line as ``fulfilment`` sees it: moved = accepted = received - rejected."""
    return LineMovements(
        ordered=quantity, moved=received - rejected, rejected=rejected, returned=returned, closed_short=closed_short
    )


def line_fulfilment(line: LineMovements) -> Fulfilment:
    short = max(line.ordered - line.net, ZERO) if line.closed_short else ZERO
    return Fulfilment(
        ordered=line.ordered,
        received=line.moved + line.rejected,
        accepted=line.moved,
        rejected=line.rejected,
        returned=line.returned,
        closed_short=short,
        open_balance=line.open_balance,
        state=receipt_state([line]),
    )


def order_fulfilment(lines: Iterable[LineMovements]) -> Fulfilment:
    """The order's: each quantity summed over its lines (in their own units), the state of all of them."""
    lines = list(lines)
    each = [line_fulfilment(line) for line in lines]
    return Fulfilment(
        ordered=sum((f.ordered for f in each), ZERO),
        received=sum((f.received for f in each), ZERO),
        accepted=sum((f.accepted for f in each), ZERO),
        rejected=sum((f.rejected for f in each), ZERO),
        returned=sum((f.returned for f in each), ZERO),
        closed_short=sum((f.closed_short for f in each), ZERO),
        open_balance=sum((f.open_balance for f in each), ZERO),
        state=receipt_state(lines),
    )


@dataclass(frozen=True)
class Override:
    """An administrator's explicit request to approve an order they created, and why."""

    reason: str | None


def needs_four_eyes(total: Decimal, threshold: Decimal) -> bool:
    return total > threshold


def check_four_eyes(
    *,
    total: Decimal,
    threshold: Decimal,
    creator: str | None,
    approver: str,
    override: Override | None,
    may_override: bool,
) -> str | None:
    """Whether ``approver`` may approve; returns the override reason when four eyes were overridden
    (to be recorded and announced), None when they were not needed or were kept."""
    if not needs_four_eyes(total, threshold) or creator is None or creator != approver:
        return None
    if override is None:
        raise Forbidden(
            f"You created this order and its total is above {threshold}: someone else approves it (four eyes).",
            code="four_eyes",
        )
    if not may_override:
        raise Forbidden(
            f"Only an administrator ('{APPROVE_OWN_SCOPE}') may approve an order they created.",
            code="insufficient_scope",
            required=APPROVE_OWN_SCOPE,
        )
    reason = (override.reason or "").strip()
    if not reason:
        raise InvalidInput("Overriding four eyes needs a reason; it is recorded.", code="reason_required")
    return reason


def check_submit(status: PurchaseOrderStatus) -> None:
    """The submit action moves drafts only: the table's APPROVED -> SUBMITTED is the re-approval a
    change beyond the threshold makes, never something asked for."""
    if status is not PurchaseOrderStatus.DRAFT:
        raise Conflict(
            f"A purchase order is submitted from DRAFT, not from {status}.",
            code="invalid_status_transition",
            current_status=status.value,
            requested_status=PurchaseOrderStatus.SUBMITTED.value,
        )
    PURCHASE_ORDER.check(status, PurchaseOrderStatus.SUBMITTED)


def check_editable(status: PurchaseOrderStatus) -> None:
    if status not in EDITABLE_PURCHASE_ORDER:
        raise Conflict(
            f"A {status} purchase order no longer changes.", code="not_editable", current_status=status.value
        )


@dataclass(frozen=True)
class ChangeSet:
    """What a change would do, before it is applied: the header fields that change, each existing
    line's changing fields (by line number), the lines removed and how many are added."""

    header: Set[str]
    lines: Mapping[int, Set[str]]
    removed: Set[int]
    added: int

    @property
    def empty(self) -> bool:
        return not (self.header or any(self.lines.values()) or self.removed or self.added)


def check_change_allowed(status: PurchaseOrderStatus, change: ChangeSet) -> None:
    """Drafts change freely; after submission only dates, notes, quantities and new lines do."""
    check_editable(status)
    if status is PurchaseOrderStatus.DRAFT:
        return
    refused = sorted(change.header - HEADER_FIELDS_AFTER_SUBMISSION)
    for line_no, fields in sorted(change.lines.items()):
        refused += [f"lines[{line_no}].{name}" for name in sorted(fields - LINE_FIELDS_AFTER_SUBMISSION)]
    refused += [f"lines[{line_no}] (removed)" for line_no in sorted(change.removed)]
    if refused:
        raise Conflict(
            f"A {status} purchase order changes only in its dates, notes, quantities and new lines; "
            f"not in: {', '.join(refused)}.",
            code="change_not_allowed",
            fields=refused,
        )


def needs_reapproval(
    status: PurchaseOrderStatus, approved_total: Decimal | None, new_total: Decimal, threshold: Decimal
) -> bool:
    """An APPROVED order whose total rises more than the threshold above what was approved."""
    if status is not PurchaseOrderStatus.APPROVED or approved_total is None:
        return False
    return new_total - approved_total > threshold


def check_distinct_lines(line_nos: Iterable[int]) -> None:
    """A receipt or a return names each order line once."""
    seen: set[int] = set()
    for line_no in line_nos:
        if line_no in seen:
            raise InvalidInput(f"Line {line_no} is named twice; give each line once.", code="duplicate_line")
        seen.add(line_no)


def check_serials_match(quantity: Decimal, serial_numbers: Iterable[str]) -> None:
    """Serial numbers, when given, are one per unit: as many as the quantity, none twice."""
    serials = list(serial_numbers)
    if not serials:
        return
    if len(set(serials)) != len(serials):
        raise InvalidInput("A serial number is given twice.", code="duplicate_serial")
    if Decimal(len(serials)) != quantity:
        raise InvalidInput(
            f"{len(serials)} serial numbers for a quantity of {quantity}: give one per unit.",
            code="serial_count_mismatch",
        )


def check_receipt_line(quantity: Decimal, rejected: Decimal, serial_numbers: Iterable[str]) -> Decimal:
    """A receipt line's quantities; returns what was accepted (received minus rejected)."""
    if rejected > quantity:
        raise InvalidInput(
            f"{rejected} rejected of {quantity} received: rejected goods are part of what was received.",
            code="rejected_above_received",
        )
    check_serials_match(quantity, serial_numbers)
    return quantity - rejected
