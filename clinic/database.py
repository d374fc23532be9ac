"""The store's sessions, split into reading and writing ones.

Why two kinds: SQLite has one writer at a time, and a transaction that reads first and writes later can find another
writer in the way and fail at once instead of waiting its turn. So on SQLite a writing transaction takes the write
lock when it begins (``BEGIN IMMEDIATE``, waiting for it) and a reading one does not take it at all; several
workstation processes then read side by side and write in turn. On PostgreSQL both kinds are the same.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "clinic_write"
"""The execution option that marks a writing transaction's connection (``clinic.store`` begins it IMMEDIATE)."""


@dataclass(frozen=True)
class Database:
    readers: sessionmaker[Session]
    writers: sessionmaker[Session]

    @classmethod
    def on(cls, engine: Engine) -> Database:
        return cls(sessionmaker(engine, expire_on_commit=False),
                   sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False))

    def read(self) -> Session:
        """A session to read in (``with database.read() as session``); it writes nothing."""
        return self.readers()

    def write(self) -> AbstractContextManager[Session]:
        """A transaction to write in, committed when the ``with`` block ends (rolled back if it raises)."""
        return self.writers.begin()
