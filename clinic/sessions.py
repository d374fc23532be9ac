"""Visits, as sessions: who signed in at which workstation, when, for which patient and pump.

Why a session id: every audit record and dose entry of one visit carries it, so a report of the visit (the PDF for
the chart) gathers exactly its records, and several commands of one visit at the command line (``--session``) are
one session.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.clock import utc_now
from clinic.database import Database
from clinic.errors import UnknownPatient, UnknownSession, WrongPatient, WrongPump
from clinic.mirror import mirror, mirror_id, require_confirmed, session_problem
from clinic.models import PatientRow, SessionRow
from clinic.record_keys import record_key
from programmer.roles import User


@dataclass(frozen=True)
class SessionInfo:
    id: str
    started_at: datetime
    ended_at: datetime | None
    username: str
    workstation: str
    patient_identifier: str | None
    pump_serial: str | None


class Sessions:
    def __init__(self, database: Database):
        self._database = database

    def start(self, user: User, workstation: str) -> str:
        """A new session of ``user`` at ``workstation``; its id (32 hex digits)."""
        session_id = uuid.uuid4().hex
        with self._database.write() as session:
            now = utc_now()
            session.add(SessionRow(id=session_id, started_at=now, ended_at=None, username=user.username,
                                   workstation=workstation, patient_id=None, pump_serial=None))
            mirror(session, "session_started", user.username, mirror_id("session", session_id), subject=user.username,
                   workstation=workstation, started_at=now, visit=session_id)
        return session_id

    def attach(self, session_id: str, patient_identifier: str | None, pump_serial: str | None) -> None:
        """Say which patient and pump the session is about (None leaves that one as it was). A visit is with one
        patient and one pump: a session that has them already is never moved to others (WrongPatient, WrongPump)."""
        with self._database.write() as session:
            row = _row(session, session_id)
            require_confirmed("sessions", session_problem(session, row))
            before = (row.patient_id, row.pump_serial)
            if patient_identifier is not None:
                patient_id = session.scalar(select(PatientRow.id)
                                            .where(PatientRow.identifier_key == record_key(patient_identifier)))
                if patient_id is None:
                    raise UnknownPatient(patient_identifier)
                if row.patient_id is not None and row.patient_id != patient_id:
                    raise WrongPatient(f"session {session_id} is a visit of another patient: patient "
                                       f"{patient_identifier} needs a session of their own")
                row.patient_id = patient_id
            if pump_serial is not None:
                if row.pump_serial is not None and row.pump_serial != pump_serial:
                    raise WrongPump(f"session {session_id} is a visit with pump {row.pump_serial}: pump {pump_serial} "
                                    "needs a session of its own")
                row.pump_serial = pump_serial
            if (row.patient_id, row.pump_serial) != before:
                patient = None if row.patient_id is None else session.get_one(PatientRow, row.patient_id).identifier
                mirror(session, "session_attached", row.username,
                       mirror_id("session-attached", session_id, patient or "", row.pump_serial or ""),
                       visit=session_id, patient_id=patient, pump=row.pump_serial)

    def end(self, session_id: str) -> None:
        """Record the session's end: now (a session continued by a later command ends again with it)."""
        with self._database.write() as session:
            row = _row(session, session_id)
            row.ended_at = utc_now()
            mirror(session, "session_ended", row.username, None, visit=session_id, ended_at=row.ended_at)

    def get(self, session_id: str) -> SessionInfo:
        """The session, once the audit trail confirms its row (else RecordMismatch)."""
        with self._database.read() as session:
            found = session.execute(_query().where(SessionRow.id == session_id)).first()
            if found is None:
                raise UnknownSession(session_id)
            require_confirmed("sessions", session_problem(session, session.get_one(SessionRow, session_id)))
            return _info(*found)

    def list(self, *, patient: str | None = None) -> builtins.list[SessionInfo]:
        """Sessions, the earliest first; ``patient``: only that patient's."""
        query = _query().order_by(SessionRow.started_at, SessionRow.id)
        if patient is not None:
            query = query.where(PatientRow.identifier_key == record_key(patient))
        with self._database.read() as session:
            return [_info(*found) for found in session.execute(query)]


def _query():
    return select(SessionRow, PatientRow.identifier).outerjoin(PatientRow, SessionRow.patient_id == PatientRow.id)


def _row(session: Session, session_id: str) -> SessionRow:
    row = session.get(SessionRow, session_id)
    if row is None:
        raise UnknownSession(session_id)
    return row


def _info(row: SessionRow, identifier: str | None) -> SessionInfo:
    return SessionInfo(row.id, row.started_at, row.ended_at, row.username, row.workstation, identifier, row.pump_serial)
