"""The inbox: (consumer, message id) rows written in the handler's transaction, so a redelivered
message finds its row and has no second effect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, Text, any_, bindparam, delete, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

logger = logging.getLogger(__name__)


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def claim(self, session: AsyncSession, consumer: str, message_id: str) -> bool:
        """False if the message was handled before (its row exists)."""
        result = await session.execute(
            insert(self.table)
            .values(consumer=consumer, message_id=message_id)
            .on_conflict_do_nothing()
            .returning(self.table.c.message_id)
        )
        return result.first() is not None

    async def claim_many(self, session: AsyncSession, consumer: str, message_ids: Sequence[str]) -> set[str]:
        """The ids not handled before, claimed now. One statement of constant text (the ids travel as
        one array): compiled once, planned once, whatever the batch size."""
        ids = bindparam("ids", list(message_ids), type_=ARRAY(Text))
        claimed = await session.scalars(
            insert(self.table)
            .from_select(["consumer", "message_id"], select(literal(consumer, Text), func.unnest(ids)))
            .on_conflict_do_nothing()
            .returning(self.table.c.message_id)
        )
        return set(claimed)

    async def release(self, session: AsyncSession, consumer: str, message_ids: Sequence[str]) -> None:
        """Give back claims whose messages left no trace (they broke a rule and are dead-lettered)."""
        if message_ids:
            ids = bindparam("released", list(message_ids), type_=ARRAY(Text))
            await session.execute(
                delete(self.table).where(self.table.c.consumer == consumer, self.table.c.message_id == any_(ids))
            )


async def prune_inbox(engine: AsyncEngine, inbox: Table, *, retention: timedelta) -> int:
    """Forget handled message ids older than ``retention``. Keep it longer than the topics' own
    retention (Kafka keeps 7 days by default), so nothing still replayable loses its guard."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(inbox).where(inbox.c.processed_at < datetime.now(UTC) - retention))
    return result.rowcount or 0


async def prune_inbox_forever(engine: AsyncEngine, inbox: Table, *, retention: timedelta, every_seconds: float) -> None:
    while True:
        try:
            pruned = await prune_inbox(engine, inbox, retention=retention)
            if pruned:
                logger.info("pruned %d inbox rows older than %s", pruned, retention)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("inbox pruning failed; will try again", exc_info=True)
        await asyncio.sleep(every_seconds)
