"""Sales orders, their lines, and what moved against them: shipments (DN-) with the units they
carried, and returns from the customer (RT-, in ``returns``)."""

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


class SalesOrder(PricedDocumentColumns, Base):
    __tablename__ = "sales_orders"
    __table_args__ = (
        UniqueConstraint("external_source", "external_id", name="uq_sales_orders_external"),
        Index("ix_sales_orders_created_id", "created_at", "id"),
        # The list's filters, each with the list's order (newest first) behind it (0005).
        Index("ix_sales_orders_status_created_id", "status", "created_at", "id"),
        Index("ix_sales_orders_customer_created_id", "customer_id", "created_at", "id"),
    )
    # created_at / updated_at come back with the INSERT or UPDATE that sets them: the document is
    # answered (and announced) right after its change, without reading it again.
    __mapper_args__ = {"eager_defaults": True}

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.partners.id"), index=True)
    customer_po_number: Mapped[str | None] = mapped_column(String(64))
    ship_to: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    customer: Mapped[Partner] = relationship(lazy="joined", innerjoin=True)
    lines: Mapped[list[SalesOrderLine]] = relationship(
        order_by="SalesOrderLine.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (
        UniqueConstraint("sales_order_id", "line_no", name="uq_sales_order_lines_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint(
            "shipped_quantity >= 0 AND returned_quantity >= 0 AND returned_quantity <= shipped_quantity",
            name="returned_within_shipped",
        ),
        # Date filters of the list (requested / promised between ...) and the overdue filter (0005).
        Index("ix_sales_order_lines_requested_date", "requested_date"),
        Index("ix_sales_order_lines_promised_date", "promised_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sales_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.sales_orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    model_code: Mapped[str] = mapped_column(String(64), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(16), default="EA", server_default="EA")
    conversion_factor: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1), server_default="1")
    unit_price: Mapped[Decimal] = mapped_column(PRICE)
    tax_rate: Mapped[Decimal] = mapped_column(RATE)
    discount_percent: Mapped[Decimal] = mapped_column(RATE, default=Decimal(0), server_default="0")
    requested_date: Mapped[date | None] = mapped_column(Date)
    promised_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    tax: Mapped[Decimal] = mapped_column(MONEY)
    shipped_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    returned_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")
    closed_short: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    close_reason: Mapped[str | None] = mapped_column(Text)


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    sales_order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.sales_orders.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.partners.id"), index=True)
    shipped_by: Mapped[str | None] = mapped_column(String(64))
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    lines: Mapped[list[ShipmentLine]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.shipments.id", ondelete="CASCADE"))
    sales_order_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.sales_order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    # The units this line carried, kept with the document (0005): shipped_units holds only the
    # units still out, and a return removes them from it.
    serial_numbers: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")


class ShippedUnit(Base):
    """A serial number out at a customer. One row per unit while it is out (the primary key makes
    shipping a unit twice impossible, whatever the concurrency); a return removes it, so a
    returned unit can ship again. Recall impact reads it: units -> shipments -> customers."""

    __tablename__ = "shipped_units"

    serial_number: Mapped[str] = mapped_column(String(80), primary_key=True)
    shipment_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.shipment_lines.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.partners.id"), index=True)
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
