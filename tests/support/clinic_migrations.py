"""A test's clinic database put back at an earlier schema revision, with rows written as that revision's programmer
wrote them: how the migrations are tested on a database with data (the store's own ``open_store`` then upgrades it,
as it would a clinic's)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from clinic.store import MIGRATIONS


def alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def at_revision(url: str, revision: str, *statements: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` and run ``statements`` (SQL) in the same transaction."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()
