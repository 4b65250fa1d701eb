"""What analytics' report endpoints share: the ``days`` window they take, and a list answered as
CSV (``?format=csv``) with one column per plain field of its rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, get_args, get_origin

from fastapi import Query
from fastapi.responses import StreamingResponse
from lathe_common.csv_export import csv_response
from pydantic import BaseModel

Days = Annotated[int, Query(ge=1, le=366, description="the last N production days, today included")]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return value


def _nested(annotation: Any) -> bool:
    """A field that holds rows of its own (a model's steps): left out of its CSV."""
    args = get_args(annotation)
    return (
        get_origin(annotation) is list and bool(args) and isinstance(args[0], type) and issubclass(args[0], BaseModel)
    )


def rows_as_csv(items: Sequence[BaseModel], model: type[BaseModel], filename: str) -> StreamingResponse:
    """``items`` (rows of ``model``) as a CSV download; lists in a cell joined by ``;``."""
    columns = [name for name, field in model.model_fields.items() if not _nested(field.annotation)]

    async def rows() -> AsyncIterator[list[Any]]:
        for item in items:
            yield [_cell(getattr(item, column)) for column in columns]

    return csv_response(columns, rows(), filename=filename)
