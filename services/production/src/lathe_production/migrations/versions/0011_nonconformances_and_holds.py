"""Nonconformance records, electronic signatures and holds (issue 12).

- ``signatures``: each electronic signature applied to a record, its token id unique (single use);
- ``nonconformances``: one per failed unit step, with its signed disposition;
- ``holds``, and ``lots.hold_id`` / ``serials.hold_id``: the active hold the step path reads.

A FAILED unit is no longer finished: it waits for its NCR's disposition. Units that failed before
this version get an OPEN NCR from their latest FAIL (not announced: no event is written for them),
and their LOTs' ``finished_count`` stops counting them, as it counts PASSED and SCRAPPED units only
from now on. Their ``routing_length`` is their model's routing now (revision A of older LOTs).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    op.create_table(
        "signatures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("record", sa.String(200), nullable=False),
        sa.Column("meaning", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signer_id", sa.Uuid(), nullable=False),
        sa.Column("signer_username", sa.String(64), nullable=False),
        sa.Column("signer_name", sa.String(200)),
        sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signatures"),
        sa.UniqueConstraint("token_id", name="uq_signatures_token_id"),
        schema=S,
    )
    op.create_table(
        "nonconformances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("serial_id", sa.Uuid(), nullable=False),
        sa.Column("serial_number", sa.String(80), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("model_code", sa.String(64), nullable=False),
        sa.Column("work_order_number", sa.String(64)),
        sa.Column("process_data_id", sa.Uuid(), nullable=False),
        sa.Column("process_code", sa.String(64), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("routing_length", sa.Integer(), nullable=False),
        sa.Column("defect_codes", postgresql.JSONB(), nullable=False),
        sa.Column("measurements", postgresql.JSONB(), nullable=False),
        sa.Column("violations", postgresql.JSONB(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition", sa.String(16)),
        sa.Column("disposition_reason", sa.Text()),
        sa.Column("dispositioned_by", sa.String(64)),
        sa.Column("dispositioned_at", sa.DateTime(timezone=True)),
        sa.Column("signature_id", sa.Uuid()),
        sa.Column("unit_status", sa.String(16)),
        sa.Column("code", sa.String(32)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by_step_id", sa.Uuid()),
        sa.PrimaryKeyConstraint("id", name="pk_nonconformances"),
        sa.ForeignKeyConstraint(["serial_id"], [f"{S}.serials.id"], name="fk_nonconformances_serial_id_serials"),
        sa.ForeignKeyConstraint(["lot_id"], [f"{S}.lots.id"], name="fk_nonconformances_lot_id_lots"),
        sa.ForeignKeyConstraint(
            ["process_data_id"], [f"{S}.process_data.id"], name="fk_nonconformances_process_data_id_process_data"
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"], [f"{S}.signatures.id"], name="fk_nonconformances_signature_id_signatures"
        ),
        sa.UniqueConstraint("process_data_id", name="uq_nonconformances_process_data_id"),
        sa.UniqueConstraint("signature_id", name="uq_nonconformances_signature_id"),
        sa.CheckConstraint("status IN ('OPEN', 'DISPOSITIONED', 'CLOSED')", name="ck_nonconformances_status_known"),
        sa.CheckConstraint(
            "disposition IS NULL OR disposition IN ('REWORK', 'SCRAP', 'USE_AS_IS')",
            name="ck_nonconformances_disposition_known",
        ),
        sa.CheckConstraint(
            "(status = 'OPEN') = (disposition IS NULL) AND (disposition IS NULL) = (signature_id IS NULL)",
            name="ck_nonconformances_disposition_signed",
        ),
        schema=S,
    )
    op.create_index(
        "uq_nonconformances_unit_not_closed",
        "nonconformances",
        ["serial_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status <> 'CLOSED'"),
    )
    op.create_index("ix_nonconformances_opened_id", "nonconformances", ["opened_at", "id"], schema=S)
    op.create_index("ix_nonconformances_status_opened_id", "nonconformances", ["status", "opened_at", "id"], schema=S)
    op.create_index("ix_nonconformances_lot_opened_id", "nonconformances", ["lot_id", "opened_at", "id"], schema=S)
    op.create_index("ix_nonconformances_serial_number", "nonconformances", ["serial_number"], schema=S)
    op.create_table(
        "holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("serial_id", sa.Uuid()),
        sa.Column("serial_number", sa.String(80)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("component", sa.String(80)),
        sa.Column("placed_by", sa.String(64)),
        sa.Column("placed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("released_by", sa.String(64)),
        sa.Column("release_reason", sa.Text()),
        sa.Column("release_signature_id", sa.Uuid()),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
        sa.ForeignKeyConstraint(["lot_id"], [f"{S}.lots.id"], name="fk_holds_lot_id_lots"),
        sa.ForeignKeyConstraint(["serial_id"], [f"{S}.serials.id"], name="fk_holds_serial_id_serials"),
        sa.ForeignKeyConstraint(
            ["release_signature_id"], [f"{S}.signatures.id"], name="fk_holds_release_signature_id_signatures"
        ),
        sa.UniqueConstraint("release_signature_id", name="uq_holds_release_signature_id"),
        sa.CheckConstraint("subject IN ('LOT', 'SERIAL')", name="ck_holds_subject_known"),
        sa.CheckConstraint("(subject = 'LOT') = (serial_id IS NULL)", name="ck_holds_serial_for_unit_holds"),
        sa.CheckConstraint(
            "(released_at IS NULL) = (release_signature_id IS NULL) "
            "AND (released_at IS NULL) = (release_reason IS NULL)",
            name="ck_holds_release_signed",
        ),
        schema=S,
    )
    op.create_index(
        "uq_holds_active_lot",
        "holds",
        ["lot_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("subject = 'LOT' AND released_at IS NULL"),
    )
    op.create_index(
        "uq_holds_active_serial",
        "holds",
        ["serial_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_index("ix_holds_placed_id", "holds", ["placed_at", "id"], schema=S)
    op.create_index("ix_holds_placement", "holds", ["placement_id"], schema=S)
    op.create_index("ix_holds_lot", "holds", ["lot_id"], schema=S)
    # Nullable, no default: added without rewriting the tables.
    op.add_column("lots", sa.Column("hold_id", sa.Uuid()), schema=S)
    op.add_column("serials", sa.Column("hold_id", sa.Uuid()), schema=S)
    # Units that failed before NCRs existed: an OPEN NCR from their latest FAIL, and their LOTs
    # count them as finished no longer (see the module's docstring).
    op.execute(f"""
        WITH failed AS (
            SELECT DISTINCT ON (d.serial_id) d.id, d.serial_id, d.lot_id, d.process_code, d.step_no,
                   d.defects, d.measurements, d.violations, d.recorded_at
            FROM {S}.process_data d JOIN {S}.serials s ON s.id = d.serial_id
            WHERE s.status = 'FAILED' AND d.result = 'FAIL' AND d.step_no IS NOT NULL
            ORDER BY d.serial_id, d.completed_at DESC, d.recorded_at DESC, d.id DESC
        ), opened AS (
            INSERT INTO {S}.nonconformances (id, serial_id, serial_number, lot_id, lot_number, model_code,
                work_order_number, process_data_id, process_code, step_no, routing_length, defect_codes,
                measurements, violations, rework_count, status, opened_at)
            SELECT gen_random_uuid(), f.serial_id, s.serial_number, f.lot_id, l.lot_number, l.model_code,
                   l.work_order_number, f.id, f.process_code, f.step_no,
                   GREATEST(f.step_no, (SELECT count(*) FROM {S}.routing_steps r
                                        WHERE r.product_model_id = l.product_model_id)),
                   COALESCE((SELECT jsonb_agg(x ->> 'code') FROM jsonb_array_elements(f.defects) x), '[]'::jsonb),
                   f.measurements, f.violations, s.rework_count, 'OPEN', f.recorded_at
            FROM failed f JOIN {S}.serials s ON s.id = f.serial_id JOIN {S}.lots l ON l.id = f.lot_id
            RETURNING lot_id
        )
        UPDATE {S}.lots l SET finished_count = GREATEST(l.finished_count - o.n, 0)
        FROM (SELECT lot_id, count(*) AS n FROM opened GROUP BY lot_id) o
        WHERE l.id = o.lot_id
    """)


def downgrade() -> None:
    # Units whose NCR is still open count as finished again, as FAILED units did.
    op.execute(f"""
        UPDATE {S}.lots l SET finished_count = LEAST(l.finished_count + o.n, l.serial_count)
        FROM (SELECT lot_id, count(*) AS n FROM {S}.nonconformances WHERE status = 'OPEN' GROUP BY lot_id) o
        WHERE l.id = o.lot_id
    """)
    op.drop_column("serials", "hold_id", schema=S)
    op.drop_column("lots", "hold_id", schema=S)
    op.drop_table("holds", schema=S)
    op.drop_table("nonconformances", schema=S)
    op.drop_table("signatures", schema=S)
