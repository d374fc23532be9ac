"""A real PostgreSQL server for the store's tests, started from Debian's own binaries (``/usr/lib/postgresql/*/bin``,
the ``postgresql`` package that scripts/bootstrap installs) in a temporary directory, on a free loopback port.

Why this way: the store must work on the server a clinic runs, not only on SQLite, and the Debian binaries are the
ones CI and a developer's machine both have. One server per test worker (each worker is a process); each test gets
a database of its own, copied from a template database (``CREATE DATABASE ... TEMPLATE``), which takes milliseconds.
initdb refuses to run as root, so as root the server runs as the ``postgres`` user (``runuser``), in a directory that
user owns. Durability is switched off (fsync, synchronous commit): these databases die with the test run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine, MetaData, Table, create_engine, insert, select, text

from tests.support.emulator_fixtures import unused_loopback_port

START_TIMEOUT_S = 60


def postgres_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl (None: no server is installed)."""
    found = [path for path in Path("/usr/lib/postgresql").glob("*/bin")
             if (path / "initdb").is_file() and (path / "pg_ctl").is_file()]
    numbered = [path for path in found if re.fullmatch(r"\d+", path.parent.name)]
    return max(numbered, key=lambda path: int(path.parent.name), default=None)


@dataclass
class PostgresServer:
    binaries: Path
    folder: Path
    port: int
    as_postgres: bool
    databases: int = 0

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new database (``name``, else a fresh one), empty or a copy of ``template``; its URL."""
        self.databases += 1
        name = name or f"test_{os.getpid()}_{self.databases}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def engine(self, url: str) -> Engine:
        return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def stop(self) -> None:
        subprocess.run(self._as_owner([str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                                       "immediate", "-w", "stop"]), capture_output=True, timeout=START_TIMEOUT_S,
                       cwd=self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _as_owner(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.as_postgres else command


def start_postgres(binaries: Path) -> PostgresServer:
    """initdb and start a server; raises RuntimeError with the server's own words when it cannot."""
    folder = Path(tempfile.mkdtemp(prefix="itb-postgres-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    server = PostgresServer(binaries, folder, unused_loopback_port(), as_postgres)
    data = folder / "data"
    steps = [
        [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
         "--locale=C.UTF-8"],
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t",
         str(START_TIMEOUT_S), "-o", f"-h 127.0.0.1 -p {server.port} -k {folder} -F -c synchronous_commit=off "
         "-c full_page_writes=off", "start"],
    ]
    for step in steps:
        # cwd: the server's folder, which its user can enter (initdb fails where it cannot read the current one,
        # such as a checkout in /root)
        done = subprocess.run(server._as_owner(step), capture_output=True, text=True, timeout=START_TIMEOUT_S + 10,
                              cwd=folder)
        if done.returncode != 0:
            log = folder / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"{Path(step[0]).name} failed ({done.returncode}): {done.stderr.strip()} {detail}")
    return server


class Snapshot:
    """Every row of a database's tables, taken once, to put back before each test (``reset``)."""

    def __init__(self, server: PostgresServer, url: str):
        self.url = url
        self._engine = server.engine(url)
        self._metadata = MetaData()
        self._metadata.reflect(self._engine)
        with self._engine.connect() as connection:
            self._rows = {table.name: [dict(row._mapping) for row in connection.execute(select(table))]
                          for table in self._tables}

    @property
    def _tables(self) -> list[Table]:
        return self._metadata.sorted_tables

    def reset(self) -> str:
        """Empty every table and put the snapshot's rows back, the id sequences after them; the URL."""
        with self._engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            for table in reversed(self._tables):  # DELETE, not TRUNCATE: on a few rows it is ten times quicker
                connection.execute(table.delete())
            for table in self._tables:
                if self._rows[table.name]:
                    connection.execute(insert(table), self._rows[table.name])
                sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
                if "id" in table.c and connection.execute(text(f"SELECT {sequence}")).scalar() is not None:
                    # the next id after the snapshot's rows, whatever the test before took
                    last = max((row["id"] for row in self._rows[table.name]), default=0)
                    connection.execute(text(f"SELECT setval({sequence}, :last, :called)"),
                                       {"last": max(last, 1), "called": last > 0})
        return self.url

    def close(self) -> None:
        self._engine.dispose()
