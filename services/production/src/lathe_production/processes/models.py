from __future__ import annotations

import uuid
from typing import Any

from lathe_common.db import Timestamps
from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Process(Timestamps, Base):
    __tablename__ = "processes"
    __table_args__ = (CheckConstraint("process_number > 0", name="process_number_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    process_code: Mapped[str] = mapped_column(String(64), unique=True)
    process_number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # {"offset_mv": {"unit": "mV", "lower_limit": -5, "upper_limit": 5, "target": 0}, ...}
    quality_criteria: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
