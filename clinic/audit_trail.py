"""The audit trail in the store: every audit record, numbered without gaps and chained by hashes, so that an edit, a
deletion, a reordering or an insertion is found by ``verify`` at the record where it was made.

The rule: record ``seq`` (1, 2, 3, ...) has ``hash = sha256_hex(prev_hash + "\\n" + str(seq) + "\\n" + body)``, its
``prev_hash`` the hash of record ``seq - 1`` (64 zeros for the first), and ``body`` the record's canonical JSON
(sorted keys, no spaces, UTF-8, no NaN). The head row (``audit_head``) holds the last seq and hash; an append locks
it (``SELECT ... FOR UPDATE`` on PostgreSQL, SQLite's write lock), so workstations sharing one database append to
one chain, one record at a time.

What it cannot prove: anyone who can write the database and knows this rule can recompute every hash from the record
they changed to the end, head included; the chain then verifies. A head hash copied somewhere else (printed on a
session report, kept by another system) is what catches that: a chain whose record at that seq no longer has that
hash was rewritten. docs/clinic-store.md says more.

``verify`` also checks what the hash does not cover by itself: that each record's indexed columns (what ``query``
filters on) are its body's fields, that the body is canonical, and that the authorising tables agree with their
mirror records (``clinic.mirror``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from clinic.clock import utc_now
from clinic.database import Database
from clinic.journal_position import changed_behind, load_position, position_after, save_position
from clinic.mirror import MIRROR_EVENT, MIRROR_FORMAT, describe, table_problems
from clinic.models import AuditHeadRow, AuditRow, PatientRow, UserRow
from clinic.record_keys import record_key
from programmer.audit import read_audit_lines
from programmer.errors import AuditError, InputError
from programmer.roles import User

log = logging.getLogger(__name__)

NO_HASH = "0" * 64
"""The ``prev_hash`` of the first record."""
LOOKUP_CHUNK = 500


def canonical_json(record: Mapping) -> str:
    """The one text of a record that its hash covers."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def chain_hash(prev_hash: str, seq: int, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{body}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    record: dict
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    records: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None
    """``edited``, ``deleted``, ``reordered``, ``inserted``, ``truncated`` or ``table mismatch`` (a row of users,
    tokens, patients, implants or sessions that the chain's records do not confirm); None when intact."""
    message: str
    """One line a person reads: which record, what is wrong, what was expected."""


class _Link(NamedTuple):
    seq: int
    body: str
    prev_hash: str
    hash: str
    columns: dict


COLUMNS = ("record_id", "session_id", "username", "patient_identifier", "pump_serial", "action", "event", "time")


