"""The first schema: users and their sign-in tokens, patients and their implants, visits (sessions), and the
hash-chained audit trail with its head row (seq 0, the hash of nothing: 64 zeros).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        moment("created_at"),
        moment("disabled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        moment("created_at"),
        moment("expires_at"),
        moment("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_tokens_user_id"),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
    )
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("identifier", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        moment("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.UniqueConstraint("identifier", name="uq_patients_identifier"),
    )
    op.create_table(
        "implants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.Integer, nullable=False),
        sa.Column("pump_serial", sa.String(64), nullable=False),
        sa.Column("pump_model", sa.String(64), nullable=False),
        sa.Column("implanted_on", sa.Date, nullable=False),
        sa.Column("explanted_on", sa.Date, nullable=True),
        sa.Column("catheter_cm", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_implants"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_implants_patient_id"),
        sa.UniqueConstraint("pump_serial", name="uq_implants_pump_serial"),
    )
    op.create_index("ix_implants_patient_id", "implants", ["patient_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(32), nullable=False),
        moment("started_at"),
        moment("ended_at", nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("workstation", sa.String(256), nullable=False),
        sa.Column("patient_id", sa.Integer, nullable=True),
        sa.Column("pump_serial", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_sessions_patient_id"),
    )
    op.create_index("ix_sessions_patient_id", "sessions", ["patient_id"])
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        moment("time"),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("patient_identifier", sa.String(64), nullable=True),
        sa.Column("pump_serial", sa.String(64), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_records"),
        sa.UniqueConstraint("record_id", name="uq_audit_records_record_id"),
    )
    for column in ("time", "session_id", "username", "patient_identifier", "hash"):
        op.create_index(f"ix_audit_records_{column}", "audit_records", [column])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    for table in ("audit_head", "audit_records", "sessions", "implants", "patients", "tokens", "users"):
        op.drop_table(table)
