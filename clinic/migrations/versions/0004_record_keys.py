"""Identifiers and user names that differ only in case, width or spaces around are one record: each patient and user
gets its key (``clinic.record_keys``), unique, which every lookup uses; the dose history joins the rows mirrored in
the audit chain (its rows get one ``"adopted"`` record each, as 0003 did for the others).

A database whose rows already collide (``MRN-001`` and ``mrn-001``, two patients) cannot be given a unique key: the
upgrade stops, naming them, and changes nothing, for a person to decide which record is which.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEYED = (("users", "username", "username_key"), ("patients", "identifier", "identifier_key"))


def upgrade() -> None:
    from clinic.errors import StoreError
    from clinic.mirror import adopt
    from clinic.record_keys import KEY_LENGTH, collisions, record_key

    bind = op.get_bind()
    rows = {table: [(row_id, spelling) for row_id, spelling in
                    bind.execute(sa.text(f"SELECT id, {column} FROM {table} ORDER BY id"))]
            for table, column, _ in KEYED}
    found = [group for table, _, _ in KEYED for group in collisions(table, rows[table])]
    if found:
        raise StoreError("records that differ only in case, width or spaces around would be one from schema "
                         f"revision 0004 on, and these are apart: {'; '.join(found)}. Nothing was changed; the "
                         "clinic's administrator decides which is which and merges or renames them in the database, "
                         "then the programmer upgrades it", step="upgrade the clinic database")
    for table, column, key in KEYED:
        op.add_column(table, sa.Column(key, sa.String(KEY_LENGTH), nullable=True))
        for row_id, spelling in rows[table]:
            bind.execute(sa.text(f"UPDATE {table} SET {key} = :key WHERE id = :id"),
                         {"key": record_key(spelling), "id": row_id})
        op.create_index(f"uq_{table}_{key}", table, [key], unique=True)
    session = Session(bind=bind)
    adopt(session)
    session.flush()


def downgrade() -> None:
    """The keys go; the dose history's records stay (a chain is never cut)."""
    for table, _, key in KEYED:
        op.drop_index(f"uq_{table}_{key}", table_name=table)
        op.drop_column(table, key)