class AuditTrail:
    def __init__(self, database: Database):
        self._database = database

    def append(self, record: Mapping) -> int:
        """Add ``record`` (it has a ``record_id``) at the end of the chain; its seq. A record whose ``record_id`` is
        stored already is not stored again: its seq is returned."""
        with self._database.write() as session:
            return append_in(session, record)

    def reconcile(self, journal: Path, by: User | None = None) -> int:
        """Add the journal's records that the store lacks (a store that failed while the journal was written), in the
        journal's order; how many. Records without a ``record_id`` (written before the store existed) are left.

        Only what follows the position the last reconcile into this store saved is read (``clinic.journal_position``);
        a journal truncated or rewritten behind it is read whole, and that it changed is recorded in the chain
        (``audit_journal_changed``). Each record added is marked ``"reconciled": {"by": ..., "at": ...}`` (a reader
        tells it from one the store took live), and one record after them says who reconciled how many from which
        journal (its SHA-256)."""
        path = Path(journal)
        if not path.exists():
            return 0
        position = load_position(path)
        changed = None if position is None else changed_behind(path, position)
        if position is not None and changed is None and position.record_id is not None \
                and not self._stored_ids([position.record_id]):
            position = None  # reconciled into another store (or this one, restored from an older copy)
        start = 0 if position is None or changed is not None else position.offset
        try:
            lines = read_audit_lines(path, start)
            read = [json.loads(line) for line in lines if line.strip()]
        except (OSError, ValueError) as exc:
            raise AuditError(f"cannot read the audit journal {journal}: {exc}", step="reconcile the audit journal") \
                from None
        records = [record for record in read if isinstance(record, dict) and isinstance(record.get("record_id"), str)]
        mark = {"by": None if by is None else by.username, "at": utc_now().isoformat(timespec="microseconds")}
        if changed is not None:
            log.warning("the audit journal %s was %s: it is reconciled whole", journal, changed)
            self.append({"format": MIRROR_FORMAT, "record_id": uuid.uuid4().hex, "event": MIRROR_EVENT,
                         "action": "audit_journal_changed", "user": mark["by"], "time": mark["at"],
                         "journal": str(journal), "what": changed})
        stored = self._stored_ids([record["record_id"] for record in records])
        added = 0
        for record in records:
            if record["record_id"] not in stored:
                self.append({**record, "reconciled": mark})
                stored.add(record["record_id"])
                added += 1
        if added:
            self.append({"format": MIRROR_FORMAT, "record_id": uuid.uuid4().hex, "event": MIRROR_EVENT,
                         "action": "audit_reconciled", "user": mark["by"], "time": mark["at"], "records": added,
                         "journal": str(journal), "read_from": start,
                         "journal_sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        after = position_after(start, lines, records[-1]["record_id"] if records else None,
                               None if start == 0 else position)
        if after is not None and after != position:
            save_position(path, after)
        return added

    def head(self) -> tuple[int, str]:
        """The chain's last seq and hash as the head row holds them (0 and 64 zeros before any record): the anchor a
        report prints, without walking the chain."""
        with self._database.read() as session:
            head = session.get(AuditHeadRow, 1)
            return (0, NO_HASH) if head is None else (head.seq, head.hash)

    def verify(self) -> ChainCheck:
        """Walk the chain from the first record to the head; the first problem found, or that it is intact."""
        with self._database.read() as session:
            head = session.get(AuditHeadRow, 1)
            if head is None:
                total = _total(session)
                return ChainCheck(False, total, "", total, "deleted",
                                  f"the chain's head row is missing ({total} records stored): the trail was cut or "
                                  "emptied")
            count, previous = 0, [NO_HASH]
            misfiled: tuple[int, str, str] | None = None  # reported once the chain itself holds
            for row, following in _with_next(_links(session)):
                count += 1
                found = _diagnose(session, count, row, previous, following)
                if found is not None:
                    return ChainCheck(False, _total(session), head.hash, *found)
                misfiled = misfiled or _columns_problem(row)
                previous = [previous[-1], row.hash]
            last = previous[-1]
            if head.seq < count:
                return ChainCheck(False, count, head.hash, head.seq + 1, "inserted",
                                  f"record {head.seq + 1} was added after the head: the head says the chain ends at "
                                  f"record {head.seq}, and {count - head.seq} more follow it")
            if head.seq > count:
                return ChainCheck(False, count, head.hash, count + 1, "truncated",
                                  f"records {count + 1} to {head.seq} are missing from the end: the head says the "
                                  f"chain ends at record {head.seq}, the last one stored is record {count}")
            if head.hash != last:
                return ChainCheck(False, count, head.hash, count, "edited",
                                  f"record {count}, the last, was replaced: its hash is {last[:12]}..., the head's "
                                  f"is {head.hash[:12]}...")
            if misfiled is not None:
                return ChainCheck(False, count, head.hash, *misfiled)
            mismatch = table_problems(session)
            if mismatch is not None:
                table, seq, what = mismatch
                return ChainCheck(False, count, head.hash, seq if seq is not None else count, "table mismatch",
                                  describe(table, what))
            return ChainCheck(True, count, head.hash, None, None,
                              f"the audit trail is intact: {count} records, head hash {head.hash}")

    def query(self, *, patient: str | None = None, username: str | None = None, action: str | None = None,
              session_id: str | None = None, since: datetime | None = None,
              until: datetime | None = None) -> list[AuditEntry]:
        """The records matching every filter given, by seq; ``since``/``until`` (aware) bound the records' times,
        both included. A patient or user is found by its key (``clinic.record_keys``): ``mrn-001`` finds the records
        of ``MRN-001``."""
        query = select(AuditRow.seq, AuditRow.body, AuditRow.hash).order_by(AuditRow.seq)
        if since is not None:
            query = query.where(AuditRow.time >= since)
        if until is not None:
            query = query.where(AuditRow.time <= until)
        with self._database.read() as session:
            patient = patient and _spelling(session, PatientRow.identifier, PatientRow.identifier_key, patient)
            username = username and _spelling(session, UserRow.username, UserRow.username_key, username)
            for column, value in ((AuditRow.patient_identifier, patient), (AuditRow.username, username),
                                  (AuditRow.action, action), (AuditRow.session_id, session_id)):
                if value is not None:
                    query = query.where(column == value)
            return [AuditEntry(seq, json.loads(body), digest) for seq, body, digest in session.execute(query)]

    def _stored_ids(self, record_ids: list[str]) -> set[str]:
        stored: set[str] = set()
        with self._database.read() as session:
            for start in range(0, len(record_ids), LOOKUP_CHUNK):
                chunk = record_ids[start:start + LOOKUP_CHUNK]
                stored.update(session.scalars(select(AuditRow.record_id).where(AuditRow.record_id.in_(chunk))))
        return stored


def _spelling(session: Session, column: InstrumentedAttribute[str], key: InstrumentedAttribute[str | None],
              given: str) -> str:
    """The spelling the records carry of a patient's identifier or a user name (as recorded when it was added), or
    ``given`` when no row has its key (records of a patient or user no longer in the tables)."""
    return session.scalar(select(column).where(key == record_key(given))) or given


def append_in(session: Session, record: Mapping) -> int:
    """Append ``record`` in ``session``'s writing transaction (the one that makes the change it records)."""
    record_id = record.get("record_id")
    if not isinstance(record_id, str) or not record_id:
        raise InputError([("record_id", "an audit record needs a record_id to be stored")],
                         step="append to the audit trail")
    try:
        body = canonical_json(record)
    except (TypeError, ValueError) as exc:
        raise InputError([("record", f"an audit record must be plain JSON: {exc}")],
                         step="append to the audit trail") from None
    head = session.scalars(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).first()
    if head is None:
        raise AuditError("the clinic record's audit trail has no head row (it was cut or emptied): nothing can be "
                         "appended; run audit verify", step="append to the audit trail")
    stored = session.scalar(select(AuditRow.seq).where(AuditRow.record_id == record_id))
    if stored is not None:
        return stored
    seq = head.seq + 1
    digest = chain_hash(head.hash, seq, body)
    session.add(AuditRow(seq=seq, record_id=record_id, time=_time(record), session_id=_text(record, "session_id"),
                         username=_text(record, "user"), patient_identifier=_text(record, "patient"),
                         pump_serial=_text(record, "pump_serial"), action=_text(record, "action") or "",
                         event=_text(record, "event") or "", body=body, prev_hash=head.hash, hash=digest))
    head.seq, head.hash = seq, digest
    session.flush()
    return seq


def _columns_problem(row: _Link) -> tuple[int, str, str] | None:
    """A record whose hash holds but whose body is not canonical, or whose indexed columns (what ``query`` filters
    on) are not its body's fields."""
    try:
        record = json.loads(row.body)
        canonical = canonical_json(record) == row.body and isinstance(record, dict)
    except (TypeError, ValueError):
        canonical, record = False, {}
    if not canonical:
        return row.seq, "edited", f"record {row.seq}'s body is not the canonical JSON its hash must cover"
    expected = {"record_id": record.get("record_id"), "session_id": _text(record, "session_id"),
                "username": _text(record, "user"), "patient_identifier": _text(record, "patient"),
                "pump_serial": _text(record, "pump_serial"), "action": _text(record, "action") or "",
                "event": _text(record, "event") or ""}
    for column, value in expected.items():
        if row.columns[column] != value:
            return row.seq, "edited", (f"record {row.seq}'s {column} column says {row.columns[column]!r}, its body "
                                       f"{value!r}")
    moment = _body_time(record)
    if moment is not None and row.columns["time"] != moment:
        return row.seq, "edited", f"record {row.seq}'s time column is not its body's time"
    return None


def _body_time(record: Mapping) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(record["time"]))
    except (KeyError, ValueError):
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo is not None else None


