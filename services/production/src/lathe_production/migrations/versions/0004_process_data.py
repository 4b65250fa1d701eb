"""Step executions, and the count of finished units per LOT.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    op.add_column("lots", sa.Column("finished_count", sa.Integer(), server_default="0", nullable=False), schema=S)
    op.create_check_constraint(
        "ck_lots_finished_within_serials", "lots", "finished_count >= 0 AND finished_count <= serial_count", schema=S
    )
    op.create_table(
        "process_data",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("message_id", sa.String(128)),
        sa.Column(
            "process_id", sa.Uuid(), sa.ForeignKey(f"{S}.processes.id", name="fk_process_data_process"), nullable=False
        ),
        sa.Column("process_code", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.Uuid(), sa.ForeignKey(f"{S}.lots.id", name="fk_process_data_lot"), nullable=False),
        sa.Column("serial_id", sa.Uuid(), sa.ForeignKey(f"{S}.serials.id", name="fk_process_data_serial")),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("step_no", sa.Integer()),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("reported_result", sa.String(8)),
        sa.Column("measurements", postgresql.JSONB(), nullable=False),
        sa.Column("violations", postgresql.JSONB(), nullable=False),
        sa.Column("defects", postgresql.JSONB(), nullable=False),
        sa.Column("operator", sa.String(64)),
        sa.Column("equipment_id", sa.String(64)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cycle_time_seconds", sa.Numeric(12, 3)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("message_id", name="uq_process_data_message_id"),
        sa.CheckConstraint("level IN ('LOT', 'SERIAL')", name="ck_process_data_level"),
        sa.CheckConstraint("result IN ('PASS', 'FAIL', 'REWORK')", name="ck_process_data_result"),
        sa.CheckConstraint("(level = 'SERIAL') = (serial_id IS NOT NULL)", name="ck_process_data_serial_level"),
        schema=S,
    )
    op.create_index("ix_process_data_serial_time", "process_data", ["serial_id", "completed_at"], schema=S)
    op.create_index("ix_process_data_lot_time", "process_data", ["lot_id", "completed_at"], schema=S)
    op.create_index("ix_process_data_process_time", "process_data", ["process_id", "completed_at"], schema=S)
    op.create_index("ix_process_data_operator_time", "process_data", ["operator", "completed_at"], schema=S)


def downgrade() -> None:
    op.drop_table("process_data", schema=S)
    op.drop_constraint("ck_lots_finished_within_serials", "lots", schema=S)
    op.drop_column("lots", "finished_count", schema=S)
