from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common.db import Timestamps
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lathe_production.processes.models import Process
from lathe_production.tables import Base


class ProductModel(Timestamps, Base):
    __tablename__ = "product_models"
    __table_args__ = (
        CheckConstraint(
            "traveler_type IS NULL OR traveler_type IN ('PCB', 'PARTS', 'ASSEMBLY', 'CABLE')", name="traveler_type"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    model_code: Mapped[str] = mapped_column(String(64), unique=True)
    model_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    specifications: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    traveler_type: Mapped[str | None] = mapped_column(String(16))
    # The current revision's label and BOM, written with its ProductModelRevision row in one
    # transaction (the routing's current form is ``steps``). 'A' and no BOM for rows written by SQL.
    revision: Mapped[str] = mapped_column(String(8), default="A", server_default="A")
    bom: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")

    steps: Mapped[list[RoutingStep]] = relationship(
        order_by="RoutingStep.step_no", lazy="raise", cascade="all, delete-orphan"
    )

    @property
    def routing(self) -> list[str]:
        return [step.process.process_code for step in self.steps]


class RoutingStep(Base):
    __tablename__ = "routing_steps"

    product_model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("production.product_models.id", ondelete="CASCADE"), primary_key=True
    )
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.processes.id"), index=True)

    process: Mapped[Process] = relationship(lazy="raise")


class ProductModelRevision(Base):
    """One revision of a model's routing and BOM, as it was made: never changed afterwards, so a
    LOT pinned to it (``lots.revision``) is built and checked by what it says."""

    __tablename__ = "product_model_revisions"
    __table_args__ = (
        UniqueConstraint("product_model_id", "revision_no", name="uq_product_model_revisions_number"),
        UniqueConstraint("product_model_id", "revision", name="uq_product_model_revisions_label"),
        CheckConstraint("revision_no > 0", name="revision_no_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    product_model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production.product_models.id"))
    revision_no: Mapped[int] = mapped_column(Integer)  # 1 for A, 2 for B, ... 27 for AA
    revision: Mapped[str] = mapped_column(String(8))
    routing: Mapped[list[str]] = mapped_column(JSONB)  # process codes in order (codes never change)
    bom: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)  # rules.revision_changes against the one before
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))  # the username
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