def _links(session: Session) -> Iterator[_Link]:
    query = select(AuditRow.seq, AuditRow.body, AuditRow.prev_hash, AuditRow.hash, AuditRow.record_id,
                   AuditRow.session_id, AuditRow.username, AuditRow.patient_identifier, AuditRow.pump_serial,
                   AuditRow.action, AuditRow.event, AuditRow.time).order_by(AuditRow.seq)
    for row in session.execute(query.execution_options(yield_per=1000)):
        yield _Link(row[0], row[1], row[2], row[3], dict(zip(COLUMNS, row[4:], strict=True)))


def _with_next(links: Iterator[_Link]) -> Iterator[tuple[_Link, _Link | None]]:
    current = next(links, None)
    while current is not None:
        following = next(links, None)
        yield current, following
        current = following


def _diagnose(session: Session, position: int, row: _Link, previous: list[str],
              following: _Link | None) -> tuple[int, str, str] | None:
    """What is wrong with the chain at the ``position``-th stored record (None: nothing). ``previous``: the hashes
    of the two records before it (64 zeros standing for the one before the first)."""
    expected_prev = previous[-1]
    before_previous = previous[-2] if len(previous) > 1 and position > 1 else None
    if row.seq > position:
        return position, "deleted", (f"record {position} is missing: record {row.seq} follows record {position - 1}"
                                      if position > 1 else f"record 1 is missing: the chain starts at record {row.seq}")
    if row.seq < position:
        return row.seq, "inserted", f"record {row.seq} was inserted: a chain starts at record 1"
    content_ok = chain_hash(row.prev_hash, row.seq, row.body) == row.hash
    if content_ok and row.prev_hash == expected_prev:
        return None
    written_as = row.seq if content_ok else _written_as(session, row)
    if written_as is None:
        if following is not None and following.prev_hash == expected_prev:
            return row.seq, "inserted", (f"record {row.seq} does not belong to the chain: the record after it was "
                                         f"chained straight to record {row.seq - 1}")
        return row.seq, "edited", (f"record {row.seq} was changed after it was written: its hash "
                                   f"{row.hash[:12]}... is not the hash of its contents "
                                   f"({chain_hash(row.prev_hash, row.seq, row.body)[:12]}...)")
    if written_as < row.seq and row.prev_hash == before_previous:
        return row.seq - 1, "inserted", (f"record {row.seq - 1} was inserted: the record now numbered {row.seq} was "
                                         f"written as record {written_as}, chained to record {row.seq - 2}")
    if written_as == row.seq + 1 and not _stored_hash(session, row.prev_hash):
        return row.seq, "deleted", (f"record {row.seq} was deleted and the records after it renumbered: the record "
                                    f"now numbered {row.seq} was written as record {written_as}")
    if written_as != row.seq:
        return row.seq, "reordered", (f"record {row.seq} is out of place: the record stored there was written as "
                                      f"record {written_as}")
    if row.prev_hash == before_previous:
        return row.seq - 1, "inserted", (f"record {row.seq - 1} does not belong to the chain: record {row.seq} was "
                                         f"chained straight to record {row.seq - 2}")
    return row.seq - 1, "edited", (f"record {row.seq - 1} was changed and its hash recomputed: record {row.seq} was "
                                   f"chained to a record {row.seq - 1} with the hash {row.prev_hash[:12]}..., the one "
                                   f"stored has {expected_prev[:12]}...")


def _written_as(session: Session, row: _Link) -> int | None:
    """The seq a record whose hash does not match its place was written with (None: its contents were changed)."""
    last = session.scalar(select(func.max(AuditRow.seq))) or 0
    return next((seq for seq in range(1, last + 2) if chain_hash(row.prev_hash, seq, row.body) == row.hash), None)


def _stored_hash(session: Session, digest: str) -> bool:
    return digest == NO_HASH or session.scalar(select(AuditRow.seq).where(AuditRow.hash == digest).limit(1)) is not None


def _total(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditRow)) or 0


def _time(record: Mapping) -> datetime:
    """The record's own time in UTC; the time it is stored when it has none with a zone."""
    try:
        moment = datetime.fromisoformat(str(record["time"]))
    except (KeyError, ValueError):
        return utc_now()
    return moment.astimezone(timezone.utc) if moment.tzinfo is not None else utc_now()


def _text(record: Mapping, key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)
