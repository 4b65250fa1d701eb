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


def _valid_headers() -> list[tuple[str, bytes]]:
    return Envelope.wrap(WidgetMade(id=uuid.uuid4(), size=1), source="lathe/test").kafka_headers()


@pytest.mark.parametrize(
    ("extra", "body", "code", "message"),
    [
        ([("ce_actor", b"\xff")], b"{}", "invalid_envelope", "ce_actor is not UTF-8"),
        ([("ce_actor", None)], b"{}", "invalid_envelope", "ce_actor has no value"),
        ([("ce_subject", b"a\x00b")], b"{}", "invalid_value", "ce_subject contains a NUL character"),
        ([], b'{"size": NaN}', "invalid_value", "size: is not a finite number"),
        ([], b'{"note": "\\u0000"}', "invalid_value", "note: contains a NUL character"),
        ([], b"[" * 300 + b"]" * 300, "invalid_envelope", "recursion limit"),
        ([], None, "invalid_envelope", "not JSON"),
    ],
)
def test_whatever_a_producer_writes_the_only_error_is_invalid_envelope_with_a_reason(extra, body, code, message):
    with pytest.raises(InvalidEnvelope) as raised:
        Envelope.from_kafka(_valid_headers() + extra, body)
    assert raised.value.code == code and message in str(raised.value)


def test_extensions_that_are_not_attributes_are_ignored_even_one_named_data():
    envelope = Envelope.from_kafka([*_valid_headers(), ("ce_data", b"x"), ("ce_other", b"\xff")], b'{"size": 2}')
    assert envelope.data == {"size": 2}
