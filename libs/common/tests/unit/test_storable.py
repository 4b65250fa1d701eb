import json
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
        9.2e18,
        -9.2e18,
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
        # JSONB would write these back as integers beyond 64 bits (1e20 -> 100000000000000000000)
        ({"m": float(2**63)}, "m", "is a number beyond ±9.2e18"),
        ({"m": -float(2**63)}, "m", "is a number beyond ±9.2e18"),
        ({"m": 1.5e308}, "m", "is a number beyond ±9.2e18"),
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


@pytest.mark.parametrize(
    ("value", "path", "problem"),
    [
        ({"a": [{"b": [1, "\x00"]}]}, "a[0].b[1]", "contains a NUL character"),
        ([0, [1, float("nan")]], "[1][1]", "is not a finite number"),
        ((1, 2, INT64_MAX + 1), "[2]", "is an integer beyond 64 bits"),
        ({"a": {"b\x00c": 1}}, "a.b\\u0000c", "the key contains a NUL character"),
        ({1: "\x00"}, "1", "contains a NUL character"),
        ({"d": Decimal("Infinity")}, "d", "is not a finite number"),
        ({"d": Decimal("-Infinity")}, "d", "is not a finite number"),
        (float("nan"), "", "is not a finite number"),
    ],
)
def test_the_place_of_an_unstorable_value(value, path, problem):
    with pytest.raises(UnstorableValue) as raised:
        check_storable(value)
    assert (raised.value.path, raised.value.problem) == (path, problem)
    assert str(raised.value) == f"{path or 'value'}: {problem}"


@pytest.mark.parametrize("value", [0, -1, 0.0, -0.0, 1e-320, -9.2e18, Decimal("-1e-30"), False, b"\x00", object()])
def test_numbers_within_range_and_values_that_are_not_json_are_not_refused_here(value):
    check_storable(value)


def test_a_deep_value_is_walked_without_recursion():
    deep: list = []
    for _ in range(5_000):
        deep = [deep]
    check_storable(deep)
    deep_bad: list = ["\x00"]
    for _ in range(5_000):
        deep_bad = [deep_bad]
    with pytest.raises(UnstorableValue) as raised:
        check_storable(deep_bad)
    assert raised.value.path == "[0]" * 5_000 + "[0]"


def test_parsing_text_as_well_as_bytes():
    assert parse_storable_json('{"a": 1.5}') == {"a": 1.5}
    assert parse_storable_json(b"[]") == []
    with pytest.raises(ValueError) as raised:
        parse_storable_json(b"{")
    assert not isinstance(raised.value, UnstorableValue)
    with pytest.raises(UnstorableValue) as raised:
        parse_storable_json(b'{"a": -Infinity}')
    assert raised.value.path == "a"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "\\u0000"}',
        b'{"k\\u0000": 1}',
        b'{"a": [1, {"b": NaN}]}',
        b'{"a": -Infinity}',
        b'{"a": 1e400}',
        b'{"a": 9223372036854775808}',
        b'{"a": -9223372036854775809}',
        b'{"a": 1e20}',
        b'{"a": [-9.3e18]}',
        b'[[[["\\u0000"]]]]',
    ],
)
def test_parsing_finds_what_the_walk_finds_with_its_place(raw):
    """parse_storable_json checks without places first (fast), then walks for the place: the
    refusal is the walk's, word for word."""
    with pytest.raises(UnstorableValue) as parsed:
        parse_storable_json(raw)
    with pytest.raises(UnstorableValue) as walked:
        check_storable(json.loads(raw))
    assert (parsed.value.path, parsed.value.problem) == (walked.value.path, walked.value.problem)


def test_parsing_passes_storable_json_of_every_kind():
    raw = b'{"s": "x", "i": 9223372036854775807, "n": -9223372036854775808, "f": 9.2e18, "b": false, "z": null,'
    raw += b' "l": [[], {}, "\\u0001"], "e": 1e-320}'
    assert parse_storable_json(raw)["l"] == [[], {}, "\x01"]
