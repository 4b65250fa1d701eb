"""Processes (with the eight defaults), product models and routings.

Revision ID: 0002
Revises: 0001
"""

import json
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NS = uuid.UUID("5e1d0c3a-6b7e-4d7f-9a43-1a7be0b7c001")


def _criterion(unit: str, low: float | None, high: float | None, target: float | None = None) -> dict:
    return {"unit": unit, "lower_limit": low, "upper_limit": high, "target": target}


# The defaults a fresh install starts with; plants change limits through the API.
DEFAULT_PROCESSES = [
    (1, "P01_LASER_MARKING", "Laser marking", {"marking_depth_mm": _criterion("mm", 0.03, 0.08, 0.05)}),
    (2, "P02_LMA_ASSEMBLY", "LMA assembly", {"screw_torque_ncm": _criterion("N·cm", 40, 60, 50)}),
    (3, "P03_SENSOR_INSPECTION", "Sensor inspection", {"offset_mv": _criterion("mV", -5, 5, 0)}),
    (4, "P04_FIRMWARE_UPLOAD", "Firmware upload", {}),
    (5, "P05_ROBOT_ASSEMBLY", "Robot assembly", {}),
    (
        6,
        "P06_PERFORMANCE_TEST",
        "Performance test",
        {"latency_ms": _criterion("ms", None, 50), "accuracy_pct": _criterion("%", 95, None)},
    ),
    (7, "P07_LABEL_PRINTING", "Label printing", {}),
    (8, "P08_PACKAGING_VISUAL_INSPECTION", "Packaging and visual inspection", {}),
]


def upgrade() -> None:
    processes = op.create_table(
        "processes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("process_code", sa.String(64), nullable=False),
        sa.Column("process_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("quality_criteria", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("process_code", name="uq_processes_process_code"),
        sa.UniqueConstraint("process_number", name="uq_processes_process_number"),
        sa.CheckConstraint("process_number > 0", name="ck_processes_process_number_positive"),
        schema="production",
    )
    op.create_table(
        "product_models",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("model_code", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("specifications", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("model_code", name="uq_product_models_model_code"),
        schema="production",
    )
    op.create_index("ix_product_models_category", "product_models", ["category"], schema="production")
    op.create_table(
        "routing_steps",
        sa.Column(
            "product_model_id",
            sa.Uuid(),
            sa.ForeignKey("production.product_models.id", ondelete="CASCADE", name="fk_routing_steps_product_model"),
            primary_key=True,
        ),
        sa.Column("step_no", sa.Integer(), primary_key=True),
        sa.Column(
            "process_id",
            sa.Uuid(),
            sa.ForeignKey("production.processes.id", name="fk_routing_steps_process"),
            nullable=False,
        ),
        sa.CheckConstraint("step_no > 0", name="ck_routing_steps_step_no_positive"),
        schema="production",
    )
    op.create_index("ix_routing_steps_process_id", "routing_steps", ["process_id"], schema="production")
    op.bulk_insert(
        processes,
        [
            {
                "id": uuid.uuid5(_NS, code),
                "process_code": code,
                "process_number": number,
                "name": name,
                "quality_criteria": json.loads(json.dumps(criteria)),
            }
            for number, code, name, criteria in DEFAULT_PROCESSES
        ],
    )


def downgrade() -> None:
    op.drop_table("routing_steps", schema="production")
    op.drop_table("product_models", schema="production")
    op.drop_table("processes", schema="production")
