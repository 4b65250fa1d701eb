"""What orders knows of production, built only from production's events (never its schema):
product models, LOTs and units with their status and work order."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_orders.tables import Base


class ProductModelView(Base):
    __tablename__ = "product_models_view"

    model_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[uuid.UUID]
    model_name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LotView(Base):
    __tablename__ = "lots_view"

    lot_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(64), unique=True)
    model_code: Mapped[str | None] = mapped_column(String(64))
    work_order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    target_quantity: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UnitView(Base):
    __tablename__ = "units_view"

    serial_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(80), unique=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(index=True)
    lot_number: Mapped[str | None] = mapped_column(String(64))
    model_code: Mapped[str | None] = mapped_column(String(64), index=True)
    work_order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
