"""Sales-order rules: changes after confirmation, units that may ship, serial counts, returns by
serial number, and fulfilment per line and in total."""

from datetime import date
from decimal import Decimal as D

import pytest
from lathe_common.errors import Conflict, InvalidInput, NotFound
from lathe_orders.fulfilment import LineMovements, ShipmentState
from lathe_orders.lifecycles import SalesOrderStatus as S
from lathe_orders.money import check_amount_fits
from lathe_orders.sales_orders.rules import (
    LineFacts,
    UnitFacts,
    check_changes_allowed,
    check_distinct,
    check_line_closable,
    check_return_without_serials,
    check_serial_count,
    check_units_shippable,
    line_overdue,
    order_fulfilment,
)
from lathe_orders.sales_orders.schemas import SalesOrderCreate, SalesOrderLineChange, SalesOrderUpdate, plain


def test_drafts_change_freely():
    check_changes_allowed(
        S.DRAFT, header={"customer_code", "currency"}, lines={1: {"unit_price", "model_code"}}, removed=[2]
    )


def test_a_confirmed_order_keeps_customer_currency_items_and_prices():
    check_changes_allowed(
        S.CONFIRMED, header={"notes", "ship_to", "customer_po_number"}, lines={1: {"quantity", "promised_date"}}
    )
    with pytest.raises(Conflict) as refused:
        check_changes_allowed(
            S.CONFIRMED, header={"currency", "notes"}, lines={2: {"unit_price", "requested_date"}}, removed=[3]
        )
    assert refused.value.code == "locked_after_confirmation"
    assert refused.value.extra["fields"] == ["currency", "lines[2].unit_price", "lines[3]"]


@pytest.mark.parametrize("status", [S.CLOSED, S.CANCELLED])
def test_closed_and_cancelled_orders_do_not_change(status):
    with pytest.raises(Conflict) as refused:
        check_changes_allowed(status, header={"notes"}, lines={})
    assert refused.value.code == "not_editable"


def test_one_serial_number_per_stock_unit():
    check_serial_count(1, D("3"), D("1"), 3)
    check_serial_count(1, D("2"), D("12"), 24)  # two boxes of twelve
    with pytest.raises(InvalidInput) as refused:
        check_serial_count(1, D("3"), D("1"), 2)
    assert refused.value.code == "serial_count_mismatch" and refused.value.extra["expected"] == "3"
    with pytest.raises(InvalidInput):
        check_serial_count(1, D("1.5"), D("1"), 1)  # half a unit has no serial number


def test_a_request_names_each_thing_once():
    check_distinct([1, 2, 3], code="duplicate_line", what="line")
    with pytest.raises(InvalidInput) as refused:
        check_distinct(["A", "B", "A"], code="duplicate_serial_numbers", what="serial number")
    assert refused.value.code == "duplicate_serial_numbers" and refused.value.extra["repeated"] == ["A"]


UNITS = {
    "OK-1": UnitFacts("OK-1", "PASSED", "M1"),
    "WIP-1": UnitFacts("WIP-1", "IN_PROGRESS", "M1"),
    "NEW-1": UnitFacts("NEW-1", "CREATED", None),
    "OTHER-1": UnitFacts("OTHER-1", "PASSED", "M2"),
    "OTHER-2": UnitFacts("OTHER-2", "FAILED", "M2"),
}


def test_only_passed_units_of_the_lines_model_ship():
    check_units_shippable("M1", ["OK-1"], UNITS)
    with pytest.raises(NotFound) as refused:
        check_units_shippable("M1", ["OK-1", "GHOST"], UNITS)
    assert refused.value.code == "serial_not_found" and refused.value.extra["serial_number"] == "GHOST"
    with pytest.raises(Conflict) as refused:
        check_units_shippable("M1", ["WIP-1", "NEW-1"], UNITS)
    assert refused.value.code == "unit_not_passed" and refused.value.extra["unit_status"] == "IN_PROGRESS"
    assert [u["status"] for u in refused.value.extra["units"]] == ["IN_PROGRESS", "CREATED"]
    with pytest.raises(Conflict) as refused:  # the model first: that unit never ships on this line
        check_units_shippable("M1", ["OTHER-2", "WIP-1"], UNITS)
    assert refused.value.code == "wrong_model" and refused.value.extra["model_code"] == "M2"


def test_a_passed_unit_whose_model_is_unknown_does_not_ship():
    with pytest.raises(Conflict) as refused:
        check_units_shippable("M1", ["X"], {"X": UnitFacts("X", "PASSED", None)})
    assert refused.value.code == "wrong_model"


def test_units_out_by_serial_number_come_back_by_serial_number():
    line = LineMovements(ordered=D(10), moved=D(6))
    check_return_without_serials(1, line, units_out=4, quantity=D(2))  # two shipped without serials
    with pytest.raises(Conflict) as refused:
        check_return_without_serials(1, line, units_out=4, quantity=D(3))
    assert refused.value.code == "serial_numbers_required"
    assert refused.value.extra["returnable_without_serial_numbers"] == "2"


