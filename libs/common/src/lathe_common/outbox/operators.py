"""What an operator does with parked outbox rows: ``python -m lathe_<svc> outbox parked|republish ID``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import Column, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from lathe_common.db import create_engine, schema_metadata
from lathe_common.outbox.tables import PlumbingTables


@dataclass(frozen=True)
class ParkedRow:
    id: int
    topic: str
    event_type: str
    created_at: datetime
    attempts: int
    parked_at: datetime
    reason: str


def _parked_columns(t: Table) -> tuple[Column, ...]:
    return (t.c.id, t.c.topic, t.c.event_type, t.c.created_at, t.c.attempts, t.c.parked_at, t.c.parked_reason)


class NotParked(LookupError):
    """The id names no parked row: unknown, already published, or still waiting its turn."""


async def parked_rows(engine: AsyncEngine, tables: PlumbingTables, *, limit: int = 100) -> list[ParkedRow]:
    t = tables.outbox
    statement = select(*_parked_columns(t)).where(t.c.parked_at.is_not(None)).order_by(t.c.id).limit(limit)
    async with engine.connect() as conn:
        return [ParkedRow(*row) for row in (await conn.execute(statement)).all()]


async def republish(engine: AsyncEngine, tables: PlumbingTables, row_id: int) -> ParkedRow:
    """Put a parked row back in line (attempts from zero; ``last_error`` keeps why it was parked)
    and wake the relays; returns the row as it was. It keeps its id, so it goes out before the rows
    waiting now, after events of the same aggregate published while it was parked. Fix the cause
    first, or it is parked again."""
    t = tables.outbox
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(*_parked_columns(t)).where(t.c.id == row_id, t.c.parked_at.is_not(None)).with_for_update()
            )
        ).one_or_none()
        if row is None:
            raise NotParked(f"outbox row {row_id} is not parked (unknown, published, or still waiting)")
        await conn.execute(update(t).where(t.c.id == row_id).values(parked_at=None, parked_reason=None, attempts=0))
        await conn.execute(select(func.pg_notify(tables.notify_channel, "")))  # delivered at commit
    return ParkedRow(*row)


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="outbox_command", required=True)
    listing = commands.add_parser("parked", help="list parked rows: id, topic, event type, created, attempts, reason")
    listing.add_argument("--limit", type=int, default=100)
    again = commands.add_parser("republish", help="put one parked row back in line, once its cause is fixed")
    again.add_argument("id", type=int)


def run(args: argparse.Namespace, *, database_url: str, schema: str) -> int:
    """The CLI's ``outbox`` command; returns the process exit code."""
    return asyncio.run(outbox_command(args, database_url=database_url, schema=schema))


async def outbox_command(
    args: argparse.Namespace, *, database_url: str, schema: str, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    tables = PlumbingTables.define(schema_metadata(schema))
    engine = create_engine(database_url, pool_size=1)
    try:
        if args.outbox_command == "parked":
            rows = await parked_rows(engine, tables, limit=args.limit)
            print("id\ttopic\tevent_type\tcreated_at\tattempts\treason", file=out)
            for r in rows:
                reason = " ".join(r.reason.split())  # one line per row, whatever the broker said
                print(
                    f"{r.id}\t{r.topic}\t{r.event_type}\t{r.created_at.isoformat()}\t{r.attempts}\t{reason}", file=out
                )
            return 0
        try:
            row = await republish(engine, tables, args.id)
        except NotParked as exc:
            print(exc, file=err)
            return 1
        print(f"outbox row {row.id} ({row.topic}, {row.event_type}) is back in line", file=out)
        return 0
    finally:
        await engine.dispose()
