"""Failed sign-ins with usernames no account has, counted per client address: unknown_account_failures.

They are announced (and so audited) while counted, like an account's wrong passwords, so a flood
of made-up usernames from one address cannot announce more than a lockout lets through.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unknown_account_failures",
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("client_address", name="pk_unknown_account_failures"),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_table("unknown_account_failures", schema="auth")
