from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Nonconformance(Base):
    """A nonconformance record (NCR): a unit's failed step and what quality decided about it (rules.py).
    Opened by the step's transaction; its disposition is signed (``signature_id``)."""

    __tablename__ = "nonconformances"
    __table_args__ = (
        CheckConstraint("status IN ('OPEN', 'DISPOSITIONED', 'CLOSED')", name="status_known"),
        CheckConstraint(
            "disposition IS NULL OR disposition IN ('REWORK', 'SCRAP', 'USE_AS_IS')", name="disposition_known"
        ),
        # Decided exactly when no longer OPEN, and always with a signature.
        CheckConstraint(
            "(status = 'OPEN') = (disposition IS NULL) AND (disposition IS NULL) = (signature_id IS NULL)",
            name="disposition_signed",
        ),
        # A unit has at most one NCR not closed: its latest failure.
        Index(
            "uq_nonconformances_unit_not_closed",
            "serial_id",
            unique=True,
            postgresql_where=text("status <> 'CLOSED'"),
        ),
        Index("ix_nonconformances_opened_id", "opened_at", "id"),  # the list, newest first, by cursor
        Index("ix_nonconformances_status_opened_id", "status", "opened_at", "id"),
        Index("ix_nonconformances_lot_opened_id", "lot_id", "opened_at", "id"),
        Index("ix_nonconformances_serial_number", "serial_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    serial_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.serials.id"))
    serial_number: Mapped[str] = mapped_column(String(80))
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.lots.id"))
    lot_number: Mapped[str] = mapped_column(String(64))
    model_code: Mapped[str] = mapped_column(String(64))
    work_order_number: Mapped[str | None] = mapped_column(String(64))
    # The failed execution, and what the unit was judged against (its LOT's routing, so a disposition
    # needs no routing lookup: USE_AS_IS after the last step passes the unit).
    process_data_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.process_data.id"), unique=True)
    process_code: Mapped[str] = mapped_column(String(64))
    step_no: Mapped[int] = mapped_column(Integer)
    routing_length: Mapped[int] = mapped_column(Integer)
    defect_codes: Mapped[list[str]] = mapped_column(JSONB)
    measurements: Mapped[dict[str, Any]] = mapped_column(JSONB)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    rework_count: Mapped[int] = mapped_column(Integer)  # the unit's reworks when it failed
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the step's recorded_at
    disposition: Mapped[str | None] = mapped_column(String(16))
    disposition_reason: Mapped[str | None] = mapped_column(Text)
    dispositioned_by: Mapped[str | None] = mapped_column(String(64))
    dispositioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signature_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.signatures.id"), unique=True)
    unit_status: Mapped[str | None] = mapped_column(String(16))  # what the disposition made of the unit
    code: Mapped[str | None] = mapped_column(String(32))  # rework_exhausted
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_step_id: Mapped[uuid.UUID | None]  # the rework's step, for a REWORK
