"""Opening the clinic database: where it is, making it private, bringing its schema up to date, and the ``Store``
that holds the record's parts.

Why one opening function: every front end (the command line, the application, the tests) must find the same
database the same way (``url``, else ``$ITB_DB``, else SQLite in the user's data directory), and a database must
never be used at an older schema than the code expects, nor at a newer one it does not know. So ``open_store``
creates the database when it is missing, runs the migrations shipped in ``clinic/migrations`` when it is behind,
and refuses one that is ahead, all before anyone reads from it.

Privacy: a SQLite file holds patients' names and doses, so it is created readable by its user only (0600, and made
so when found otherwise), in a directory of its own (0700 when this creates it, and the default one always).
SQLite's journal files take the database's mode. A PostgreSQL server is the clinic's to secure: docs/clinic-store.md
gives the TLS settings of its URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import sqlalchemy
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from clinic.audit_trail import AuditTrail
from clinic.database import WRITE_OPTION, Database
from clinic.errors import StoreError
from clinic.patients import Patients
from clinic.sessions import Sessions
from clinic.users import Users

DB_ENV = "ITB_DB"
"""The environment variable naming the database URL when none is given."""

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_REVISION = "0004"
"""The newest schema revision this code ships (``clinic/migrations/versions``; a test keeps the two the same): a
database at it is opened without loading Alembic, which costs a command a fifth of a second."""
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for another one (another process's audit append) before giving up."""
PG_CONNECT_TIMEOUT_S = 10
"""How long to wait for a PostgreSQL server that does not answer, unless the URL says (libpq would wait forever)."""
MIGRATION_LOCK = 0x17B_C11C
"""The PostgreSQL advisory lock two workstations take to open (and perhaps migrate) one database in turn."""


def default_database_url() -> str:
    """SQLite in the platform's user data directory (on Linux ``~/.local/share/itb-programmer/clinic.sqlite3``)."""
    return f"sqlite:///{default_database_path()}"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir("itb-programmer", appauthor=False)) / "clinic.sqlite3"


@dataclass(frozen=True)
class Store:
    """One open clinic database: its parts, each a set of operations returning frozen dataclasses."""

    url: str
    """The database's URL with its password masked: safe to show and to log."""
    users: Users
    patients: Patients
    audit: AuditTrail
    sessions: Sessions
    engine: Engine

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the database at ``url``, else ``$ITB_DB``, else the default.

    Raises StoreError naming the URL, without its password, when it cannot be opened or is newer than this code."""
    given = url or os.environ.get(DB_ENV) or default_database_url()
    parsed = _parse(given)
    shown = shown_url(parsed)
    try:
        engine = _engine(parsed)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open the clinic database {shown}: {_reason(exc)}") from None
    try:
        _migrate(engine, shown)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(f"cannot open the clinic database {shown}: {_reason(exc)}") from None
    except StoreError:
        engine.dispose()
        raise
    database = Database.on(engine)
    return Store(shown, Users(database), Patients(database), AuditTrail(database), Sessions(database), engine)


def shown_url(url: URL) -> str:
    """The URL safe to show: its password masked, whether given before the host or as a ``password=`` option."""
    masked = {key: "***" for key in url.query if key.lower() == "password"}
    shown = (url.update_query_dict(masked) if masked else url).render_as_string(hide_password=True)
    return shown.replace("=%2A%2A%2A", "=***")


def _parse(given: str) -> URL:
    try:
        parsed = make_url(given)
    except ArgumentError:
        raise StoreError(f"{given.split('@')[-1]!r} is not a database URL: give sqlite:///PATH or "
                         "postgresql://USER@HOST/DATABASE") from None
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return parsed
    raise StoreError(f"the clinic database {shown_url(parsed)} is neither SQLite nor "
                     "PostgreSQL: give sqlite:///PATH or postgresql://USER@HOST/DATABASE")


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        timeout = {} if "connect_timeout" in url.query else {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        return sqlalchemy.create_engine(url, pool_pre_ping=True, connect_args=timeout)
    if url.database in (None, "", ":memory:"):
        engine = sqlalchemy.create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        _private_file(Path(url.database))
        engine = sqlalchemy.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S,
                                                             "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE: a writing transaction takes SQLite's write lock when it begins, so two writers (an audit append
        # each) wait for each other in turn instead of one failing when both turn a read into a write.
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _private_file(path: Path) -> None:
    """Create the database file 0600 in a 0700 directory before SQLite does (it would follow the umask)."""
    missing = [parent for parent in [path.parent, *path.parent.parents] if not parent.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
    if path.parent == default_database_path().parent:
        os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def _migrate(engine: Engine, shown: str) -> None:
    """Bring the schema to the newest revision this code ships, in one transaction; refuse a newer database."""
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = (connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                   if inspect(connection).has_table("alembic_version") else None)
        if current == SCHEMA_REVISION:
            return
        if current is not None and current not in _shipped_revisions():
            raise StoreError(f"the clinic database {shown} has schema revision {current}, newer than this programmer "
                             f"knows (up to {SCHEMA_REVISION}): use the programmer version that wrote it, or a newer "
                             "one")
        from alembic import command  # only to migrate: a database at SCHEMA_REVISION never loads Alembic
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except StoreError as exc:  # a migration that must not go on (0004: records that would collide)
            raise StoreError(f"cannot upgrade the clinic database {shown}: {exc}", step=exc.step) from None


def _shipped_revisions() -> set[str]:
    """The revisions of the migrations shipped: each file of ``versions/`` is named ``<revision>_<what>.py``."""
    return {path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py")}


def _reason(exc: BaseException) -> str:
    """The first line of what the database driver said, without SQLAlchemy's statement and links."""
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


