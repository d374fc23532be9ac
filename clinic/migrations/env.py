"""Alembic's entry point, run by ``clinic.store`` on the connection (and transaction) it opened: so the check of the
database's revision, the upgrade and the lock that keeps two workstations from upgrading at once are one unit."""

from __future__ import annotations

from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None,
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
