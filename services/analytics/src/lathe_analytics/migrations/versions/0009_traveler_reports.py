"""Seed 000's reports (issue 12): the traveler reports' read model, and the floor's units by LOT.

- ``labor_processes``: standard time per unit of each process, from process events;
- ``labor_time_days`` / ``labor_output_days``: labor entries' time and step output per production
  day x operator x process x LOT;
- ``coating_lot_processes``: each LOT's coatings per process, with the latest log;
- ``ix_floor_units_lot``: traveler completion adds up the units of each open LOT.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

S = "analytics"


def _day_operator_process_lot() -> list[sa.Column]:
    return [
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("operator", sa.Text(), primary_key=True),
        sa.Column("process_code", sa.Text(), primary_key=True),
        sa.Column("lot_id", sa.Uuid(), primary_key=True),
        sa.Column("lot_number", sa.Text(), nullable=False),
    ]


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "labor_processes",
        sa.Column("process_code", sa.Text(), primary_key=True),
        sa.Column("standard_time_seconds", sa.Numeric()),
        schema=S,
    )
    op.create_table(
        "labor_time_days",
        *_day_operator_process_lot(),
        _count("entries"),
        sa.Column("seconds", sa.Numeric(), server_default="0", nullable=False),
        schema=S,
    )
    op.create_table(
        "labor_output_days",
        *_day_operator_process_lot(),
        _count("executions"),
        _count("units"),
        _count("cycle_count"),
        sa.Column("cycle_seconds", sa.Numeric(), server_default="0", nullable=False),
        schema=S,
    )
    op.create_table(
        "coating_lot_processes",
        sa.Column("lot_id", sa.Uuid(), primary_key=True),
        sa.Column("process_code", sa.Text(), primary_key=True),
        sa.Column("lot_number", sa.Text(), nullable=False),
        sa.Column("model_code", sa.Text(), nullable=False),
        _count("logs"),
        sa.Column("log_id", sa.Uuid(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("coating_type", sa.Text(), nullable=False),
        sa.Column("material_lot", sa.Text(), nullable=False),
        sa.Column("thickness_readings_um", postgresql.JSONB(), nullable=False),
        sa.Column("thickness_lower_um", sa.Double()),
        sa.Column("thickness_upper_um", sa.Double()),
        schema=S,
    )
    op.create_index("ix_coating_lot_processes_day", "coating_lot_processes", ["day"], schema=S)
    op.create_index("ix_floor_units_lot", "floor_units", ["lot_id"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_floor_units_lot", "floor_units", schema=S)
    for table in ("coating_lot_processes", "labor_output_days", "labor_time_days", "labor_processes"):
        op.drop_table(table, schema=S)
