"""Lists read by cursor, each order backed by an index: process data newest first
(completed_at, id) and LOTs newest first (created_at, id). Serials are read by serial number,
which its unique index already orders.

Built CONCURRENTLY, so machines keep recording while they are built.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_process_data_time_id": ("process_data", ["completed_at", "id"]),
    "ix_lots_created_id": ("lots", ["created_at", "id"]),
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (table, columns) in INDEXES.items():
            op.create_index(name, table, columns, schema="production", postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (table, _) in INDEXES.items():
            op.drop_index(name, table, schema="production", postgresql_concurrently=True)
