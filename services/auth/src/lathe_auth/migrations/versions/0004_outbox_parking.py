"""Outbox rows are parked explicitly (parked_at, parked_reason), only for permanent failures.

Revision ID: 0004
Revises: 0003
"""

from lathe_common.migrations import downgrade_plumbing_v2, upgrade_plumbing_v2

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_plumbing_v2("auth")


def downgrade() -> None:
    downgrade_plumbing_v2("auth")
