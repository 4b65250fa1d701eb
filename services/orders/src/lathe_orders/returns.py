"""Returns (RT-): goods sent back to a supplier against a purchase order, or taken back from a
customer against a sales order. One numbering, one table, the line refers to the order line."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lathe_orders.documents import QUANTITY
from lathe_orders.tables import Base


class ReturnKind(StrEnum):
    TO_SUPPLIER = "TO_SUPPLIER"
    FROM_CUSTOMER = "FROM_CUSTOMER"


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (CheckConstraint("(purchase_order_id IS NULL) <> (sales_order_id IS NULL)", name="one_order"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    purchase_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.purchase_orders.id"), index=True)
    sales_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.sales_orders.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(64))
    returned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    lines: Mapped[list[ReturnLine]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("(purchase_order_line_id IS NULL) <> (sales_order_line_id IS NULL)", name="one_line"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.returns.id", ondelete="CASCADE"))
    purchase_order_line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("orders.purchase_order_lines.id"), index=True
    )
    sales_order_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.sales_order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    serial_numbers: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
