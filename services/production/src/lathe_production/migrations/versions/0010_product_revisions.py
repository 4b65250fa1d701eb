"""Product definition with revisions (issue 12): a model's traveler type and BOM; revisions of its
routing and BOM (who, when, why, what changed); the revision each LOT pinned; the BOM rule a
consumption broke when the check only warned.

Existing models get revision A with their current routing and no BOM, made when the model was;
existing LOTs pin A.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

S = "production"


def upgrade() -> None:
    # The tables live steps write first, then the catalogue (the order they lock them in).
    op.add_column("lots", sa.Column("revision", sa.String(8), server_default="A", nullable=False), schema=S)
    op.add_column("components", sa.Column("bom_deviation", sa.String(32)), schema=S)
    op.add_column("product_models", sa.Column("traveler_type", sa.String(16)), schema=S)
    op.create_check_constraint(
        "ck_product_models_traveler_type",
        "product_models",
        "traveler_type IS NULL OR traveler_type IN ('PCB', 'PARTS', 'ASSEMBLY', 'CABLE')",
        schema=S,
    )
    op.add_column("product_models", sa.Column("revision", sa.String(8), server_default="A", nullable=False), schema=S)
    op.add_column(
        "product_models",
        sa.Column("bom", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        schema=S,
    )
    op.create_table(
        "product_model_revisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_model_id", sa.Uuid(), nullable=False),
        sa.Column("revision_no", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(8), nullable=False),
        sa.Column("routing", postgresql.JSONB(), nullable=False),
        sa.Column("bom", postgresql.JSONB(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_product_model_revisions"),
        sa.ForeignKeyConstraint(
            ["product_model_id"],
            [f"{S}.product_models.id"],
            name="fk_product_model_revisions_product_model_id_product_models",
        ),
        # Also the index of a model's revisions, newest first.
        sa.UniqueConstraint("product_model_id", "revision_no", name="uq_product_model_revisions_number"),
        sa.UniqueConstraint("product_model_id", "revision", name="uq_product_model_revisions_label"),
        sa.CheckConstraint("revision_no > 0", name="ck_product_model_revisions_revision_no_positive"),
        schema=S,
    )
    # Revision A of every model there is: its routing now, no BOM, made when the model was.
    op.execute(f"""
        INSERT INTO {S}.product_model_revisions
            (id, product_model_id, revision_no, revision, routing, bom, changes, created_at)
        SELECT gen_random_uuid(), m.id, 1, 'A', r.routing, '[]'::jsonb,
               jsonb_build_object(
                   'routing', CASE WHEN r.routing = '[]'::jsonb THEN NULL ELSE jsonb_build_object(
                       'before', '[]'::jsonb, 'after', r.routing, 'added', r.routing, 'removed', '[]'::jsonb) END,
                   'bom', NULL),
               m.created_at
        FROM {S}.product_models m
        CROSS JOIN LATERAL (
            SELECT COALESCE(jsonb_agg(p.process_code ORDER BY s.step_no), '[]'::jsonb) AS routing
            FROM {S}.routing_steps s JOIN {S}.processes p ON p.id = s.process_id
            WHERE s.product_model_id = m.id
        ) r
    """)


def downgrade() -> None:
    op.drop_column("components", "bom_deviation", schema=S)
    op.drop_column("lots", "revision", schema=S)
    op.drop_table("product_model_revisions", schema=S)
    op.drop_column("product_models", "bom", schema=S)
    op.drop_column("product_models", "revision", schema=S)
    op.drop_constraint("ck_product_models_traveler_type", "product_models", schema=S)
    op.drop_column("product_models", "traveler_type", schema=S)
