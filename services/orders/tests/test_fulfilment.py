"""Fulfilment from movements, tolerances, returns and work-order progress: both sides of each boundary."""

from datetime import date
from decimal import Decimal as D

import pytest
from lathe_common.errors import Conflict, InvalidInput
from lathe_orders.fulfilment import (
    LineMovements,
    ReceiptState,
    ShipmentState,
    WorkOrderProgress,
    check_quantity_not_below_done,
    check_returnable,
    check_within_tolerance,
    overdue,
    receipt_state,
    shipment_state,
)
from lathe_orders.lifecycles import WorkOrderStatus as W


def test_net_and_open_balance():
    line = LineMovements(ordered=D("10"), moved=D("7"), rejected=D("2"), returned=D("1"))
    assert (line.net, line.open_balance) == (D("6"), D("4"))
    assert LineMovements(D("10"), D("12")).open_balance == 0  # over-received: nothing open, never negative
    assert LineMovements(D("10"), D("3"), closed_short=True).open_balance == 0


@pytest.mark.parametrize(
    ("lines", "state"),
    [
        ([], ReceiptState.NOT_RECEIVED),
        ([LineMovements(D(5))], ReceiptState.NOT_RECEIVED),
        ([LineMovements(D(5), D(5), returned=D(5))], ReceiptState.NOT_RECEIVED),  # all sent back
        ([LineMovements(D(5), D("0.001"))], ReceiptState.PARTIALLY_RECEIVED),
        ([LineMovements(D(5), D(5)), LineMovements(D(5))], ReceiptState.PARTIALLY_RECEIVED),
        ([LineMovements(D(5), D(5)), LineMovements(D(5), D("4.999"))], ReceiptState.PARTIALLY_RECEIVED),
        ([LineMovements(D(5), D(5)), LineMovements(D(5), D(5))], ReceiptState.RECEIVED),
        ([LineMovements(D(5), D(5)), LineMovements(D(5), D(1), closed_short=True)], ReceiptState.RECEIVED),
        ([LineMovements(D(5), closed_short=True)], ReceiptState.RECEIVED),
    ],
)
def test_receipt_state(lines, state):
    assert receipt_state(lines) is state


def test_shipment_state_shows_production_until_something_ships():
    open_line = [LineMovements(D(4))]
    assert shipment_state(open_line, in_production=False) is ShipmentState.NOT_SHIPPED
    assert shipment_state(open_line, in_production=True) is ShipmentState.IN_PRODUCTION
    assert shipment_state([LineMovements(D(4), D(1))], in_production=True) is ShipmentState.PARTIALLY_SHIPPED
    assert shipment_state([LineMovements(D(4), D(4))], in_production=True) is ShipmentState.SHIPPED


def test_tolerance_allows_exactly_its_share_more_and_no_more():
    line = LineMovements(ordered=D("100"), moved=D("95"))
    check_within_tolerance(line, D("10"), D("5"), what="receipt")  # 105 = 100 + 5 %
    with pytest.raises(Conflict) as refused:
        check_within_tolerance(line, D("10.001"), D("5"), what="receipt")
    assert refused.value.code == "over_receipt" and refused.value.extra["allowed"] == "105"
    with pytest.raises(Conflict) as refused:
        check_within_tolerance(LineMovements(D("1"), D("1")), D("0.000001"), D("0"), what="delivery")
    assert refused.value.code == "over_delivery"
    returned = LineMovements(ordered=D("10"), moved=D("10"), returned=D("3"))
    check_within_tolerance(returned, D("3"), D("0"), what="delivery")  # what came back may go again


@pytest.mark.parametrize("quantity", [D("0"), D("-1")])
def test_movement_quantities_are_positive(quantity):
    with pytest.raises(InvalidInput):
        check_within_tolerance(LineMovements(D(5)), quantity, D(0), what="receipt")
    with pytest.raises(InvalidInput):
        check_returnable(LineMovements(D(5), D(5)), quantity)


def test_only_what_is_held_can_be_returned():
    line = LineMovements(ordered=D("10"), moved=D("6"), returned=D("2"))
    check_returnable(line, D("4"))
    with pytest.raises(Conflict) as refused:
        check_returnable(line, D("4.5"))
    assert refused.value.code == "over_return" and refused.value.extra == {"returnable": "4"}


def test_a_quantity_may_shrink_to_what_is_done_and_not_below():
    line = LineMovements(ordered=D("10"), moved=D("6"), returned=D("1"))
    check_quantity_not_below_done(line, D("5"))
    with pytest.raises(Conflict) as refused:
        check_quantity_not_below_done(line, D("4.99"))
    assert refused.value.code == "quantity_below_done"


@pytest.mark.parametrize(
    ("quantity", "good", "percent", "done"),
    [(10, 0, 0, False), (10, 1, 10, False), (3, 1, 33, False), (3, 2, 66, False), (10, 9, 90, False),
     (10, 10, 100, True), (10, 12, 100, True), (0, 0, 0, True), (7, 6, 85, False)],
)  # fmt: skip
def test_work_order_progress(quantity, good, percent, done):
    progress = WorkOrderProgress(quantity=quantity, good=good)
    assert (progress.percent, progress.done) == (percent, done)


def test_overdue_means_past_its_due_date_and_not_finished():
    today = date(2026, 11, 30)
    assert overdue(W.RELEASED, date(2026, 11, 29), today)
    assert not overdue(W.RELEASED, date(2026, 11, 30), today)  # due today is not late yet
    assert not overdue(W.RELEASED, None, today)
    for finished in (W.COMPLETED, W.CLOSED, W.CANCELLED):
        assert not overdue(finished, date(2020, 1, 1), today)
    for open_status in (W.DRAFT, W.IN_PROGRESS, W.STOPPED):
        assert overdue(open_status, date(2020, 1, 1), today)
