"""Labor entries, coating logs and a standard time per process (issue 12).

- ``processes.standard_time_seconds``: planned labor per unit (NULL: not set);
- ``labor_entries``: someone's time on a process for a LOT or unit, at most a day long;
- ``coating_logs``: a coating applied to a LOT, its thickness readings judged against the limits.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    op.add_column("processes", sa.Column("standard_time_seconds", sa.Numeric(12, 3)), schema=S)
    op.create_check_constraint(
        "ck_processes_standard_time_positive", "processes", "standard_time_seconds > 0", schema=S
    )
    op.create_table(
        "labor_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("serial_id", sa.Uuid()),
        sa.Column("serial_number", sa.String(80)),
        sa.Column("process_id", sa.Uuid(), nullable=False),
        sa.Column("process_code", sa.String(64), nullable=False),
        sa.Column("activity", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Numeric(9, 3), nullable=False),
        sa.Column("recorded_by", sa.String(64)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_labor_entries"),
        sa.ForeignKeyConstraint(["lot_id"], [f"{S}.lots.id"], name="fk_labor_entries_lot_id_lots"),
        sa.ForeignKeyConstraint(["serial_id"], [f"{S}.serials.id"], name="fk_labor_entries_serial_id_serials"),
        sa.ForeignKeyConstraint(["process_id"], [f"{S}.processes.id"], name="fk_labor_entries_process_id_processes"),
        sa.CheckConstraint("ended_at > started_at", name="ck_labor_entries_ended_after_started"),
        sa.CheckConstraint(
            "duration_seconds > 0 AND duration_seconds <= 86400", name="ck_labor_entries_duration_within_a_day"
        ),
        sa.CheckConstraint(
            "activity IN ('SETUP', 'RUN', 'REWORK', 'INSPECTION')", name="ck_labor_entries_activity_known"
        ),
        schema=S,
    )
    op.create_index("ix_labor_entries_started_id", "labor_entries", ["started_at", "id"], schema=S)
    for name, column in (
        ("lot", "lot_id"),
        ("serial", "serial_id"),
        ("operator", "operator"),
        ("process", "process_code"),
    ):
        op.create_index(f"ix_labor_entries_{name}_started", "labor_entries", [column, "started_at", "id"], schema=S)
    op.create_table(
        "coating_logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("process_id", sa.Uuid(), nullable=False),
        sa.Column("process_code", sa.String(64), nullable=False),
        sa.Column("coating_type", sa.String(64), nullable=False),
        sa.Column("material_lot", sa.String(64), nullable=False),
        sa.Column("thickness_readings_um", postgresql.JSONB(), nullable=False),
        sa.Column("thickness_lower_um", sa.Float()),
        sa.Column("thickness_upper_um", sa.Float()),
        sa.Column("limits_source", sa.String(8), nullable=False),
        sa.Column("violations", postgresql.JSONB(), nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("cure_temperature_c", sa.Numeric(6, 2), nullable=False),
        sa.Column("cure_minutes", sa.Numeric(8, 2), nullable=False),
        sa.Column("inspector", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(64)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_coating_logs"),
        sa.ForeignKeyConstraint(["lot_id"], [f"{S}.lots.id"], name="fk_coating_logs_lot_id_lots"),
        sa.ForeignKeyConstraint(["process_id"], [f"{S}.processes.id"], name="fk_coating_logs_process_id_processes"),
        sa.CheckConstraint("result IN ('PASS', 'FAIL')", name="ck_coating_logs_result_known"),
        sa.CheckConstraint("limits_source IN ('process', 'log')", name="ck_coating_logs_limits_source_known"),
        sa.CheckConstraint("cure_minutes > 0", name="ck_coating_logs_cure_minutes_positive"),
        schema=S,
    )
    op.create_index("ix_coating_logs_applied_id", "coating_logs", ["applied_at", "id"], schema=S)
    op.create_index("ix_coating_logs_lot_applied", "coating_logs", ["lot_id", "applied_at", "id"], schema=S)


def downgrade() -> None:
    op.drop_table("coating_logs", schema=S)
    op.drop_table("labor_entries", schema=S)
    op.drop_constraint("ck_processes_standard_time_positive", "processes", schema=S)
    op.drop_column("processes", "standard_time_seconds", schema=S)
