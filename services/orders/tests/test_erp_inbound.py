"""What an ERP record must be before any database work: each refusal's reason code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from lathe_common.consumers import Undeliverable
from lathe_orders.erp.inbound import ErpInbound, ErpKind, ErpOrigin, best_effort_origin, erp_decoder
from pydantic import BaseModel, ConfigDict, Field

TOPIC = "lathe.erp.test-orders.v1"


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_code: str = Field(min_length=1)
    quantity: int = Field(gt=0)


async def _never(*_: Any) -> None:
    raise AssertionError("decoding does no database work")


decode = erp_decoder({TOPIC: ErpKind(TOPIC, "test order", object, Shape, _never, _never)})


def record(value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, 0, 7, 0, 0, b"k", value, None, 0, len(value or b""), [])


def body(**overrides: Any) -> bytes:
    document = {
        "source": "SAP-PRD",
        "external_id": "4500001",
        "revision": 3,
        "document": {"partner_code": "S1", "quantity": 5},
    }
    document.update(overrides)
    return json.dumps(document).encode()


def reason(value: bytes | None) -> str:
    with pytest.raises(Undeliverable) as refused:
        decode(record(value))
    return refused.value.code


def test_a_document_decodes_with_its_origin_and_a_message_id_per_revision() -> None:
    decoded = decode(record(body()))
    assert isinstance(decoded.payload, ErpInbound)
    assert decoded.payload.origin == ErpOrigin("SAP-PRD", "4500001", 3)
    assert decoded.payload.document == Shape(partner_code="S1", quantity=5)
    assert decoded.actor == "erp:SAP-PRD"
    assert decoded.message_id == f"{TOPIC}|SAP-PRD|4500001|3"
    assert decode(record(body(revision=4))).message_id != decoded.message_id


@pytest.mark.parametrize("value", [b"", None, b"{", b"\xff\xfe", b"not json"])
def test_what_is_not_json_is_invalid_json(value: bytes | None) -> None:
    assert reason(value) == "invalid_json"


@pytest.mark.parametrize(
    "value",
    [
        b"[]",
        b"42",
        json.dumps({"source": "SAP-PRD"}).encode(),
        body(revision=-1),
        body(revision=2**31),
        body(revision="3"),
        body(source=""),
        body(external_id="x" * 129),
        body(document=[1, 2]),
        body(surprise=True),
    ],
)
def test_an_envelope_that_does_not_fit_is_a_schema_error(value: bytes) -> None:
    assert reason(value) == "schema_error"


@pytest.mark.parametrize(
    "document", [{}, {"partner_code": "S1", "quantity": 0}, {"partner_code": "S1", "quantity": 5, "extra": 1}]
)
def test_a_document_that_is_not_the_kind_is_a_schema_error_naming_it(document: dict[str, Any]) -> None:
    with pytest.raises(Undeliverable) as refused:
        decode(record(body(document=document)))
    assert refused.value.code == "schema_error"
    assert "Not a test order: document." in refused.value.detail


@pytest.mark.parametrize(
    "value",
    [
        body(external_id="45\x0001"),
        body(document={"partner_code": "S\x001", "quantity": 5}),
        b'{"source": "SAP", "external_id": "1", "revision": 1, "document": {"partner_code": "S1", "quantity": NaN}}',
        body(document={"partner_code": "S1", "quantity": 2**70}),
    ],
)
def test_values_no_column_holds_are_invalid_values(value: bytes) -> None:
    assert reason(value) == "invalid_value"


def test_many_problems_are_named_a_few_at_a_time() -> None:
    with pytest.raises(Undeliverable) as refused:
        decode(record(json.dumps({f"k{i}": i for i in range(50)}).encode()))
    assert "more" in refused.value.detail and len(refused.value.detail) < 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (body(), ("SAP-PRD", "4500001", 3)),
        (b"{", (None, None, None)),
        (b"[1]", (None, None, None)),
        (None, (None, None, None)),
        (json.dumps({"source": 5, "external_id": "a\x00b", "revision": True}).encode(), (None, "ab", None)),
        (json.dumps({"source": "S" * 100, "revision": 2**40}).encode(), ("S" * 64, None, None)),
        (b"[" * 100_000, (None, None, None)),
    ],
)
def test_the_conflicts_list_reads_what_it_can_of_a_refused_record(value: bytes | None, expected: tuple) -> None:
    assert best_effort_origin(value) == expected
