"""Components: which units and LOT quantities went into which unit.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    op.create_table(
        "components",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "parent_serial_id", sa.Uuid(), sa.ForeignKey(f"{S}.serials.id", name="fk_components_parent"), nullable=False
        ),
        sa.Column("child_serial_id", sa.Uuid(), sa.ForeignKey(f"{S}.serials.id", name="fk_components_child_serial")),
        sa.Column("child_lot_id", sa.Uuid(), sa.ForeignKey(f"{S}.lots.id", name="fk_components_child_lot")),
        sa.Column("quantity", sa.Numeric(14, 4), nullable=False),
        sa.Column("process_code", sa.String(64)),
        sa.Column("operator", sa.String(64)),
        sa.Column("consumed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "(child_serial_id IS NULL) <> (child_lot_id IS NULL)", name="ck_components_one_kind_of_child"
        ),
        sa.CheckConstraint(
            "child_serial_id IS NULL OR child_serial_id <> parent_serial_id", name="ck_components_not_itself"
        ),
        sa.CheckConstraint("quantity > 0", name="ck_components_quantity_positive"),
        schema=S,
    )
    op.create_index("uq_components_child_serial", "components", ["child_serial_id"], unique=True, schema=S)
    op.create_index("ix_components_parent", "components", ["parent_serial_id"], schema=S)
    op.create_index("ix_components_child_lot", "components", ["child_lot_id"], schema=S)


def downgrade() -> None:
    op.drop_table("components", schema=S)
