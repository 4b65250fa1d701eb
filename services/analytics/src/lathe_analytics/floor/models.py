"""The floor read model's tables: projections of production and pre-aggregated step facts.

Projections (one row per thing): processes, product models, LOTs (with their progress) and units
(with the furthest routing step they reached). Aggregates (one row per bucket, only ever added to):
step facts per production day x process x model x operator and for all time per process x model,
per UTC minute x process (realtime throughput), cycle-time bins, defects per code, LOT and unit
output per production day x shift x model, counts per status, work in progress per routing
position. Every answer of /api/v1/analytics reads these, never the history of steps.

Sums of cycle times are NUMERIC, so a sum does not depend on the order it was added in (a rebuild
gives the very same digits). Keys that could be unknown use "" rather than NULL (primary keys).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, Numeric, SmallInteger, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


def _count() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class FloorProcess(Base):
    __tablename__ = "floor_processes"

    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    process_code: Mapped[str] = mapped_column(Text)
    process_number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool]


class FloorProductModel(Base):
    __tablename__ = "floor_product_models"

    model_code: Mapped[str] = mapped_column(Text, primary_key=True)
    model_id: Mapped[uuid.UUID]
    model_name: Mapped[str] = mapped_column(Text)
    routing: Mapped[list[str]] = mapped_column(ARRAY(Text))  # process codes, in order
    is_active: Mapped[bool]


class FloorLot(Base):
    """A LOT. Its creation fills the description; a step or a unit of it may come first and leave
    the counters with the description still empty (status NULL: not listed as active)."""

    __tablename__ = "floor_lots"
    __table_args__ = (
        # Realtime status lists the open LOTs, newest first: as many as are open, not as many as ever were.
        Index(
            "ix_floor_lots_open",
            "created_at",
            "lot_id",
            postgresql_where=text("status IN ('CREATED', 'IN_PROGRESS')"),
        ),
    )

    lot_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lot_number: Mapped[str | None] = mapped_column(Text)
    model_code: Mapped[str | None] = mapped_column(Text)
    work_order_number: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    target_quantity: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    units: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    units_finished: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    units_passed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The status this row had before its latest write, which returns it: the counts per status move
    # by that transition, read under the row's lock (see facts.transitions).
    previous_status: Mapped[str | None] = mapped_column(Text)


class FloorUnit(Base):
    __tablename__ = "floor_units"
    # Traveler completion adds up the units of each open LOT (traveler_reports.reads).
    __table_args__ = (Index("ix_floor_units_lot", "lot_id"),)

    serial_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    serial_number: Mapped[str | None] = mapped_column(Text)
    lot_id: Mapped[uuid.UUID]
    model_code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    rework_count: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    furthest_step: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    waiting_step: Mapped[int | None] = mapped_column(SmallInteger)  # NULL once finished
    # What the latest write replaced (NULL: it made the row), for the counts' transitions.
    previous_status: Mapped[str | None] = mapped_column(Text)
    previous_model_code: Mapped[str | None] = mapped_column(Text)
    previous_waiting_step: Mapped[int | None] = mapped_column(SmallInteger)


class _StepMeasures:
    """The sums of ``facts.Measures``."""

    process_code: Mapped[str] = mapped_column(Text)
    executions: Mapped[int] = _count()
    passes: Mapped[int] = _count()
    failures: Mapped[int] = _count()
    reworks: Mapped[int] = _count()
    cycle_count: Mapped[int] = _count()
    cycle_seconds: Mapped[Decimal] = mapped_column(Numeric, default=0, server_default="0")
    first_attempts: Mapped[int] = _count()
    first_passes: Mapped[int] = _count()


class FloorStepDay(_StepMeasures, Base):
    __tablename__ = "floor_step_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    model_code: Mapped[str] = mapped_column(Text, primary_key=True)
    operator: Mapped[str] = mapped_column(Text, primary_key=True)


class FloorStepTotal(_StepMeasures, Base):
    """All time: the dashboard and process performance read a row per process and model, however
    long the history is."""

    __tablename__ = "floor_step_totals"

    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    model_code: Mapped[str] = mapped_column(Text, primary_key=True)


class FloorStepMinute(Base):
    __tablename__ = "floor_step_minutes"

    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    executions: Mapped[int] = _count()
    passes: Mapped[int] = _count()
    failures: Mapped[int] = _count()
    reworks: Mapped[int] = _count()
    units_finished: Mapped[int] = _count()


class FloorCycleBinDay(Base):
    __tablename__ = "floor_cycle_bin_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bin: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = _count()


class FloorCycleBinTotal(Base):
    __tablename__ = "floor_cycle_bin_totals"

    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bin: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = _count()


class FloorDefectDay(Base):
    __tablename__ = "floor_defect_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    process_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    model_code: Mapped[str] = mapped_column(Text, primary_key=True)
    defect_code: Mapped[str] = mapped_column(Text, primary_key=True)
    occurrences: Mapped[int] = _count()


class FloorOutputDay(Base):
    """LOTs and units started, completed, passed, failed and scrapped per production day and shift."""

    __tablename__ = "floor_output_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shift: Mapped[str] = mapped_column(Text, primary_key=True)
    model_code: Mapped[str] = mapped_column(Text, primary_key=True)
    lots_created: Mapped[int] = _count()
    lots_started: Mapped[int] = _count()
    lots_completed: Mapped[int] = _count()
    units_created: Mapped[int] = _count()
    units_started: Mapped[int] = _count()
    units_passed: Mapped[int] = _count()
    units_failed: Mapped[int] = _count()
    units_scrapped: Mapped[int] = _count()


class FloorStatusCount(Base):
    """How many LOTs ('lot') and units ('unit') are in each status now."""

    __tablename__ = "floor_status_counts"

    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = _count()


class FloorWip(Base):
    """Units not finished, by the routing position they wait at (or are being reworked at)."""

    __tablename__ = "floor_wip"

    model_code: Mapped[str] = mapped_column(Text, primary_key=True)
    step_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    units: Mapped[int] = _count()


class FloorRecentStep(Base):
    """The latest step executions (``facts.RECENT_STEPS`` of them), for realtime status."""

    __tablename__ = "floor_recent_steps"
    __table_args__ = (Index("ix_floor_recent_steps_time", "completed_at", "step_id"),)

    step_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    process_id: Mapped[uuid.UUID]
    process_code: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    model_code: Mapped[str] = mapped_column(Text)
    lot_number: Mapped[str] = mapped_column(Text)
    serial_number: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    serial_status: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(Text)
    equipment_id: Mapped[str | None] = mapped_column(Text)
    cycle_time_seconds: Mapped[Decimal | None] = mapped_column(Numeric)
    defect_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))


FLOOR_TABLES = tuple(
    model.__table__  # type: ignore[attr-defined]
    for model in (
        FloorProcess,
        FloorProductModel,
        FloorLot,
        FloorUnit,
        FloorStepDay,
        FloorStepTotal,
        FloorStepMinute,
        FloorCycleBinDay,
        FloorCycleBinTotal,
        FloorDefectDay,
        FloorOutputDay,
        FloorStatusCount,
        FloorWip,
        FloorRecentStep,
    )
)
