"""The document each purchase, sales and work order was last announced with, so its next change
event can say what changed and what it was (``changed``, ``previous``; lathe_orders.announcements).
Documents announced before it have no row: their next change says nothing changed, and the ones
after it do.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "announced_documents",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("document_id", sa.Uuid(), primary_key=True),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        schema="orders",
    )


def downgrade() -> None:
    op.drop_table("announced_documents", schema="orders")
