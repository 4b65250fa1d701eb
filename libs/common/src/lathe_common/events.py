"""Event envelope: CloudEvents 1.0 in Kafka binary mode (``ce_*`` headers, JSON body).

A producing service declares each fact it announces as a ``DomainEvent`` subclass, in one module
per service. The envelope adds identity, origin, time, correlation id and actor.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from lathe_common.storable import INVALID_VALUE, UnstorableValue, parse_storable_json

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class InvalidEnvelope(ValueError):
    """The message does not carry a valid Lathe/CloudEvents envelope. ``code`` is the dead-letter
    reason: ``invalid_envelope``, or ``invalid_value`` for a value the database could not store."""

    def __init__(self, detail: str, *, code: str = "invalid_envelope") -> None:
        super().__init__(detail)
        self.code = code


class DomainEvent(BaseModel):
    """A fact one service announces. Subclasses set the three class variables."""

    model_config = ConfigDict(frozen=True)

    event_type: ClassVar[str]  # e.g. "lathe.production.lot.created.v1"; the version is part of it
    topic: ClassVar[str]  # e.g. "lathe.production.lots.v1"
    aggregate_field: ClassVar[str] = "id"

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_field))


def events_in(module: object) -> list[type[DomainEvent]]:
    """The concrete events a service's ``events`` module declares, in declaration order."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and "event_type" in vars(value)
        and getattr(value, "__module__", None) == getattr(module, "__name__", None)
    ]


def ce_headers(
    *, id: str, source: str, type: str, time: str, subject: str, correlation_id: str | None, actor: str | None
) -> dict[str, str]:
    """The envelope's Kafka headers (binary content mode); the outbox writes them without building an
    ``Envelope``, which matters when a batch announces thousands of events."""
    headers = {
        "ce_id": id,
        "ce_source": source,
        "ce_type": type,
        "ce_time": time,
        "ce_subject": subject,
        "ce_specversion": SPEC_VERSION,
        "content-type": CONTENT_TYPE,
    }
    if correlation_id is not None:
        headers["ce_correlationid"] = correlation_id
    if actor is not None:
        headers["ce_actor"] = actor
    return headers


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    source: str
    type: str
    time: AwareDatetime
    subject: str
    specversion: str = SPEC_VERSION
    correlationid: str | None = None
    actor: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls, event: DomainEvent, *, source: str, correlation_id: str | None = None, actor: str | None = None
    ) -> Envelope:
        return cls(
            id=uuid.uuid4(),
            source=source,
            type=event.event_type,
            time=datetime.now(UTC),
            subject=event.aggregate_id,
            correlationid=correlation_id,
            actor=actor,
            data=event.model_dump(mode="json"),
        )

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        attributes = ce_headers(
            id=str(self.id),
            source=self.source,
            type=self.type,
            time=self.time.isoformat(),
            subject=self.subject,
            correlation_id=self.correlationid,
            actor=self.actor,
        )
        return [(k, v.encode()) for k, v in attributes.items()]

    def kafka_value(self) -> bytes:
        return json.dumps(self.data, separators=(",", ":")).encode()

    @classmethod
    def from_kafka(cls, headers: Iterable[tuple[str, Any]] | Mapping[str, Any], value: bytes | None) -> Envelope:
        """The envelope of a record, or ``InvalidEnvelope``: whatever a producer wrote (headers that
        repeat, clash with a field, have no value or are not UTF-8; a body that is not a JSON
        object or holds what the database cannot store), this raises nothing else."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        attrs: dict[str, str] = {}
        for key, raw in pairs:
            name = key.removeprefix("ce_") if isinstance(key, str) else None
            if name not in _ATTRIBUTES or name == key:
                continue  # not an envelope attribute (other ce_* extensions, ce_data, ...): ignored
            if isinstance(raw, bytes | bytearray):
                try:
                    raw = bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    raise InvalidEnvelope(f"header {key} is not UTF-8") from None
            if not isinstance(raw, str):
                raise InvalidEnvelope(f"header {key} has no value")
            if "\x00" in raw:
                raise InvalidEnvelope(f"header {key} contains a NUL character", code=INVALID_VALUE)
            attrs[name] = raw
        missing = _REQUIRED - attrs.keys()
        if missing:
            raise InvalidEnvelope(f"missing CloudEvents headers: {', '.join('ce_' + m for m in sorted(missing))}")
        try:
            data = parse_storable_json(value or b"")
        except UnstorableValue as exc:
            raise InvalidEnvelope(f"body: {exc}", code=INVALID_VALUE) from None
        except ValueError as exc:
            raise InvalidEnvelope(f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidEnvelope("body must be a JSON object")
        try:
            return cls(data=data, **attrs)
        except ValidationError as exc:
            raise InvalidEnvelope(f"invalid CloudEvents attributes: {exc.errors(include_url=False)}") from None


_REQUIRED = frozenset({"id", "source", "type", "time", "subject", "specversion"})
_ATTRIBUTES = _REQUIRED | {"correlationid", "actor"}
