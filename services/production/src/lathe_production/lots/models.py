from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from lathe_common.db import Timestamps
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Lot(Timestamps, Base):
    __tablename__ = "lots"
    __table_args__ = (
        Index("ix_lots_created_id", "created_at", "id"),  # the list, newest first, by cursor
        # The capacity invariant lives in the database: no interleaving of requests can break it.
        CheckConstraint("serial_count >= 0 AND serial_count <= target_quantity", name="serial_count_within_target"),
        CheckConstraint("target_quantity > 0", name="target_quantity_positive"),
        CheckConstraint("finished_count >= 0 AND finished_count <= serial_count", name="finished_within_serials"),
        # What genealogy drew from the LOT never exceeds what it holds (see genealogy/rules.py).
        CheckConstraint(
            "consumed_quantity >= 0 AND consumed_quantity <= target_quantity", name="consumed_within_target"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lot_number: Mapped[str] = mapped_column(String(64), unique=True)
    product_model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.product_models.id"), index=True)
    model_code: Mapped[str] = mapped_column(String(64))  # model codes never change; saves a join per read
    # The model's revision when the LOT was made: its units follow that revision's routing and BOM
    # (product_models/revisions.py). 'A' for rows written by SQL without it.
    revision: Mapped[str] = mapped_column(String(8), server_default="A")
    work_order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    target_quantity: Mapped[int] = mapped_column(Integer)
    serial_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # PASSED/SCRAPPED units
    # Quantity consumed as components by other units; raised only by Genealogies' guarded UPDATE.
    consumed_quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal(0), server_default="0")
    shift: Mapped[str] = mapped_column(String(8))
    production_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The LOT's active hold (holds/): no step is recorded on it or its units while set. Placed under
    # the row's FOR UPDATE lock, which every step batch's KEY SHARE lock on its LOTs waits for.
    hold_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class LotSequence(Base):
    """The next number of each plant day, claimed with one atomic upsert per LOT."""

    __tablename__ = "lot_sequences"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Serial(Timestamps, Base):
    __tablename__ = "serials"
    __table_args__ = (
        UniqueConstraint("lot_id", "sequence_in_lot", name="uq_serials_lot_sequence"),
        CheckConstraint("rework_count >= 0", name="rework_count_not_negative"),
        CheckConstraint("sequence_in_lot > 0", name="sequence_in_lot_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    serial_number: Mapped[str] = mapped_column(String(80), unique=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.lots.id"), index=True)
    sequence_in_lot: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True, default="CREATED", server_default="CREATED")
    current_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The unit's own active hold (holds/), set under the unit's row lock, as steps take it.
    hold_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
