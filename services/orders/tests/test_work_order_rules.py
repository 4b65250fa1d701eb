"""Work-order rules: what changes after the release, where progress moves a work order, how much
scrap is made again, and the plant's "today"."""

from datetime import UTC, date, datetime

import pytest
from lathe_common.errors import Conflict, InvalidInput
from lathe_orders.fulfilment import WorkOrderProgress
from lathe_orders.lifecycles import WORK_ORDER
from lathe_orders.lifecycles import WorkOrderStatus as W
from lathe_orders.work_orders.rules import (
    check_dates,
    check_editable,
    plant_today,
    progress_change,
    replacement_quantity,
    settle,
)


def test_a_draft_changes_every_field():
    check_editable(W.DRAFT, ["model_code", "quantity", "create_serials", "replace_scrap", "sales_order_line_id"])


@pytest.mark.parametrize("status", [W.RELEASED, W.IN_PROGRESS, W.STOPPED])
def test_after_the_release_only_dates_priority_notes_and_quantity_change(status):
    check_editable(status, ["planned_start", "due_date", "priority", "notes", "quantity"])
    with pytest.raises(Conflict) as refused:
        check_editable(status, ["due_date", "model_code", "create_serials"])
    assert refused.value.code == "locked_after_release"
    assert refused.value.extra["fields"] == ["create_serials", "model_code"]


@pytest.mark.parametrize("status", [W.COMPLETED, W.CLOSED, W.CANCELLED])
def test_a_finished_work_order_changes_nothing(status):
    with pytest.raises(Conflict) as refused:
        check_editable(status, ["notes"])
    assert refused.value.code == "not_editable"


def test_the_planned_start_is_not_after_the_due_date():
    check_dates(date(2026, 1, 1), date(2026, 1, 1))
    check_dates(None, date(2026, 1, 1))
    check_dates(date(2026, 1, 1), None)
    with pytest.raises(InvalidInput) as refused:
        check_dates(date(2026, 1, 2), date(2026, 1, 1))
    assert refused.value.code == "planned_start_after_due_date"


def progress(good=0, scrapped=0, in_progress=0, quantity=10) -> WorkOrderProgress:
    return WorkOrderProgress(quantity, good, scrapped, in_progress)


def test_the_first_step_starts_a_released_work_order():
    settled = settle(W.RELEASED, progress(in_progress=1), started=True)
    assert (settled.status, settled.started, settled.completed) == (W.IN_PROGRESS, True, False)
    assert progress_change(settled) == "started"


def test_nothing_started_leaves_it_released():
    settled = settle(W.RELEASED, progress(), started=False)
    assert (settled.status, settled.started, settled.completed) == (W.RELEASED, False, False)
    assert progress_change(settled) == "progress"


def test_good_reaching_the_quantity_completes_it():
    assert settle(W.IN_PROGRESS, progress(good=9, scrapped=3), started=True).status is W.IN_PROGRESS
    settled = settle(W.IN_PROGRESS, progress(good=10, scrapped=3), started=True)
    assert (settled.status, settled.started, settled.completed) == (W.COMPLETED, False, True)
    assert settle(W.IN_PROGRESS, progress(good=12), started=True).status is W.COMPLETED  # over-produced
    assert progress_change(settled) == "completed"


def test_started_and_done_in_one_batch_goes_through_in_progress():
    settled = settle(W.RELEASED, progress(good=10), started=True)
    assert (settled.status, settled.started, settled.completed) == (W.COMPLETED, True, True)
    assert WORK_ORDER.allows(W.RELEASED, W.IN_PROGRESS) and WORK_ORDER.allows(W.IN_PROGRESS, W.COMPLETED)
    assert progress_change(settled) == "completed"


@pytest.mark.parametrize("status", [W.DRAFT, W.STOPPED, W.COMPLETED, W.CLOSED, W.CANCELLED])
def test_progress_moves_no_other_status(status):
    settled = settle(status, progress(good=10), started=True)
    assert (settled.status, settled.started, settled.completed) == (status, False, False)


def test_each_scrapped_unit_is_asked_for_once():
    ask = dict(replace_scrap=True, status=W.IN_PROGRESS)
    assert replacement_quantity(**ask, scrapped=0, replaced=0) == 0
    assert replacement_quantity(**ask, scrapped=2, replaced=0) == 2
    assert replacement_quantity(**ask, scrapped=2, replaced=2) == 0  # asked before
    assert replacement_quantity(**ask, scrapped=5, replaced=2) == 3  # only the new ones
    assert replacement_quantity(replace_scrap=True, status=W.RELEASED, scrapped=1, replaced=0) == 1


def test_scrap_is_not_replaced_unless_asked_and_active():
    assert replacement_quantity(replace_scrap=False, status=W.IN_PROGRESS, scrapped=3, replaced=0) == 0
    for status in (W.STOPPED, W.COMPLETED, W.CLOSED, W.CANCELLED, W.DRAFT):
        assert replacement_quantity(replace_scrap=True, status=status, scrapped=3, replaced=0) == 0


def test_today_is_the_plants():
    late_evening_utc = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert plant_today("UTC", late_evening_utc) == date(2026, 3, 1)
    assert plant_today("Asia/Seoul", late_evening_utc) == date(2026, 3, 2)
    assert plant_today("America/Chicago", datetime(2026, 3, 1, 3, 0, tzinfo=UTC)) == date(2026, 2, 28)
