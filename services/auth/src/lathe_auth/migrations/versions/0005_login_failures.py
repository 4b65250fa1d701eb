"""Lockout per account and client address: login_failures.

The account-wide counters (users.failed_logins, users.locked_until) are no longer read or
written; they stay in the table so replicas of the previous version keep working during a
rolling update, and can be dropped by a later migration.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("auth.users.id", name="fk_login_failures_user_id_users"),
            nullable=False,
        ),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("user_id", "client_address", name="pk_login_failures"),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_table("login_failures", schema="auth")
