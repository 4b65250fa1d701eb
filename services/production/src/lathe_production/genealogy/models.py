from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Component(Base):
    """``parent`` consumed either one unit (``child_serial``) or a quantity of a LOT (``child_lot``)."""

    __tablename__ = "components"
    __table_args__ = (
        CheckConstraint("(child_serial_id IS NULL) <> (child_lot_id IS NULL)", name="one_kind_of_child"),
        CheckConstraint("child_serial_id IS NULL OR child_serial_id <> parent_serial_id", name="not_itself"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # A physical unit can be built into one assembly only.
        Index("uq_components_child_serial", "child_serial_id", unique=True),
        Index("ix_components_parent", "parent_serial_id"),
        Index("ix_components_child_lot", "child_lot_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    parent_serial_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.serials.id"))
    child_serial_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.serials.id"))
    child_lot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production.lots.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=1)
    process_code: Mapped[str | None] = mapped_column(String(64))
    operator: Mapped[str | None] = mapped_column(String(64))
    # The BOM rule the consumption broke when the check only warned (bom_rules.BomCheck.WARN).
    bom_deviation: Mapped[str | None] = mapped_column(String(32))
    consumed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
