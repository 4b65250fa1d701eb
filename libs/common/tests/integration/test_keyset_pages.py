"""Cursor pages against real PostgreSQL: every row once, in order, ties broken by the unique column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lathe_common.db import declarative_base
from lathe_common.keyset import CountMode, CursorParams, Keyset, keyset_page
from sqlalchemy import BigInteger, DateTime, select
from sqlalchemy.orm import Mapped, mapped_column

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def entry_class(sandbox):
    Base = declarative_base(sandbox.schema)

    class Entry(Base):
        __tablename__ = "entries"
        id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
        at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    start = datetime(2026, 11, 30, tzinfo=UTC)
    async with sandbox.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        # 95 rows on 7 distinct times: most pages end in the middle of a tie.
        await conn.execute(
            Entry.__table__.insert(), [{"id": n, "at": start + timedelta(seconds=n % 7)} for n in range(1, 96)]
        )
    return Entry


@pytest.mark.parametrize("descending", [True, False])
async def test_walking_the_pages_returns_every_row_once_in_order(sandbox, entry_class, descending):
    keyset = Keyset("entries", (entry_class.at, entry_class.id), descending=descending)
    seen: list[tuple[datetime, int]] = []
    cursor = None
    async with sandbox.sessions() as session:
        for _ in range(20):
            page = await keyset_page(session, select(entry_class), keyset, CursorParams(limit=10, cursor=cursor))
            seen += [(row.at, row.id) for row in page.rows]
            cursor = page.next
            if cursor is None:
                break
    assert len(seen) == 95 and len(set(seen)) == 95
    assert seen == sorted(seen, reverse=descending)


async def test_a_filtered_list_counts_only_when_asked(sandbox, entry_class):
    keyset = Keyset("entries", (entry_class.at, entry_class.id))
    odd = select(entry_class).where(entry_class.id % 2 == 1)
    async with sandbox.sessions() as session:
        plain = await keyset_page(session, odd, keyset, CursorParams(limit=5))
        exact = await keyset_page(session, odd, keyset, CursorParams(limit=5, count=CountMode.EXACT))
        estimate = await keyset_page(session, odd, keyset, CursorParams(limit=5, count=CountMode.ESTIMATE))
    assert (plain.total, plain.estimated_total) == (None, None)
    assert exact.total == 48 and exact.estimated_total is None
    assert estimate.total is None and isinstance(estimate.estimated_total, int) and estimate.estimated_total >= 1
    assert [r.id for r in plain.rows] == [r.id for r in exact.rows] == [r.id for r in estimate.rows]


async def test_the_last_page_has_no_next_cursor(sandbox, entry_class):
    keyset = Keyset("entries", (entry_class.at, entry_class.id))
    async with sandbox.sessions() as session:
        everything = await keyset_page(session, select(entry_class), keyset, CursorParams(limit=95))
        one_more = await keyset_page(session, select(entry_class), keyset, CursorParams(limit=94))
    assert everything.next is None and len(everything.rows) == 95
    assert one_more.next is not None
