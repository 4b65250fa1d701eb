"""LOTs, their per-day numbering, serials.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "production"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "lots",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column(
            "product_model_id",
            sa.Uuid(),
            sa.ForeignKey(f"{S}.product_models.id", name="fk_lots_product_model"),
            nullable=False,
        ),
        sa.Column("model_code", sa.String(64), nullable=False),
        sa.Column("work_order_number", sa.String(64)),
        sa.Column("target_quantity", sa.Integer(), nullable=False),
        sa.Column("serial_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shift", sa.String(8), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        *_timestamps(),
        sa.UniqueConstraint("lot_number", name="uq_lots_lot_number"),
        sa.CheckConstraint(
            "serial_count >= 0 AND serial_count <= target_quantity", name="ck_lots_serial_count_within_target"
        ),
        sa.CheckConstraint("target_quantity > 0", name="ck_lots_target_quantity_positive"),
        sa.CheckConstraint("shift IN ('DAY', 'NIGHT')", name="ck_lots_shift"),
        sa.CheckConstraint(
            "status IN ('CREATED', 'IN_PROGRESS', 'COMPLETED', 'CLOSED', 'CANCELLED')", name="ck_lots_status"
        ),
        schema=S,
    )
    for column in ("product_model_id", "work_order_number", "production_date", "status"):
        op.create_index(f"ix_lots_{column}", "lots", [column], schema=S)
    op.create_table(
        "lot_sequences",
        sa.Column("prefix", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("last_value", sa.Integer(), nullable=False),
        schema=S,
    )
    op.create_table(
        "serials",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("serial_number", sa.String(80), nullable=False),
        sa.Column("lot_id", sa.Uuid(), sa.ForeignKey(f"{S}.lots.id", name="fk_serials_lot"), nullable=False),
        sa.Column("sequence_in_lot", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), server_default="CREATED", nullable=False),
        sa.Column("current_step", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rework_count", sa.Integer(), server_default="0", nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("serial_number", name="uq_serials_serial_number"),
        sa.UniqueConstraint("lot_id", "sequence_in_lot", name="uq_serials_lot_sequence"),
        sa.CheckConstraint("rework_count >= 0", name="ck_serials_rework_count_not_negative"),
        sa.CheckConstraint("sequence_in_lot > 0", name="ck_serials_sequence_in_lot_positive"),
        schema=S,
    )
    op.create_index("ix_serials_lot_id", "serials", ["lot_id"], schema=S)
    op.create_index("ix_serials_status", "serials", ["status"], schema=S)


def downgrade() -> None:
    op.drop_table("serials", schema=S)
    op.drop_table("lot_sequences", schema=S)
    op.drop_table("lots", schema=S)
