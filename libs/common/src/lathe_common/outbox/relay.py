"""``OutboxRelay``: committed outbox rows to Kafka, at least once, in id order per partition.

It claims rows with ``FOR UPDATE SKIP LOCKED`` (replicas share the work), publishes them with the
idempotent producer and deletes them once Kafka has acknowledged them. A failure is recorded on
the row (``attempts``, ``last_error``) and sorted by ``failures.is_permanent``: a record Kafka
refuses on its merits is parked (``parked_at``, ``parked_reason``) so it cannot block the rows
behind it; anything else (Kafka down, timeouts, leader changes, ...) is retried for ever with
capped exponential backoff, and ``lathe_outbox_oldest_age_seconds`` shows how long the oldest
waiting row has waited. Woken by LISTEN/NOTIFY right after commit, with polling as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from sqlalchemy import BigInteger, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lathe_common.kafka import PRODUCER_BATCH_BYTES
from lathe_common.metrics import (
    MESSAGES_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_FAILURES,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PARKED,
)
from lathe_common.outbox.failures import RecordTooLargeForTopic, describe, is_permanent
from lathe_common.outbox.tables import PlumbingTables
from lathe_common.outbox.topic_limits import TopicLimits

logger = logging.getLogger(__name__)

_ALONE_ABOVE_BYTES = PRODUCER_BATCH_BYTES // 2
Failure = tuple[Row, BaseException]
Submission = tuple[asyncio.Future, list[Row]]


class OutboxPublishError(RuntimeError):
    """Some rows of a batch failed for a reason that may pass; they keep their place in line."""


@dataclass(frozen=True)
class OutboxState:
    waiting: int  # not yet published, still tried
    parked: int  # refused by Kafka on their merits, kept for an operator
    oldest_age_seconds: float  # of the oldest waiting row, on the database's clock; 0 when none


def _kafka_headers(row: Row) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in row.headers.items()]


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        tables: PlumbingTables,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        publish_timeout_seconds: float = 60.0,
    ) -> None:
        self.service = service
        self.tables = tables
        self.table = tables.outbox
        self.engine = engine
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # An unreachable Kafka makes the producer wait without end; past this, the claimed rows
        # are released as a transient failure (and the gauges keep moving) rather than held.
        self.publish_timeout_seconds = publish_timeout_seconds
        self.topic_limits = TopicLimits(producer)
        self._wake = asyncio.Event()
        # Set while the relay keeps up (its last claim took less than a whole batch); consumers that
        # write an event per record they handle wait for it (``caught_up``), so a backlog in their
        # topic is worked off at the pace events go out, not piled up in the outbox.
        self._keeping_up = asyncio.Event()
        self._keeping_up.set()
        # The producer's own default: the Java client's murmur2, so a key always lands on one partition.
        self._partitioner = DefaultPartitioner()
        # Failures are counted from 0, so the first one is an increase (a series born at 1 shows none).
        for outcome in ("retrying", "parked"):
            OUTBOX_FAILURES.labels(service, outcome)

    async def publish_batch(self) -> int:
        """Publish up to one batch of committed rows; returns how many went out.

        Acknowledged rows are deleted; refused ones keep their place with ``attempts`` and
        ``last_error`` updated, or are parked if the failure is permanent. ``OutboxPublishError``
        (after the transaction committed) tells the caller to back off."""
        return (await self._claim_and_publish())[1]

    async def _claim_and_publish(self) -> tuple[int, int]:
        """Returns (rows claimed, rows published)."""
        t = self.table
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.message_key, t.c.event_type, t.c.headers, t.c.payload)
                    .where(t.c.parked_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if len(rows) < self.batch_size:
                self._keeping_up.set()
            else:
                self._keeping_up.clear()
            if not rows:
                return 0, 0
            try:
                async with asyncio.timeout(self.publish_timeout_seconds):
                    sent, failed = await self._publish(rows)
            except TimeoutError:
                # Nothing is known to have gone out. Records the producer still holds may be
                # delivered later, and these rows again: at least once, which consumers absorb.
                timeout = KafkaTimeoutError(f"no acknowledgement within {self.publish_timeout_seconds:g}s")
                sent, failed = [], [(row, timeout) for row in rows]
            except Exception as exc:  # noqa: BLE001 - a failure of the whole batch (closed producer, ...)
                sent, failed = [], [(row, exc) for row in rows]
            if sent:
                sent_ids = bindparam("sent", [row.id for row in sent], type_=ARRAY(BigInteger))
                await conn.execute(delete(t).where(t.c.id == any_(sent_ids)))
            parked = [(row, exc) for row, exc in failed if is_permanent(exc)]
            retrying = [(row, exc) for row, exc in failed if not is_permanent(exc)]
            await self._record_failures(conn, parked, park=True)
            await self._record_failures(conn, retrying, park=False)
        for topic, count in Counter(row.topic for row in sent).items():
            MESSAGES_PUBLISHED.labels(self.service, topic).inc(count)
        for row, exc in parked:
            logger.error(
                "outbox row %s parked: Kafka refuses it (%s); `outbox parked` lists it, `outbox republish %s` "
                "retries it once the cause is fixed",
                row.id,
                describe(exc),
                row.id,
                extra={"topic": row.topic, "event_type": row.event_type},
            )
        if parked:
            OUTBOX_FAILURES.labels(self.service, "parked").inc(len(parked))
        if retrying:
            OUTBOX_FAILURES.labels(self.service, "retrying").inc(len(retrying))
            raise OutboxPublishError(
                f"{len(retrying)} of {len(rows)} outbox rows not published, will retry: {describe(retrying[0][1])}"
            )
        return len(rows), len(sent)

    async def _record_failures(self, conn: AsyncConnection, failures: Sequence[Failure], *, park: bool) -> None:
        """One statement per distinct error: an outage fails thousands of rows the same way."""
        t = self.table
        by_error: dict[str, list[int]] = defaultdict(list)
        for row, exc in failures:
            by_error[describe(exc)].append(row.id)
        for error, ids in by_error.items():
            values = {"attempts": t.c.attempts + 1, "last_error": error}
            if park:
                values |= {"parked_at": func.now(), "parked_reason": error}
            failed_ids = bindparam("failed", ids, type_=ARRAY(BigInteger))
            await conn.execute(update(t).where(t.c.id == any_(failed_ids)).values(values))

    async def _publish(self, rows: Sequence[Row]) -> tuple[list[Row], list[Failure]]:
        """Rows go out in record batches (see ``_submit``). A batch Kafka refuses is sent again row
        by row, so one bad row cannot hold back its neighbours."""
        submitted, alone, failed = await self._submit(rows)
        # Shielded: when the publish timeout cancels this wait, the producer keeps its futures.
        outcomes = await asyncio.gather(*(asyncio.shield(future) for future, _ in submitted), return_exceptions=True)
        sent: list[Row] = []
        refused: list[Row] = []
        for (_, members), outcome in zip(submitted, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                sent.extend(members)
            elif len(members) == 1 and members[0].id in alone:
                failed.append((members[0], outcome))  # already sent on its own
            else:
                refused.extend(members)
        for row in sorted(refused, key=lambda r: r.id):
            try:
                await self.producer.send_and_wait(
                    row.topic, value=row.payload, key=row.message_key.encode(), headers=_kafka_headers(row)
                )
            except Exception as exc:  # noqa: BLE001 - recorded on the row, reported by the caller
                failed.append((row, exc))
            else:
                sent.append(row)
        return sent, failed

    async def _submit(
        self, rows: Sequence[Row]
    ) -> tuple[list[tuple[asyncio.Future, list[Row]]], set[int], list[Failure]]:
        """Hand the rows to the producer, one record batch per partition at a time, in id order
        within each: thousands of events cost a few produce requests, not a future per event.
        Returns each submission's future with its rows, the ids of rows sent on their own, and the
        rows not sent because the topic's ``max.message.bytes`` could never take them."""
        open_batches: dict[tuple[str, int], tuple[BatchBuilder, list[Row]]] = {}
        submitted: list[Submission] = []
        partitions: dict[str, list[int]] = {}
        partition_of: dict[tuple[str, bytes], int] = {}  # one aggregate's events often travel together
        alone: set[int] = set()
        too_large: list[Failure] = []
        limits: dict[str, int | None] = {}
        asked_again: set[str] = set()

        async def partition(topic: str, key: bytes) -> int:
            if (topic, key) not in partition_of:
                if topic not in partitions:
                    partitions[topic] = sorted(await self.producer.partitions_for(topic))
                partition_of[topic, key] = self._partitioner(key, partitions[topic], partitions[topic])
            return partition_of[topic, key]

        async def submit(target: tuple[str, int]) -> None:
            if target in open_batches:
                batch, members = open_batches.pop(target)
                submitted.append((await self.producer.send_batch(batch, target[0], partition=target[1]), members))

        for row in rows:
            key = row.message_key.encode()
            headers = _kafka_headers(row)
            size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, row.payload, headers)
            if row.topic not in limits:
                limits[row.topic] = await self.topic_limits.max_message_bytes(row.topic)
            limit = limits[row.topic]
            if limit is not None and size > limit and row.topic not in asked_again:
                # Before parking on a cached answer: an operator may just have raised the limit.
                asked_again.add(row.topic)
                limit = limits[row.topic] = await self.topic_limits.max_message_bytes(row.topic, fresh=True)
            if limit is not None and size > limit:
                too_large.append((row, RecordTooLargeForTopic(row.topic, size, limit)))
                continue
            target = (row.topic, await partition(row.topic, key))
            if size > _ALONE_ABOVE_BYTES:
                # On its own, after the rows before it, through send(), which checks the size: a
                # batch the broker refused would also break the idempotent sequence of its partition.
                await submit(target)
                try:
                    future = await self.producer.send(row.topic, value=row.payload, key=key, headers=headers)
                except Exception as exc:  # noqa: BLE001 - the outcome of this row, like a failed future
                    future = asyncio.get_running_loop().create_future()
                    future.set_exception(exc)
                submitted.append((future, [row]))
                alone.add(row.id)
                continue
            # A batch stays within the topic's limit too, or the broker would refuse all of it.
            cap = min(PRODUCER_BATCH_BYTES, limit) if limit is not None else PRODUCER_BATCH_BYTES
            if target in open_batches and open_batches[target][0].size() + size > cap:
                await submit(target)
            if target not in open_batches:
                open_batches[target] = (self.producer.create_batch(), [])
            if open_batches[target][0].append(key=key, value=row.payload, timestamp=None, headers=headers) is None:
                await submit(target)  # full
                open_batches[target] = (self.producer.create_batch(), [])
                open_batches[target][0].append(key=key, value=row.payload, timestamp=None, headers=headers)
            open_batches[target][1].append(row)
        for target in list(open_batches):
            await submit(target)
        return submitted, alone, too_large

    async def drain(self) -> int:
        """Publish until no row is left to claim; returns how many went out."""
        total = 0
        while True:
            claimed, published = await self._claim_and_publish()
            total += published
            if not claimed:
                return total

    async def state(self) -> OutboxState:
        t = self.table
        waiting = t.c.parked_at.is_(None)
        statement = select(
            func.count().filter(waiting),
            func.count().filter(t.c.parked_at.is_not(None)),
            func.coalesce(func.extract("epoch", func.now() - func.min(t.c.created_at).filter(waiting)), 0),
        )
        async with self.engine.connect() as conn:
            waiting_rows, parked_rows, age = (await conn.execute(statement)).one()
        return OutboxState(int(waiting_rows), int(parked_rows), max(float(age), 0.0))

    async def backlog(self) -> int:
        """Rows waiting to be published (parked ones excluded)."""
        return (await self.state()).waiting

    async def parked(self) -> int:
        return (await self.state()).parked

    async def observe(self) -> OutboxState | None:
        """Set the outbox gauges; the relay loop calls it after every attempt, failed ones included."""
        try:
            state = await self.state()
        except Exception:  # noqa: BLE001 - the database may be the thing that is down
            logger.warning("cannot read the outbox state for its metrics", exc_info=True)
            return None
        OUTBOX_BACKLOG.labels(self.service).set(state.waiting)
        OUTBOX_PARKED.labels(self.service).set(state.parked)
        OUTBOX_OLDEST_AGE.labels(self.service).set(state.oldest_age_seconds)
        return state

    async def run(self) -> None:
        listener = await self._listen()
        backoff = 0.5
        try:
            while True:
                self._wake.clear()
                try:
                    await self.drain()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retried for ever; visible in the metrics
                    if isinstance(exc, OutboxPublishError):
                        logger.warning("%s; retrying in %.1fs", exc, backoff)
                    else:
                        logger.exception("outbox publish failed; retrying in %.1fs", backoff)
                    await self.observe()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_seconds)
                    continue
                backoff = 0.5
                await self.observe()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    def wake(self) -> None:
        self._wake.set()

    async def caught_up(self, timeout: float) -> bool:
        """Wait until the relay's last claim took less than a whole batch (nothing more waits), at
        most ``timeout`` seconds; whether it has. While Kafka is unreachable it never catches up,
        so waiters go on after the timeout (their own writes then wait in the outbox)."""
        if self._keeping_up.is_set():
            return True
        self.wake()
        try:
            await asyncio.wait_for(self._keeping_up.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _listen(self) -> asyncpg.Connection | None:
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            conn = await asyncpg.connect(dsn)
            await conn.add_listener(self.tables.notify_channel, lambda *_: self._wake.set())
        except Exception:
            logger.warning("LISTEN unavailable; the outbox relay falls back to polling", exc_info=True)
            return None
        return conn
