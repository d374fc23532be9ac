"""Where the last reconcile of an audit journal into the clinic store ended, so the next reads only what is new.

Why: every visit reconciles the workstation's journal first (``clinic.visit``), and a journal only grows: read whole,
a year's 10,000 records cost every visit over a second and a half. The position is kept beside the journal (the file
``audit.jsonl.reconciled``, 0600): the byte offset reconciled to, and the last line before it, by its length and
SHA-256, and the ``record_id`` of the last record read. It is trusted only while all three still hold: the journal
is at least that long, its bytes before the offset end with that very line, and that record is in the store being
reconciled into (another database, or one restored from an older backup, lacks it). Otherwise the journal was
truncated or rewritten behind the position, or the store is not the one it was reconciled into, and the journal is
read whole, with the same checks as ever. A missing or unreadable position file costs one whole read, nothing more.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

POSITION_FORMAT = "itb-journal-position/1"


@dataclass(frozen=True)
class JournalPosition:
    offset: int
    """Bytes of the journal reconciled: up to the end of a line."""
    line_bytes: int
    """The length of the last line before ``offset``, its newline included."""
    line_sha256: str
    record_id: str | None
    """The ``record_id`` of the last record read that has one (None: none had)."""


def position_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".reconciled")


def load_position(journal: Path) -> JournalPosition | None:
    """The position saved for ``journal`` (None: none, or one that cannot be read as one)."""
    try:
        data = json.loads(position_path(journal).read_text(encoding="utf-8"))
        if data.get("format") != POSITION_FORMAT:
            return None
        position = JournalPosition(int(data["offset"]), int(data["line_bytes"]), str(data["line_sha256"]),
                                   None if data["record_id"] is None else str(data["record_id"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return position if 0 < position.line_bytes <= position.offset else None


def changed_behind(journal: Path, position: JournalPosition) -> str | None:
    """What happened to the journal behind ``position``, in words (None: it still ends there as it did)."""
    try:
        with open(journal, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < position.offset:
                return f"truncated: {size} bytes, it had been reconciled to byte {position.offset}"
            handle.seek(position.offset - position.line_bytes)
            line = handle.read(position.line_bytes)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if not line.endswith(b"\n") or hashlib.sha256(line).hexdigest() != position.line_sha256:
        return f"rewritten: the line that ended at byte {position.offset} when it was reconciled is not there"
    return None


def position_after(start: int, lines: list[bytes], record_id: str | None,
                   before: JournalPosition | None) -> JournalPosition | None:
    """The position once ``lines`` (read from byte ``start``) are reconciled; ``record_id``: the last one of theirs
    (None: none had one, so the one ``before`` stands)."""
    if not lines:
        return before
    last = lines[-1]
    kept = record_id if record_id is not None else (None if before is None else before.record_id)
    return JournalPosition(start + sum(len(line) for line in lines), len(last), hashlib.sha256(last).hexdigest(), kept)


def save_position(journal: Path, position: JournalPosition) -> None:
    """Write the position (0600) in one replace; a failure is logged and costs the next reconcile a whole read."""
    target = position_path(journal)
    temporary = target.with_name(target.name + ".new")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"format": POSITION_FORMAT, **asdict(position)}, handle)
        os.replace(temporary, target)
    except OSError as exc:
        log.warning("the reconciled position of the audit journal %s was not saved (%s): the next reconcile reads "
                    "it whole", journal, exc.strerror or exc)
