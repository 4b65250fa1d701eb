"""The outbox and inbox tables every service keeps in its own schema, and the size of a record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


@dataclass(frozen=True)
class PlumbingTables:
    """The outbox and inbox every service keeps in its own schema (created by the plumbing
    helpers of ``lathe_common.migrations``; this definition must match what they create)."""

    outbox: Table
    inbox: Table

    @classmethod
    def define(cls, metadata: MetaData) -> PlumbingTables:
        outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, Identity(), primary_key=True),
            Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
            Column("topic", Text, nullable=False),
            Column("message_key", Text, nullable=False),
            Column("event_type", Text, nullable=False),
            Column("headers", JSONB, nullable=False),
            Column("payload", LargeBinary, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("attempts", Integer, nullable=False, server_default="0"),
            Column("last_error", Text),
            # Set only when Kafka refused the record itself (see failures.py): no longer retried,
            # kept for an operator (`python -m lathe_<svc> outbox parked|republish`).
            Column("parked_at", DateTime(timezone=True)),
            Column("parked_reason", Text),
            CheckConstraint("(parked_at IS NULL) = (parked_reason IS NULL)", name="parked_with_reason"),
        )
        inbox = Table(
            "inbox",
            metadata,
            Column("consumer", Text, nullable=False),
            Column("message_id", Text, nullable=False),
            Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            PrimaryKeyConstraint("consumer", "message_id"),
        )
        return cls(outbox=outbox, inbox=inbox)

    @property
    def notify_channel(self) -> str:
        return f"lathe_outbox_{self.outbox.schema}"


def notify_trigger_sql(schema: str) -> list[str]:
    """DDL for migrations: wake the relay when a transaction that wrote outbox rows commits."""
    return [
        f"""CREATE OR REPLACE FUNCTION "{schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('lathe_outbox_{schema}', ''); RETURN NULL; END $$""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".outbox_notify()""",
    ]


def record_bytes(payload: bytes, key: bytes, headers: Mapping[str, str]) -> int:
    """What a record carries to Kafka: value, key and headers (names and values), encoded. The
    broker adds a few dozen bytes of framing, which the limits leave room for."""
    return len(payload) + len(key) + sum(len(name.encode()) + len(value.encode()) for name, value in headers.items())
