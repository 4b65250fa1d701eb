from datetime import UTC, date, datetime

import pytest
from lathe_production.lots.rules import (
    LOT_TRANSITIONS,
    LotStatus,
    Shift,
    can_move,
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


def test_the_lot_date_is_the_plant_date():
    assert plant_date(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), "Asia/Seoul") == date(2026, 11, 23)


def test_lot_status_transitions():
    assert can_move(LotStatus.CREATED, LotStatus.IN_PROGRESS)
    assert can_move(LotStatus.IN_PROGRESS, LotStatus.COMPLETED)
    assert can_move(LotStatus.COMPLETED, LotStatus.CLOSED)
    assert can_move(LotStatus.IN_PROGRESS, LotStatus.CANCELLED)
    assert not can_move(LotStatus.CREATED, LotStatus.CLOSED)
    assert not can_move(LotStatus.COMPLETED, LotStatus.CANCELLED)
    assert LOT_TRANSITIONS[LotStatus.CLOSED] == LOT_TRANSITIONS[LotStatus.CANCELLED] == frozenset()


def test_requests_name_exactly_one_model_and_one_way_to_make_serials():
    with pytest.raises(ValidationError):
        LotCreate(target_quantity=10)
    with pytest.raises(ValidationError):
        SerialsCreate(count=3, serial_numbers=["A"])
    with pytest.raises(ValidationError, match="repeat"):
        SerialsCreate(serial_numbers=["A", "A"])
    with pytest.raises(ValidationError):
        SerialsCreate(serial_numbers=[" padded "])
