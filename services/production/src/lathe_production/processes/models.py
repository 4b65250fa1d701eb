from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from lathe_common.db import Timestamps
from sqlalchemy import Boolean, CheckConstraint, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Process(Timestamps, Base):
    __tablename__ = "processes"
    __table_args__ = (
        CheckConstraint("process_number > 0", name="process_number_positive"),
        CheckConstraint("standard_time_seconds > 0", name="standard_time_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    process_code: Mapped[str] = mapped_column(String(64), unique=True)
    process_number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # {"offset_mv": {"unit": "mV", "lower_limit": -5, "upper_limit": 5, "target": 0}, ...}
    quality_criteria: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Planned labor per unit (labor efficiency = standard time x units done / actual time); NULL: not set.
    standard_time_seconds: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
