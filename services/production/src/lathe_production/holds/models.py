from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Hold(Base):
    """A LOT or a unit put on hold by quality: nothing is recorded on it until the hold is released,
    with a signature. ``lots.hold_id`` / ``serials.hold_id`` point at the active one, which the step
    path reads with the rows it locks. Released, never deleted."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("subject IN ('LOT', 'SERIAL')", name="subject_known"),
        CheckConstraint("(subject = 'LOT') = (serial_id IS NULL)", name="serial_for_unit_holds"),
        CheckConstraint(
            "(released_at IS NULL) = (release_signature_id IS NULL) "
            "AND (released_at IS NULL) = (release_reason IS NULL)",
            name="release_signed",
        ),
        # One active hold per LOT and per unit.
        Index(
            "uq_holds_active_lot",
            "lot_id",
            unique=True,
            postgresql_where=text("subject = 'LOT' AND released_at IS NULL"),
        ),
        Index("uq_holds_active_serial", "serial_id", unique=True, postgresql_where=text("released_at IS NULL")),
        Index("ix_holds_placed_id", "placed_at", "id"),  # the list, newest first, by cursor
        Index("ix_holds_placement", "placement_id"),
        Index("ix_holds_lot", "lot_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    placement_id: Mapped[uuid.UUID]  # the call that placed it (a by-component call places many)
    subject: Mapped[str] = mapped_column(String(8))
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.lots.id"))  # the LOT, or the unit's
    lot_number: Mapped[str] = mapped_column(String(64))
    serial_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.serials.id"))
    serial_number: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    component: Mapped[str | None] = mapped_column(String(80))  # by-component: the serial or LOT number traced
    placed_by: Mapped[str | None] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(64))
    release_reason: Mapped[str | None] = mapped_column(Text)
    release_signature_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.signatures.id"), unique=True)
