"""Reading production's records at machine speed: only what the floor read model uses, as text.

The generic decoder (``decode_envelope``) builds a full envelope and the contract classes build
``uuid.UUID`` objects, about 15 µs each in Python; a step carries four. At thousands of steps a
second that is most of the consumer's time, so this decoder reads the three envelope attributes
the read model needs (id, type, time), leaves the body as bytes until its type is known, and a
step's body is validated by ``StepView``: the fields of ``StepRecordedEvent`` the read model uses,
same names and types, ids kept as text (checked to be UUIDs; PostgreSQL parses them). Other events
are rare and are validated by their contract classes.

Records of types the read model does not read are passed over unread (their reasons to be
dead-lettered are the audit trail's business, which reads every record); for its own types it
refuses what the generic decoder refuses: missing or unreadable attributes (``invalid_envelope``),
a NUL character in the body (``invalid_value``).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from lathe_common.consumers import Decoded, Undeliverable
from pydantic import BaseModel, ConfigDict, field_validator

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_WANTED = ("ce_id", "ce_type", "ce_time")
SMALLINT = 32767  # routing steps and rework counts are kept as smallint


def canonical_uuid(text: str) -> str:
    """``text`` as ``str(uuid.UUID(text))`` would write it (fast for the usual form); ValueError if none."""
    if _UUID.fullmatch(text):
        return text
    return str(uuid.UUID(text))


@dataclass(frozen=True, slots=True)
class RawEvent:
    """An event whose body is read once its type says how."""

    id: str  # the envelope's id, canonical
    type: str
    time: datetime
    body: bytes


def decoder(types: frozenset[str]):  # noqa: ANN201 - a ConsumerSpec decoder
    def decode(record: ConsumerRecord) -> Decoded:
        found: dict[str, bytes] = {}
        for key, raw in record.headers or ():
            if key in _WANTED:
                if key in found or not isinstance(raw, bytes | bytearray):
                    raise Undeliverable("invalid_envelope", f"header {key} is repeated or has no value")
                found[key] = bytes(raw)
        try:
            event_type = found["ce_type"].decode()
        except (KeyError, UnicodeDecodeError):
            event_type = ""
        if event_type not in types:  # not this read model's: passed over, unread
            ident = (
                found.get("ce_id", b"").decode(errors="replace") or f"{record.topic}:{record.partition}:{record.offset}"
            )
            return Decoded(ident, None)
        try:
            ident = canonical_uuid(found["ce_id"].decode())
            moment = datetime.fromisoformat(found["ce_time"].decode())
        except (KeyError, UnicodeDecodeError, ValueError) as exc:
            raise Undeliverable("invalid_envelope", f"unreadable CloudEvents id or time: {exc}") from None
        if moment.tzinfo is None:
            raise Undeliverable("invalid_envelope", "ce_time has no time zone")
        body = record.value or b""
        if b"\\u0000" in body or b"\x00" in body:
            raise Undeliverable("invalid_value", "body: contains a NUL character")
        return Decoded(ident, RawEvent(ident, event_type, moment, body))

    return decode


class StepView(BaseModel):
    """The fields of ``lathe_contracts.production.StepRecordedEvent`` the read model uses."""

    model_config = ConfigDict(frozen=True)

    id: str
    process_id: str
    process_code: str
    level: str
    step_no: int | None
    lot_id: str
    lot_number: str
    model_code: str
    serial_id: str | None
    serial_number: str | None
    result: str
    defect_codes: list[str]
    operator: str | None
    equipment_id: str | None
    completed_at: str
    cycle_time_seconds: float | None
    serial_status: str | None
    rework_count: int | None

    @field_validator("id", "process_id", "lot_id", "serial_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        return None if value is None else canonical_uuid(value)

    @field_validator("step_no", "rework_count")
    @classmethod
    def _small(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= SMALLINT:
            raise ValueError(f"out of range 0-{SMALLINT}")
        return value

    @field_validator("cycle_time_seconds")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("not a finite number")
        return value

    def completed(self) -> datetime:
        moment = datetime.fromisoformat(self.completed_at)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
