"""Cursor (keyset) pagination for lists that grow without bound: serials, process data, the audit
trail, LOTs, and every document list to come.

A page is the rows after the cursor in the list's order, found through an index: the tenth
thousandth page costs what the first does, where ``OFFSET`` reads and discards every row before
it. ``?limit=&cursor=`` in; ``{items, limit, next}`` out, ``next`` being the cursor of the
following page (null on the last one). No total is counted unless asked: ``?count=exact`` counts
the matching rows (a scan of them), ``?count=estimate`` returns the planner's estimate, labelled
as one, at the cost of planning the query.

A cursor is opaque to clients: the list's name and the ordering values of the last row it
returned, as URL-safe base64 JSON. A cursor from another list, or one tampered with, is a 422
``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ClauseElement, Executable, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute

from lathe_common.errors import InvalidInput
from lathe_common.pagination import MAX_LIMIT

T = TypeVar("T")


class CountMode(StrEnum):
    NONE = "none"
    EXACT = "exact"
    ESTIMATE = "estimate"


class CursorParams(BaseModel):
    limit: int = 50
    cursor: str | None = None
    count: CountMode = CountMode.NONE


def _cursor_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=1024, pattern=r"^[A-Za-z0-9_-]+$", description="`next` of the previous page; none: the first"),
    ] = None,
    count: Annotated[
        CountMode, Query(description="`exact`: count the matching rows; `estimate`: the planner's estimate")
    ] = CountMode.NONE,
) -> CursorParams:
    return CursorParams(limit=limit, cursor=cursor, count=count)


CursorDep = Annotated[CursorParams, Depends(_cursor_params)]


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    next: str | None = Field(description="pass as ?cursor= for the following page; null on the last page")
    total: int | None = Field(default=None, description="with ?count=exact: how many rows match")
    estimated_total: int | None = Field(default=None, description="with ?count=estimate: the planner's estimate")


@dataclass(frozen=True)
class Keyset:
    """How a list is ordered: its columns, the last of them unique, all in one direction, and
    backed by an index (so that ``(a, b) < (:a, :b)`` is an index range)."""

    name: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = True

    def order(self, statement: Select[Any]) -> Select[Any]:
        return statement.order_by(*(c.desc() if self.descending else c.asc() for c in self.columns))

    def after(self, statement: Select[Any], values: Sequence[Any]) -> Select[Any]:
        row, last = tuple_(*self.columns), tuple_(*values)
        return statement.where(row < last if self.descending else row > last)

    def cursor_of(self, row: Any) -> str:
        values = [_to_json(getattr(row, column.key)) for column in self.columns]
        raw = json.dumps([self.name, values], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def values_of(self, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            name, values = json.loads(raw)
            if name != self.name or len(values) != len(self.columns):
                raise ValueError("a cursor of another list")
            return [_from_json(column, value) for column, value in zip(self.columns, values, strict=True)]
        except (ValueError, TypeError, binascii.Error) as exc:
            raise InvalidInput(
                "The cursor is not one this list gave out; start again without it.", code="invalid_cursor"
            ) from exc


def _to_json(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _from_json(column: InstrumentedAttribute[Any], value: Any) -> Any:
    kind = column.type.python_type
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("a time without its zone")
        return parsed
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("not an integer")
    if kind is str and not isinstance(value, str):
        raise ValueError("not a string")
    if kind is date:
        return date.fromisoformat(value)
    return value


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Any]
    next: str | None
    total: int | None = None
    estimated_total: int | None = None

    def answer(self, items: list[T], limit: int) -> CursorPage[T]:
        return CursorPage(
            items=items, limit=limit, next=self.next, total=self.total, estimated_total=self.estimated_total
        )


async def keyset_page(
    session: AsyncSession, statement: Select[Any], keyset: Keyset, params: CursorParams
) -> KeysetPage:
    """One page of ``statement`` (filtered, unordered) in ``keyset``'s order, after ``params.cursor``."""
    paged = keyset.order(statement)
    if params.cursor is not None:
        paged = keyset.after(paged, keyset.values_of(params.cursor))
    rows = list((await session.scalars(paged.limit(params.limit + 1))).all())
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    page = KeysetPage(rows, keyset.cursor_of(rows[-1]) if more else None)
    if params.count is CountMode.EXACT:
        total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
        return KeysetPage(page.rows, page.next, total=int(total or 0))
    if params.count is CountMode.ESTIMATE:
        return KeysetPage(page.rows, page.next, estimated_total=await estimated_rows(session, statement))
    return page


class _Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


async def estimated_rows(session: AsyncSession, statement: Select[Any]) -> int:
    """The planner's estimate of the rows ``statement`` returns: no row is read."""
    plan = (await session.execute(_Explain(statement.order_by(None)))).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
