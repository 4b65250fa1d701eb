"""Handling events by type: a table from event class to handler, never an ``if`` chain.

    handler = by_event_type({LotCreatedEvent: lot_created, StepRecordedEvent: step_recorded})
    ConsumerSpec(name=..., topics=(LOTS_TOPIC, PROCESS_DATA_TOPIC), handler=handler)

The envelope's ``ce_type`` picks the class; its data is validated into that event (a body that
does not fit its declared type is dead-lettered with reason ``invalid_event``) and given to the
handler with the session. Types the table does not name are other consumers' business: they are
skipped, and counted under the outcome ``processed`` like any handled record.

``batched_by_event_type`` is the same table for a batch handler: each handler gets the batch's
events of its type, in the order they arrived, and the handlers run in the table's order (so a
table that names "created" before "changed" applies a batch's creations first). Set-based
handlers keep a read model up with the busiest topic. A key may be a tuple of event classes: its
handler gets the batch's events of all of them interleaved, in the order they arrived (for events
of one key on one partition that must be applied in their order, e.g. a unit's steps and its
status changes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_common.consumers.spec import BatchHandler, Handler
from lathe_common.errors import InvalidInput, LatheError
from lathe_common.events import DomainEvent, Envelope

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=DomainEvent)
EventHandler = Callable[[AsyncSession, Any], Awaitable[None]]


EventsHandler = Callable[[AsyncSession, list[Any]], Awaitable[None]]


def _table(
    handlers: Mapping[type[DomainEvent] | tuple[type[DomainEvent], ...], Any],
) -> tuple[dict[str, tuple[type[DomainEvent], int]], list[Any]]:
    """Event type -> (its class, the position of its handler), and the handlers in order."""
    table: dict[str, tuple[type[DomainEvent], int]] = {}
    classes = 0
    for position, key in enumerate(handlers):
        for event in key if isinstance(key, tuple) else (key,):
            table[event.event_type] = (event, position)
            classes += 1
    if len(table) != classes:
        raise ValueError("two event classes declare the same event type")
    return table, list(handlers.values())


def _event_of(event_class: type[E], envelope: Envelope) -> E:
    try:
        return event_class.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidInput(
            f"The data of {envelope.type} does not fit its contract: {exc.errors(include_url=False)}",
            code="invalid_event",
        ) from None


def by_event_type(handlers: Mapping[type[DomainEvent], EventHandler]) -> Handler:
    """One consumer handler that sends each event to the handler of its type."""
    table, ordered = _table(handlers)

    async def dispatch(session: AsyncSession, envelope: Envelope) -> None:
        entry = table.get(envelope.type)
        if entry is None:
            logger.debug("skipped %s: no handler for it", envelope.type)
            return
        event_class, position = entry
        await ordered[position](session, _event_of(event_class, envelope))

    return dispatch


def batched_by_event_type(
    handlers: Mapping[type[DomainEvent] | tuple[type[DomainEvent], ...], EventsHandler],
) -> BatchHandler:
    """A batch handler that gives each handler the batch's events of its type (or of its tuple of
    types, interleaved), in arrival order."""
    table, ordered = _table(handlers)

    async def dispatch(session: AsyncSession, envelopes: list[Envelope]) -> list[LatheError | None]:
        outcomes: list[LatheError | None] = [None] * len(envelopes)
        by_key: dict[int, list[DomainEvent]] = {}
        for n, envelope in enumerate(envelopes):
            entry = table.get(envelope.type)
            if entry is None:
                continue
            try:
                event_class, position = entry
                by_key.setdefault(position, []).append(_event_of(event_class, envelope))
            except InvalidInput as refused:
                outcomes[n] = refused
        for key, handler in enumerate(ordered):
            if events := by_key.get(key):
                await handler(session, events)
        return outcomes

    return dispatch
