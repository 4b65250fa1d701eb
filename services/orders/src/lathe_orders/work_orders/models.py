"""Work orders: what production is asked to make, and its progress as production reports it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lathe_orders.documents import DocumentColumns
from lathe_orders.tables import Base


class WorkOrder(DocumentColumns, Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        UniqueConstraint("external_source", "external_id", name="uq_work_orders_external"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "quantity_good >= 0 AND quantity_scrapped >= 0 AND quantity_in_progress >= 0", name="progress_not_negative"
        ),
        Index("ix_work_orders_created_id", "created_at", "id"),
        Index("ix_work_orders_due", "due_date"),
        # The list's filters, each with the list's order (newest first) behind it (0006).
        Index("ix_work_orders_status_created_id", "status", "created_at", "id"),
        Index("ix_work_orders_model_created_id", "model_code", "created_at", "id"),
        Index("ix_work_orders_priority_created_id", "priority", "created_at", "id"),
        CheckConstraint(
            "lots_planned >= 0 AND quantity_planned >= 0 AND plan_requests >= 0 AND quantity_replaced >= 0",
            name="plans_not_negative",
        ),
    )

    model_code: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(8), default="NORMAL", server_default="NORMAL")
    due_date: Mapped[date | None] = mapped_column(Date)
    planned_start: Mapped[date | None] = mapped_column(Date)
    create_serials: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    replace_scrap: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    sales_order_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.sales_order_lines.id"), index=True)
    # Progress, from production's events (see the work-order progress consumer).
    quantity_good: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quantity_scrapped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quantity_in_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)  # production refused the release: why
    rejection_code: Mapped[str | None] = mapped_column(String(64))  # ... and its stable code (0006)
    # What production planned for it (its WorkOrderPlannedEvents): LOTs and their units (0006).
    lots_planned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quantity_planned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Extra plans asked of production after the release (replacements of scrap, quantity increases):
    # the request_no of the last one, and how many scrapped units were asked to be replaced (0006).
    plan_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quantity_replaced: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
