import json
import uuid
from typing import ClassVar

import pytest
from lathe_common.events import DomainEvent, Envelope, InvalidEnvelope


class WidgetMade(DomainEvent):
    event_type: ClassVar[str] = "lathe.test.widget.made.v1"
    topic: ClassVar[str] = "lathe.test.widgets.v1"

    id: uuid.UUID
    size: int


def test_round_trip_through_kafka_headers_and_body():
    event = WidgetMade(id=uuid.uuid4(), size=3)
    envelope = Envelope.wrap(event, source="lathe/test", correlation_id="corr-1", actor="alice")

    headers = envelope.kafka_headers()
    names = {k for k, _ in headers}
    assert {"ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_specversion"} <= names
    assert dict(headers)["ce_type"] == b"lathe.test.widget.made.v1"
    assert json.loads(envelope.kafka_value()) == {"id": str(event.id), "size": 3}

    decoded = Envelope.from_kafka(headers, envelope.kafka_value())
    assert decoded == envelope
    assert decoded.subject == str(event.id)
    assert decoded.time.tzinfo is not None


def test_missing_cloudevents_headers_are_named():
    with pytest.raises(InvalidEnvelope, match="ce_id"):
        Envelope.from_kafka([("ce_type", b"x")], b"{}")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", None])
def test_body_must_be_a_json_object(body):
    headers = Envelope.wrap(WidgetMade(id=uuid.uuid4(), size=1), source="s").kafka_headers()
    with pytest.raises(InvalidEnvelope):
        Envelope.from_kafka(headers, body)


def test_naive_time_is_refused():
    headers = dict(Envelope.wrap(WidgetMade(id=uuid.uuid4(), size=1), source="s").kafka_headers())
    headers["ce_time"] = b"2026-11-22T08:00:00"
    with pytest.raises(InvalidEnvelope):
        Envelope.from_kafka(headers, b"{}")
