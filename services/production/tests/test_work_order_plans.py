"""How a work order's quantity becomes LOTs."""

import pytest
from lathe_common.errors import InvalidInput
from lathe_production.work_orders.rules import MAX_LOTS_PER_PLAN, check_plan_size, split_quantity


@pytest.mark.parametrize(
    ("quantity", "max_lot", "lots"),
    [
        (1, 100, [1]),
        (100, 100, [100]),
        (101, 100, [100, 1]),
        (250, 100, [100, 100, 50]),
        (300, 100, [100, 100, 100]),
        (7, 3, [3, 3, 1]),
        (5, 1, [1, 1, 1, 1, 1]),
    ],
)
def test_the_quantity_splits_into_full_lots_and_the_rest(quantity, max_lot, lots):
    assert split_quantity(quantity, max_lot) == lots
    assert sum(lots) == quantity and max(lots) <= max_lot


@pytest.mark.parametrize("quantity", [0, -5])
def test_nothing_to_plan_is_refused(quantity):
    with pytest.raises(InvalidInput) as refused:
        split_quantity(quantity, 100)
    assert refused.value.code == "invalid_quantity"


def test_a_plan_has_a_bounded_number_of_lots():
    check_plan_size(MAX_LOTS_PER_PLAN * 100, 100)
    with pytest.raises(InvalidInput) as refused:
        check_plan_size(MAX_LOTS_PER_PLAN * 100 + 1, 100)
    assert refused.value.code == "too_many_lots"
