"""What genealogy consumed of each LOT, bounded by what the LOT holds (its target quantity).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    op.add_column(
        "lots", sa.Column("consumed_quantity", sa.Numeric(14, 4), server_default="0", nullable=False), schema=S
    )
    # LOTs consumed before this column existed: count what their components already took. A LOT
    # already over-drawn is capped at its target so the constraint below can hold; its component
    # rows still say what really happened.
    op.execute(
        f"""
        UPDATE {S}.lots l SET consumed_quantity = LEAST(c.total, l.target_quantity)
        FROM (SELECT child_lot_id, sum(quantity) AS total FROM {S}.components
              WHERE child_lot_id IS NOT NULL GROUP BY child_lot_id) c
        WHERE c.child_lot_id = l.id
        """
    )
    op.create_check_constraint(
        "ck_lots_consumed_within_target",
        "lots",
        "consumed_quantity >= 0 AND consumed_quantity <= target_quantity",
        schema=S,
    )


def downgrade() -> None:
    # Dropping the column drops its CHECK constraint with it.
    op.drop_column("lots", "consumed_quantity", schema=S)
