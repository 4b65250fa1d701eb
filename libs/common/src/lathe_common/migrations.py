"""Alembic, one migration history per service, each in its own schema with its own version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(script_location: Path, database_url: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = database_url
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(script_location: Path, database_url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(script_location, database_url, schema), revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of each service's ``migrations/env.py``."""
    cfg = context.config
    schema = cfg.attributes["schema"]
    url = cfg.attributes["database_url"]

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=False,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(run)
            await conn.commit()
        await engine.dispose()

    asyncio.run(run_async())


def create_plumbing_v1(schema: str) -> None:
    """Outbox, inbox and the outbox NOTIFY trigger, as first created. Frozen: later changes get a v2."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    from lathe_common.outbox import notify_trigger_sql

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("message_key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        schema=schema,
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
        schema=schema,
    )
    for statement in notify_trigger_sql(schema):
        op.execute(statement)


def drop_plumbing_v1(schema: str) -> None:
    from alembic import op

    op.execute(f'DROP TABLE IF EXISTS "{schema}".inbox, "{schema}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".outbox_notify()')


def upgrade_plumbing_v2(schema: str) -> None:
    """Parked outbox rows are marked (``parked_at``, ``parked_reason``) instead of being inferred
    from ``attempts``. Rows the v1 relay gave up on after 20 attempts, whatever the cause, are left
    unparked: the relay tries them again and parks only those Kafka refuses on their merits."""
    import sqlalchemy as sa
    from alembic import op

    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("outbox", sa.Column("parked_reason", sa.Text()), schema=schema)
    # Named through the metadata's convention: ck_outbox_parked_with_reason, as PlumbingTables defines it.
    op.create_check_constraint(
        "parked_with_reason", "outbox", "(parked_at IS NULL) = (parked_reason IS NULL)", schema=schema
    )


def downgrade_plumbing_v2(schema: str) -> None:
    from alembic import op

    # The v1 relay skips rows with attempts >= 20: keep what was parked parked.
    op.execute(f'UPDATE "{schema}".outbox SET attempts = GREATEST(attempts, 20) WHERE parked_at IS NOT NULL')
    op.drop_column("outbox", "parked_reason", schema=schema)  # takes the CHECK constraint with it
    op.drop_column("outbox", "parked_at", schema=schema)
