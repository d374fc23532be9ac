"""The authorising rows (users, tokens, patients, implants, catheter revisions, sessions) adopted into the audit chain:
from this revision on, each change to them appends a record (``clinic.mirror``), and a row the chain does not confirm
is refused. The rows a database holds when it is upgraded get one record each, marked ``"adopted"``, so they stay
usable; what they were before the upgrade the chain cannot vouch for (docs/clinic-store.md).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from clinic.mirror import adopt

    session = Session(bind=op.get_bind())
    adopt(session)
    session.flush()


def downgrade() -> None:
    """The records stay: a chain is never cut."""
