"""Consumers dispatch by event type through a table."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest
from lathe_common.consumers import by_event_type
from lathe_common.errors import InvalidInput
from lathe_common.events import DomainEvent, Envelope


class WidgetMade(DomainEvent):
    event_type: ClassVar[str] = "lathe.test.widget.made.v1"
    topic: ClassVar[str] = "lathe.test.widgets.v1"
    id: uuid.UUID
    size: int


class WidgetScrapped(DomainEvent):
    event_type: ClassVar[str] = "lathe.test.widget.scrapped.v1"
    topic: ClassVar[str] = "lathe.test.widgets.v1"
    id: uuid.UUID
    reason: str


class Other(DomainEvent):
    event_type: ClassVar[str] = "lathe.test.other.v1"
    topic: ClassVar[str] = "lathe.test.widgets.v1"
    id: uuid.UUID


async def test_each_event_reaches_the_handler_of_its_type_as_its_class():
    seen: list[tuple[str, DomainEvent]] = []

    async def made(session, event: WidgetMade) -> None:
        seen.append(("made", event))

    async def scrapped(session, event: WidgetScrapped) -> None:
        seen.append(("scrapped", event))

    handle = by_event_type({WidgetMade: made, WidgetScrapped: scrapped})
    first, second = WidgetMade(id=uuid.uuid4(), size=3), WidgetScrapped(id=uuid.uuid4(), reason="bent")
    for event in (first, second, Other(id=uuid.uuid4())):  # the last: nobody's business here, skipped
        await handle(None, Envelope.wrap(event, source="lathe/test"))
    assert seen == [("made", first), ("scrapped", second)]


async def test_data_that_does_not_fit_its_declared_type_is_an_invalid_event():
    async def made(session, event: WidgetMade) -> None:
        raise AssertionError("not reached")

    envelope = Envelope.wrap(WidgetMade(id=uuid.uuid4(), size=1), source="lathe/test")
    broken = envelope.model_copy(update={"data": {"id": "not-a-uuid", "size": "x"}})
    with pytest.raises(InvalidInput) as refused:
        await by_event_type({WidgetMade: made})(None, broken)
    assert refused.value.code == "invalid_event"


def test_two_classes_of_one_type_are_a_mistake():
    class Again(WidgetMade):
        pass

    async def nothing(session, event) -> None:
        return None

    with pytest.raises(ValueError, match="same event type"):
        by_event_type({WidgetMade: nothing, Again: nothing})


async def test_a_batch_gives_each_handler_its_events_in_order_and_refuses_only_what_does_not_fit():
    from lathe_common.consumers import batched_by_event_type

    calls: list[tuple[str, list[DomainEvent]]] = []

    async def made(session, events: list[WidgetMade]) -> None:
        calls.append(("made", events))

    async def scrapped(session, events: list[WidgetScrapped]) -> None:
        calls.append(("scrapped", events))

    handle = batched_by_event_type({WidgetMade: made, WidgetScrapped: scrapped})
    one, two = WidgetMade(id=uuid.uuid4(), size=1), WidgetMade(id=uuid.uuid4(), size=2)
    gone = WidgetScrapped(id=uuid.uuid4(), reason="bent")
    broken = Envelope.wrap(one, source="t").model_copy(update={"data": {"size": "x"}})
    envelopes = [Envelope.wrap(e, source="t") for e in (gone, one, Other(id=uuid.uuid4()))] + [broken]
    envelopes.append(Envelope.wrap(two, source="t"))
    outcomes = await handle(None, envelopes)
    assert [type(o).__name__ if o else None for o in outcomes] == [None, None, None, "InvalidInput", None]
    assert outcomes[3].code == "invalid_event"
    assert calls == [("made", [one, two]), ("scrapped", [gone])]  # the table's order, arrival order within


async def test_a_handler_of_several_types_gets_them_interleaved_in_arrival_order():
    from lathe_common.consumers import batched_by_event_type

    calls: list[tuple[str, list[DomainEvent]]] = []

    async def widgets(session, events: list[DomainEvent]) -> None:
        calls.append(("widgets", events))

    async def other(session, events: list[Other]) -> None:
        calls.append(("other", events))

    handle = batched_by_event_type({Other: other, (WidgetMade, WidgetScrapped): widgets})
    made, gone, again = (
        WidgetMade(id=uuid.uuid4(), size=1),
        WidgetScrapped(id=uuid.uuid4(), reason="bent"),
        WidgetMade(id=uuid.uuid4(), size=2),
    )
    stray = Other(id=uuid.uuid4())
    outcomes = await handle(None, [Envelope.wrap(e, source="t") for e in (made, stray, gone, again)])
    assert outcomes == [None] * 4
    assert calls == [("other", [stray]), ("widgets", [made, gone, again])]
    with pytest.raises(ValueError, match="same event type"):
        batched_by_event_type({WidgetMade: other, (WidgetMade, WidgetScrapped): widgets})
