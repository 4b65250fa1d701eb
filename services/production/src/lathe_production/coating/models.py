from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from lathe_common.db import time_ordered_id
from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, Index, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class CoatingLog(Base):
    """A coating applied to a LOT at a process, with its judged thickness readings. Never updated."""

    __tablename__ = "coating_logs"
    __table_args__ = (
        Index("ix_coating_logs_applied_id", "applied_at", "id"),  # the list, newest first, by cursor
        Index("ix_coating_logs_lot_applied", "lot_id", "applied_at", "id"),
        CheckConstraint("result IN ('PASS', 'FAIL')", name="result_known"),
        CheckConstraint("limits_source IN ('process', 'log')", name="limits_source_known"),
        CheckConstraint("cure_minutes > 0", name="cure_minutes_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=time_ordered_id)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.lots.id"))
    lot_number: Mapped[str] = mapped_column(String(64))
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.processes.id"))
    process_code: Mapped[str] = mapped_column(String(64))
    coating_type: Mapped[str] = mapped_column(String(64))
    material_lot: Mapped[str] = mapped_column(String(64))
    thickness_readings_um: Mapped[list[float]] = mapped_column(JSONB)
    thickness_lower_um: Mapped[float | None] = mapped_column(Float)
    thickness_upper_um: Mapped[float | None] = mapped_column(Float)
    limits_source: Mapped[str] = mapped_column(String(8))
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    result: Mapped[str] = mapped_column(String(8))
    cure_temperature_c: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    cure_minutes: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    inspector: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
