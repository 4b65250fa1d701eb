"""The stream's wire format and what a client may ask for (pure): frames read back by an SSE parser
written from the WHATWG rules, filters, Last-Event-ID."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from lathe_analytics.stream.payloads import LotEvent, lot_moved_entry, step_entry
from lathe_analytics.stream.wire import KINDS, StreamFilter, comment, frame, parse_last_event_id, retry
from lathe_common.errors import InvalidInput
from lathe_contracts.production import LotStatusChangedEvent


def parse(stream: bytes) -> list[dict]:
    """Events as an EventSource dispatches them (HTML, "Interpreting an event stream")."""
    events, data, event, last_id = [], [], "message", ""
    text = stream.decode()
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if data:
                events.append({"id": last_id, "event": event, "data": "\n".join(data)})
            data, event = [], "message"
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value
    return events


def test_a_frame_carries_its_id_name_and_data():
    assert frame("step", '{"a":1}', 42) == b'id: 42\nevent: step\ndata: {"a":1}\n\n'
    assert parse(frame("step", '{"a":1}', 42)) == [{"id": "42", "event": "step", "data": '{"a":1}'}]


def test_data_of_several_lines_is_read_back_exactly_whatever_its_line_ends():
    data = "first\nsecond\r\nthird\rfourth\n\nsixth"
    sent = frame("spc", data, 7)
    assert sent.count(b"data: ") == 6 and b"\r" not in sent
    # A client joins data lines with "\n": every kind of line end comes back as one.
    assert parse(sent) == [{"id": "7", "event": "spc", "data": "first\nsecond\nthird\nfourth\n\nsixth"}]


def test_an_event_without_id_leaves_the_last_event_id_alone():
    stream = frame("step", "{}", 5) + frame("end", '{"reason":"token_expired"}')
    events = parse(stream)
    assert [e["event"] for e in events] == ["step", "end"]
    assert [e["id"] for e in events] == ["5", "5"]
    assert b"id:" not in frame("end", "{}")


def test_comments_and_retry_dispatch_nothing():
    assert parse(comment("keep-alive") + retry(3000) + comment("two\nlines")) == []
    assert comment("two\nlines") == b": two\n: lines\n\n"


def test_filters_by_kind_process_and_model_and_kpi_is_plant_wide():
    everything = StreamFilter.parse(None, None, None)
    assert everything.kinds == frozenset(KINDS)
    assert all(everything.matches(kind, None, None) for kind in KINDS)

    one_process = StreamFilter.parse("step,kpi,lot", "P1", None)
    assert one_process.matches("step", "P1", "M")
    assert not one_process.matches("step", "P2", "M")
    assert one_process.matches("kpi", None, None)  # plant-wide: not narrowed by process or model
    assert not one_process.matches("lot", None, "M")  # a LOT has no process
    assert not one_process.matches("spc", "P1", None)  # not among the types asked

    one_model = StreamFilter.parse(" lot , spc ", "", "M1")
    assert one_model.kinds == {"lot", "spc"} and one_model.process_code is None
    assert one_model.matches("lot", None, "M1") and not one_model.matches("lot", None, "M2")
    assert not one_model.matches("spc", "P1", None)  # an alert has no model


def test_unknown_types_are_refused_with_their_names():
    with pytest.raises(InvalidInput) as refused:
        StreamFilter.parse("step,steps,alarm", None, None)
    assert refused.value.code == "unknown_event_type"
    assert refused.value.extra["unknown"] == ["alarm", "steps"]
    assert StreamFilter.parse(" , ", None, None).kinds == frozenset(KINDS)  # nothing named: everything


@pytest.mark.parametrize("value", ["12", " 12 ", "0", str(2**63 - 1)])
def test_last_event_ids_are_the_ids_given_out(value):
    assert parse_last_event_id(value) == int(value)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_no_last_event_id_is_a_fresh_start(value):
    assert parse_last_event_id(value) is None


@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "1e3", "٣", str(2**63), "9" * 30])
def test_anything_else_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        parse_last_event_id(value)
    assert refused.value.code == "invalid_last_event_id"


def test_a_step_event_keeps_what_the_floor_needs_and_its_filter_fields():
    body = json.dumps(
        {
            "id": "0b9c6c2e-6b7d-4b8e-9a53-1f0a8e0c5d11",
            "subject_id": "1b9c6c2e-6b7d-4b8e-9a53-1f0a8e0c5d11",
            "process_code": "P03",
            "level": "SERIAL",
            "step_no": 3,
            "lot_id": "2b9c6c2e-6b7d-4b8e-9a53-1f0a8e0c5d11",
            "lot_number": "L-1",
            "model_code": "M-1",
            "serial_number": "SN-1",
            "result": "FAIL",
            "measurements": {"offset_mv": 9.5},
            "defect_codes": ["SCRATCH"],
            "operator": "kim",
            "completed_at": "2026-11-30T06:00:00+00:00",
            "serial_status": "FAILED",
        }
    ).encode()
    entry = step_entry(body, datetime(2026, 11, 30, 6, 0, 1, tzinfo=UTC))
    assert (entry.kind, entry.process_code, entry.model_code) == ("step", "P03", "M-1")
    data = json.loads(entry.data)
    assert data["result"] == "FAIL" and data["serial_number"] == "SN-1" and data["operator"] == "kim"
    assert data["recorded_at"] == "2026-11-30T06:00:01Z" and "measurements" not in data


def test_a_lot_status_change_names_the_model_it_was_given():
    moved = LotStatusChangedEvent(
        id=uuid.uuid4(), lot_number="L-2", work_order_number=None, previous_status="CREATED", status="IN_PROGRESS"
    )
    entry = lot_moved_entry(moved, datetime(2026, 11, 30, tzinfo=UTC), "M-2")
    assert (entry.kind, entry.process_code, entry.model_code) == ("lot", None, "M-2")
    lot = LotEvent.model_validate_json(entry.data)
    assert (lot.previous_status, lot.status, lot.model_code) == ("CREATED", "IN_PROGRESS", "M-2")
