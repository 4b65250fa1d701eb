"""The stream's table against the real PostgreSQL (the analytics schema of the local stack): ids
become visible in the order writers commit, pages filter as the live queues do, pruning records
how far it went, one replica writes each kpi tick, and the consumer stores a batch in arrival
order. Entries carry process and model codes of each test's own; pruning runs in a transaction
that is rolled back, so the stack's stream loses nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from lathe_analytics.floor.decoding import RawEvent
from lathe_analytics.settings import settings
from lathe_analytics.stream import consumer, repository
from lathe_analytics.stream.payloads import NewEntry
from lathe_analytics.stream.wire import KINDS, StreamFilter
from lathe_common.db import create_engine, create_session_factory, unit_of_work
from lathe_contracts.analytics import SpcAlertEvent
from lathe_contracts.production import LotCreatedEvent, LotStatusChangedEvent, StepRecordedEvent
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, pool_size=4)
    try:
        yield engine
    finally:
        await engine.dispose()


def tag() -> str:
    return uuid.uuid4().hex[:10].upper()


async def mine(engine: AsyncEngine, codes: set[str]) -> list[repository.StoredEntry]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT id, kind, process_code, model_code, data FROM analytics.stream_entries "
                "WHERE process_code = ANY(:codes) OR model_code = ANY(:codes) ORDER BY id"
            ),
            {"codes": sorted(codes)},
        )
        return [repository.StoredEntry(*row) for row in rows]


async def test_ids_become_visible_in_the_order_writers_commit(engine):
    """The second writer waits for the first's commit before it is given ids: a reader that has
    seen an id never finds a smaller one appear later."""
    factory = create_session_factory(engine)
    code = f"T_{tag()}"
    first_inserted = asyncio.Event()
    first_may_commit = asyncio.Event()

    async def first() -> None:
        async with unit_of_work(factory) as session:
            await repository.append(session, [NewEntry("step", code, None, '{"writer":1}')])
            first_inserted.set()
            await first_may_commit.wait()

    async def second() -> None:
        await first_inserted.wait()
        async with unit_of_work(factory) as session:
            await repository.append(session, [NewEntry("step", code, None, '{"writer":2}')])

    writers = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_inserted.wait()
    await asyncio.sleep(0.3)  # the second writer is waiting for the lock, holding no id
    assert await mine(engine, {code}) == []
    first_may_commit.set()
    await asyncio.gather(*writers)
    found = await mine(engine, {code})
    assert [json.loads(e.data)["writer"] for e in found] == [1, 2]
    assert found[0].id < found[1].id


async def test_pages_filter_as_the_live_queues_do_and_keep_the_order_of_a_batch(engine):
    p1, p2, m1, m2 = (f"T_{tag()}" for _ in range(4))
    batch = [
        NewEntry("step", p1, m1, '{"n":1}'),
        NewEntry("lot", None, m1, '{"n":2}'),
        NewEntry("spc", p1, None, '{"n":3}'),
        NewEntry("step", p2, m2, '{"n":4}'),
        NewEntry("step", p1, m2, '{"n":5}'),
    ]
    async with unit_of_work(create_session_factory(engine)) as session:
        await repository.append(session, batch)
    stored = await mine(engine, {p1, p2, m1, m2})
    assert [json.loads(e.data)["n"] for e in stored] == [1, 2, 3, 4, 5]
    after, upto = stored[0].id - 1, stored[-1].id
    filters = [
        StreamFilter(),
        StreamFilter(process_code=p1),
        StreamFilter(model_code=m1),
        StreamFilter(frozenset({"step", "lot"}), model_code=m2),
        StreamFilter(frozenset({"spc"}), p1, m1),
    ]
    async with engine.connect() as connection:
        for wanted in filters:
            page = await repository.page(connection, after, upto, wanted, 100)
            expected = [e.id for e in stored if wanted.matches(e.kind, e.process_code, e.model_code)]
            # Other writers' entries (kpi ticks, other tests) may lie in the range: compare ours.
            assert [e.id for e in page.entries if e.id in {s.id for s in stored}] == expected, wanted
        limited = await repository.page(connection, after, upto, StreamFilter(process_code=p1), 2)
        assert [e.id for e in limited.entries] == [stored[0].id, stored[2].id]


async def test_pruning_takes_the_oldest_first_and_records_how_far_it_went(engine):
    code = f"T_{tag()}"
    async with unit_of_work(create_session_factory(engine)) as session:
        await repository.append(session, [NewEntry("step", code, None, f'{{"n":{n}}}') for n in range(5)])
    stored = await mine(engine, {code})
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            newest = int(await connection.scalar(text("SELECT max(id) FROM analytics.stream_entries")))
            # Keep only the newest two entries (whatever their age); at most 1,000,000 per round.
            deleted = await repository.prune_round(
                connection, older_than=datetime.now(UTC) - timedelta(days=1), keep=2, chunk=1_000_000
            )
            assert deleted >= 3
            # The live consumer may append (a kpi tick) meanwhile: the newest two are then its.
            state = int(await connection.scalar(text("SELECT pruned_through FROM analytics.stream_state")))
            assert state >= newest - 2
            kept = text(f"SELECT count(*) FROM analytics.stream_entries WHERE id <= {state}")
            assert await connection.scalar(kept) == 0
            above = text(f"SELECT count(*) FROM analytics.stream_entries WHERE id > {state}")
            assert await connection.scalar(above) >= 2  # the newest two are kept
            page = await repository.page(connection, stored[0].id - 1, newest, StreamFilter(process_code=code), 10)
            assert page.pruned_through == state > stored[0].id - 1  # a client there has missed some
            assert await repository.newest_id(connection) >= newest
            # Entries older than the retention go too, and nothing beyond the oldest chunk.
            await transaction.rollback()
            transaction = await connection.begin()
            oldest = int(await connection.scalar(text("SELECT min(id) FROM analytics.stream_entries")))
            deleted = await repository.prune_round(
                connection, older_than=datetime.now(UTC) + timedelta(minutes=1), keep=10**9, chunk=3
            )
            assert 1 <= deleted <= 3  # at most the chunk, oldest first
            assert (
                await connection.scalar(text(f"SELECT count(*) FROM analytics.stream_entries WHERE id = {oldest}")) == 0
            )
            assert int(await connection.scalar(text("SELECT pruned_through FROM analytics.stream_state"))) >= oldest
        finally:
            await transaction.rollback()


async def test_one_replica_writes_each_kpi_tick(engine):
    factory = create_session_factory(engine)
    every = timedelta(hours=1)
    async with unit_of_work(factory) as session:  # as if a tick was just written
        await session.execute(text("UPDATE analytics.stream_state SET kpi_at = now() - interval '2 hours'"))

    async def claim() -> bool:
        async with unit_of_work(factory) as session:
            due = await repository.kpi_due(session, every)
            await asyncio.sleep(0.1)  # the claim's row lock is held while the tick is written
            return due

    assert sorted(await asyncio.gather(*(claim() for _ in range(4)))) == [False, False, False, True]
    async with unit_of_work(factory) as session:
        assert not await repository.kpi_due(session, every)
        # Give the stack's own tick back (every STREAM_KPI_SECONDS).
        await session.execute(text("UPDATE analytics.stream_state SET kpi_at = NULL"))


def raw(event, at: datetime) -> RawEvent:
    return RawEvent(str(uuid.uuid4()), event.event_type, at, event.model_dump_json().encode())


async def test_the_consumer_stores_a_batch_in_arrival_order_and_refuses_a_step_that_does_not_fit(engine):
    model, process = f"TM-{tag()}", f"T_{tag()}"
    at = datetime.now(UTC)
    lot_id = uuid.uuid4()
    created = LotCreatedEvent(
        id=lot_id,
        lot_number=f"{model}-L1",
        product_model_id=uuid.uuid4(),
        model_code=model,
        work_order_number=None,
        target_quantity=5,
        shift="DAY",
        production_date=at.date().isoformat(),
        status="CREATED",
    )
    moved = LotStatusChangedEvent(
        id=lot_id, lot_number=f"{model}-L1", work_order_number=None, previous_status="CREATED", status="IN_PROGRESS"
    )
    step = StepRecordedEvent(
        id=uuid.uuid4(),
        subject_id=uuid.uuid4(),
        message_id=None,
        process_id=uuid.uuid4(),
        process_code=process,
        level="SERIAL",
        step_no=1,
        lot_id=lot_id,
        lot_number=f"{model}-L1",
        model_code=model,
        work_order_number=None,
        serial_id=uuid.uuid4(),
        serial_number=f"{model}-0001",
        result="PASS",
        reported_result=None,
        measurements={},
        violations=[],
        defect_codes=[],
        operator="kim",
        equipment_id=None,
        started_at=None,
        completed_at=at.isoformat(),
        cycle_time_seconds=12.5,
        serial_status="IN_PROGRESS",
        rework_count=0,
    )
    alert = SpcAlertEvent(
        id=uuid.uuid4(),
        process_code=process,
        measurement="offset_mv",
        rule=1,
        rule_code="beyond_3_sigma",
        description="A point beyond 3 sigma",
        centre_line=0.0,
        upper_control_limit=3.0,
        lower_control_limit=-3.0,
        points=[],
        detected_at=at.isoformat(),
    )
    broken = RawEvent(str(uuid.uuid4()), StepRecordedEvent.event_type, at, b'{"process_code": 5}')
    events = [raw(created, at), raw(moved, at), None, broken, raw(step, at), raw(alert, at)]
    async with unit_of_work(create_session_factory(engine)) as session:
        outcomes = await consumer.apply(session, events)
    assert [o.code if o else None for o in outcomes] == [None, None, None, "invalid_event", None, None]
    stored = await mine(engine, {model, process})
    assert [e.kind for e in stored] == ["lot", "lot", "step", "spc"]
    assert {e.kind for e in stored} <= set(KINDS)
    moved_data = json.loads(stored[1].data)
    assert moved_data["model_code"] == model and moved_data["previous_status"] == "CREATED"
    assert (stored[1].model_code, stored[2].process_code, stored[3].process_code) == (model, process, process)
    assert json.loads(stored[2].data)["serial_number"] == f"{model}-0001"
