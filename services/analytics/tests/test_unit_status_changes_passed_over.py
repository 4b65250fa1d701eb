"""A unit's status change (``serial.status-changed``, a disposition) on the process-data topic: the
realtime stream and SPC do not read it and must pass it over (an outcome of None: processed, never
dead-lettered), as the runtime would call them; the floor read model refuses one that does not fit
its tables alone. Pure: none of these paths touches a session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.structs import ConsumerRecord
from lathe_analytics.floor import projector
from lathe_analytics.floor.decoding import RawEvent
from lathe_analytics.spc import consumer as spc
from lathe_analytics.stream import consumer as stream
from lathe_common.errors import InvalidInput
from lathe_common.events import Envelope
from lathe_contracts.production import PROCESS_DATA_TOPIC, SerialStatusChangedEvent


def _changed(**overrides) -> SerialStatusChangedEvent:
    fields = dict(
        serial_id=uuid.uuid4(),
        serial_number="WF-KR-260105D-001-0001",
        lot_id=uuid.uuid4(),
        lot_number="WF-KR-260105D-001",
        model_code="M",
        work_order_number=None,
        previous_status="FAILED",
        serial_status="SCRAPPED",
        rework_count=0,
        current_step=1,
        cause="disposition",
        nonconformance_id=uuid.uuid4(),
        disposition="SCRAP",
        code=None,
    )
    return SerialStatusChangedEvent(**(fields | overrides))


def _record(event: SerialStatusChangedEvent) -> ConsumerRecord:
    envelope = Envelope(
        id=uuid.uuid4(),
        source="lathe/production",
        type=event.event_type,
        time=datetime.now(UTC),
        subject=event.aggregate_id,
        data=event.model_dump(mode="json"),
    )
    key, value, headers = str(event.serial_id).encode(), envelope.kafka_value(), envelope.kafka_headers()
    return ConsumerRecord(PROCESS_DATA_TOPIC, 0, 0, 0, 0, key, value, None, len(key), len(value), headers)


async def test_the_realtime_stream_passes_a_status_change_over():
    decoded = stream.stream_consumer.decode(_record(_changed()))
    assert decoded.payload is None  # not a type the stream carries: passed over unread
    assert await stream.apply(None, [decoded.payload]) == [None]  # type: ignore[arg-type]


async def test_spc_passes_a_status_change_over():
    decoded = spc.spc_read_model.consumer().decode(_record(_changed()))
    assert decoded.payload.type == SerialStatusChangedEvent.event_type
    assert await spc._apply(None, [decoded.payload]) == [None]  # type: ignore[arg-type]


def test_the_floor_reads_a_status_change_and_refuses_one_its_tables_cannot_hold():
    decode = projector.floor_read_model.decode
    read = decode(_record(_changed())).payload
    assert isinstance(read, RawEvent) and read.type == SerialStatusChangedEvent.event_type
    for field, value in (("current_step", -1), ("rework_count", 40000)):
        raw = decode(_record(_changed(**{field: value}))).payload
        with pytest.raises(InvalidInput) as refused:
            projector._typed(raw)
        assert refused.value.code == "invalid_event" and field in str(refused.value)
