"""The realtime stream's entries (kept STREAM_RETENTION_MINUTES for resuming clients) and its one
row of state (how far pruning went, when the latest kpi event was written).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

S = "analytics"


def upgrade() -> None:
    op.create_table(
        "stream_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("process_code", sa.Text()),
        sa.Column("model_code", sa.Text()),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('step', 'lot', 'spc', 'kpi')", name="kind_known"),
        schema=S,
    )
    op.create_table(
        "stream_state",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("pruned_through", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("kpi_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("id = 1", name="single_row"),
        schema=S,
    )
    op.execute(f"INSERT INTO {S}.stream_state (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table("stream_state", schema=S)
    op.drop_table("stream_entries", schema=S)
