"""The audit trail is read newest first by cursor: (occurred_at, id) indexed, and correlation ids.

Built CONCURRENTLY, so a trail of millions of rows keeps being written while they are built.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_audit_log_time_id",
            "audit_log",
            ["occurred_at", "id"],
            schema="analytics",
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.create_index(
            "ix_audit_log_correlation_id",
            "audit_log",
            ["correlation_id"],
            schema="analytics",
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_audit_log_correlation_id", "audit_log", schema="analytics", postgresql_concurrently=True)
        op.drop_index("ix_audit_log_time_id", "audit_log", schema="analytics", postgresql_concurrently=True)
