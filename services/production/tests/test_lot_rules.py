from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from lathe_common.errors import Conflict
from lathe_production.lots.rules import (
    DONE,
    FINISHED,
    LOT_TRANSITIONS,
    OPEN_LOT_STATUSES,
    LotStatus,
    SerialStatus,
    Shift,
    can_move,
    check_not_on_hold,
    check_unit_open,
    lot_number,
    plant_date,
    serial_number,
    shift_at,
)
from lathe_production.lots.schemas import LotCreate, SerialsCreate
from pydantic import ValidationError


def test_lot_numbers_follow_the_plant_format():
    assert lot_number("WF-KR", date(2024, 11, 18), Shift.DAY, 1) == "WF-KR-241118D-001"
    assert lot_number("WF-KR", date(2024, 11, 18), Shift.NIGHT, 42) == "WF-KR-241118N-042"
    assert lot_number("WF-KR", date(2024, 11, 18), Shift.DAY, 1234) == "WF-KR-241118D-1234"
    assert serial_number("WF-KR-241118D-001", 7) == "WF-KR-241118D-001-0007"


@pytest.mark.parametrize(
    "utc_hour,zone,expected",
    [
        (5, "UTC", Shift.NIGHT),
        (6, "UTC", Shift.DAY),
        (17, "UTC", Shift.DAY),
        (18, "UTC", Shift.NIGHT),
        (21, "Asia/Seoul", Shift.DAY),
        (10, "Asia/Seoul", Shift.NIGHT),
    ],
)
def test_the_shift_follows_the_plant_clock(utc_hour, zone, expected):
    moment = datetime(2026, 11, 22, utc_hour, 30, tzinfo=UTC)
    assert shift_at(moment, zone, day_starts=6, night_starts=18) is expected


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # The boundaries themselves, to the second, on the plant's clock.
        (datetime(2026, 11, 22, 5, 59, 59, tzinfo=UTC), "UTC", Shift.NIGHT),
        (datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC), "UTC", Shift.DAY),
        (datetime(2026, 11, 22, 17, 59, 59, tzinfo=UTC), "UTC", Shift.DAY),
        (datetime(2026, 11, 22, 18, 0, 0, tzinfo=UTC), "UTC", Shift.NIGHT),
        (datetime(2026, 11, 22, 0, 0, 0, tzinfo=UTC), "UTC", Shift.NIGHT),
        (datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC), "UTC", Shift.NIGHT),
        # Seoul is UTC+9: 06:00 there is 21:00 UTC the day before, 18:00 there is 09:00 UTC.
        (datetime(2026, 11, 21, 20, 59, 59, tzinfo=UTC), "Asia/Seoul", Shift.NIGHT),
        (datetime(2026, 11, 21, 21, 0, 0, tzinfo=UTC), "Asia/Seoul", Shift.DAY),
        (datetime(2026, 11, 22, 8, 59, 59, tzinfo=UTC), "Asia/Seoul", Shift.DAY),
        (datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC), "Asia/Seoul", Shift.NIGHT),
        # A moment given in another zone is judged on the plant's clock, not its own.
        (datetime(2026, 11, 22, 6, 0, tzinfo=ZoneInfo("Asia/Seoul")), "UTC", Shift.NIGHT),
        # Chicago in summer (UTC-5) and in winter (UTC-6): the same UTC hour, different shifts.
        (datetime(2026, 7, 1, 11, 0, tzinfo=UTC), "America/Chicago", Shift.DAY),
        (datetime(2026, 1, 15, 11, 0, tzinfo=UTC), "America/Chicago", Shift.NIGHT),
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), "America/Chicago", Shift.DAY),
    ],
)
def test_shift_boundaries_on_the_plant_clock(moment, zone, expected):
    assert shift_at(moment, zone, day_starts=6, night_starts=18) is expected


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(6, Shift.NIGHT), (7, Shift.DAY), (18, Shift.DAY), (19, Shift.NIGHT), (22, Shift.NIGHT)],
)
def test_shift_hours_are_the_plants_setting(hour, expected):
    moment = datetime(2026, 11, 22, hour, 0, tzinfo=UTC)
    assert shift_at(moment, "UTC", day_starts=7, night_starts=19) is expected


