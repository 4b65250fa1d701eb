"""A read model: the tables it owns, the topics it reads, and the batch handler that writes them.

Declaring one gives both the live consumer (``ReadModel.consumer()``, for the service's
``ServiceDefinition.consumers``) and everything ``python -m lathe_analytics rebuild`` needs to
rebuild it from the topics' beginning (see ``rebuild``). What the handler must respect for that:

- it writes only its declared tables (with SQLAlchemy constructs on the ORM tables, never SQL
  text naming the schema: a rebuild runs the same handler with the schema translated to the
  shadow schema);
- it is idempotent through the inbox alone and its result does not depend on how events are
  batched, so a replay from the beginning ends with what the live consumer built;
- it announces nothing while ``replaying()`` is true (a replay must not publish old facts again);
- it may keep no state outside its tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from lathe_common.consumers import BatchHandler, ConsumerSpec, Decoded, decode_envelope
from lathe_common.errors import LatheError
from sqlalchemy import Table, Text, any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState

_replaying: ContextVar[bool] = ContextVar("lathe_analytics_replaying", default=False)


def replaying() -> bool:
    """True while a rebuild replays history: handlers must not announce events then."""
    return _replaying.get()


def set_replaying(value: bool) -> None:
    _replaying.set(value)


@dataclass(frozen=True)
class ReadModel:
    name: str  # its consumer's name: inbox rows, Kafka group lathe.<name>, read_model_state row
    topics: tuple[str, ...]
    tables: tuple[Table, ...]  # what a rebuild builds afresh and swaps in
    apply: BatchHandler  # (session, payloads) -> one outcome per payload
    # Turns a record into its payload (an Envelope by default); its message_id is the inbox's key
    # and what a rebuild's skips name, so live and rebuild must decode alike.
    decode: Callable[[ConsumerRecord], Decoded] = decode_envelope
    batch_size: int = 2000
    # Group members in each process: one member's batch is computed while another's waits on the
    # database (the handler must then be safe to run concurrently; partitions keep each key's order).
    members: int = 1
    description: str = ""

    def consumer(self) -> ConsumerSpec:
        """The live consumer: ``apply`` behind the guard that lets a rebuild switch tables."""
        return ConsumerSpec(
            name=self.name,
            topics=self.topics,
            handler=self._live_one,
            batch_handler=self._live,
            decode=self.decode,
            batch_size=self.batch_size,
            members=self.members,
            description=self.description,
        )

    def replay_consumer(self, name: str) -> ConsumerSpec:
        """The rebuild's consumer: ``apply`` alone, under another name (its own inbox rows)."""

        async def one(session: AsyncSession, payload: Any) -> None:
            outcome = (await self.apply(session, [payload]))[0]
            if outcome is not None:
                raise outcome

        return ConsumerSpec(
            name=name,
            topics=self.topics,
            handler=one,
            batch_handler=self.apply,
            batch_size=self.batch_size,
            decode=self.decode,
        )

    async def _live(self, session: AsyncSession, payloads: list[Any]) -> list[LatheError | None]:
        skips_pending = await hold_state(session, self.name)
        if not skips_pending:
            return await self.apply(session, payloads)
        ids = [str(p.id) if p is not None else "" for p in payloads]
        skipped = await _take_skips(session, self.name, [i for i in ids if i])
        kept = [n for n, i in enumerate(ids) if i not in skipped]
        outcomes: list[LatheError | None] = [None] * len(payloads)
        if kept:
            for n, outcome in zip(kept, await self.apply(session, [payloads[n] for n in kept]), strict=True):
                outcomes[n] = outcome
        return outcomes

    async def _live_one(self, session: AsyncSession, payload: Any) -> None:
        outcome = (await self._live(session, [payload]))[0]
        if outcome is not None:
            raise outcome


_state = ReadModelState.__table__
_skips = ReadModelSkip.__table__


async def hold_state(session: AsyncSession, name: str) -> bool:
    """Take the read model's state row FOR SHARE (made on first use); returns ``skips_pending``.
    A rebuild's switch holds it FOR UPDATE: a live batch waits here, before it writes anything."""
    query = select(_state.c.skips_pending).where(_state.c.name == name).with_for_update(read=True)
    pending = (await session.execute(query)).scalar_one_or_none()
    if pending is None:
        await session.execute(insert(_state).values(name=name).on_conflict_do_nothing())
        pending = (await session.execute(query)).scalar_one()
    return bool(pending)


async def _take_skips(session: AsyncSession, name: str, message_ids: Sequence[str]) -> set[str]:
    ids = bindparam("skip_ids", list(message_ids), type_=ARRAY(Text))
    taken = await session.scalars(
        delete(_skips)
        .where(_skips.c.read_model == name, _skips.c.message_id == any_(ids))
        .returning(_skips.c.message_id)
    )
    return set(taken)
