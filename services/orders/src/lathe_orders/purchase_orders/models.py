"""Purchase orders, their lines, and what moved against them: goods receipts (GR-) and returns to
the supplier (RT-, in ``returns``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lathe_orders.documents import MONEY, PRICE, QUANTITY, RATE, PricedDocumentColumns
from lathe_orders.partners.models import Partner
from lathe_orders.tables import Base


class PurchaseOrder(PricedDocumentColumns, Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        UniqueConstraint("external_source", "external_id", name="uq_purchase_orders_external"),
        Index("ix_purchase_orders_created_id", "created_at", "id"),
        # The list's filters, each with the list's order (newest first) behind it (0004).
        Index("ix_purchase_orders_status_created_id", "status", "created_at", "id"),
        Index("ix_purchase_orders_supplier_created_id", "supplier_id", "created_at", "id"),
        Index("ix_purchase_orders_receipt_state_created_id", "receipt_state", "created_at", "id"),
        Index("ix_purchase_orders_expected_date", "expected_date"),
    )

    supplier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.partners.id"), index=True)
    expected_date: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_total: Mapped[Decimal | None] = mapped_column(MONEY)  # what was approved: re-approval compares with it
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An administrator approved an order they created (four eyes overridden): why (0004).
    approval_override_reason: Mapped[str | None] = mapped_column(Text)
    # fulfilment.receipt_state of the lines, kept with every movement so the list filters by it (0004).
    receipt_state: Mapped[str] = mapped_column(String(24), default="NOT_RECEIVED", server_default="NOT_RECEIVED")

    supplier: Mapped[Partner] = relationship(lazy="joined", innerjoin=True)
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        order_by="PurchaseOrderLine.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "line_no", name="uq_purchase_order_lines_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("conversion_factor > 0", name="conversion_positive"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint("rejected_quantity >= 0 AND rejected_quantity <= received_quantity", name="rejected_within"),
        # Only accepted goods (received, not rejected) can be sent back.
        CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= received_quantity - rejected_quantity",
            name="returned_within_accepted",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.purchase_orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(16))
    conversion_factor: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1), server_default="1")
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    tax_rate: Mapped[Decimal] = mapped_column(RATE)
    discount_percent: Mapped[Decimal] = mapped_column(RATE, default=Decimal(0), server_default="0")
    required_date: Mapped[date | None] = mapped_column(Date)
    promised_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    tax: Mapped[Decimal] = mapped_column(MONEY)
    # What moved against the line, kept with it so limits hold under concurrency (guarded UPDATEs):
    # received = accepted + rejected at inspection; returned = sent back to the supplier.
    received_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    rejected_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    returned_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    closed_short: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    close_reason: Mapped[str | None] = mapped_column(Text)

    order: Mapped[PurchaseOrder] = relationship(lazy="raise", viewonly=True)  # CSV of lines: joined there


class GoodsReceipt(Base):
    __tablename__ = "goods_receipts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    purchase_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.purchase_orders.id"), index=True)
    delivery_note: Mapped[str | None] = mapped_column(String(64))
    received_by: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    lines: Mapped[list[GoodsReceiptLine]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class GoodsReceiptLine(Base):
    __tablename__ = "goods_receipt_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("rejected_quantity >= 0 AND rejected_quantity <= quantity", name="rejected_within"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.goods_receipts.id", ondelete="CASCADE"))
    purchase_order_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.purchase_order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)  # received, rejected ones included
    rejected_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    lot_numbers: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    serial_numbers: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")

    order_line: Mapped[PurchaseOrderLine] = relationship(lazy="joined", innerjoin=True, viewonly=True)
