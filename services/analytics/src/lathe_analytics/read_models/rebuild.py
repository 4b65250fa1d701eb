"""Rebuilding a read model from the topics' beginning while its live consumer keeps working.

1. Fresh tables: the read model's tables and an inbox are created from its models in the shadow
   schema ``analytics_rebuild`` (owned by the service's role, like ``analytics``).
2. Replay: a consumer of a fresh group (``lathe.<name>.rebuild-<time>``) reads every topic of the
   read model from offset 0 and runs the read model's own handler on the shadow tables (the same
   code, the schema translated), with the same inbox rule, so duplicates count once. It announces
   nothing (``replaying()``) and dead-letters nothing (the live consumer did).
3. Switch, once the replay is nearly caught up, in one transaction of the live schema:
   - take the read model's state row FOR UPDATE: the live consumer's batches wait at their first
     statement (``declaration.hold_state``) until the switch commits; the one in flight finishes;
   - note the topics' end offsets, and let the replay pass them; stop it;
   - the events between the live group's committed positions and the replay's are in the new
     tables but not yet seen by the live consumer: their ids (those the replay applied) go to
     ``read_model_skips``, and the live consumer passes over each when it reaches it;
   - drop the live tables and move the shadow ones into ``analytics`` (same names, same indexes);
   - bump the generation.
   Nothing is lost (the replay holds every event up to the live position and beyond it) and
   nothing counts twice (what lies beyond the live position is skipped once). The live consumer
   waits for the switch only: typically well under a second.
4. Afterwards: once the live group has passed the replay's positions, leftover skips are dropped.

It refuses to start when a topic no longer starts at offset 0 (retention deleted history that a
rebuild could not count) unless told to rebuild from what is left, and when another rebuild runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from lathe_common.consumers import Backoff, ConsumerRuntime
from lathe_common.db import create_engine, create_session_factory
from sqlalchemy import Table, Text, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lathe_analytics.read_models.declaration import ReadModel, set_replaying
from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState
from lathe_analytics.read_models.positions import OffsetReader, Positions, group_positions, partitions_of
from lathe_analytics.tables import SCHEMA, plumbing

logger = logging.getLogger(__name__)

SHADOW_SCHEMA = f"{SCHEMA}_rebuild"
_LOCK_KEY = "lathe.analytics.rebuild"
_state = ReadModelState.__table__
_skips = ReadModelSkip.__table__


class RebuildRefused(Exception):
    """The rebuild cannot start or cannot switch; nothing live was changed."""


class SwitchPutOff(Exception):
    """The switch did not happen this time (the replay too slow to catch up, a lock not granted):
    nothing live was changed, the replay goes on and the switch is tried again."""


@dataclass
class RebuildReport:
    read_model: str
    events: int
    refused_events: int
    seconds: float
    switch_seconds: float
    skipped_at_switch: int
    generation: int


class _NoDeadLetters:
    """The replay's records that a rule refuses were dead-lettered by the live consumer already."""

    async def send_and_wait(self, *args: object, **kwargs: object) -> None:
        return None


class Replay:
    """The shadow consumer: the read model's handler on the shadow tables, from offset 0."""

    def __init__(self, model: ReadModel, engine: AsyncEngine, bootstrap: str, group: str) -> None:
        self.model, self.bootstrap, self.group = model, bootstrap, group
        self.spec = model.replay_consumer(f"{model.name}.rebuild")
        self.runtime = ConsumerRuntime(
            service="analytics-rebuild",
            session_factory=create_session_factory(engine),
            inbox=plumbing.inbox,
            producer=_NoDeadLetters(),  # type: ignore[arg-type]
            backoff=Backoff(max_seconds=5),
        )
        self.positions: Positions = {}  # committed: the next offset of each partition
        self.events = 0
        self.refused = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts (or resumes, from its group's committed positions) the replay."""
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=f"replay-{self.model.name}")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def failed(self) -> BaseException | None:
        return self._task.exception() if self._task is not None and self._task.done() else None

    async def _run(self) -> None:
        set_replaying(True)
        consumer = AIOKafkaConsumer(
            *self.model.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.model.batch_size,
        )
        await consumer.start()
        try:
            while not self._stop.is_set():
                fetched = await consumer.getmany(timeout_ms=200, max_records=self.model.batch_size)
                for tp, records in fetched.items():
                    try:
                        outcomes = await self.runtime.process_batch(self.spec, records)
                    except Exception:  # noqa: BLE001 - the runtime paused already: read the batch again
                        consumer.seek(tp, records[0].offset)
                        continue
                    await consumer.commit({tp: records[-1].offset + 1})
                    self.positions[tp] = records[-1].offset + 1
                    self.events += len(records)
                    self.refused += outcomes.get("dead_lettered", 0)
        finally:
            await consumer.stop()


