"""SPC: spec limits per process, the latest points per chart, chart summaries, alerts.

IF NOT EXISTS throughout: a stack that already has these tables exactly (created ahead of this
revision while the revisions before it were still being written) takes it as a no-op.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

S = "analytics"


def upgrade() -> None:
    op.create_table(
        "spc_processes",
        sa.Column("process_code", sa.Text(), primary_key=True),
        sa.Column("process_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("quality_criteria", postgresql.JSONB(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
        if_not_exists=True,
    )
    op.create_table(
        "spc_points",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("process_code", sa.Text(), nullable=False),
        sa.Column("measurement", sa.Text(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("serial_number", sa.Text()),
        sa.Column("lot_number", sa.Text()),
        sa.Column("model_code", sa.Text()),
        schema=S,
        if_not_exists=True,
    )
    op.create_index(
        "uq_spc_points_step_measurement",
        "spc_points",
        ["step_id", "measurement"],
        unique=True,
        schema=S,
        if_not_exists=True,
    )
    op.create_index(
        "ix_spc_points_chart_time",
        "spc_points",
        ["process_code", "measurement", "completed_at", "step_id"],
        schema=S,
        if_not_exists=True,
    )
    op.create_table(
        "spc_charts",
        sa.Column("process_code", sa.Text(), primary_key=True),
        sa.Column("measurement", sa.Text(), primary_key=True),
        sa.Column("points_kept", sa.Integer(), nullable=False),
        sa.Column("last_point_at", sa.DateTime(timezone=True)),
        sa.Column("window_n", sa.Integer(), server_default="0", nullable=False),
        sa.Column("mean", sa.Double()),
        sa.Column("cpk", sa.Double()),
        sa.Column("ppk", sa.Double()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=S,
        if_not_exists=True,
    )
    op.create_table(
        "spc_alerts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("process_code", sa.Text(), nullable=False),
        sa.Column("measurement", sa.Text(), nullable=False),
        sa.Column("rule", sa.SmallInteger(), nullable=False),
        sa.Column("centre_line", sa.Double()),
        sa.Column("upper_control_limit", sa.Double()),
        sa.Column("lower_control_limit", sa.Double()),
        sa.Column("points", postgresql.JSONB(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("rule BETWEEN 1 AND 8", name="rule_is_nelson"),
        schema=S,
        if_not_exists=True,
    )
    op.create_index("ix_spc_alerts_detected", "spc_alerts", ["detected_at", "id"], schema=S, if_not_exists=True)
    op.create_index(
        "ix_spc_alerts_chart_detected",
        "spc_alerts",
        ["process_code", "measurement", "detected_at"],
        schema=S,
        if_not_exists=True,
    )
    op.create_table(
        "spc_alert_points",
        sa.Column("process_code", sa.Text(), primary_key=True),
        sa.Column("measurement", sa.Text(), primary_key=True),
        sa.Column("rule", sa.SmallInteger(), primary_key=True),
        sa.Column("step_id", sa.Uuid(), primary_key=True),
        schema=S,
        if_not_exists=True,
    )


def downgrade() -> None:
    for table in ("spc_alert_points", "spc_alerts", "spc_charts", "spc_points", "spc_processes"):
        op.drop_table(table, schema=S)
