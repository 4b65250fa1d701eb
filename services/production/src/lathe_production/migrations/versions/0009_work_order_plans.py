"""Work-order plans: each request of a work order production planned (the release, then each
replacement or quantity increase), keyed by (work order number, request number), so a redelivered
request plans nothing twice.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    op.create_table(
        "work_order_plans",
        sa.Column("work_order_number", sa.String(64), nullable=False),
        sa.Column("request_no", sa.Integer(), nullable=False),
        sa.Column("model_code", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("lot_count", sa.Integer(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("work_order_number", "request_no", name="pk_work_order_plans"),
        sa.CheckConstraint("request_no >= 0", name="request_no_not_negative"),
        sa.CheckConstraint("quantity > 0 AND lot_count > 0", name="plan_not_empty"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("work_order_plans", schema=S)
