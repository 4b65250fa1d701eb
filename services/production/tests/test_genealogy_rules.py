"""What may be built into a unit: pure rules, no database."""

from decimal import Decimal

import pytest
from lathe_common.errors import Conflict
from lathe_production.genealogy.rules import (
    check_component_usable,
    check_lot_quantity,
    check_lot_usable,
    quantities_by_lot,
    remaining_quantity,
)
from lathe_production.lots.rules import LotStatus, SerialStatus


@pytest.mark.parametrize("status", list(SerialStatus))
def test_which_units_may_be_components(status):
    usable = status not in {SerialStatus.FAILED, SerialStatus.SCRAPPED}
    if usable:
        check_component_usable("SN-1", status)
    else:
        with pytest.raises(Conflict):
            check_component_usable("SN-1", status)


@pytest.mark.parametrize("status", list(LotStatus))
def test_which_lots_may_be_consumed_from(status):
    usable = status not in {LotStatus.CANCELLED, LotStatus.CLOSED}
    if usable:
        check_lot_usable("LOT-1", status)
    else:
        with pytest.raises(Conflict):
            check_lot_usable("LOT-1", status)


@pytest.mark.parametrize("status", [SerialStatus.FAILED, SerialStatus.SCRAPPED])
def test_a_failed_or_scrapped_unit_is_not_a_component(status):
    with pytest.raises(Conflict) as refused:
        check_component_usable("SN-1", status)
    assert refused.value.code == "component_not_usable"
    assert refused.value.extra == {"serial_number": "SN-1", "serial_status": status.value}
    assert refused.value.status == 409
    assert refused.value.detail == f"Unit SN-1 is {status}; it cannot be built into another unit."


@pytest.mark.parametrize("status", [SerialStatus.CREATED, SerialStatus.IN_PROGRESS, SerialStatus.PASSED])
def test_good_or_unfinished_units_are_components(status):
    check_component_usable("SN-1", status)


@pytest.mark.parametrize("status", [LotStatus.CANCELLED, LotStatus.CLOSED])
def test_nothing_is_consumed_from_a_cancelled_or_closed_lot(status):
    with pytest.raises(Conflict) as refused:
        check_lot_usable("LOT-1", status)
    assert refused.value.code == "lot_not_usable"
    assert refused.value.extra == {"lot_number": "LOT-1", "lot_status": status.value}
    assert refused.value.status == 409
    assert refused.value.detail == f"LOT LOT-1 is {status}; nothing can be consumed from it."


@pytest.mark.parametrize("status", [LotStatus.CREATED, LotStatus.IN_PROGRESS, LotStatus.COMPLETED])
def test_open_and_completed_lots_can_be_consumed(status):
    check_lot_usable("LOT-1", status)


def test_a_lot_gives_up_to_what_it_holds_and_no_more():
    check_lot_quantity("LOT-1", holds=10, consumed=Decimal("7.5"), wanted=Decimal("2.5"))  # exactly empties it
    with pytest.raises(Conflict) as refused:
        check_lot_quantity("LOT-1", holds=10, consumed=Decimal("7.5"), wanted=Decimal("2.5001"))
    assert (refused.value.status, refused.value.code) == (409, "lot_quantity_exceeded")
    assert refused.value.extra == {
        "lot_number": "LOT-1",
        "remaining_quantity": "2.5",
        "requested_quantity": "2.5001",
        "target_quantity": "10",
    }
    assert refused.value.detail == "LOT LOT-1 has 2.5 left, not 2.5001."
    assert remaining_quantity(10, Decimal("7.5")) == Decimal("2.5")


@pytest.mark.parametrize(
    ("holds", "consumed", "wanted", "allowed"),
    [
        (10, Decimal(0), Decimal(10), True),
        (10, Decimal(0), Decimal("10.0001"), False),
        (Decimal("0.5"), Decimal(0), Decimal("0.5"), True),
        (Decimal("0.5"), Decimal("0.5"), Decimal(0), True),
        (Decimal("0.5"), Decimal("0.5"), Decimal("0.0001"), False),
        (0, Decimal(0), Decimal("0.0001"), False),
    ],
)
def test_a_lot_quantity_boundary(holds, consumed, wanted, allowed):
    if allowed:
        check_lot_quantity("L", holds=holds, consumed=consumed, wanted=wanted)
    else:
        with pytest.raises(Conflict):
            check_lot_quantity("L", holds=holds, consumed=consumed, wanted=wanted)


def test_the_remaining_quantity_is_a_decimal_even_of_a_whole_target():
    remaining = remaining_quantity(3, Decimal("1.25"))
    assert isinstance(remaining, Decimal) and str(remaining) == "1.75"
    assert remaining_quantity(Decimal("3"), Decimal(3)) == 0


def test_a_request_naming_a_lot_twice_asks_for_the_sum():
    asked = quantities_by_lot([("A", Decimal("1.5")), ("B", Decimal(2)), ("A", Decimal("0.5"))])
    assert asked == {"A": Decimal(2), "B": Decimal(2)}
    assert type(asked) is dict and list(asked) == ["A", "B"]
    assert quantities_by_lot([]) == {}
