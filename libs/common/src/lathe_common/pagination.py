"""Offset pagination: ``?limit=&offset=`` in, ``{items, total, limit, offset}`` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


MAX_LIMIT = 500
# PostgreSQL takes a 64-bit OFFSET, and skipping that many rows is never a sensible request: a
# bound keeps every list's offset a number the database accepts (larger ones get 422, not 500).
MAX_OFFSET = 1_000_000


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


async def paginate(session: AsyncSession, statement: Select, page: PageParams) -> tuple[list, int]:
    """Rows of one page and the total count of the unpaged statement."""
    total = (await session.execute(select(func.count()).select_from(statement.order_by(None).subquery()))).scalar_one()
    rows = (await session.execute(statement.limit(page.limit).offset(page.offset))).scalars().all()
    return list(rows), int(total)
