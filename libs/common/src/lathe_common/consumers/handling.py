"""How a consumed record ends: handled, dead-lettered with a reason, or retried in place after a pause.

Each message is handled in one database transaction that also claims its inbox row, so a
redelivered message has no second effect. The offset is committed only after that transaction
commits (FastStream ``AckPolicy.NACK_ON_ERROR``: ack after the handler returns; an exception seeks
back and the record is delivered again). Whatever arrives ends one of three ways:
- handled (or found handled before);
- dead-lettered with a reason, when it can never succeed: the decoder refuses it (or fails on it
  in any way), a rule refuses it (``LatheError``), or an unexpected error persists for
  ``max_attempts`` tries;
- retried in place after a pause that grows with each consecutive failure and is capped
  (``Backoff``), when a dependency fails (the database, the broker: ``is_transient``), while an
  unexpected error has tries left, or while its dead letter cannot be sent. No path loops without
  a pause, and order within a partition is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lathe_common import context
from lathe_common.consumers.dead_letters import DeadLetters
from lathe_common.consumers.inbox import Inbox
from lathe_common.consumers.retries import Backoff, FailureCounts, Origin, is_transient
from lathe_common.consumers.spec import ConsumerSpec, Decoded, Undeliverable
from lathe_common.db import unit_of_work
from lathe_common.errors import LatheError
from lathe_common.metrics import CONSUMER_LAG, CONSUMER_RETRIES, DEAD_LETTERS, MESSAGES_CONSUMED

logger = logging.getLogger(__name__)

UNDECODABLE = "undecodable"  # the decoder failed on the record with an error of its own (a bug or a surprise)
UNHANDLED_ERROR = "unhandled_error"
RETRY_KINDS = ("transient", "unexpected", "dead_letter")  # what ``retry_later`` is told, as metric labels


@dataclass(frozen=True)
class Rejected:
    """A record on its way to the dead-letter topic."""

    record: ConsumerRecord
    reason: str
    detail: str


def origin_of(record: ConsumerRecord) -> Origin:
    return record.topic, record.partition, record.offset


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class RecordHandling:
    """The steps every consumed record goes through, shared by one-at-a-time and batched consumption."""

    def __init__(
        self,
        *,
        service: str,
        session_factory: async_sessionmaker[AsyncSession],
        inbox: Table,
        producer: AIOKafkaProducer,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
    ) -> None:
        self.service = service
        self.session_factory = session_factory
        self.inbox = Inbox(inbox)
        self.dead_letters = DeadLetters(producer)
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.failures = FailureCounts()  # consecutive failures of any kind: the pause before the next try
        self.unexpected = FailureCounts()  # unexpected handler errors: dead-lettered at max_attempts

    def decode(self, spec: ConsumerSpec, record: ConsumerRecord) -> Decoded | Rejected:
        try:
            return spec.decode(record)
        except Undeliverable as exc:
            return Rejected(record, exc.code, exc.detail)
        except Exception as exc:  # noqa: BLE001 - decoding is pure: whatever it raises, trying again cannot help
            logger.warning("decoder of %s failed on %s[%d]@%d", spec.name, *origin_of(record), exc_info=True)
            return Rejected(record, UNDECODABLE, describe(exc))

    def gives_up_after(self, origin: Origin) -> bool:
        """Whether one more unexpected failure of this record uses up its tries."""
        return self.unexpected[origin] + 1 >= self.max_attempts

    async def dead_letter(self, spec: ConsumerSpec, rejected: Sequence[Rejected]) -> int:
        """Send the dead letters, in order; a send that fails retries the record later (raises)."""
        for item in rejected:
            try:
                await self.dead_letters.send(item.record, consumer=spec.name, reason=item.reason, detail=item.detail)
            except Exception as exc:  # noqa: BLE001 - never dropped: the record comes back after a pause
                await self.retry_later(spec, item.record, "dead_letter", exc)
            DEAD_LETTERS.labels(self.service, spec.name, item.record.topic, item.reason).inc()
            if spec.on_dead_letter is not None:
                await self._tell(spec, item)
        return len(rejected)

    async def _tell(self, spec: ConsumerSpec, item: Rejected) -> None:
        """The consumer's own note of a dead letter; the dead letter itself is already safe, so a
        failure here is logged, never a reason to hold the partition."""
        try:
            async with unit_of_work(self.session_factory) as session:
                await spec.on_dead_letter(session, item.record, item.reason, item.detail)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - see the docstring
            logger.exception("%s could not note the dead letter of %s[%d]@%d", spec.name, *origin_of(item.record))

    async def retry_later(self, spec: ConsumerSpec, record: ConsumerRecord, kind: str, exc: BaseException) -> NoReturn:
        """Pause, then raise ``exc`` so that the record (or its batch) is delivered again in place."""
        origin = origin_of(record)
        failures = self.failures.add(origin)
        delay = self.backoff.delay(failures)
        CONSUMER_RETRIES.labels(self.service, spec.name, record.topic, kind).inc()
        MESSAGES_CONSUMED.labels(self.service, spec.name, record.topic, "retried").inc()
        logger.warning(
            "%s failure on %s[%d]@%d (%d in a row); retrying in %.1f s: %s",
            kind,
            *origin,
            failures,
            delay,
            describe(exc),
        )
        await asyncio.sleep(delay)
        raise exc

    def finished(
        self, spec: ConsumerSpec, records: Sequence[ConsumerRecord], outcomes: dict[str, int], consumer: Any
    ) -> None:
        """Forget the records' failures, count their outcomes, and note how far behind the partition is."""
        origins = [origin_of(r) for r in records]
        self.failures.forget(*origins)
        self.unexpected.forget(*origins)
        if not records:
            return
        for outcome, n in outcomes.items():
            if n:
                MESSAGES_CONSUMED.labels(self.service, spec.name, records[0].topic, outcome).inc(n)
        highwater = getattr(consumer, "highwater", None)
        if highwater is None:
            return
        last = records[-1]
        end = highwater(TopicPartition(last.topic, last.partition))
        if end is not None:
            CONSUMER_LAG.labels(self.service, spec.name, last.topic, str(last.partition)).set(
                max(end - last.offset - 1, 0)
            )

    async def process(self, spec: ConsumerSpec, record: ConsumerRecord, consumer: Any = None) -> str:
        """Handle one record; returns the outcome. Raises only to have the record redelivered."""
        decoded = self.decode(spec, record)
        if isinstance(decoded, Rejected):
            await self.dead_letter(spec, [decoded])
            outcome = "dead_lettered"
        else:
            outcome = await self._handle(spec, record, decoded)
        self.finished(spec, [record], {outcome: 1}, consumer)
        return outcome

    async def _handle(self, spec: ConsumerSpec, record: ConsumerRecord, decoded: Decoded) -> str:
        context.correlation_id.set(decoded.correlation_id or decoded.message_id)
        context.actor.set(decoded.actor)
        try:
            async with unit_of_work(self.session_factory) as session:
                if not await self.inbox.claim(session, spec.name, decoded.message_id):
                    return "duplicate"
                await spec.handler(session, decoded.payload)
        except LatheError as exc:
            await self.dead_letter(spec, [Rejected(record, exc.code, exc.detail)])
            return "dead_lettered"
        except Exception as exc:
            if is_transient(exc):
                await self.retry_later(spec, record, "transient", exc)
            origin = origin_of(record)
            if not self.gives_up_after(origin):
                self.unexpected.add(origin)
                await self.retry_later(spec, record, "unexpected", exc)
            logger.exception("giving up on %s[%d]@%d after %d attempts", *origin, self.max_attempts)
            await self.dead_letter(spec, [Rejected(record, UNHANDLED_ERROR, describe(exc))])
            return "dead_lettered"
        return "processed"
