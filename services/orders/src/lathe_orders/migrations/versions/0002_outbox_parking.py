"""Outbox rows are parked explicitly (parked_at, parked_reason), only for permanent failures.

Revision ID: 0002
Revises: 0001
"""

from lathe_common.migrations import downgrade_plumbing_v2, upgrade_plumbing_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_plumbing_v2("orders")


def downgrade() -> None:
    downgrade_plumbing_v2("orders")
