"""Work orders: what production planned for each (LOTs and units), the extra plans asked of it
after the release (replacements of scrap, quantity increases: numbered requests), the stable code
of a rejection beside its reason, and the list's filters each backed by an index in the list's
order (newest first): status, model, priority.

The indexes are built CONCURRENTLY, so work orders keep being written while they are built.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = {
    "rejection_code": "VARCHAR(64)",
    "lots_planned": "INTEGER DEFAULT 0 NOT NULL",
    "quantity_planned": "INTEGER DEFAULT 0 NOT NULL",
    "plan_requests": "INTEGER DEFAULT 0 NOT NULL",
    "quantity_replaced": "INTEGER DEFAULT 0 NOT NULL",
}
INDEXES = {
    "ix_work_orders_status_created_id": ["status", "created_at", "id"],
    "ix_work_orders_model_created_id": ["model_code", "created_at", "id"],
    "ix_work_orders_priority_created_id": ["priority", "created_at", "id"],
}


def upgrade() -> None:
    for name, definition in COLUMNS.items():
        op.execute(f"ALTER TABLE orders.work_orders ADD COLUMN IF NOT EXISTS {name} {definition}")
    op.execute(
        "ALTER TABLE orders.work_orders ADD CONSTRAINT ck_work_orders_plans_not_negative "
        "CHECK (lots_planned >= 0 AND quantity_planned >= 0 AND plan_requests >= 0 AND quantity_replaced >= 0)"
    )
    with op.get_context().autocommit_block():
        for name, columns in INDEXES.items():
            op.create_index(
                name, "work_orders", columns, schema="orders", postgresql_concurrently=True, if_not_exists=True
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.drop_index(name, "work_orders", schema="orders", postgresql_concurrently=True, if_exists=True)
    op.execute("ALTER TABLE orders.work_orders DROP CONSTRAINT IF EXISTS ck_work_orders_plans_not_negative")
    for name in reversed(COLUMNS):
        op.execute(f"ALTER TABLE orders.work_orders DROP COLUMN IF EXISTS {name}")
