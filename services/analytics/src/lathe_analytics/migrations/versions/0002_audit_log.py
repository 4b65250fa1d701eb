"""Immutable audit log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text()),
        sa.Column("correlation_id", sa.Text()),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_audit_log_event_id"),
        schema="analytics",
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"], schema="analytics")
    op.create_index("ix_audit_log_event_type_time", "audit_log", ["event_type", "occurred_at"], schema="analytics")
    op.create_index("ix_audit_log_actor_time", "audit_log", ["actor", "occurred_at"], schema="analytics")
    op.execute(
        """CREATE FUNCTION analytics.audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege'; END $$"""
    )
    op.execute(
        """CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON analytics.audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION analytics.audit_log_immutable()"""
    )


def downgrade() -> None:
    op.drop_table("audit_log", schema="analytics")
    op.execute("DROP FUNCTION IF EXISTS analytics.audit_log_immutable()")
