"""The traveler reports' tables: standard times, labor and output per production day, coatings.

Output and labor are added up per production day x operator x process x LOT (keys that could be
unknown use "" rather than NULL), so a report over any window and any grouping reads these rows,
never the history of steps or entries. Sums of seconds are NUMERIC: the same digits in any order.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Double, Index, Numeric, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class LaborProcess(Base):
    __tablename__ = "labor_processes"

    process_code: Mapped[str] = mapped_column(Text, primary_key=True)
    standard_time_seconds: Mapped[Decimal | None] = mapped_column(Numeric)


class _DayOperatorProcessLot:
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    operator: Mapped[str] = mapped_column(Text, primary_key=True)
    process_code: Mapped[str] = mapped_column(Text, primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lot_number: Mapped[str] = mapped_column(Text)


class LaborTimeDay(_DayOperatorProcessLot, Base):
    """Labor entries' time, by the production day each entry started on."""

    __tablename__ = "labor_time_days"

    entries: Mapped[int] = _count()
    seconds: Mapped[Decimal] = mapped_column(Numeric, default=0, server_default="0")


class LaborOutputDay(_DayOperatorProcessLot, Base):
    """Step executions: units done (SERIAL-level PASS) and their cycle times, by the step's operator."""

    __tablename__ = "labor_output_days"

    executions: Mapped[int] = _count()
    units: Mapped[int] = _count()
    cycle_count: Mapped[int] = _count()
    cycle_seconds: Mapped[Decimal] = mapped_column(Numeric, default=0, server_default="0")


class CoatingLotProcess(Base):
    """A LOT's coatings at one process: how many logs, and the latest (which decides its status)."""

    __tablename__ = "coating_lot_processes"
    __table_args__ = (Index("ix_coating_lot_processes_day", "day"),)

    lot_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    process_code: Mapped[str] = mapped_column(Text, primary_key=True)
    lot_number: Mapped[str] = mapped_column(Text)
    model_code: Mapped[str] = mapped_column(Text)
    logs: Mapped[int] = _count()
    log_id: Mapped[uuid.UUID]
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)  # the production day of applied_at
    result: Mapped[str] = mapped_column(Text)
    coating_type: Mapped[str] = mapped_column(Text)
    material_lot: Mapped[str] = mapped_column(Text)
    thickness_readings_um: Mapped[list[Any]] = mapped_column(JSONB)
    thickness_lower_um: Mapped[float | None] = mapped_column(Double)
    thickness_upper_um: Mapped[float | None] = mapped_column(Double)


TRAVELER_REPORT_TABLES = tuple(
    model.__table__  # type: ignore[attr-defined]
    for model in (LaborProcess, LaborTimeDay, LaborOutputDay, CoatingLotProcess)
)
