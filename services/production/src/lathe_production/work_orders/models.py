from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, PrimaryKeyConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class WorkOrderPlan(Base):
    """One request of a work order that production planned (the release is request 0, each
    replacement or quantity increase the next number): its key is the guard that plans a request
    once, whatever redelivers it."""

    __tablename__ = "work_order_plans"
    __table_args__ = (
        PrimaryKeyConstraint("work_order_number", "request_no", name="pk_work_order_plans"),
        CheckConstraint("request_no >= 0", name="request_no_not_negative"),
        CheckConstraint("quantity > 0 AND lot_count > 0", name="plan_not_empty"),
    )

    work_order_number: Mapped[str] = mapped_column(String(64))
    request_no: Mapped[int] = mapped_column(Integer)
    model_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    lot_count: Mapped[int] = mapped_column(Integer)
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