class Rebuild:
    def __init__(
        self,
        model: ReadModel,
        *,
        database_url: str,
        bootstrap: str,
        allow_truncated: bool = False,
        switch_lag: int | None = None,
        switch_timeout: float = 30.0,
        live_schema: str = SCHEMA,
        shadow_schema: str = SHADOW_SCHEMA,
    ) -> None:
        self.model, self.database_url, self.bootstrap = model, database_url, bootstrap
        # The switch starts when the replay is this close to the end: the live consumer then waits
        # about as long as the replay takes for that many events (one batch by default).
        self.switch_lag = model.batch_size if switch_lag is None else switch_lag
        self.allow_truncated, self.switch_timeout = allow_truncated, switch_timeout
        self.live, self.shadow = live_schema, shadow_schema  # other schemas than the service's: tests
        self.live_group = f"lathe.{model.name}"

    async def run(self) -> RebuildReport:
        started = time.monotonic()
        engine = create_engine(self.database_url, pool_size=4, application_name="lathe-analytics-rebuild")
        if self.live != SCHEMA:
            engine = engine.execution_options(schema_translate_map={SCHEMA: self.live})
        shadow = engine.execution_options(schema_translate_map={SCHEMA: self.shadow})
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="lathe-analytics-rebuild")
        await admin.start()
        try:
            async with engine.connect() as lock, OffsetReader(self.bootstrap) as offsets:
                locked = await lock.scalar(select(text("pg_try_advisory_lock(hashtext(:key))")), {"key": _LOCK_KEY})
                await lock.commit()  # the lock is the session's: held until this connection closes
                if not locked:
                    raise RebuildRefused("another rebuild is running")
                partitions = await partitions_of(admin, self.model.topics)
                beginnings = await offsets.beginnings(partitions)
                self._check_history(beginnings)
                await self._prepare(engine, shadow)
                replay = Replay(self.model, shadow, self.bootstrap, f"{self.live_group}.rebuild-{int(time.time())}")
                replay.start()
                while True:
                    await self._catch_up(replay, offsets, partitions, beginnings)
                    try:
                        switched = await self._switch(engine, replay, admin, offsets, partitions, beginnings)
                        break
                    except SwitchPutOff as refused:  # a slow moment: keep replaying, try again
                        logger.warning("switch of %s put off: %s", self.model.name, refused)
                        replay.start()
                await self._tidy(engine, admin, replay.positions)
                return RebuildReport(
                    read_model=self.model.name,
                    events=replay.events,
                    refused_events=replay.refused,
                    seconds=round(time.monotonic() - started, 3),
                    switch_seconds=switched[0],
                    skipped_at_switch=switched[1],
                    generation=switched[2],
                )
        finally:
            await admin.close()
            await engine.dispose()

    def _check_history(self, beginnings: Positions) -> None:
        truncated = sorted(f"{tp.topic}[{tp.partition}] starts at {n}" for tp, n in beginnings.items() if n > 0)
        if truncated and not self.allow_truncated:
            raise RebuildRefused(
                "the topics no longer hold their whole history (" + "; ".join(truncated) + "): a rebuild would "
                "count only what is left; run with --allow-truncated-topics to accept that"
            )

    async def _prepare(self, engine: AsyncEngine, shadow: AsyncEngine) -> None:
        async with engine.begin() as conn:
            if await conn.scalar(select(text("to_regnamespace(:schema)")), {"schema": self.shadow}) is None:
                raise RebuildRefused(
                    f"schema {self.shadow} does not exist; a database administrator creates it once: "
                    f"CREATE SCHEMA {self.shadow} AUTHORIZATION <the analytics service's role>"
                )
            await conn.execute(insert(_state).values(name=self.model.name).on_conflict_do_nothing())
        tables: list[Table] = [plumbing.inbox, *self.model.tables]
        async with shadow.begin() as conn:
            for table in tables:
                await conn.run_sync(lambda sync, t=table: t.drop(sync, checkfirst=True))
                await conn.run_sync(lambda sync, t=table: t.create(sync))

    async def _catch_up(
        self, replay: Replay, offsets: OffsetReader, partitions: list[TopicPartition], beginnings: Positions
    ) -> None:
        last_log = 0.0
        while True:
            if (failure := replay.failed()) is not None:
                raise RebuildRefused(f"the replay stopped: {failure!r}")
            ends = await offsets.ends(partitions)
            behind = sum(max(ends[tp] - replay.positions.get(tp, beginnings[tp]), 0) for tp in partitions)
            if behind <= self.switch_lag:
                return
            if time.monotonic() - last_log > 5:
                logger.info("rebuilding %s: %d events replayed, %d behind", self.model.name, replay.events, behind)
                last_log = time.monotonic()
            await asyncio.sleep(0.5)

    async def _switch(
        self,
        engine: AsyncEngine,
        replay: Replay,
        admin: AIOKafkaAdminClient,
        offsets: OffsetReader,
        partitions: list[TopicPartition],
        beginnings: Positions,
    ) -> tuple[float, int, int]:
        """Returns (seconds the live consumer waited, events skipped, the new generation)."""
        try:
            return await self._switch_now(engine, replay, admin, offsets, partitions, beginnings)
        except DBAPIError as exc:  # a lock not granted within the timeout: rolled back, nothing changed
            await replay.stop()
            raise SwitchPutOff(str(exc.orig)) from exc

    async def _switch_now(
        self,
        engine: AsyncEngine,
        replay: Replay,
        admin: AIOKafkaAdminClient,
        offsets: OffsetReader,
        partitions: list[TopicPartition],
        beginnings: Positions,
    ) -> tuple[float, int, int]:
        async with engine.connect() as conn, conn.begin():
            await conn.execute(text(f"SET LOCAL lock_timeout = '{int(self.switch_timeout)}s'"))
            await conn.execute(select(_state.c.name).where(_state.c.name == self.model.name).with_for_update())
            frozen = time.monotonic()  # from here on no live batch writes
            ends = await offsets.ends(partitions)
            while any(replay.positions.get(tp, beginnings[tp]) < ends[tp] for tp in partitions):
                if time.monotonic() - frozen > self.switch_timeout or replay.failed() is not None:
                    await replay.stop()
                    raise SwitchPutOff("the replay did not reach the live position in time")
                await asyncio.sleep(0.02)
            await replay.stop()
            replayed = {tp: replay.positions.get(tp, beginnings[tp]) for tp in partitions}
            live = await group_positions(admin, self.live_group)
            ranges = {tp: (live.get(tp, beginnings[tp]), replayed[tp]) for tp in partitions}
            ahead = await offsets.message_ids(ranges, self.model.decode)
            skipped = await self._note_skips(conn, ahead, replay.spec.name)
            await self._swap(conn)
            generation = await conn.scalar(
                update(_state)
                .where(_state.c.name == self.model.name)
                .values(generation=_state.c.generation + 1, rebuilt_at=text("now()"), skips_pending=skipped > 0)
                .returning(_state.c.generation)
            )
        waited = round(time.monotonic() - frozen, 3)
        logger.info("switched %s to the rebuilt tables (generation %s, %d skips)", self.model.name, generation, skipped)
        return waited, skipped, int(generation or 0)

    async def _note_skips(self, conn: AsyncConnection, ids: set[str], replay_name: str) -> int:
        """The ids the replay applied (its inbox holds them) that the live consumer has not reached."""
        if not ids:
            return 0
        written = await conn.execute(
            text(
                f'INSERT INTO "{self.live}".read_model_skips (read_model, message_id) '
                f'SELECT :name, message_id FROM "{self.shadow}".inbox '
                "WHERE consumer = :replay AND message_id = ANY(:ids) ON CONFLICT DO NOTHING"
            ).bindparams(bindparam("ids", type_=ARRAY(Text))),
            {"name": self.model.name, "replay": replay_name, "ids": sorted(ids)},
        )
        return written.rowcount or 0

    async def _swap(self, conn: AsyncConnection) -> None:
        names = [t.name for t in self.model.tables]
        columns = text(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema IN (:live, :shadow) AND table_name = ANY(:names) "
            "ORDER BY table_name, ordinal_position"
        ).bindparams(bindparam("names", names, type_=ARRAY(Text)))
        found: dict[str, list[tuple]] = {self.live: [], self.shadow: []}
        for schema, *rest in await conn.execute(columns, {"live": self.live, "shadow": self.shadow}):
            found[schema].append(tuple(rest))
        if found[self.live] != found[self.shadow]:
            raise RebuildRefused(
                "the live tables and the models differ (a migration and the models disagree): not swapped"
            )
        for name in names:
            await conn.execute(text(f'DROP TABLE "{self.live}"."{name}"'))
            await conn.execute(text(f'ALTER TABLE "{self.shadow}"."{name}" SET SCHEMA "{self.live}"'))

    async def _tidy(self, engine: AsyncEngine, admin: AIOKafkaAdminClient, replayed: Positions) -> None:
        """Drop the replay's inbox; once the live consumer has passed the replay's positions (or
        after a while, if it is not running), the skips it did not meet are dropped too."""
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP TABLE IF EXISTS "{self.shadow}".inbox'))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            live = await group_positions(admin, self.live_group)
            if all(live.get(tp, 0) >= n for tp, n in replayed.items()):
                break
            await asyncio.sleep(1)
        else:
            logger.warning("the live consumer of %s has not passed the switch yet: skips kept", self.model.name)
            return
        async with engine.begin() as conn:
            await conn.execute(update(_state).where(_state.c.name == self.model.name).values(skips_pending=False))
            await conn.execute(_skips.delete().where(_skips.c.read_model == self.model.name))
