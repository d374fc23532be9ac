"""The implants' catheter revisions and the patients' dose history (every verified write, refill and bolus).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catheter_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("implant_id", sa.Integer, nullable=False),
        sa.Column("revised_on", sa.Date, nullable=False),
        sa.Column("catheter_cm", sa.Float, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catheter_revisions"),
        sa.ForeignKeyConstraint(["implant_id"], ["implants.id"], name="fk_catheter_revisions_implant_id"),
    )
    op.create_index("ix_catheter_revisions_implant_id", "catheter_revisions", ["implant_id"])
    op.create_table(
        "dose_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.Integer, nullable=False),
        sa.Column("pump_serial", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("drug", sa.String(64), nullable=False),
        sa.Column("dose_unit", sa.String(16), nullable=False),
        sa.Column("concentration", sa.Float, nullable=True),
        sa.Column("daily_dose", sa.Float, nullable=True),
        sa.Column("volume_ml", sa.Float, nullable=True),
        sa.Column("dose", sa.Float, nullable=True),
        sa.Column("reservoir_ml", sa.Float, nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("audit_record_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dose_history"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_dose_history_patient_id"),
    )
    op.create_index("ix_dose_history_patient_id", "dose_history", ["patient_id"])


def downgrade() -> None:
    op.drop_table("dose_history")
    op.drop_table("catheter_revisions")
