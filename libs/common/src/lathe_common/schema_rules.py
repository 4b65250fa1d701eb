"""Rules of request models that their JSON schema states too, so an OpenAPI document (and every
client generated from it) says what the service enforces.

- ``exactly_one_of`` / ``at_least_one_of``: a model validator's "give one of these" as ``oneOf`` /
  ``anyOf`` branches (a field given as null counts as left out, as the validators treat it);
- ``IsoDateTime`` / ``IsoDate``: a date-time or date is an ISO 8601 string, as documented; pydantic
  alone would also take a number of seconds since 1970 (``since=0.5``), which the schema does not say.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

JsonSchemaExtra = Callable[[dict[str, Any]], None]


def _branch(name: str, others: tuple[str, ...], *, exclusive: bool) -> dict[str, Any]:
    branch: dict[str, Any] = {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
    if exclusive:
        branch["properties"].update({other: {"type": "null"} for other in others})  # absent or null
    return branch


def exactly_one_of(*names: str) -> JsonSchemaExtra:
    """``json_schema_extra`` of a model that takes exactly one of ``names`` (the others left out or null)."""

    def state(schema: dict[str, Any]) -> None:
        schema["oneOf"] = [
            _branch(name, tuple(other for other in names if other != name), exclusive=True) for name in names
        ]

    return state


def at_least_one_of(*names: str) -> JsonSchemaExtra:
    """``json_schema_extra`` of a model that needs one or more of ``names`` (not null)."""

    def state(schema: dict[str, Any]) -> None:
        schema["anyOf"] = [_branch(name, (), exclusive=False) for name in names]

    return state


def _not_a_number(value: Any) -> Any:
    """Refuses what pydantic would read as seconds since 1970: a number, or text that is one (a
    query parameter is always text)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    elif not isinstance(value, int | float):  # bool is an int too
        return value
    raise ValueError("a date or time is an ISO 8601 string, not a number")


IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]
IsoAwareDateTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
