"""Reading what an ERP publishes on ``lathe.erp.*-orders.v1`` (docs/integration.md).

A record is an ``ErpDocument`` (source, external_id, revision) whose ``document`` is the REST create
shape of that topic's kind of order. What can never be applied is refused here, before any database
work, with a reason that becomes the dead letter's: ``invalid_json`` (not JSON at all),
``schema_error`` (the envelope or the document does not fit its shape: the first problems are named)
and ``invalid_value`` (NUL characters, NaN, numbers no column holds)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from lathe_common.consumers import Decoded, Undeliverable
from lathe_common.storable import UnstorableValue, check_storable
from lathe_contracts.erp import ErpDocument
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

_MAX_PROBLEMS = 5


@dataclass(frozen=True)
class ErpOrigin:
    """Where a document came from: kept beside Lathe's number, and the actor of its events."""

    source: str
    external_id: str
    revision: int

    @property
    def actor(self) -> str:
        return f"erp:{self.source}"


@dataclass(frozen=True)
class ErpInbound:
    topic: str
    origin: ErpOrigin
    document: BaseModel  # the kind's create shape, validated


@dataclass(frozen=True)
class ErpKind:
    """One kind of order an ERP may send: its topic, its REST create shape, and how the orders
    service creates it or applies a later revision of it (the same rules as its REST API)."""

    topic: str
    noun: str
    model: type[Any]  # the document's ORM class (DocumentColumns: external_source, external_id, ...)
    shape: type[BaseModel]
    create: Callable[[AsyncSession, Any, ErpOrigin], Awaitable[Any]]
    change: Callable[[AsyncSession, Any, Any, ErpOrigin], Awaitable[Any]]


def _problems(exc: ValidationError, prefix: str = "") -> str:
    errors = exc.errors(include_url=False)
    named = [f"{prefix}{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:_MAX_PROBLEMS]]
    more = len(errors) - len(named)
    return "; ".join(named) + (f"; and {more} more" if more > 0 else "")


def message_id(topic: str, origin: ErpOrigin) -> str:
    """One revision of one document: the same revision delivered twice is handled once."""
    return f"{topic}|{origin.source}|{origin.external_id}|{origin.revision}"


def erp_decoder(kinds: Mapping[str, ErpKind]) -> Callable[[ConsumerRecord], Decoded]:
    def decode(record: ConsumerRecord) -> Decoded:
        kind = kinds[record.topic]
        try:
            envelope = ErpDocument.model_validate_json(record.value or b"")
        except ValidationError as exc:
            if exc.errors()[0]["type"] == "json_invalid":
                raise Undeliverable("invalid_json", f"The message is not JSON: {exc.errors()[0]['msg']}.") from exc
            raise Undeliverable("schema_error", _problems(exc)) from exc
        try:
            check_storable(envelope)
        except UnstorableValue as exc:
            raise Undeliverable(exc.code, str(exc)) from exc
        try:
            document = kind.shape.model_validate(envelope.document)
        except ValidationError as exc:
            raise Undeliverable("schema_error", f"Not a {kind.noun}: {_problems(exc, 'document.')}") from exc
        origin = ErpOrigin(envelope.source, envelope.external_id, envelope.revision)
        return Decoded(message_id(record.topic, origin), ErpInbound(record.topic, origin, document), actor=origin.actor)

    return decode


def best_effort_origin(value: bytes | None) -> tuple[str | None, str | None, int | None]:
    """What a refused record says it is, as far as it can be read (for the conflicts list)."""
    try:
        body = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None, None
    if not isinstance(body, dict):
        return None, None, None

    def text(name: str, limit: int) -> str | None:
        found = body.get(name)
        return found.replace("\x00", "")[:limit] if isinstance(found, str) else None

    revision = body.get("revision")
    fits = isinstance(revision, int) and not isinstance(revision, bool) and 0 <= revision < 2**31
    return text("source", 64), text("external_id", 128), revision if fits else None
