"""What SPC keeps: spec limits per process, the latest points per chart, and the alerts announced.

A chart is one (process code, measurement name). Its points are ordered by the step's completion
time, then the step's id, so the order (and what the rules find in it) does not depend on the order
events arrived in.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


class SpcProcess(Base):
    """Production's processes as their events describe them: the spec limits of each measurement."""

    __tablename__ = "spc_processes"

    process_code: Mapped[str] = mapped_column(Text, primary_key=True)
    process_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(Text)
    # {measurement: {unit, lower_limit, upper_limit, target}}, as ProcessDefined/ChangedEvent carry it
    quality_criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_active: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SpcPoint(Base):
    """One numeric measurement of one step execution. A chart keeps its latest points only
    (``spc_points_per_chart``); older ones are deleted as new ones come."""

    __tablename__ = "spc_points"
    __table_args__ = (
        # A step's measurement is one point however often its event is delivered.
        Index("uq_spc_points_step_measurement", "step_id", "measurement", unique=True),
        # A chart's window: the latest points, read backwards from the end.
        Index("ix_spc_points_chart_time", "process_code", "measurement", "completed_at", "step_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    process_code: Mapped[str] = mapped_column(Text)
    measurement: Mapped[str] = mapped_column(Text)
    step_id: Mapped[uuid.UUID]
    value: Mapped[float] = mapped_column(Double)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    serial_number: Mapped[str | None] = mapped_column(Text)
    lot_number: Mapped[str | None] = mapped_column(Text)
    model_code: Mapped[str | None] = mapped_column(Text)


class SpcChart(Base):
    """Each chart that has points: how many are kept, and its latest summary over the default
    window (for the list of charts, which must not read every chart's points)."""

    __tablename__ = "spc_charts"

    process_code: Mapped[str] = mapped_column(Text, primary_key=True)
    measurement: Mapped[str] = mapped_column(Text, primary_key=True)
    points_kept: Mapped[int] = mapped_column(Integer)
    last_point_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    window_n: Mapped[int] = mapped_column(Integer, server_default="0")
    mean: Mapped[float | None] = mapped_column(Double)
    cpk: Mapped[float | None] = mapped_column(Double)
    ppk: Mapped[float | None] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SpcAlert(Base):
    """A rule violation announced (``lathe.analytics.spc-alert.v1``), with the points that made it."""

    __tablename__ = "spc_alerts"
    __table_args__ = (
        Index("ix_spc_alerts_detected", "detected_at", "id"),
        Index("ix_spc_alerts_chart_detected", "process_code", "measurement", "detected_at"),
        CheckConstraint("rule BETWEEN 1 AND 8", name="rule_is_nelson"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    process_code: Mapped[str] = mapped_column(Text)
    measurement: Mapped[str] = mapped_column(Text)
    rule: Mapped[int] = mapped_column(SmallInteger)
    centre_line: Mapped[float | None] = mapped_column(Double)
    upper_control_limit: Mapped[float | None] = mapped_column(Double)
    lower_control_limit: Mapped[float | None] = mapped_column(Double)
    points: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # SpcAlertPoint, oldest first
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SpcAlertPoint(Base):
    """Which points belong to an announced violation of a rule: a later hit of the same rule that
    shares them is that violation going on, not a new one."""

    __tablename__ = "spc_alert_points"

    process_code: Mapped[str] = mapped_column(Text, primary_key=True)
    measurement: Mapped[str] = mapped_column(Text, primary_key=True)
    rule: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    step_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
