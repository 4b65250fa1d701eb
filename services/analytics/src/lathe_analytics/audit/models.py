from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


class AuditLog(Base):
    """One row per domain event. UPDATE and DELETE are refused by a trigger (see migration 0002)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject"),
        Index("ix_audit_log_event_type_time", "event_type", "occurred_at"),
        Index("ix_audit_log_actor_time", "actor", "occurred_at"),
        Index("ix_audit_log_time_id", "occurred_at", "id"),  # the trail, newest first, by cursor
        Index("ix_audit_log_correlation_id", "correlation_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    event_type: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
