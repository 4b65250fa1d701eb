from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


class AuditLog(Base):
    """One row per domain event, range-partitioned by month of ``occurred_at`` (migration 0005:
    a partition per month, a DEFAULT one for the rest; ``audit.partitions`` creates months ahead).
    UPDATE, DELETE and TRUNCATE are refused by triggers and revoked from the service's role."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # Keys hold the partition key, as PostgreSQL requires; an event keeps its time when redelivered.
        UniqueConstraint("event_id", "occurred_at", name="uq_audit_log_event_id"),
        # Every list is newest first by (occurred_at, id), after an equality on at most one column.
        Index("ix_audit_log_time_id", "occurred_at", "id"),
        Index("ix_audit_log_subject_time", "subject", "occurred_at", "id"),
        Index("ix_audit_log_actor_time", "actor", "occurred_at", "id"),
        Index("ix_audit_log_event_type_time", "event_type", "occurred_at", "id"),
        Index("ix_audit_log_correlation_time", "correlation_id", "occurred_at", "id"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column()
    event_type: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
