"""Outbox and inbox.

Revision ID: 0001
Revises:
"""

from lathe_common.migrations import create_plumbing_v1, drop_plumbing_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_v1("auth")


def downgrade() -> None:
    drop_plumbing_v1("auth")
