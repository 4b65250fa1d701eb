"""Cursors: what a list gives out it takes back; anything else is a 422, never a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from lathe_common.errors import InvalidInput
from lathe_common.keyset import Keyset
from sqlalchemy import Date, DateTime, Integer, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String)


NEWEST = Keyset("rows", (Row.at, Row.id))
MIXED = Keyset("mixed", (Row.day, Row.n, Row.name), descending=False)


def test_a_cursor_gives_back_the_values_of_the_row_it_was_made_from():
    row = SimpleNamespace(at=datetime(2026, 11, 30, 8, 1, 2, 345678, tzinfo=UTC), id=uuid.uuid4())
    assert NEWEST.values_of(NEWEST.cursor_of(row)) == [row.at, row.id]
    other = SimpleNamespace(day=date(2026, 1, 2), n=7, name="ä/b")
    assert MIXED.values_of(MIXED.cursor_of(other)) == [date(2026, 1, 2), 7, "ä/b"]


def test_cursors_are_url_safe_without_padding():
    cursor = NEWEST.cursor_of(SimpleNamespace(at=datetime.now(UTC), id=uuid.uuid4()))
    assert cursor.replace("-", "").replace("_", "").isalnum() and "=" not in cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not-base64-at-all",
        "AAAA",
        Keyset("other-list", (Row.at, Row.id)).cursor_of(SimpleNamespace(at=datetime.now(UTC), id=uuid.uuid4())),
        Keyset("rows", (Row.at,)).cursor_of(SimpleNamespace(at=datetime.now(UTC))),  # too few values
        "WyJyb3dzIixbIjIwMjYtMTEtMzBUMDg6MDE6MDIiLCJlNTcyIl1d",  # ["rows",["2026-11-30T08:01:02","e572"]]: no zone
        "WyJyb3dzIixbMTIzLDQ1Nl1d",  # ["rows",[123,456]]
        "WyJyb3dzIiwiZm9vIl0",  # ["rows","foo"]
        "WyJyb3dzIl0",  # ["rows"]
    ],
)
def test_anything_else_is_an_invalid_cursor(cursor):
    with pytest.raises(InvalidInput) as refused:
        NEWEST.values_of(cursor)
    assert refused.value.code == "invalid_cursor" and refused.value.status == 422


@pytest.mark.parametrize("values", [["2026-01-02", True, "x"], ["2026-01-02", "7", "x"], ["2026-01-02", 7, 8]])
def test_values_of_the_wrong_type_are_refused(values):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(["mixed", values]).encode()).decode().rstrip("=")
    with pytest.raises(InvalidInput):
        MIXED.values_of(cursor)


def test_the_order_and_the_range_follow_the_direction():
    from sqlalchemy import select
    from sqlalchemy.dialects import postgresql

    def sql(statement) -> str:
        return str(statement.compile(dialect=postgresql.dialect()))

    newest = sql(NEWEST.after(NEWEST.order(select(Row)), [datetime.now(UTC), uuid.uuid4()]))
    assert "ORDER BY rows.at DESC, rows.id DESC" in newest and "(rows.at, rows.id) < (" in newest
    oldest = sql(MIXED.after(MIXED.order(select(Row)), [date.today(), 1, "a"]))
    assert (
        "ORDER BY rows.day ASC, rows.n ASC, rows.name ASC" in oldest and "(rows.day, rows.n, rows.name) > (" in oldest
    )


def test_a_cursor_is_the_list_name_and_the_values_as_compact_base64_json():
    import base64
    import json

    row = SimpleNamespace(at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), id=uuid.UUID(int=1))
    cursor = NEWEST.cursor_of(row)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert raw == b'["rows",["2026-01-02T03:04:05+00:00","00000000-0000-0000-0000-000000000001"]]'
    assert json.loads(raw) == ["rows", ["2026-01-02T03:04:05+00:00", str(uuid.UUID(int=1))]]
    mixed = MIXED.cursor_of(SimpleNamespace(day=date(2026, 1, 2), n=-3, name=""))
    assert base64.urlsafe_b64decode(mixed + "=" * (-len(mixed) % 4)) == b'["mixed",["2026-01-02",-3,""]]'


@pytest.mark.parametrize("name", ["", "a", "ab", "abc", "abcd"])  # every length of base64 padding
def test_cursors_of_every_length_come_back(name):
    row = SimpleNamespace(day=date(2026, 1, 2), n=0, name=name)
    cursor = MIXED.cursor_of(row)
    assert "=" not in cursor
    assert MIXED.values_of(cursor) == [date(2026, 1, 2), 0, name]


def test_values_come_back_as_the_columns_types():
    at, day = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), date(2026, 1, 2)
    values = NEWEST.values_of(NEWEST.cursor_of(SimpleNamespace(at=at, id=uuid.UUID(int=7))))
    assert type(values[0]) is datetime and type(values[1]) is uuid.UUID and values == [at, uuid.UUID(int=7)]
    values = MIXED.values_of(MIXED.cursor_of(SimpleNamespace(day=day, n=2**40, name="x")))
    assert type(values[0]) is date and values == [day, 2**40, "x"]


@pytest.mark.parametrize(
    "values",
    [
        ["2026-01-02T03:04:05+00:00", "not-a-uuid"],
        ["yesterday", "00000000-0000-0000-0000-000000000001"],
        [12, "00000000-0000-0000-0000-000000000001"],
        ["2026-01-02T03:04:05+00:00", None],
    ],
)
def test_values_that_do_not_parse_as_their_column_are_refused(values):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(["rows", values]).encode()).decode().rstrip("=")
    with pytest.raises(InvalidInput) as refused:
        NEWEST.values_of(cursor)
    assert refused.value.detail == "The cursor is not one this list gave out; start again without it."


def test_a_date_cursor_value_must_be_a_date():
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(["mixed", ["not a day", 1, "x"]]).encode()).decode()
    with pytest.raises(InvalidInput):
        MIXED.values_of(cursor)
