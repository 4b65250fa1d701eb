"""Refresh tokens.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("auth.users.id", name="fk_refresh_tokens_user_id_users"), nullable=False
        ),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        schema="auth",
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema="auth")
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"], schema="auth")


def downgrade() -> None:
    op.drop_table("refresh_tokens", schema="auth")
