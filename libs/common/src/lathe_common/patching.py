"""PATCH bodies: a field left out keeps its value; a field given must be a value of its type.

For a column that holds no NULL, ``null`` in a PATCH is not "clear it" but a mistake, and
letting it through reached the database as a NOT NULL violation. Such fields are declared with
``changed_field(...)``: their type has no ``None``, so pydantic refuses ``null`` (422), while
leaving them out stays possible (``model_dump(exclude_unset=True)`` sees only what was sent).
Fields whose column may be empty keep ``X | None = None``, where ``null`` clears them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # "default": null would tell clients null is a value


def changed_field(**constraints: Any) -> Any:
    """A PATCH field that may be left out but never set to null."""
    return Field(default=None, json_schema_extra=_without_default, **constraints)