def test_the_lot_date_is_the_plant_date():
    assert plant_date(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), "Asia/Seoul") == date(2026, 11, 23)
    # Midnight in Seoul is 15:00 UTC.
    assert plant_date(datetime(2026, 11, 22, 14, 59, 59, tzinfo=UTC), "Asia/Seoul") == date(2026, 11, 22)
    assert plant_date(datetime(2026, 11, 22, 15, 0, 0, tzinfo=UTC), "Asia/Seoul") == date(2026, 11, 23)
    assert plant_date(datetime(2026, 11, 23, 1, 0, tzinfo=UTC), "America/Chicago") == date(2026, 11, 22)
    assert plant_date(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "UTC") == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("prefix", "day", "shift", "sequence", "expected"),
    [
        ("WF-KR", date(2024, 11, 18), Shift.DAY, 1, "WF-KR-241118D-001"),
        ("WF-KR", date(2024, 11, 18), Shift.NIGHT, 42, "WF-KR-241118N-042"),
        ("WF-KR", date(2024, 11, 18), Shift.DAY, 999, "WF-KR-241118D-999"),
        ("WF-KR", date(2024, 11, 18), Shift.DAY, 1000, "WF-KR-241118D-1000"),
        ("P", date(2030, 1, 2), Shift.NIGHT, 7, "P-300102N-007"),
    ],
)
def test_lot_number_digits(prefix, day, shift, sequence, expected):
    assert lot_number(prefix, day, shift, sequence) == expected


@pytest.mark.parametrize(
    ("sequence", "expected"), [(1, "L-0001"), (42, "L-0042"), (9999, "L-9999"), (10000, "L-10000")]
)
def test_serial_number_digits(sequence, expected):
    assert serial_number("L", sequence) == expected


# Every pair of LOT statuses: the moves a LOT may make, and (by omission) the ones it may not.
ALLOWED_MOVES = {
    (LotStatus.CREATED, LotStatus.IN_PROGRESS),
    (LotStatus.CREATED, LotStatus.CANCELLED),
    (LotStatus.IN_PROGRESS, LotStatus.COMPLETED),
    (LotStatus.IN_PROGRESS, LotStatus.CANCELLED),
    (LotStatus.COMPLETED, LotStatus.CLOSED),
}


@pytest.mark.parametrize("current", list(LotStatus))
@pytest.mark.parametrize("new", list(LotStatus))
def test_lot_status_transitions(current, new):
    assert can_move(current, new) is ((current, new) in ALLOWED_MOVES)


def test_the_transition_table_names_every_status_and_the_ends_lead_nowhere():
    assert set(LOT_TRANSITIONS) == set(LotStatus)
    assert LOT_TRANSITIONS[LotStatus.CLOSED] == LOT_TRANSITIONS[LotStatus.CANCELLED] == frozenset()
    assert {(a, b) for a, targets in LOT_TRANSITIONS.items() for b in targets} == ALLOWED_MOVES


def test_open_lots_are_created_or_in_progress():
    assert OPEN_LOT_STATUSES == {LotStatus.CREATED, LotStatus.IN_PROGRESS}


# --- a unit's lifecycle ---------------------------------------------------------------------------


def test_finished_means_passed_failed_or_scrapped():
    assert FINISHED == {SerialStatus.PASSED, SerialStatus.FAILED, SerialStatus.SCRAPPED}


@pytest.mark.parametrize("status", [SerialStatus.CREATED, SerialStatus.IN_PROGRESS])
def test_an_open_unit_runs_steps(status):
    check_unit_open(status)


def test_a_scrapped_unit_has_used_its_reworks():
    with pytest.raises(Conflict) as refused:
        check_unit_open(SerialStatus.SCRAPPED)
    assert (refused.value.status, refused.value.code) == (409, "rework_exhausted")
    assert refused.value.detail == "The unit was scrapped; it runs no more steps."


def test_a_passed_unit_runs_no_more_steps():
    with pytest.raises(Conflict) as refused:
        check_unit_open(SerialStatus.PASSED)
    assert (refused.value.status, refused.value.code) == (409, "serial_finished")
    assert refused.value.detail == "The unit is PASSED; it runs no more steps."


def test_a_failed_unit_waits_for_its_disposition():
    with pytest.raises(Conflict) as refused:
        check_unit_open(SerialStatus.FAILED)
    assert (refused.value.status, refused.value.code) == (409, "awaiting_disposition")


def test_only_passed_and_scrapped_units_are_done():
    assert DONE == {SerialStatus.PASSED, SerialStatus.SCRAPPED}


@pytest.mark.parametrize(("unit_held", "lot_held"), [(True, False), (False, True), (True, True)])
def test_nothing_is_recorded_on_a_held_unit_or_lot(unit_held, lot_held):
    with pytest.raises(Conflict) as refused:
        check_not_on_hold(unit_held=unit_held, lot_held=lot_held, subject="Unit U1")
    assert (refused.value.status, refused.value.code) == (409, "on_hold")
    assert refused.value.extra == {"lot_on_hold": lot_held}
    check_not_on_hold(unit_held=False, lot_held=False, subject="Unit U1")


def test_requests_name_exactly_one_model_and_one_way_to_make_serials():
    with pytest.raises(ValidationError):
        LotCreate(target_quantity=10)
    with pytest.raises(ValidationError):
        SerialsCreate(count=3, serial_numbers=["A"])
    with pytest.raises(ValidationError, match="repeat"):
        SerialsCreate(serial_numbers=["A", "A"])
    with pytest.raises(ValidationError):
        SerialsCreate(serial_numbers=[" padded "])
