"""The lifecycles of purchase, sales and work orders: each a table of allowed moves, free of storage.

Lifecycle and fulfilment are two things (as in ERPNext and Odoo): the status here is what people
decided (submitted, approved, released, closed...); how much was received, shipped or produced is
computed from the movement documents and production's events (``fulfilment``) and shown beside it.
A move the table does not allow is a 409 ``invalid_status_transition``; the guards below it
(cancelling after a receipt, closing with an open balance without a reason) have codes of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from lathe_common.errors import Conflict, InvalidInput


class PurchaseOrderStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class SalesOrderStatus(StrEnum):
    DRAFT = "DRAFT"
    CONFIRMED = "CONFIRMED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class WorkOrderStatus(StrEnum):
    DRAFT = "DRAFT"
    RELEASED = "RELEASED"
    IN_PROGRESS = "IN_PROGRESS"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


class Priority(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


@dataclass(frozen=True, eq=False)  # compared and hashed as itself: one object per lifecycle
class Lifecycle:
    document: str  # "purchase order", for messages
    moves: Mapping[StrEnum, frozenset[StrEnum]]

    def allows(self, current: StrEnum, target: StrEnum) -> bool:
        return target in self.moves[current]

    def check(self, current: StrEnum, target: StrEnum) -> None:
        if not self.allows(current, target):
            raise Conflict(
                f"A {self.document} cannot go from {current} to {target}.",
                code="invalid_status_transition",
                current_status=current.value,
                requested_status=target.value,
            )

    def is_final(self, status: StrEnum) -> bool:
        return not self.moves[status]


P, S, W = PurchaseOrderStatus, SalesOrderStatus, WorkOrderStatus

PURCHASE_ORDER = Lifecycle(
    "purchase order",
    {
        P.DRAFT: frozenset({P.SUBMITTED, P.CANCELLED}),
        # Back to SUBMITTED: an approved order changed beyond the approval threshold (re-approval).
        P.SUBMITTED: frozenset({P.APPROVED, P.DRAFT, P.CANCELLED}),
        P.APPROVED: frozenset({P.SUBMITTED, P.CLOSED, P.CANCELLED}),
        P.CLOSED: frozenset(),
        P.CANCELLED: frozenset(),
    },
)

SALES_ORDER = Lifecycle(
    "sales order",
    {
        S.DRAFT: frozenset({S.CONFIRMED, S.CANCELLED}),
        S.CONFIRMED: frozenset({S.CLOSED, S.CANCELLED}),
        S.CLOSED: frozenset(),
        S.CANCELLED: frozenset(),
    },
)

WORK_ORDER = Lifecycle(
    "work order",
    {
        # RELEASED -> DRAFT: production refused it (unknown or inactive model), with the reason.
        W.DRAFT: frozenset({W.RELEASED, W.CANCELLED}),
        W.RELEASED: frozenset({W.IN_PROGRESS, W.STOPPED, W.DRAFT, W.CANCELLED, W.CLOSED}),
        W.IN_PROGRESS: frozenset({W.COMPLETED, W.STOPPED, W.CANCELLED, W.CLOSED}),
        # Resumed to where it stopped (see resumed_status); closing short is possible while stopped.
        W.STOPPED: frozenset({W.RELEASED, W.IN_PROGRESS, W.CANCELLED, W.CLOSED}),
        W.COMPLETED: frozenset({W.CLOSED}),
        W.CLOSED: frozenset(),
        W.CANCELLED: frozenset(),
    },
)

# What people may change on a document in each status (beyond the status itself).
EDITABLE_PURCHASE_ORDER = frozenset({P.DRAFT, P.SUBMITTED, P.APPROVED})
EDITABLE_SALES_ORDER = frozenset({S.DRAFT, S.CONFIRMED})
EDITABLE_WORK_ORDER = frozenset({W.DRAFT, W.RELEASED, W.IN_PROGRESS, W.STOPPED})
DRAFTS = frozenset({P.DRAFT, S.DRAFT, W.DRAFT})


def check_cancellable(document: str, *, movements: int) -> None:
    """Orders are cancelled before anything moved against them; after that they are closed."""
    if movements:
        raise Conflict(
            f"The {document} has goods moved against it; close it (short, with a reason) instead of cancelling.",
            code="has_movements",
        )


def check_close_reason(document: str, *, open_balance: bool, reason: str | None) -> None:
    """Closing with something still open (closing short) needs a reason, kept with the document."""
    if open_balance and not (reason and reason.strip()):
        raise InvalidInput(
            f"The {document} still has an open balance: give a reason to close it short.", code="reason_required"
        )


def resumed_status(started: bool) -> WorkOrderStatus:
    """Where a stopped work order resumes: in progress once production has started on it."""
    return WorkOrderStatus.IN_PROGRESS if started else WorkOrderStatus.RELEASED
