"""Async SQLAlchemy: one engine per process, one transaction per HTTP request or consumed message.

The request dependency (``SessionDep``) and the consumer wrapper own the transaction: they commit
when the unit of work succeeds and roll back otherwise. Code below them only flushes.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic_core import from_json
from sqlalchemy import DateTime, MetaData, Table, func, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """Every table of a service lives in the schema that service owns."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def declarative_base(schema: str) -> type[DeclarativeBase]:
    metadata = schema_metadata(schema)

    class Base(DeclarativeBase):
        # Fetch server-generated values (updated_at, identities) with RETURNING on every flush, so
        # reading them afterwards never needs lazy IO, which async sessions cannot do.
        @declared_attr.directive
        def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
            return {"eager_defaults": True}

    Base.metadata = metadata
    return Base


def time_ordered_id() -> uuid.UUID:
    """An RFC 9562 version-7 UUID: Unix milliseconds, then 74 random bits. Ids made later sort
    later, so the primary-key index of a table written in bulk grows at its right edge instead of
    touching a random page per row (fewer pages read, dirtied and logged per insert)."""
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (
        ((time.time_ns() // 1_000_000) << 80)  # 48 bits of milliseconds
        | (0x7 << 76)  # version 7
        | (((random_bits >> 62) & 0xFFF) << 64)  # 12 random bits
        | (0b10 << 62)  # RFC 9562 variant
        | (random_bits & ((1 << 62) - 1))  # 62 random bits
    )
    return uuid.UUID(int=value)


class Timestamps:
    """``created_at`` / ``updated_at``, set by the database (timezone-aware UTC)."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def create_engine(
    url: str, *, pool_size: int = 10, application_name: str = "lathe", hide_parameters: bool = True
) -> AsyncEngine:
    """``hide_parameters``: statement parameters stay out of error messages and logs (a failed
    insert would otherwise log what it inserted: a password hash, a person's name); services show
    them in development only."""
    return create_async_engine(
        url,
        # A fixed pool: connections are opened once and kept, never opened and closed under load
        # (overflow connections would be: each costs PostgreSQL a process fork). Admission control
        # keeps the requests in flight near it, so a request waits for a connection briefly.
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
        hide_parameters=hide_parameters,
        pool_pre_ping=True,
        # JSON/JSONB results parsed in Rust: the outbox relay reads thousands of header maps a second.
        json_deserializer=from_json,
        connect_args={"server_settings": {"application_name": application_name, "timezone": "UTC"}},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits if the block succeeds and rolls back if it raises,
    unless the exception says the work done so far must stand (``persist_changes``: a failed
    login still counts towards the lockout)."""
    async with factory() as session:
        transaction = await session.begin()
        try:
            yield session
        except BaseException as exc:
            if getattr(exc, "persist_changes", False):
                await transaction.commit()
            else:
                await transaction.rollback()
            raise
        await transaction.commit()


async def copy_rows(session: AsyncSession, table: Table, columns: Sequence[str], records: Iterable[tuple]) -> None:
    """Insert many rows with COPY, in the session's transaction: several times faster than an
    INSERT of the same rows, for hot paths that write thousands at once. Columns left out take
    their defaults; JSON columns take JSON text; nothing is returned. Pending ORM changes are
    flushed first, so the copied rows may refer to them."""
    await session.flush()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, schema_name=table.schema, columns=list(columns), records=records
    )


async def database_reachable(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    async def _ping() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(_ping(), timeout)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    return True


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(request.app.state.session_factory) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is the client's error
# and a 2xx always means the change (and its events) are durable.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
