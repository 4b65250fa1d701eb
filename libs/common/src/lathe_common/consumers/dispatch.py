"""Handling events by type: a table from event class to handler, never an ``if`` chain.

    handler = by_event_type({LotCreatedEvent: lot_created, StepRecordedEvent: step_recorded})
    ConsumerSpec(name=..., topics=(LOTS_TOPIC, PROCESS_DATA_TOPIC), handler=handler)

The envelope's ``ce_type`` picks the class; its data is validated into that event (a body that
does not fit its declared type is dead-lettered with reason ``invalid_event``) and given to the
handler with the session. Types the table does not name are other consumers' business: they are
skipped, and counted under the outcome ``processed`` like any handled record.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_common.consumers.spec import Handler
from lathe_common.errors import InvalidInput
from lathe_common.events import DomainEvent, Envelope

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=DomainEvent)
EventHandler = Callable[[AsyncSession, Any], Awaitable[None]]


def by_event_type(handlers: Mapping[type[DomainEvent], EventHandler]) -> Handler:
    """One consumer handler that sends each event to the handler of its type."""
    table = {event.event_type: (event, handler) for event, handler in handlers.items()}
    if len(table) != len(handlers):
        raise ValueError("two event classes declare the same event type")

    async def dispatch(session: AsyncSession, envelope: Envelope) -> None:
        entry = table.get(envelope.type)
        if entry is None:
            logger.debug("skipped %s: no handler for it", envelope.type)
            return
        event_class, handler = entry
        try:
            event = event_class.model_validate(envelope.data)
        except ValidationError as exc:
            raise InvalidInput(
                f"The data of {envelope.type} does not fit its contract: {exc.errors(include_url=False)}",
                code="invalid_event",
            ) from None
        await handler(session, event)

    return dispatch
