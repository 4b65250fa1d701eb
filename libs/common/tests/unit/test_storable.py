from decimal import Decimal

import pytest
from lathe_common.storable import INT64_MAX, INT64_MIN, UnstorableValue, check_storable, parse_storable_json
from pydantic import BaseModel


class Reading(BaseModel):
    name: str
    values: dict[str, object]


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "plain text with \\u0000 written out",
        INT64_MAX,
        INT64_MIN,
        1.5e308,
        Decimal("1.25"),
        {"nested": [{"deep": ["ok", 1, 2.5]}]},
        Reading(name="ok", values={"a": 1}),
    ],
)
def test_storable_values_pass(value):
    check_storable(value)


@pytest.mark.parametrize(
    ("value", "path", "problem"),
    [
        ("a\x00b", "", "contains a NUL character"),
        ({"k\x00": 1}, "k\\u0000", "the key contains a NUL character"),
        ({"m": [1, float("nan")]}, "m[1]", "is not a finite number"),
        ({"m": float("inf")}, "m", "is not a finite number"),
        ({"m": -float("inf")}, "m", "is not a finite number"),
        ({"m": INT64_MAX + 1}, "m", "is an integer beyond 64 bits"),
        ({"m": INT64_MIN - 1}, "m", "is an integer beyond 64 bits"),
        ({"m": Decimal("NaN")}, "m", "is not a finite number"),
        (Reading(name="x", values={"v": {"w": "\x00"}}), "values.v.w", "contains a NUL character"),
    ],
)
def test_unstorable_values_are_found_with_their_place(value, path, problem):
    with pytest.raises(UnstorableValue) as raised:
        check_storable(value)
    assert (raised.value.path, raised.value.problem, raised.value.code) == (path, problem, "invalid_value")


def test_parsing_refuses_what_python_json_accepts_and_the_database_does_not():
    assert parse_storable_json(b'{"a": [1, "b"]}') == {"a": [1, "b"]}
    for raw in (b'{"a": NaN}', b'{"a": 1e400}', b'{"a": "\\u0000"}'):
        with pytest.raises(UnstorableValue):
            parse_storable_json(raw)
    with pytest.raises(ValueError, match="recursion limit"):
        parse_storable_json(b"[" * 1000 + b"]" * 1000)
