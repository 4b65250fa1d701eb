"""Outbox rows are parked explicitly (parked_at, parked_reason), only for permanent failures.

Revision ID: 0007
Revises: 0006
"""

from lathe_common.migrations import downgrade_plumbing_v2, upgrade_plumbing_v2

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_plumbing_v2("production")


def downgrade() -> None:
    downgrade_plumbing_v2("production")
