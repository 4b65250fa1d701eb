"""Every move of every lifecycle, allowed or refused, and the guards beside the tables."""

import itertools

import pytest
from lathe_common.errors import Conflict, InvalidInput
from lathe_orders.lifecycles import (
    PURCHASE_ORDER,
    SALES_ORDER,
    WORK_ORDER,
    check_cancellable,
    check_close_reason,
    resumed_status,
)
from lathe_orders.lifecycles import (
    PurchaseOrderStatus as P,
)
from lathe_orders.lifecycles import (
    SalesOrderStatus as S,
)
from lathe_orders.lifecycles import (
    WorkOrderStatus as W,
)

ALLOWED = {
    PURCHASE_ORDER: {
        (P.DRAFT, P.SUBMITTED), (P.DRAFT, P.CANCELLED),
        (P.SUBMITTED, P.APPROVED), (P.SUBMITTED, P.DRAFT), (P.SUBMITTED, P.CANCELLED),
        (P.APPROVED, P.SUBMITTED), (P.APPROVED, P.CLOSED), (P.APPROVED, P.CANCELLED),
    },
    SALES_ORDER: {
        (S.DRAFT, S.CONFIRMED), (S.DRAFT, S.CANCELLED),
        (S.CONFIRMED, S.CLOSED), (S.CONFIRMED, S.CANCELLED),
    },
    WORK_ORDER: {
        (W.DRAFT, W.RELEASED), (W.DRAFT, W.CANCELLED),
        (W.RELEASED, W.IN_PROGRESS), (W.RELEASED, W.STOPPED), (W.RELEASED, W.DRAFT), (W.RELEASED, W.CANCELLED),
        (W.RELEASED, W.CLOSED),
        (W.IN_PROGRESS, W.COMPLETED), (W.IN_PROGRESS, W.STOPPED), (W.IN_PROGRESS, W.CANCELLED),
        (W.IN_PROGRESS, W.CLOSED),
        (W.STOPPED, W.RELEASED), (W.STOPPED, W.IN_PROGRESS), (W.STOPPED, W.CANCELLED), (W.STOPPED, W.CLOSED),
        (W.COMPLETED, W.CLOSED),
    },
}  # fmt: skip
STATUSES = {PURCHASE_ORDER: P, SALES_ORDER: S, WORK_ORDER: W}


@pytest.mark.parametrize(
    ("lifecycle", "current", "target"),
    [(lc, a, b) for lc, kind in STATUSES.items() for a, b in itertools.product(kind, kind)],
    ids=lambda value: getattr(value, "document", str(value)),
)
def test_the_whole_table(lifecycle, current, target):
    allowed = (current, target) in ALLOWED[lifecycle]
    assert lifecycle.allows(current, target) is allowed
    if allowed:
        lifecycle.check(current, target)
    else:
        with pytest.raises(Conflict) as refused:
            lifecycle.check(current, target)
        assert refused.value.code == "invalid_status_transition"
        assert refused.value.extra == {"current_status": current.value, "requested_status": target.value}


def test_closed_and_cancelled_are_final_everywhere_else_is_not():
    for lifecycle, kind in STATUSES.items():
        finals = {status for status in kind if lifecycle.is_final(status)}
        assert {f.value for f in finals} == {"CLOSED", "CANCELLED"}


def test_an_order_with_movements_is_closed_not_cancelled():
    check_cancellable("purchase order", movements=0)
    with pytest.raises(Conflict) as refused:
        check_cancellable("purchase order", movements=1)
    assert refused.value.code == "has_movements"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_closing_short_needs_a_reason(reason):
    check_close_reason("sales order", open_balance=False, reason=reason)
    with pytest.raises(InvalidInput) as refused:
        check_close_reason("sales order", open_balance=True, reason=reason)
    assert refused.value.code == "reason_required"
    check_close_reason("sales order", open_balance=True, reason="customer cancelled the rest")


def test_a_stopped_work_order_resumes_where_it_stopped():
    assert resumed_status(started=False) is W.RELEASED
    assert resumed_status(started=True) is W.IN_PROGRESS
