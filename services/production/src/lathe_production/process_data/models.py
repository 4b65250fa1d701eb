from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class ProcessData(Base):
    """One execution of a process step, on a unit (SERIAL level) or on a whole LOT. Never updated."""

    __tablename__ = "process_data"
    __table_args__ = (
        Index("ix_process_data_serial_time", "serial_id", "completed_at"),
        Index("ix_process_data_lot_time", "lot_id", "completed_at"),
        Index("ix_process_data_process_time", "process_id", "completed_at"),
        Index("ix_process_data_operator_time", "operator", "completed_at"),
        Index("ix_process_data_time_id", "completed_at", "id"),  # the list, newest first, by cursor
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.processes.id"))
    process_code: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.lots.id"))
    serial_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.serials.id"))
    level: Mapped[str] = mapped_column(String(8))
    step_no: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(8))
    reported_result: Mapped[str | None] = mapped_column(String(8))
    measurements: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    defects: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    operator: Mapped[str | None] = mapped_column(String(64))
    equipment_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cycle_time_seconds: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
