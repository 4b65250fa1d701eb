"""The audit trail, range-partitioned by month of occurred_at, still append-only.

The existing table is converted in place, rows and ids kept: it is renamed aside (locked, so no
event is written meanwhile), a partitioned ``audit_log`` is created with a partition per month from
each month that holds rows (at most ten years back) and from this month to three months ahead,
plus a DEFAULT partition (rows of any other month land there: none is ever refused), the rows are copied, the identity continues
after the highest id, the old table is dropped, and then the keys and the keyset indexes are
built on the partitions. One transaction: a failure leaves the old table as it was.

The keys include the partition key, as PostgreSQL requires: ``(id, occurred_at)`` and
``(event_id, occurred_at)``. An event's time never changes between deliveries, so the latter still
refuses a second copy of an event (the consumer's inbox skips it before that).

Append-only: a statement trigger refuses UPDATE, DELETE and TRUNCATE on the table (as before) and
on every partition (a statement naming a partition fires only that partition's statement
triggers), a row trigger on the table is cloned by PostgreSQL onto every partition however it
was made, and the privileges to UPDATE, DELETE and TRUNCATE are revoked from the owner (the
service's role) on the table and each partition. ``audit_log_add_partitions(first, last)`` creates the months that do not exist yet,
sealed the same way; the service calls it at start and daily (``lathe_analytics.audit.partitions``).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3  # at migration time; the service then keeps its own setting's worth ahead
MONTHS_BACK = 120  # older rows (a clock far off) go to the DEFAULT partition instead of one each

_COLUMNS = "id, event_id, event_type, source, subject, actor, correlation_id, occurred_at, recorded_at, data"
# Keyset indexes: every list is newest first by (occurred_at, id), after an equality on one column.
_INDEXES = {
    "ix_audit_log_time_id": "occurred_at, id",
    "ix_audit_log_subject_time": "subject, occurred_at, id",
    "ix_audit_log_actor_time": "actor, occurred_at, id",
    "ix_audit_log_event_type_time": "event_type, occurred_at, id",
    "ix_audit_log_correlation_time": "correlation_id, occurred_at, id",
}


def _functions(s: str) -> list[str]:
    """The partition maintenance, in the database so that the migration and the service share it."""
    return [
        f"""CREATE FUNCTION "{s}".audit_log_seal(partition_name text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            -- A statement on a partition named directly fires only that partition's statement
            -- triggers (the row trigger cloned from the table covers rows, not TRUNCATE).
            EXECUTE format('CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON %I.%I '
                           'FOR EACH STATEMENT EXECUTE FUNCTION %I.audit_log_immutable()',
                           '{s}', partition_name, '{s}');
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I', '{s}', partition_name, current_user);
        END $$""",
        f"""CREATE FUNCTION "{s}".audit_log_add_partitions(first_month date, last_month date)
        RETURNS text[] LANGUAGE plpgsql AS $$
        DECLARE
            month date;
            partition_name text;
            lower_bound timestamptz;
            upper_bound timestamptz;
            left_in_default text[] := '{{}}';
        BEGIN
            -- One maintainer at a time (several replicas start together).
            PERFORM pg_advisory_xact_lock(hashtext('{s}.audit_log partitions'));
            IF to_regclass('"{s}".audit_log_default') IS NULL THEN
                CREATE TABLE "{s}".audit_log_default PARTITION OF "{s}".audit_log DEFAULT;
                PERFORM "{s}".audit_log_seal('audit_log_default');
            END IF;
            FOR month IN
                SELECT generate_series(date_trunc('month', first_month), last_month, interval '1 month')::date
            LOOP
                partition_name := 'audit_log_' || to_char(month, 'YYYY_MM');
                CONTINUE WHEN to_regclass(format('%I.%I', '{s}', partition_name)) IS NOT NULL;
                lower_bound := month::timestamp AT TIME ZONE 'UTC';
                upper_bound := (month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
                -- Rows of this month already in DEFAULT would have to move, and moving is a DELETE:
                -- the month stays in DEFAULT (nothing is lost, reads are as correct, if slower).
                IF EXISTS (SELECT 1 FROM "{s}".audit_log_default
                           WHERE occurred_at >= lower_bound AND occurred_at < upper_bound) THEN
                    left_in_default := left_in_default || to_char(month, 'YYYY-MM');
                    CONTINUE;
                END IF;
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.audit_log FOR VALUES FROM (%L) TO (%L)',
                               '{s}', partition_name, '{s}', lower_bound, upper_bound);
                PERFORM "{s}".audit_log_seal(partition_name);
            END LOOP;
            RETURN left_in_default;
        END $$""",
    ]


def upgrade_statements(s: str) -> list[str]:
    """The conversion of schema ``s``'s audit_log (as migrations 0002 and 0004 left it)."""
    this_month = "date_trunc('month', now() AT TIME ZONE 'UTC')"
    # Each earlier month that holds rows (within MONTHS_BACK), then this month and MONTHS_AHEAD more;
    # rows of any other month (a clock far off) go to DEFAULT.
    months_with_rows = f"""SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month
        FROM "{s}".audit_log_unpartitioned
        WHERE occurred_at >= ({this_month} - interval '{MONTHS_BACK} months') AT TIME ZONE 'UTC'
          AND occurred_at < {this_month} AT TIME ZONE 'UTC'"""
    return [
        f'LOCK TABLE "{s}".audit_log IN ACCESS EXCLUSIVE MODE',
        f'ALTER TABLE "{s}".audit_log RENAME TO audit_log_unpartitioned',
        f'ALTER SEQUENCE "{s}".audit_log_id_seq RENAME TO audit_log_unpartitioned_id_seq',
        f"""CREATE TABLE "{s}".audit_log (
            id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
            event_id uuid NOT NULL,
            event_type text NOT NULL,
            source text NOT NULL,
            subject text NOT NULL,
            actor text,
            correlation_id text,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            data jsonb NOT NULL
        ) PARTITION BY RANGE (occurred_at)""",
        f"""CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON "{s}".audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION "{s}".audit_log_immutable()""",
        f"""CREATE TRIGGER audit_log_immutable_rows BEFORE UPDATE OR DELETE ON "{s}".audit_log
        FOR EACH ROW EXECUTE FUNCTION "{s}".audit_log_immutable()""",
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{s}".audit_log FROM current_user',
        *_functions(s),
        f'SELECT "{s}".audit_log_add_partitions(month, month) FROM ({months_with_rows}) AS months',
        f"""SELECT "{s}".audit_log_add_partitions({this_month}::date,
                   ({this_month} + interval '{MONTHS_AHEAD} months')::date)""",
        f'INSERT INTO "{s}".audit_log ({_COLUMNS}) SELECT {_COLUMNS} FROM "{s}".audit_log_unpartitioned',
        f"""SELECT setval(pg_get_serial_sequence('"{s}".audit_log', 'id'),
                          coalesce((SELECT max(id) FROM "{s}".audit_log), 0) + 1, false)""",
        f'DROP TABLE "{s}".audit_log_unpartitioned',
        f'ALTER TABLE "{s}".audit_log ADD CONSTRAINT pk_audit_log PRIMARY KEY (id, occurred_at)',
        f'ALTER TABLE "{s}".audit_log ADD CONSTRAINT uq_audit_log_event_id UNIQUE (event_id, occurred_at)',
        *(f'CREATE INDEX {name} ON "{s}".audit_log ({columns})' for name, columns in _INDEXES.items()),
    ]


def downgrade_statements(s: str) -> list[str]:
    """Back to one table, rows and ids kept, as 0002 and 0004 made it."""
    return [
        # The rename locks it (LOCK TABLE would need the privileges revoked above).
        f'ALTER TABLE "{s}".audit_log RENAME TO audit_log_partitioned',
        f'ALTER TABLE "{s}".audit_log_partitioned RENAME CONSTRAINT pk_audit_log TO pk_audit_log_partitioned',
        f'ALTER TABLE "{s}".audit_log_partitioned RENAME CONSTRAINT uq_audit_log_event_id TO uq_audit_log_partitioned',
        *(f'ALTER INDEX "{s}".{name} RENAME TO {name}_partitioned' for name in _INDEXES),
        f'ALTER SEQUENCE "{s}".audit_log_id_seq RENAME TO audit_log_partitioned_id_seq',
        f"""CREATE TABLE "{s}".audit_log (
            id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
            event_id uuid NOT NULL,
            event_type text NOT NULL,
            source text NOT NULL,
            subject text NOT NULL,
            actor text,
            correlation_id text,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            data jsonb NOT NULL,
            CONSTRAINT pk_audit_log PRIMARY KEY (id),
            CONSTRAINT uq_audit_log_event_id UNIQUE (event_id)
        )""",
        f'INSERT INTO "{s}".audit_log ({_COLUMNS}) SELECT {_COLUMNS} FROM "{s}".audit_log_partitioned',
        f"""SELECT setval(pg_get_serial_sequence('"{s}".audit_log', 'id'),
                          coalesce((SELECT max(id) FROM "{s}".audit_log), 0) + 1, false)""",
        f'DROP TABLE "{s}".audit_log_partitioned',  # its partitions with it
        f'DROP FUNCTION "{s}".audit_log_add_partitions(date, date)',
        f'DROP FUNCTION "{s}".audit_log_seal(text)',
        f'CREATE INDEX ix_audit_log_subject ON "{s}".audit_log (subject)',
        f'CREATE INDEX ix_audit_log_event_type_time ON "{s}".audit_log (event_type, occurred_at)',
        f'CREATE INDEX ix_audit_log_actor_time ON "{s}".audit_log (actor, occurred_at)',
        f'CREATE INDEX ix_audit_log_time_id ON "{s}".audit_log (occurred_at, id)',
        f'CREATE INDEX ix_audit_log_correlation_id ON "{s}".audit_log (correlation_id)',
        f"""CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON "{s}".audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION "{s}".audit_log_immutable()""",
    ]


def upgrade() -> None:
    for statement in upgrade_statements("analytics"):
        op.execute(statement)


def downgrade() -> None:
    for statement in downgrade_statements("analytics"):
        op.execute(statement)
