"""Sales orders: the serial numbers each shipment line carried (kept with the document once the
units come back, when shipped_units forgets them), and the list's filters each backed by an index:
status and customer in the list's order (newest first), requested and promised dates by range.

The indexes are built CONCURRENTLY, so orders keep being written while they are built.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_sales_orders_status_created_id": ("sales_orders", ["status", "created_at", "id"]),
    "ix_sales_orders_customer_created_id": ("sales_orders", ["customer_id", "created_at", "id"]),
    "ix_sales_order_lines_requested_date": ("sales_order_lines", ["requested_date"]),
    "ix_sales_order_lines_promised_date": ("sales_order_lines", ["promised_date"]),
}


def upgrade() -> None:
    op.execute("ALTER TABLE orders.shipment_lines ADD COLUMN IF NOT EXISTS serial_numbers JSONB DEFAULT '[]' NOT NULL")
    with op.get_context().autocommit_block():
        for name, (table, columns) in INDEXES.items():
            op.create_index(name, table, columns, schema="orders", postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (table, _) in INDEXES.items():
            op.drop_index(name, table, schema="orders", postgresql_concurrently=True, if_exists=True)
    op.execute("ALTER TABLE orders.shipment_lines DROP COLUMN IF EXISTS serial_numbers")
