"""The consumer that fills the stream: steps, LOT changes and SPC alerts, stored as stream entries.

One batch is one INSERT (``repository.append``), in arrival order, in the batch's transaction, so
the inbox makes a redelivered batch add nothing. It starts from the topics' end the first time
(``auto_offset_reset="latest"``): a live stream has no use for last week's steps; after that it
goes on from its committed offsets, so a restart loses nothing (clients resuming with
Last-Event-ID get what came meanwhile, late).

A LOT's status change names no product model; it is taken from the LOT's creation when that is in
the same batch, else from the floor read model's LOTs (``FloorLot``), else left null.
"""

from __future__ import annotations

from typing import Any

from lathe_common.consumers import ConsumerSpec
from lathe_common.errors import InvalidInput, LatheError
from lathe_contracts.analytics import SPC_ALERTS_TOPIC, SpcAlertEvent
from lathe_contracts.production import (
    LOTS_TOPIC,
    PROCESS_DATA_TOPIC,
    LotCreatedEvent,
    LotStatusChangedEvent,
    StepRecordedEvent,
)
from pydantic import ValidationError
from sqlalchemy import Text, Uuid, any_, bindparam, cast, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.decoding import RawEvent, decoder
from lathe_analytics.floor.models import FloorLot
from lathe_analytics.stream import repository
from lathe_analytics.stream.payloads import NewEntry, lot_created_entry, lot_moved_entry, spc_entry, step_entry

NAME = "analytics.stream"
_TYPES = frozenset(e.event_type for e in (StepRecordedEvent, LotCreatedEvent, LotStatusChangedEvent, SpcAlertEvent))


def _refused(raw: RawEvent, exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        f"The data of {raw.type} does not fit its contract: {exc.errors(include_url=False)}", code="invalid_event"
    )


def _typed(raw: RawEvent) -> Any:
    """The step's entry, or the contract event of a LOT change or an alert."""
    if raw.type == StepRecordedEvent.event_type:
        return step_entry(raw.body, raw.time)
    if raw.type == LotCreatedEvent.event_type:
        return LotCreatedEvent.model_validate_json(raw.body)
    if raw.type == LotStatusChangedEvent.event_type:
        return LotStatusChangedEvent.model_validate_json(raw.body)
    return SpcAlertEvent.model_validate_json(raw.body)


async def _lot_models(session: AsyncSession, lot_ids: set[str]) -> dict[str, str]:
    if not lot_ids:
        return {}
    ids = bindparam("lot_ids", sorted(lot_ids), type_=ARRAY(Uuid(as_uuid=False)))
    rows = await session.execute(
        select(cast(FloorLot.lot_id, Text), FloorLot.model_code).where(
            FloorLot.lot_id == any_(ids), FloorLot.model_code.is_not(None)
        )
    )
    return {lot_id: model for lot_id, model in rows}


async def apply(session: AsyncSession, events: list[RawEvent | None]) -> list[LatheError | None]:
    """One outcome per record (None for types the stream does not carry: the decoder passed them over)."""
    outcomes: list[LatheError | None] = [None] * len(events)
    typed: list[tuple[RawEvent, Any]] = []
    for n, raw in enumerate(events):
        if raw is None:
            continue
        try:
            typed.append((raw, _typed(raw)))
        except ValidationError as exc:
            outcomes[n] = _refused(raw, exc)
    models = {str(e.id): e.model_code for _, e in typed if isinstance(e, LotCreatedEvent)}
    unknown = {str(e.id) for _, e in typed if isinstance(e, LotStatusChangedEvent)} - set(models)
    models |= await _lot_models(session, unknown)
    entries: list[NewEntry] = []
    for raw, event in typed:
        if isinstance(event, NewEntry):
            entries.append(event)
        elif isinstance(event, LotCreatedEvent):
            entries.append(lot_created_entry(event, raw.time))
        elif isinstance(event, LotStatusChangedEvent):
            entries.append(lot_moved_entry(event, raw.time, models.get(str(event.id))))
        else:
            entries.append(spc_entry(event))
    await repository.append(session, entries)
    return outcomes


async def _one(session: AsyncSession, payload: RawEvent | None) -> None:
    outcome = (await apply(session, [payload]))[0]
    if outcome is not None:
        raise outcome


stream_consumer = ConsumerSpec(
    name=NAME,
    topics=(PROCESS_DATA_TOPIC, LOTS_TOPIC, SPC_ALERTS_TOPIC),
    handler=_one,
    batch_handler=apply,
    decode=decoder(_TYPES),
    auto_offset_reset="latest",
    batch_size=2000,
    description="Steps, LOT changes and SPC alerts into the realtime stream's entries (GET /api/v1/analytics/stream).",
)
