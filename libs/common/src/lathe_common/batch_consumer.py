"""Batched consumption: one transaction per fetched batch, one savepoint per record.

The same guarantees as one-at-a-time consumption (``consumer.ConsumerRuntime.process``), paid for
once per batch instead of once per record: a record that breaks a rule is rolled back alone (its
savepoint) and dead-lettered after the batch commits; records already handled are skipped by the
inbox; a transient failure rolls back the batch and has it redelivered from its first record; an
unexpected error is retried with the batch up to ``max_attempts`` and then dead-lettered alone.

With ``ConsumerSpec.batch_handler`` the batch's inbox rows are claimed in one statement and the
claimed payloads are handled by one call, without savepoints: the handler reports a rule broken by
a payload as that payload's outcome (having written nothing for it), its inbox row is released and
it is dead-lettered after the commit. An unexpected error retries the whole batch; when a record of
it reaches ``max_attempts`` the batch is handled record by record with ``handler``, which isolates
the bad record.
"""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import Text, any_, bindparam, delete, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_common import context
from lathe_common.consumer import TRANSIENT_ERRORS, ConsumerRuntime, ConsumerSpec, Decoded, Undeliverable
from lathe_common.db import unit_of_work
from lathe_common.errors import LatheError
from lathe_common.metrics import MESSAGES_CONSUMED


async def process_batch(
    runtime: ConsumerRuntime, spec: ConsumerSpec, records: tuple[ConsumerRecord, ...], consumer: Any = None
) -> dict[str, int]:
    """Handle a batch; returns outcome counts. Raises only to have the whole batch redelivered."""
    outcomes: dict[str, int] = {}
    dead: list[tuple[ConsumerRecord, str, str]] = []
    decoded: list[tuple[ConsumerRecord, Decoded]] = []
    for record in records:
        try:
            decoded.append((record, spec.decode(record)))
        except Undeliverable as exc:
            dead.append((record, exc.code, exc.detail))

    giving_up = {
        (r.topic, r.partition, r.offset)
        for r, _ in decoded
        if runtime._attempts.get((r.topic, r.partition, r.offset), 0) + 1 >= runtime.max_attempts
    }
    together = spec.batch_handler is not None and not giving_up
    try:
        async with unit_of_work(runtime.session_factory) as session:
            if together:
                await _handle_together(runtime, spec, session, decoded, outcomes, dead)
                decoded = []  # handled
            for record, item in decoded:
                origin = (record.topic, record.partition, record.offset)
                context.correlation_id.set(item.correlation_id or item.message_id)
                context.actor.set(item.actor)
                try:
                    async with session.begin_nested():
                        if not await runtime._claim(session, spec.name, item.message_id):
                            _count(outcomes, "duplicate")
                            continue
                        await spec.handler(session, item.payload)
                    _count(outcomes, "processed")
                except LatheError as exc:
                    dead.append((record, exc.code, exc.detail))
                except TRANSIENT_ERRORS:
                    raise
                except Exception as exc:
                    if origin not in giving_up:
                        runtime._attempts[origin] = runtime._attempts.get(origin, 0) + 1
                        raise
                    dead.append((record, "unhandled_error", f"{type(exc).__name__}: {exc}"))
    except TRANSIENT_ERRORS as exc:
        await runtime._retry_later(spec, records[0], "transient", exc)
    except Exception as exc:  # noqa: BLE001 - _retry_later re-raises it, to have the batch redelivered
        await runtime._retry_later(spec, records[0], "unexpected", exc)

    for record, code, detail in dead:
        await runtime._dead_letter(spec, record, code, detail)
        _count(outcomes, "dead_lettered")
    for record in records:
        runtime._attempts.pop((record.topic, record.partition, record.offset), None)
    for outcome, n in outcomes.items():
        MESSAGES_CONSUMED.labels(runtime.service, spec.name, records[0].topic, outcome).inc(n)
    if records:
        runtime._observe_lag(spec, records[-1], consumer)
    return outcomes


async def _handle_together(
    runtime: ConsumerRuntime,
    spec: ConsumerSpec,
    session: AsyncSession,
    decoded: list[tuple[ConsumerRecord, Decoded]],
    outcomes: dict[str, int],
    dead: list[tuple[ConsumerRecord, str, str]],
) -> None:
    if not decoded:
        return
    inbox = runtime.inbox
    # One statement of constant text (the ids travel as one array): compiled once, planned once.
    ids = bindparam("ids", [item.message_id for _, item in decoded], type_=ARRAY(Text))
    claimed = set(
        await session.scalars(
            insert(inbox)
            .from_select(["consumer", "message_id"], select(literal(spec.name, Text), func.unnest(ids)))
            .on_conflict_do_nothing()
            .returning(inbox.c.message_id)
        )
    )
    todo: list[tuple[ConsumerRecord, Decoded]] = []
    for record, item in decoded:
        if item.message_id in claimed:
            claimed.discard(item.message_id)  # a second copy in the same batch is a duplicate too
            todo.append((record, item))
        else:
            _count(outcomes, "duplicate")
    if not todo:
        return
    # One call writes for many messages: no single message's correlation applies to all of it.
    context.correlation_id.set(None)
    context.actor.set(None)
    try:
        results = await spec.batch_handler(session, [item.payload for _, item in todo])  # type: ignore[misc]
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        for record, _ in decoded:
            origin = (record.topic, record.partition, record.offset)
            runtime._attempts[origin] = runtime._attempts.get(origin, 0) + 1
        raise
    failed: list[str] = []
    for (record, item), result in zip(todo, results, strict=True):
        if isinstance(result, LatheError):
            dead.append((record, result.code, result.detail))
            failed.append(item.message_id)
        else:
            _count(outcomes, "processed")
    if failed:  # their inbox rows were claimed above: released, so nothing of them stays behind
        failed_ids = bindparam("failed", failed, type_=ARRAY(Text))
        released = delete(inbox).where(inbox.c.consumer == spec.name, inbox.c.message_id == any_(failed_ids))
        await session.execute(released)


def _count(outcomes: dict[str, int], outcome: str) -> None:
    outcomes[outcome] = outcomes.get(outcome, 0) + 1
