"""The floor read model's batch handler: production's events in, projections and aggregates out.

One call handles a fetched batch of every topic it reads: events are validated by type, the two
things the batch needs from before it are read in two statements (the furthest routing step of
its units, the model of its LOTs), ``facts`` computes what the batch adds in memory, and
``writes`` stores it with one statement per table. A body that does not fit its type is refused
alone (``invalid_event``, dead-lettered by the runtime); types it does not read are skipped. A
unit's steps and its status changes (dispositions) share its partition and are applied together,
in the order they arrived.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from lathe_common.errors import InvalidInput, LatheError
from lathe_common.events import DomainEvent
from lathe_contracts.production import (
    LOTS_TOPIC,
    PROCESS_DATA_TOPIC,
    PROCESSES_TOPIC,
    PRODUCT_MODELS_TOPIC,
    SERIALS_TOPIC,
    LotCreatedEvent,
    LotStatusChangedEvent,
    ProcessChangedEvent,
    ProcessDefinedEvent,
    ProductModelChangedEvent,
    ProductModelDefinedEvent,
    SerialsCreatedEvent,
    SerialStatusChangedEvent,
    StepRecordedEvent,
)
from pydantic import ValidationError
from sqlalchemy import Text, Uuid, any_, bindparam, cast, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.decoding import SMALLINT, RawEvent, StepView, canonical_uuid, decoder
from lathe_analytics.floor.facts import FactsBuilder, StatusChange, StepInput
from lathe_analytics.floor.models import FLOOR_TABLES, FloorLot, FloorProcess, FloorProductModel, FloorUnit
from lathe_analytics.floor.plant import CLOCK
from lathe_analytics.floor.writes import write_facts
from lathe_analytics.read_models.bulk import add_up
from lathe_analytics.read_models.declaration import ReadModel

TOPICS = (PROCESSES_TOPIC, PRODUCT_MODELS_TOPIC, LOTS_TOPIC, SERIALS_TOPIC, PROCESS_DATA_TOPIC)
EVENTS: tuple[type[DomainEvent], ...] = (
    ProcessDefinedEvent,
    ProcessChangedEvent,
    ProductModelDefinedEvent,
    ProductModelChangedEvent,
    LotCreatedEvent,
    LotStatusChangedEvent,
    SerialsCreatedEvent,
    StepRecordedEvent,
    SerialStatusChangedEvent,
)
_BY_TYPE = {event.event_type: event for event in EVENTS}


class _Batch:
    """The batch's events by kind, in arrival order."""

    def __init__(self) -> None:
        self.processes: dict[str, ProcessDefinedEvent] = {}
        self.models: dict[str, ProductModelDefinedEvent] = {}
        self.lots_created: list[tuple[LotCreatedEvent, datetime]] = []
        self.lots_moved: list[tuple[LotStatusChangedEvent, datetime]] = []
        self.serials: list[tuple[SerialsCreatedEvent, datetime]] = []
        # A unit's steps and status changes, interleaved as they arrived (a disposition between two
        # steps of a unit lands between them).
        self.unit_events: list[StepInput | StatusChange] = []

    def add(self, event: Any, at: datetime) -> None:
        if isinstance(event, ProcessDefinedEvent):  # defined or changed: the last one describes it
            self.processes[str(event.id)] = event
        elif isinstance(event, ProductModelDefinedEvent):
            self.models[event.model_code] = event
        elif isinstance(event, LotCreatedEvent):
            self.lots_created.append((event, at))
        elif isinstance(event, LotStatusChangedEvent):
            self.lots_moved.append((event, at))
        elif isinstance(event, SerialsCreatedEvent):
            self.serials.append((event, at))
        elif isinstance(event, SerialStatusChangedEvent):
            self.unit_events.append(StatusChange.of(event, at))
        else:
            self.unit_events.append(event)


_INT32 = 2**31
# The API shares the process's event loop: a batch's Python work gives it a turn this often, so a
# request waits a slice of a batch (a few ms), not a whole batch.
_SLICE = 250


def _fits(event: Any) -> Any:
    """What the contract allows but the tables cannot hold is refused like a body that does not fit."""
    numbers = {
        ProcessDefinedEvent: ("process_number",),
        LotCreatedEvent: ("target_quantity",),
    }
    for kind, names in numbers.items():
        if isinstance(event, kind):
            for name in names:
                if not -_INT32 <= getattr(event, name) < _INT32:
                    raise ValueError(f"{name} is beyond a 32-bit integer")
    if isinstance(event, SerialStatusChangedEvent):  # kept as smallint, like a step's
        for name in ("rework_count", "current_step"):
            if not 0 <= getattr(event, name) <= SMALLINT:
                raise ValueError(f"{name} is out of range 0-{SMALLINT}")
    if isinstance(event, SerialsCreatedEvent):
        for unit in event.serials:
            canonical_uuid(str(unit.get("id")))
    return event