def test_closing_a_line_short():
    with pytest.raises(InvalidInput) as refused:
        check_line_closable(1, LineMovements(D(5), D(2)), "  ")
    assert refused.value.code == "reason_required"
    check_line_closable(1, LineMovements(D(5), D(2)), "customer cancelled the rest")
    with pytest.raises(Conflict) as refused:
        check_line_closable(1, LineMovements(D(5), D(5)), "why")
    assert refused.value.code == "line_fulfilled"
    with pytest.raises(Conflict) as refused:
        check_line_closable(1, LineMovements(D(5), D(2), closed_short=True), "again")
    assert refused.value.code == "line_closed"


def test_fulfilment_sums_the_lines_and_shows_production_until_something_ships():
    lines = [
        LineFacts(LineMovements(D(10)), produced=D(4), in_production=True),
        LineFacts(LineMovements(D(5))),
    ]
    total = order_fulfilment(lines, S.CONFIRMED)
    assert (total.ordered, total.open_balance, total.produced) == (D(15), D(15), D(4))
    assert total.shipment_state is ShipmentState.IN_PRODUCTION
    assert order_fulfilment(lines[1:], S.CONFIRMED).shipment_state is ShipmentState.NOT_SHIPPED


def test_fulfilment_after_shipments_returns_and_short_closes():
    shipped = LineFacts(LineMovements(D(10), moved=D(7), returned=D(2)), in_production=True)
    short = LineFacts(LineMovements(D(5), moved=D(3), closed_short=True))
    total = order_fulfilment([shipped, short], S.CONFIRMED)
    assert (total.shipped, total.returned, total.closed_short, total.open_balance) == (D(10), D(2), D(2), D(5))
    assert total.shipment_state is ShipmentState.PARTIALLY_SHIPPED
    assert order_fulfilment([short], S.CONFIRMED).shipment_state is ShipmentState.SHIPPED  # nothing more expected
    done = LineFacts(LineMovements(D(10), moved=D(10)))
    assert order_fulfilment([done, short], S.CONFIRMED).shipment_state is ShipmentState.SHIPPED


def test_closed_and_cancelled_orders_expect_nothing_more():
    returned_after_close = LineFacts(LineMovements(D(10), moved=D(10), returned=D(1)))
    closed = order_fulfilment([returned_after_close], S.CLOSED)
    assert closed.open_balance == 0 and closed.shipment_state is ShipmentState.SHIPPED
    cancelled = order_fulfilment([LineFacts(LineMovements(D(10)))], S.CANCELLED)
    assert cancelled.open_balance == 0 and cancelled.shipment_state is ShipmentState.NOT_SHIPPED


def test_overdue_means_promised_before_today_and_still_open_on_a_confirmed_order():
    today = date(2026, 11, 30)
    late = LineFacts(LineMovements(D(5), moved=D(4)), promised_date=date(2026, 11, 29))
    assert line_overdue(late, S.CONFIRMED, today)
    assert not line_overdue(late, S.DRAFT, today)
    assert not line_overdue(late, S.CLOSED, today)
    assert not line_overdue(LineFacts(LineMovements(D(5), moved=D(4)), promised_date=today), S.CONFIRMED, today)
    assert not line_overdue(
        LineFacts(LineMovements(D(5), moved=D(5)), promised_date=date(2020, 1, 1)), S.CONFIRMED, today
    )
    assert not line_overdue(LineFacts(LineMovements(D(5)), promised_date=None), S.CONFIRMED, today)


@pytest.mark.parametrize(
    ("value", "text"),
    [(D("10.000000"), "10"), (D("2.500000"), "2.5"), (D("0.000001"), "0.000001"), (D("19.0000"), "19"), (D(0), "0")],
)
def test_quantities_read_as_people_write_them(value, text):
    assert plain(value) == text


def test_amounts_beyond_the_columns_are_refused():
    check_amount_fits(D("9999999999999999.9999"))
    with pytest.raises(InvalidInput) as refused:
        check_amount_fits(D("10000000000000000"))
    assert refused.value.code == "amount_too_large"


def test_a_new_line_in_a_change_is_whole():
    SalesOrderLineChange(line_no=1, promised_date=None)
    SalesOrderLineChange(model_code="M", quantity="1", unit_price="2", tax_rate="0")
    with pytest.raises(ValueError, match="needs quantity"):
        SalesOrderLineChange(model_code="M", unit_price="2", tax_rate="0")


def test_a_whole_document_becomes_a_change_of_the_stored_one():
    line = {"model_code": "M", "quantity": "2", "unit_price": "1", "tax_rate": "0"}
    revision = SalesOrderCreate(customer_code="C", currency="EUR", lines=[line, line])
    change = SalesOrderUpdate.from_create(revision, existing_line_nos=[1, 2, 3])
    assert [c.line_no for c in change.lines] == [1, 2] and change.remove_lines == [3]
    grown = SalesOrderUpdate.from_create(revision, existing_line_nos=[1])
    assert [c.line_no for c in grown.lines] == [1, None] and grown.remove_lines == []
