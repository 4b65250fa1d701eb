"""Purchase orders: the override reason of a four-eyes approval, the receipt state kept with every
movement (so the list filters by it), and the list's filters each backed by an index in the list's
order (newest first): status, supplier, receipt state; expected dates by range.

The indexes are built CONCURRENTLY, so orders keep being written while they are built.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_purchase_orders_status_created_id": ["status", "created_at", "id"],
    "ix_purchase_orders_supplier_created_id": ["supplier_id", "created_at", "id"],
    "ix_purchase_orders_receipt_state_created_id": ["receipt_state", "created_at", "id"],
    "ix_purchase_orders_expected_date": ["expected_date"],
}


def upgrade() -> None:
    op.execute("ALTER TABLE orders.purchase_orders ADD COLUMN IF NOT EXISTS approval_override_reason TEXT")
    op.execute(
        "ALTER TABLE orders.purchase_orders "
        "ADD COLUMN IF NOT EXISTS receipt_state VARCHAR(24) DEFAULT 'NOT_RECEIVED' NOT NULL"
    )
    with op.get_context().autocommit_block():
        for name, columns in INDEXES.items():
            op.create_index(
                name, "purchase_orders", columns, schema="orders", postgresql_concurrently=True, if_not_exists=True
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.drop_index(name, "purchase_orders", schema="orders", postgresql_concurrently=True, if_exists=True)
    op.execute("ALTER TABLE orders.purchase_orders DROP COLUMN IF EXISTS receipt_state")
    op.execute("ALTER TABLE orders.purchase_orders DROP COLUMN IF EXISTS approval_override_reason")
