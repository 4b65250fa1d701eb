"""The generic part of every service's data access: fetch by id or 404, filtered pages (by offset
for small lists, by cursor for lists that grow without bound)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from lathe_common.errors import NotFound
from lathe_common.keyset import CursorParams, Keyset, KeysetPage, keyset_page
from lathe_common.pagination import PageParams, paginate

M = TypeVar("M", bound=DeclarativeBase)


class Repository(Generic[M]):
    model: type[M]
    noun: str = "record"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: Any, *, for_update: bool = False) -> M:
        entity = await self.session.get(self.model, id_, with_for_update=for_update)
        if entity is None:
            raise NotFound(f"No {self.noun} with id {id_}.", code=f"{self.noun.replace(' ', '_')}_not_found")
        return entity

    async def find(
        self,
        key: str,
        natural_key: InstrumentedAttribute[str],
        *,
        for_update: bool = False,
        statement: Select[Any] | None = None,
    ) -> M:
        """By id (a UUID) or by the natural key people use (a code, a number): APIs accept either."""
        try:
            condition = self.model.id == uuid.UUID(key)  # type: ignore[attr-defined]
        except ValueError:
            condition = natural_key == key
        statement = (statement if statement is not None else select(self.model)).where(condition)
        found = await self.session.scalar(statement.with_for_update(of=self.model) if for_update else statement)
        if found is None:
            label = natural_key.key.replace("_", " ")
            raise NotFound(f"No {self.noun} with id or {label} {key}.", code=f"{self.noun.replace(' ', '_')}_not_found")
        return found

    @staticmethod
    def apply(entity: M, changes: Mapping[str, Any]) -> list[str]:
        """Set the attributes that really change; returns their names (for the change event)."""
        return list(Repository.apply_recording(entity, changes))

    @staticmethod
    def apply_recording(entity: M, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Set the attributes that really change; returns each one's value before, by name in
        order (a change event's ``changed`` and ``previous``)."""
        changed = sorted(name for name, value in changes.items() if getattr(entity, name) != value)
        previous = {name: getattr(entity, name) for name in changed}
        for name in changed:
            setattr(entity, name, changes[name])
        return previous

    @staticmethod
    def containing(statement: Select[Any], text: str | None, *columns: InstrumentedAttribute[str]) -> Select[Any]:
        """Rows where any of ``columns`` contains ``text``, ignoring case (``?q=`` search)."""
        if not text:
            return statement
        pattern = f"%{text.lower()}%"
        return statement.where(or_(*(func.lower(column).like(pattern) for column in columns)))

    def filtered(
        self, equal: Mapping[InstrumentedAttribute[Any], Any] | None, statement: Select[Any] | None = None
    ) -> Select[Any]:
        """``statement`` (default: every row) where each column equals its value; None values are
        skipped, so optional query parameters pass straight in."""
        statement = statement if statement is not None else select(self.model)
        for column, value in (equal or {}).items():
            if value is not None:
                statement = statement.where(column == value)
        return statement

    async def page(
        self,
        page: PageParams,
        *,
        equal: Mapping[InstrumentedAttribute[Any], Any] | None = None,
        statement: Select[Any] | None = None,
    ) -> tuple[list[M], int]:
        """One page by offset, with the total: for lists that stay small."""
        return await paginate(self.session, self.filtered(equal, statement), page)

    async def keyset_page(
        self,
        params: CursorParams,
        keyset: Keyset,
        *,
        equal: Mapping[InstrumentedAttribute[Any], Any] | None = None,
        statement: Select[Any] | None = None,
    ) -> KeysetPage:
        """One page after a cursor, in ``keyset``'s order: for lists that grow without bound."""
        return await keyset_page(self.session, self.filtered(equal, statement), keyset, params)
