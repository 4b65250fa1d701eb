"""Production days and shifts on the plant's clock: both sides of each shift boundary, the night
shift across midnight, daylight saving changes, and the windows the endpoints read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from lathe_analytics.floor.buckets import Bucket, PlantClock, Shift, days_between, minute_of

SEOUL = PlantClock("Asia/Seoul", 6, 18)  # UTC+9, no daylight saving
BERLIN = PlantClock("Europe/Berlin", 6, 18)  # CET/CEST


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone(timedelta(hours=9))).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 1, 5, 5, 59, 59), Bucket(date(2026, 1, 4), Shift.NIGHT)),  # before the day shift: last night
        ((2026, 1, 5, 6, 0, 0), Bucket(date(2026, 1, 5), Shift.DAY)),
        ((2026, 1, 5, 17, 59, 59), Bucket(date(2026, 1, 5), Shift.DAY)),
        ((2026, 1, 5, 18, 0, 0), Bucket(date(2026, 1, 5), Shift.NIGHT)),
        ((2026, 1, 5, 23, 59, 59), Bucket(date(2026, 1, 5), Shift.NIGHT)),
        ((2026, 1, 6, 0, 0, 0), Bucket(date(2026, 1, 5), Shift.NIGHT)),  # past midnight: still the 5th's night
        ((2026, 1, 6, 2, 30, 0), Bucket(date(2026, 1, 5), Shift.NIGHT)),
        ((2026, 1, 1, 3, 0, 0), Bucket(date(2025, 12, 31), Shift.NIGHT)),  # across a year too
    ],
)
def test_shift_boundaries_and_the_night_across_midnight(local, expected):
    assert SEOUL.bucket(seoul(*local)) == expected


def test_the_plant_zone_decides_not_utc():
    moment = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)  # 07:00 on the 6th in Seoul
    assert SEOUL.bucket(moment) == Bucket(date(2026, 1, 6), Shift.DAY)
    assert PlantClock("UTC").bucket(moment) == Bucket(date(2026, 1, 5), Shift.NIGHT)


def test_spring_forward_the_day_shift_starts_at_six_local():
    # 29 March 2026: clocks go from 02:00 CET to 03:00 CEST; 06:00 local is 04:00 UTC (05:00 the day before)
    assert BERLIN.bucket(datetime(2026, 3, 29, 3, 59, tzinfo=UTC)) == Bucket(date(2026, 3, 28), Shift.NIGHT)
    assert BERLIN.bucket(datetime(2026, 3, 29, 4, 0, tzinfo=UTC)) == Bucket(date(2026, 3, 29), Shift.DAY)
    assert BERLIN.bucket(datetime(2026, 3, 28, 4, 59, tzinfo=UTC)) == Bucket(date(2026, 3, 27), Shift.NIGHT)
    assert BERLIN.bucket(datetime(2026, 3, 28, 5, 0, tzinfo=UTC)) == Bucket(date(2026, 3, 28), Shift.DAY)
    # the night of the change is an hour shorter, and still one night
    assert BERLIN.bucket(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == Bucket(date(2026, 3, 28), Shift.NIGHT)


def test_fall_back_the_repeated_hour_stays_in_its_night():
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 local happens twice (00:30 and 01:30 UTC)
    for moment in (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)):
        assert BERLIN.bucket(moment) == Bucket(date(2026, 10, 24), Shift.NIGHT)
    assert BERLIN.bucket(datetime(2026, 10, 25, 4, 59, tzinfo=UTC)) == Bucket(date(2026, 10, 24), Shift.NIGHT)
    assert BERLIN.bucket(datetime(2026, 10, 25, 5, 0, tzinfo=UTC)) == Bucket(date(2026, 10, 25), Shift.DAY)
    assert BERLIN.bucket(datetime(2026, 10, 25, 16, 59, tzinfo=UTC)) == Bucket(date(2026, 10, 25), Shift.DAY)
    assert BERLIN.bucket(datetime(2026, 10, 25, 17, 0, tzinfo=UTC)) == Bucket(date(2026, 10, 25), Shift.NIGHT)


def test_a_moment_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        SEOUL.bucket(datetime(2026, 1, 5, 12, 0))


@pytest.mark.parametrize(("day", "night"), [(18, 6), (6, 6), (-1, 18), (6, 24)])
def test_the_day_shift_starts_first(day, night):
    with pytest.raises(ValueError):
        PlantClock("UTC", day, night)


def test_today_window_and_week_follow_the_production_day():
    early = seoul(2026, 1, 5, 3, 0, 0)  # Monday 03:00: still Sunday's night shift
    assert SEOUL.today(early) == date(2026, 1, 4)
    assert SEOUL.week_start(early) == date(2025, 12, 29)  # Sunday belongs to the week before
    later = seoul(2026, 1, 5, 7, 0, 0)
    assert SEOUL.week_start(later) == date(2026, 1, 5)
    assert SEOUL.window(1, later) == (date(2026, 1, 5), date(2026, 1, 5))
    assert SEOUL.window(7, later) == (date(2025, 12, 30), date(2026, 1, 5))
    with pytest.raises(ValueError):
        SEOUL.window(0, later)


def test_minutes_are_utc_minutes():
    assert minute_of(seoul(2026, 1, 5, 7, 30, 59)) == datetime(2026, 1, 4, 22, 30, tzinfo=UTC)
    kathmandu = datetime(2026, 1, 5, 7, 30, 59, tzinfo=timezone(timedelta(hours=5, minutes=45)))
    assert minute_of(kathmandu) == datetime(2026, 1, 5, 1, 45, tzinfo=UTC)


def test_days_between_includes_both_ends():
    assert days_between(date(2026, 2, 27), date(2026, 3, 2)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert days_between(date(2026, 3, 2), date(2026, 3, 2)) == [date(2026, 3, 2)]
