"""The audit log: one JSON line per write or refill attempt and per outcome, never rewritten.

Why JSON lines, appended and fsynced one at a time: a reviewer must be able to tell, after any crash,
what was asked of which pump, by whom, under which drug library and overrides, and what the pump then
ran. Each record is written whole with a single ``write`` on a file opened for appending, flushed and
fsynced before the call returns, so a crash loses at most the record being written, and a torn last line
is the only damage a reader ever has to skip.

Each record gets a ``record_id`` (32 hex digits) when it has none: the clinic store (``clinic``) keeps the same
records, and the id is how the journal's records are matched with the store's, so that none is stored twice.
The file is created readable by its user only (0600; an existing one is made so), since its records name pumps,
people and doses.

Where it lives: ``--audit-log PATH`` if given, else ``$ITB_AUDIT_LOG``, else the user's state directory
(``$XDG_STATE_HOME`` or ``~/.local/state``) ``/itb-programmer/audit.jsonl``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from programmer.errors import AuditError

AUDIT_FORMAT = "itb-audit/1"
"""Every record carries ``"format": AUDIT_FORMAT`` so a reader can tell record layouts apart later."""


def default_audit_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the log lives when no ``--audit-log`` is given: ``$ITB_AUDIT_LOG``, else the state directory."""
    if environ.get("ITB_AUDIT_LOG"):
        return Path(environ["ITB_AUDIT_LOG"])
    state = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state) / "itb-programmer" / "audit.jsonl"


class AuditLog:
    """An append-only JSON-lines file. Opening it checks it can be written, before any pump is contacted.
    Opening and appending raise ``AuditError`` when the file cannot be written."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            created = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
            if created:
                _fsync_directory(self.path.parent)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror or exc}",
                             step="open audit log") from None

    def append(self, record: Mapping[str, object]) -> None:
        """Append one record as one line and return only once it is on disk (flushed and fsynced)."""
        line = json.dumps({"format": AUDIT_FORMAT, "record_id": uuid.uuid4().hex, **record}, sort_keys=True,
                          ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror or exc}",
                             step="append to audit log") from None


def read_audit_log(path: str | os.PathLike) -> list[dict]:
    """Every complete record in the log, oldest first.

    A last line without its newline was torn by a crash mid-write and is skipped; any other line that is
    not JSON raises, because a damaged audit log must be noticed, not read around.
    """
    return [json.loads(line) for line in read_audit_lines(path) if line.strip()]


def read_audit_lines(path: str | os.PathLike, start: int = 0) -> list[bytes]:
    """The log's complete lines from byte ``start`` on (the start of a line), each with its newline: what a reader
    that has the lines before ``start`` already needs (``clinic``'s reconcile). A torn last line is left out."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read()
    complete = data[:data.rfind(b"\n") + 1]
    return [line + b"\n" for line in complete.split(b"\n")[:-1]]


def _fsync_directory(directory: Path) -> None:
    """Make a newly created file's directory entry durable too (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
