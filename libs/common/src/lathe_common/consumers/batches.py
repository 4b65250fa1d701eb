"""Batched consumption: one transaction per fetched batch.

The same guarantees as one record at a time (``handling``), paid for once per batch:
- a record the decoder refuses never enters the transaction; it is dead-lettered after it;
- without a ``batch_handler`` each record runs in its own savepoint: one that breaks a rule is
  rolled back alone and dead-lettered after the batch commits;
- with a ``batch_handler`` the batch's inbox rows are claimed in one statement and the claimed
  payloads are handled by one call, without savepoints: the handler reports a rule broken by a
  payload as that payload's outcome (having written nothing for it), its inbox row is released
  and it is dead-lettered after the commit;
- records already handled are skipped by the inbox;
- a transient failure rolls the batch back and has it redelivered from its first record, after a
  pause; an unexpected error does the same, counting a try for each record, and when a record
  reaches ``max_attempts`` the batch is handled record by record with savepoints, which isolates
  the bad record and dead-letters it, so one record never rewinds its batch for ever.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_common import context
from lathe_common.consumers.handling import UNHANDLED_ERROR, RecordHandling, Rejected, describe, origin_of
from lathe_common.consumers.retries import Origin, is_transient
from lathe_common.consumers.spec import ConsumerSpec, Decoded
from lathe_common.db import unit_of_work
from lathe_common.errors import LatheError

Pending = list[tuple[ConsumerRecord, Decoded]]


async def process_batch(
    handling: RecordHandling, spec: ConsumerSpec, records: Sequence[ConsumerRecord], consumer: Any = None
) -> dict[str, int]:
    """Handle a batch; returns outcome counts. Raises only to have the whole batch redelivered."""
    outcomes: Counter[str] = Counter()
    rejected: list[Rejected] = []
    pending: Pending = []
    for record in records:
        decoded = handling.decode(spec, record)
        if isinstance(decoded, Rejected):
            rejected.append(decoded)
        else:
            pending.append((record, decoded))

    giving_up = {origin_of(r) for r, _ in pending if handling.gives_up_after(origin_of(r))}
    try:
        async with unit_of_work(handling.session_factory) as session:
            if spec.batch_handler is not None and not giving_up:
                await _handle_together(handling, spec, session, pending, outcomes, rejected)
            else:
                await _handle_one_by_one(handling, spec, session, pending, giving_up, outcomes, rejected)
    except Exception as exc:  # noqa: BLE001 - retry_later re-raises it, to have the batch redelivered
        await handling.retry_later(spec, records[0], "transient" if is_transient(exc) else "unexpected", exc)

    rejected.sort(key=lambda item: (item.record.topic, item.record.partition, item.record.offset))
    outcomes["dead_lettered"] += await handling.dead_letter(spec, rejected)
    handling.finished(spec, records, outcomes, consumer)
    return dict(outcomes)


async def _handle_one_by_one(
    handling: RecordHandling,
    spec: ConsumerSpec,
    session: AsyncSession,
    pending: Pending,
    giving_up: set[Origin],
    outcomes: Counter[str],
    rejected: list[Rejected],
) -> None:
    for record, item in pending:
        origin = origin_of(record)
        context.correlation_id.set(item.correlation_id or item.message_id)
        context.actor.set(item.actor)
        try:
            async with session.begin_nested():
                if not await handling.inbox.claim(session, spec.name, item.message_id):
                    outcomes["duplicate"] += 1
                    continue
                await spec.handler(session, item.payload)
            outcomes["processed"] += 1
        except LatheError as exc:
            rejected.append(Rejected(record, exc.code, exc.detail))
        except Exception as exc:
            if is_transient(exc):
                raise
            if origin not in giving_up:
                handling.unexpected.add(origin)
                raise
            rejected.append(Rejected(record, UNHANDLED_ERROR, describe(exc)))


async def _handle_together(
    handling: RecordHandling,
    spec: ConsumerSpec,
    session: AsyncSession,
    pending: Pending,
    outcomes: Counter[str],
    rejected: list[Rejected],
) -> None:
    if not pending:
        return
    claimed = await handling.inbox.claim_many(session, spec.name, [item.message_id for _, item in pending])
    todo: Pending = []
    for record, item in pending:
        if item.message_id in claimed:
            claimed.discard(item.message_id)  # a second copy in the same batch is a duplicate too
            todo.append((record, item))
        else:
            outcomes["duplicate"] += 1
    if not todo:
        return
    # One call writes for many messages: no single message's correlation applies to all of it.
    context.correlation_id.set(None)
    context.actor.set(None)
    try:
        results = await spec.batch_handler(session, [item.payload for _, item in todo])  # type: ignore[misc]
    except Exception as exc:
        if not is_transient(exc):
            for record, _ in pending:
                handling.unexpected.add(origin_of(record))
        raise
    released: list[str] = []
    for (record, item), result in zip(todo, results, strict=True):
        if isinstance(result, LatheError):
            rejected.append(Rejected(record, result.code, result.detail))
            released.append(item.message_id)
        else:
            outcomes["processed"] += 1
    # Their inbox rows were claimed above: released, so nothing of them stays behind.
    await handling.inbox.release(session, spec.name, released)
