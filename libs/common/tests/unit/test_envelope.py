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
    assert (decoded.correlationid, decoded.actor) == ("corr-1", "alice")
    assert dict(headers)["ce_correlationid"] == b"corr-1" and dict(headers)["ce_actor"] == b"alice"
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


REQUIRED = ["ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "ce_specversion"]


@pytest.mark.parametrize("missing", REQUIRED)
def test_each_required_header_is_required(missing):
    headers = [(k, v) for k, v in _valid_headers() if k != missing]
    with pytest.raises(InvalidEnvelope) as raised:
        Envelope.from_kafka(headers, b"{}")
    assert str(raised.value) == f"missing CloudEvents headers: {missing}"
    assert raised.value.code == "invalid_envelope"


def test_every_missing_header_is_named_in_order():
    with pytest.raises(InvalidEnvelope) as raised:
        Envelope.from_kafka([("content-type", b"application/json")], b"{}")
    assert str(raised.value) == "missing CloudEvents headers: " + ", ".join(sorted(REQUIRED))


@pytest.mark.parametrize("optional", ["ce_correlationid", "ce_actor", "content-type"])
def test_optional_headers_may_be_missing(optional):
    headers = [(k, v) for k, v in _valid_headers() if k != optional]
    assert Envelope.from_kafka(headers, b"{}").data == {}


def test_headers_may_come_as_a_mapping_of_text():
    headers = {k: v.decode() for k, v in _valid_headers()}
    headers["ce_actor"] = "alice"
    envelope = Envelope.from_kafka(headers, b'{"size": 1}')
    assert envelope.actor == "alice" and envelope.specversion == "1.0" and envelope.data == {"size": 1}


def test_attribute_names_without_the_prefix_and_keys_that_are_not_text_are_ignored():
    headers = [*_valid_headers(), ("id", b"not-a-uuid"), ("actor", b"mallory"), (b"ce_actor", b"mallory")]
    envelope = Envelope.from_kafka(headers, b"{}")
    assert envelope.actor is None


def test_a_header_that_is_not_an_attribute_may_hold_anything():
    envelope = Envelope.from_kafka([*_valid_headers(), ("traceparent", None), ("x", b"\xff")], b"{}")
    assert envelope.data == {}


@pytest.mark.parametrize(
    ("header", "value"), [("ce_id", b"not-a-uuid"), ("ce_time", b"yesterday"), ("ce_time", b"2026-11-22T08:00:00")]
)
def test_attributes_of_the_wrong_shape_are_invalid(header, value):
    headers = [(k, value if k == header else v) for k, v in _valid_headers()]
    with pytest.raises(InvalidEnvelope) as raised:
        Envelope.from_kafka(headers, b"{}")
    assert raised.value.code == "invalid_envelope"
    assert str(raised.value).startswith("invalid CloudEvents attributes: ")
    assert "https://" not in str(raised.value)  # the reason, without links to pydantic's docs


def test_a_bytearray_header_is_text_too():
    headers = [(k, bytearray(v)) for k, v in _valid_headers()]
    assert Envelope.from_kafka(headers, bytearray(b"{}")).data == {}


def test_the_body_errors_say_what_is_wrong():
    headers = _valid_headers()
    with pytest.raises(InvalidEnvelope, match="^body must be a JSON object$"):
        Envelope.from_kafka(headers, b"[]")
    with pytest.raises(InvalidEnvelope, match="^body is not JSON: "):
        Envelope.from_kafka(headers, b"")
    with pytest.raises(InvalidEnvelope, match="^body: size: is not a finite number$"):
        Envelope.from_kafka(headers, b'{"size": Infinity}')


def test_the_headers_of_an_event():
    from lathe_common.events import ce_headers

    common = {"id": "i", "source": "s", "type": "t", "time": "2026-01-01T00:00:00+00:00", "subject": "x"}
    assert ce_headers(**common, correlation_id=None, actor=None) == {
        "ce_id": "i",
        "ce_source": "s",
        "ce_type": "t",
        "ce_time": "2026-01-01T00:00:00+00:00",
        "ce_subject": "x",
        "ce_specversion": "1.0",
        "content-type": "application/json",
    }
    with_context = ce_headers(**common, correlation_id="c", actor="a")
    assert with_context["ce_correlationid"] == "c" and with_context["ce_actor"] == "a"
    assert ce_headers(**common, correlation_id="", actor="")["ce_actor"] == ""


def test_wrapping_an_event():
    event = WidgetMade(id=uuid.UUID(int=5), size=2)
    envelope = Envelope.wrap(event, source="lathe/test")
    assert (envelope.type, envelope.subject, envelope.source) == (
        "lathe.test.widget.made.v1",
        "00000000-0000-0000-0000-000000000005",
        "lathe/test",
    )
    assert envelope.correlationid is None and envelope.actor is None and envelope.specversion == "1.0"
    assert envelope.time.tzinfo is not None
    assert envelope.kafka_value() == b'{"id":"00000000-0000-0000-0000-000000000005","size":2}'
    assert [k for k, _ in envelope.kafka_headers()] == [
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_time",
        "ce_subject",
        "ce_specversion",
        "content-type",
    ]
    assert dict(envelope.kafka_headers())["ce_time"] == envelope.time.isoformat().encode()


def test_the_aggregate_of_an_event_is_its_aggregate_field():
    class Moved(DomainEvent):
        event_type: ClassVar[str] = "lathe.test.moved.v1"
        topic: ClassVar[str] = "lathe.test.moves.v1"
        aggregate_field: ClassVar[str] = "serial_number"

        serial_number: str

    assert Moved(serial_number="SN-1").aggregate_id == "SN-1"
    assert WidgetMade(id=uuid.UUID(int=9), size=1).aggregate_id == str(uuid.UUID(int=9))


def test_events_in_a_module_are_its_own_concrete_events_in_order():
    import types

    from lathe_common.events import events_in

    module = types.ModuleType("lathe_test_events")

    class Base(DomainEvent):  # no event_type: abstract
        pass

    class First(Base):
        event_type: ClassVar[str] = "lathe.test.first.v1"
        topic: ClassVar[str] = "t"

    class Second(DomainEvent):
        event_type: ClassVar[str] = "lathe.test.second.v1"
        topic: ClassVar[str] = "t"

    for cls in (Base, First, Second):
        cls.__module__ = module.__name__
    module.Base, module.First, module.Second = Base, First, Second
    module.Imported, module.number, module.Envelope = WidgetMade, 3, Envelope
    assert events_in(module) == [First, Second]
