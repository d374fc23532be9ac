"""Sessions: a visit's who, where, when, and the patient and pump it was about."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from clinic.errors import UnknownPatient, UnknownSession
from tests.support.clinic_fixtures import KIM, OSEI, PATIENT_ID


def test_a_session_is_started_attached_to_a_patient_and_pump_and_ended(store):
    before = datetime.now(timezone.utc)
    session_id = store.sessions.start(OSEI, "ward-3-laptop")
    started = store.sessions.get(session_id)
    assert len(session_id) == 32 and int(session_id, 16) >= 0
    assert (started.username, started.workstation, started.patient_identifier, started.pump_serial,
            started.ended_at) == ("osei", "ward-3-laptop", None, None, None)
    assert before - timedelta(seconds=1) <= started.started_at <= datetime.now(timezone.utc)
    store.sessions.attach(session_id, PATIENT_ID, "EMU-1")
    store.sessions.attach(session_id, None, None)  # leaves both as they were
    store.sessions.end(session_id)
    ended = store.sessions.get(session_id)
    assert (ended.patient_identifier, ended.pump_serial) == (PATIENT_ID, "EMU-1")
    assert ended.ended_at is not None and ended.ended_at >= ended.started_at
    store.sessions.end(session_id)  # continued by another command, which ended it again
    assert store.sessions.get(session_id).ended_at >= ended.ended_at


def test_sessions_are_listed_earliest_first_and_by_patient(store):
    first = store.sessions.start(OSEI, "a")
    second = store.sessions.start(KIM, "b")
    store.sessions.attach(second, PATIENT_ID, None)
    assert [info.id for info in store.sessions.list()] == [first, second]
    assert [info.id for info in store.sessions.list(patient=PATIENT_ID)] == [second]


def test_an_unknown_session_or_patient_is_named(store):
    with pytest.raises(UnknownSession, match="^session: no session has the id 'nope'$"):
        store.sessions.get("nope")
    with pytest.raises(UnknownSession):
        store.sessions.end("nope")
    with pytest.raises(UnknownPatient):
        store.sessions.attach(store.sessions.start(OSEI, "a"), "NOPE", None)
