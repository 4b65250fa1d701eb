"""ERP conflicts: open until a planner resolves one or a later revision of the document applies
(resolved_at, resolved_by, resolution); the list's order (newest first) and the settling of a
document's open conflicts each backed by an index.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE orders.erp_conflicts ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMP WITH TIME ZONE")
    op.execute("ALTER TABLE orders.erp_conflicts ADD COLUMN IF NOT EXISTS resolved_by VARCHAR(64)")
    op.execute("ALTER TABLE orders.erp_conflicts ADD COLUMN IF NOT EXISTS resolution TEXT")
    op.execute("CREATE INDEX IF NOT EXISTS ix_erp_conflicts_received_id ON orders.erp_conflicts (received_at, id)")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_erp_conflicts_open_document ON orders.erp_conflicts "
        "(topic, source, external_id) WHERE resolved_at IS NULL"
    )
    op.execute("DROP INDEX IF EXISTS orders.ix_orders_erp_conflicts_received_at")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_orders_erp_conflicts_received_at ON orders.erp_conflicts (received_at)")
    op.execute("DROP INDEX IF EXISTS orders.ix_erp_conflicts_open_document")
    op.execute("DROP INDEX IF EXISTS orders.ix_erp_conflicts_received_id")
    for column in ("resolution", "resolved_by", "resolved_at"):
        op.execute(f"ALTER TABLE orders.erp_conflicts DROP COLUMN IF EXISTS {column}")
