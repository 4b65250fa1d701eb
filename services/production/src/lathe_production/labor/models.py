from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from lathe_common.db import time_ordered_id
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class LaborEntry(Base):
    """Someone's time on a process for a LOT or one of its units. Never updated."""

    __tablename__ = "labor_entries"
    __table_args__ = (
        # The list, newest first by cursor, whole and by each filter.
        Index("ix_labor_entries_started_id", "started_at", "id"),
        Index("ix_labor_entries_lot_started", "lot_id", "started_at", "id"),
        Index("ix_labor_entries_serial_started", "serial_id", "started_at", "id"),
        Index("ix_labor_entries_operator_started", "operator", "started_at", "id"),
        Index("ix_labor_entries_process_started", "process_code", "started_at", "id"),
        CheckConstraint("ended_at > started_at", name="ended_after_started"),
        CheckConstraint("duration_seconds > 0 AND duration_seconds <= 86400", name="duration_within_a_day"),
        CheckConstraint("activity IN ('SETUP', 'RUN', 'REWORK', 'INSPECTION')", name="activity_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=time_ordered_id)
    operator: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.lots.id"))
    lot_number: Mapped[str] = mapped_column(String(64))
    serial_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.serials.id"))
    serial_number: Mapped[str | None] = mapped_column(String(80))
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.processes.id"))
    process_code: Mapped[str] = mapped_column(String(64))
    activity: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[Decimal] = mapped_column(Numeric(9, 3))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
