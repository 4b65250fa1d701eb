"""Floor read models: projections of production and pre-aggregated step facts for /api/v1/analytics,
and the state a rebuild (python -m lathe_analytics rebuild) keeps per read model.

The DDL is what the models in lathe_analytics.floor.models and lathe_analytics.read_models.models
create: a rebuild builds their tables afresh from those models in the shadow schema and swaps
them in, so the two must stay the same (the rebuild refuses to swap tables whose columns differ).
IF NOT EXISTS: a table a rebuild already swapped in is the same table.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS analytics.read_model_state (
    name TEXT NOT NULL,
    generation INTEGER DEFAULT '1' NOT NULL,
    rebuilt_at TIMESTAMP WITH TIME ZONE,
    skips_pending BOOLEAN DEFAULT 'false' NOT NULL,
    CONSTRAINT pk_read_model_state PRIMARY KEY (name)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.read_model_skips (
    read_model TEXT NOT NULL,
    message_id TEXT NOT NULL,
    CONSTRAINT pk_read_model_skips PRIMARY KEY (read_model, message_id)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_processes (
    process_id UUID NOT NULL,
    process_code TEXT NOT NULL,
    process_number INTEGER NOT NULL,
    name TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    CONSTRAINT pk_floor_processes PRIMARY KEY (process_id)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_product_models (
    model_code TEXT NOT NULL,
    model_id UUID NOT NULL,
    model_name TEXT NOT NULL,
    routing TEXT[] NOT NULL,
    is_active BOOLEAN NOT NULL,
    CONSTRAINT pk_floor_product_models PRIMARY KEY (model_code)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_lots (
    lot_id UUID NOT NULL,
    lot_number TEXT,
    model_code TEXT,
    work_order_number TEXT,
    status TEXT,
    target_quantity INTEGER,
    created_at TIMESTAMP WITH TIME ZONE,
    units INTEGER DEFAULT '0' NOT NULL,
    units_finished INTEGER DEFAULT '0' NOT NULL,
    units_passed INTEGER DEFAULT '0' NOT NULL,
    previous_status TEXT,
    CONSTRAINT pk_floor_lots PRIMARY KEY (lot_id)
)""",
    """CREATE INDEX IF NOT EXISTS ix_floor_lots_open ON analytics.floor_lots (created_at, lot_id) WHERE status IN ('CREATED', 'IN_PROGRESS')""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_units (
    serial_id UUID NOT NULL,
    serial_number TEXT,
    lot_id UUID NOT NULL,
    model_code TEXT NOT NULL,
    status TEXT NOT NULL,
    rework_count SMALLINT DEFAULT '0' NOT NULL,
    furthest_step SMALLINT DEFAULT '0' NOT NULL,
    waiting_step SMALLINT,
    previous_status TEXT,
    previous_model_code TEXT,
    previous_waiting_step SMALLINT,
    CONSTRAINT pk_floor_units PRIMARY KEY (serial_id)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_step_days (
    day DATE NOT NULL,
    process_id UUID NOT NULL,
    model_code TEXT NOT NULL,
    operator TEXT NOT NULL,
    process_code TEXT NOT NULL,
    executions BIGINT DEFAULT '0' NOT NULL,
    passes BIGINT DEFAULT '0' NOT NULL,
    failures BIGINT DEFAULT '0' NOT NULL,
    reworks BIGINT DEFAULT '0' NOT NULL,
    cycle_count BIGINT DEFAULT '0' NOT NULL,
    cycle_seconds NUMERIC DEFAULT '0' NOT NULL,
    first_attempts BIGINT DEFAULT '0' NOT NULL,
    first_passes BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_step_days PRIMARY KEY (day, process_id, model_code, operator)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_step_totals (
    process_id UUID NOT NULL,
    model_code TEXT NOT NULL,
    process_code TEXT NOT NULL,
    executions BIGINT DEFAULT '0' NOT NULL,
    passes BIGINT DEFAULT '0' NOT NULL,
    failures BIGINT DEFAULT '0' NOT NULL,
    reworks BIGINT DEFAULT '0' NOT NULL,
    cycle_count BIGINT DEFAULT '0' NOT NULL,
    cycle_seconds NUMERIC DEFAULT '0' NOT NULL,
    first_attempts BIGINT DEFAULT '0' NOT NULL,
    first_passes BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_step_totals PRIMARY KEY (process_id, model_code)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_step_minutes (
    minute TIMESTAMP WITH TIME ZONE NOT NULL,
    process_id UUID NOT NULL,
    executions BIGINT DEFAULT '0' NOT NULL,
    passes BIGINT DEFAULT '0' NOT NULL,
    failures BIGINT DEFAULT '0' NOT NULL,
    reworks BIGINT DEFAULT '0' NOT NULL,
    units_finished BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_step_minutes PRIMARY KEY (minute, process_id)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_cycle_bin_days (
    day DATE NOT NULL,
    process_id UUID NOT NULL,
    bin SMALLINT NOT NULL,
    n BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_cycle_bin_days PRIMARY KEY (day, process_id, bin)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_cycle_bin_totals (
    process_id UUID NOT NULL,
    bin SMALLINT NOT NULL,
    n BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_cycle_bin_totals PRIMARY KEY (process_id, bin)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_defect_days (
    day DATE NOT NULL,
    process_id UUID NOT NULL,
    model_code TEXT NOT NULL,
    defect_code TEXT NOT NULL,
    occurrences BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_defect_days PRIMARY KEY (day, process_id, model_code, defect_code)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_output_days (
    day DATE NOT NULL,
    shift TEXT NOT NULL,
    model_code TEXT NOT NULL,
    lots_created BIGINT DEFAULT '0' NOT NULL,
    lots_started BIGINT DEFAULT '0' NOT NULL,
    lots_completed BIGINT DEFAULT '0' NOT NULL,
    units_created BIGINT DEFAULT '0' NOT NULL,
    units_started BIGINT DEFAULT '0' NOT NULL,
    units_passed BIGINT DEFAULT '0' NOT NULL,
    units_failed BIGINT DEFAULT '0' NOT NULL,
    units_scrapped BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_output_days PRIMARY KEY (day, shift, model_code)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_status_counts (
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_status_counts PRIMARY KEY (subject, status)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_wip (
    model_code TEXT NOT NULL,
    step_no SMALLINT NOT NULL,
    units BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_floor_wip PRIMARY KEY (model_code, step_no)
)""",
    """CREATE TABLE IF NOT EXISTS analytics.floor_recent_steps (
    step_id UUID NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    process_id UUID NOT NULL,
    process_code TEXT NOT NULL,
    level TEXT NOT NULL,
    model_code TEXT NOT NULL,
    lot_number TEXT NOT NULL,
    serial_number TEXT,
    result TEXT NOT NULL,
    serial_status TEXT,
    operator TEXT,
    equipment_id TEXT,
    cycle_time_seconds NUMERIC,
    defect_codes TEXT[] NOT NULL,
    CONSTRAINT pk_floor_recent_steps PRIMARY KEY (step_id)
)""",
    """CREATE INDEX IF NOT EXISTS ix_floor_recent_steps_time ON analytics.floor_recent_steps (completed_at, step_id)""",
)

TABLES = (
    "floor_recent_steps",
    "floor_wip",
    "floor_status_counts",
    "floor_output_days",
    "floor_defect_days",
    "floor_cycle_bin_totals",
    "floor_cycle_bin_days",
    "floor_step_minutes",
    "floor_step_totals",
    "floor_step_days",
    "floor_units",
    "floor_lots",
    "floor_product_models",
    "floor_processes",
    "read_model_skips",
    "read_model_state",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS analytics.{table}")
