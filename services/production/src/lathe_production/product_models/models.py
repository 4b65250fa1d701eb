from __future__ import annotations

import uuid
from typing import Any

from lathe_common.db import Timestamps
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lathe_production.processes.models import Process
from lathe_production.tables import Base


class ProductModel(Timestamps, Base):
    __tablename__ = "product_models"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    model_code: Mapped[str] = mapped_column(String(64), unique=True)
    model_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    specifications: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

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