def _typed(raw: RawEvent) -> Any:
    """The event in ``raw`` (a StepInput for a step)."""
    try:
        if raw.type == StepRecordedEvent.event_type:
            return StepInput.of(StepView.model_validate_json(raw.body))
        return _fits(_BY_TYPE[raw.type].model_validate_json(raw.body))
    except (ValidationError, ValueError) as exc:
        detail = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
        raise InvalidInput(
            f"The data of {raw.type} does not fit its contract: {detail}", code="invalid_event"
        ) from None


async def apply(session: AsyncSession, events: list[RawEvent | None]) -> list[LatheError | None]:
    """One outcome per record the decoder read (None: a type this read model does not read)."""
    outcomes: list[LatheError | None] = [None] * len(events)
    batch = _Batch()
    for n, raw in enumerate(events):
        if raw is None:
            continue
        if n % _SLICE == _SLICE - 1:
            await asyncio.sleep(0)
        try:
            batch.add(_typed(raw), raw.time)
        except InvalidInput as refused:
            outcomes[n] = refused
    await _write_catalog(session, batch)
    furthest = await _furthest_steps(session, {u.serial_id for u in batch.unit_events if u.serial_id is not None})
    lot_models = await _lot_models(
        session,
        {str(e.id) for e, _ in batch.lots_moved} | {str(e.lot_id) for e, _ in batch.serials if not e.model_code},
    )
    builder = FactsBuilder(CLOCK, furthest, lot_models)
    for created, at in batch.lots_created:
        builder.lot_created(created, at)
    for moved, at in batch.lots_moved:
        builder.lot_moved(moved, at)
    for serials, at in batch.serials:
        builder.serials_created(serials, at)
    for n, unit_event in enumerate(batch.unit_events):
        if n % _SLICE == _SLICE - 1:
            await asyncio.sleep(0)
        if isinstance(unit_event, StatusChange):
            builder.status_changed(unit_event)
        else:
            builder.step_recorded(unit_event)
    await write_facts(session, builder.facts)
    return outcomes


async def _write_catalog(session: AsyncSession, batch: _Batch) -> None:
    await add_up(
        session,
        FloorProcess.__table__,
        keys=("process_id",),
        added=(),
        replaced=("process_code", "process_number", "name", "is_active"),
        rows=[(e.id, e.process_code, e.process_number, e.name, e.is_active) for e in batch.processes.values()],
    )
    if batch.models:
        table = FloorProductModel.__table__
        rows = [
            {
                "model_code": e.model_code,
                "model_id": e.id,
                "model_name": e.model_name,
                "routing": e.routing,
                "is_active": e.is_active,
            }
            for e in sorted(batch.models.values(), key=lambda e: e.model_code)
        ]
        statement = insert(table).values(rows)
        ex = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["model_code"],
                set_={
                    "model_id": ex.model_id,
                    "model_name": ex.model_name,
                    "routing": ex.routing,
                    "is_active": ex.is_active,
                },
            )
        )


async def _furthest_steps(session: AsyncSession, serial_ids: set[str]) -> dict[str, int]:
    if not serial_ids:
        return {}
    ids = bindparam("serial_ids", sorted(serial_ids), type_=ARRAY(Uuid(as_uuid=False)))
    # Ids read back as text: uuid.UUID objects would cost more than the query.
    rows = await session.execute(
        select(cast(FloorUnit.serial_id, Text), FloorUnit.furthest_step).where(FloorUnit.serial_id == any_(ids))
    )
    return {key: value for key, value in rows}


async def _lot_models(session: AsyncSession, lot_ids: set[str]) -> dict[str, str]:
    if not lot_ids:
        return {}
    ids = bindparam("lot_ids", sorted(lot_ids), type_=ARRAY(Uuid(as_uuid=False)))
    rows = await session.execute(
        select(cast(FloorLot.lot_id, Text), FloorLot.model_code).where(
            FloorLot.lot_id == any_(ids), FloorLot.model_code.is_not(None)
        )
    )
    return {key: value for key, value in rows}


floor_read_model = ReadModel(
    name="analytics.floor",
    topics=TOPICS,
    tables=FLOOR_TABLES,
    apply=apply,
    decode=decoder(frozenset(_BY_TYPE)),
    batch_size=2000,
    description="Production's processes, models, LOTs, units and steps, pre-aggregated for /api/v1/analytics.",
)
