"""Values that pass JSON and schema validation but that PostgreSQL cannot store.

JSON and pydantic accept them; the database refuses them in the middle of a transaction, which
would turn one bad request into a 500 and one bad Kafka record into a failed batch:
- NUL (``\\u0000``) in any string, keys included: PostgreSQL text and JSONB cannot hold it;
- NaN and ±Infinity (Python's JSON parsers accept ``NaN``, ``Infinity`` and ``1e400``): JSONB and
  the numeric columns refuse them;
- integers beyond 64 bits: no column or JSON consumer of ours handles them; nor numbers of that
  size written with an exponent (1e20), which JSONB turns into such integers.

They are found here, before any statement runs: the HTTP request guard answers 422
``invalid_value`` and the consumers dead-letter with reason ``invalid_value``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from pydantic_core import from_json

INVALID_VALUE = "invalid_value"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# PostgreSQL keeps a JSON number as NUMERIC and writes it back without an exponent: 1e20 stored in
# JSONB comes back as the integer 100000000000000000000, beyond 64 bits, which every consumer of an
# event built from that row refuses. So numbers are bounded where they come in.
FLOAT_BOUND = float(2**63)


class UnstorableValue(ValueError):
    """A value the database cannot store; ``path`` says where it sits (e.g. ``measurements.offset``)."""

    code = INVALID_VALUE

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'value'}: {problem}")
        self.path = path
        self.problem = problem


def _problem(value: Any) -> str | None:
    if isinstance(value, str):
        return "contains a NUL character" if "\x00" in value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else "is an integer beyond 64 bits"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "is not a finite number"
        return None if -FLOAT_BOUND < value < FLOAT_BOUND else "is a number beyond ±9.2e18"
    if isinstance(value, Decimal):
        return None if value.is_finite() else "is not a finite number"
    return None


def check_storable(value: Any) -> None:
    """Raise ``UnstorableValue`` for the first unstorable value inside ``value`` (JSON-like data,
    pydantic models, lists and mappings, walked without recursion)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, BaseModel):
            item = item.__dict__
        if isinstance(item, Mapping):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and "\x00" in key:
                    raise UnstorableValue(where.replace("\x00", "\\u0000"), "the key contains a NUL character")
                stack.append((where, child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
        elif (problem := _problem(item)) is not None:
            raise UnstorableValue(path, problem)


def _plainly_storable(data: Any) -> bool:
    """Whether parsed JSON (dicts, lists, strings, numbers, booleans, None) holds nothing
    ``check_storable`` refuses. The same checks without the places: building a path for every value
    cost several times the parse itself, on every record a consumer reads. False on any doubt
    (a type JSON does not produce), so the caller walks again with places."""
    stack = [data]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item:
                return False
        elif kind is dict:
            for key, value in item.items():
                if type(key) is not str or "\x00" in key:
                    return False
                push(value)
        elif kind is list:
            extend(item)
        elif kind is float:
            if not -FLOAT_BOUND < item < FLOAT_BOUND:  # NaN compares False: refused too
                return False
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif kind is not bool and item is not None:
            return False
    return True


def parse_storable_json(raw: bytes | str) -> Any:
    """JSON that the database can store. Raises ``ValueError`` for text that is not JSON (nesting
    deeper than the parser's limit included, where ``json.loads`` would overflow the stack) and
    ``UnstorableValue`` (a ``ValueError`` too) for JSON holding what ``check_storable`` refuses."""
    data = from_json(raw, allow_inf_nan=True)  # NaN parsed, so it is reported as a value, with its place
    if not _plainly_storable(data):
        check_storable(data)  # the walk that names the place of what it refuses
    return data
