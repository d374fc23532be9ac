"""A visit on the real emulator: the pump matched to a patient, the hard stop at every attempt whatever the commit,
verified changes in the dose history, and the journal that keeps what the store could not take."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy.exc import OperationalError

from clinic.errors import UnknownPump, WrongPatient, WrongPump
from clinic.patients import Patient
from clinic.visit import PumpMatch, Visit
from programmer.audit import AuditLog, read_audit_log
from programmer.bolus import review_bolus
from programmer.bolus_commit import commit_bolus
from programmer.commit import commit_refill, commit_write
from programmer.errors import PermissionRefused
from programmer.interrogation import read_pump
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import PumpDriver, open_driver
from programmer.program import Drug, Program, program_from_data
from programmer.refill import RefillRequest, Syringe, review_refill
from programmer.review import review_write
from tests.support.clinic_fixtures import KIM, OSEI, PATIENT_BORN, PATIENT_ID, PATIENT_NAME

BACLOFEN = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)
TEST_PATIENT = Patient(PATIENT_ID, PATIENT_NAME, PATIENT_BORN)


def program(daily_dose: float) -> Program:
    return program_from_data({"format": "itb-program/1", "drug": BACLOFEN.model_dump(mode="json"),
                              "therapy": {"mode": "simple_continuous", "daily_dose": daily_dose}})


@pytest.fixture
def pump(start_emulator):
    """An emulated pump holding 18 mL of baclofen 500 mcg/mL, running 150 mcg/day."""
    with open_driver(start_emulator().url) as driver:
        driver.refill("r-0", 0.0, 18.0, BACLOFEN)
        assert driver.write_program(program(150)).status is Outcome.VERIFIED
        yield driver


def write(pump: PumpDriver, visit: Visit, daily_dose: float):
    return commit_write(pump, review_write(read_pump(pump), program(daily_dose), load_library()), OSEI,
                        visit.audit)


def test_an_unknown_pump_is_bound_by_choosing_its_patient_and_a_verified_write_is_dose_history(store, pump, tmp_path):
    visit = Visit(store, OSEI, tmp_path / "audit.jsonl", workstation="bedside")
    serial = pump.identify().serial
    assert visit.match_pump(serial) == (PumpMatch.UNKNOWN, None)
    assert visit.choose_patient(PATIENT_ID, serial, "ITB-20", implanted_on=date(2026, 1, 5),
                                catheter_cm=60.0) == TEST_PATIENT
    [implant] = store.patients.implants(PATIENT_ID)
    assert (implant.pump_serial, implant.implanted_on, implant.catheter_cm) == (serial, date(2026, 1, 5), 60.0)
    result = write(pump, visit, 165)
    assert result.outcome is Outcome.VERIFIED
    visit.record(result)
    visit.end()
    [entry] = store.patients.dose_history(PATIENT_ID)
    assert (entry.kind, entry.drug, entry.dose_unit, entry.concentration, entry.daily_dose, entry.pump_serial,
            entry.session_id, entry.username) == ("program", "baclofen", "mcg", 500.0, 165.0, serial,
                                                  visit.session_id, "osei")
    assert entry.reservoir_ml == pytest.approx(18.0, abs=0.01)
    attempt, outcome = store.audit.query(session_id=visit.session_id)
    assert [(e.record["event"], e.record["user"], e.record["role"], e.record["patient"], e.record["session_id"])
            for e in (attempt, outcome)] == [(event, "osei", "clinician", PATIENT_ID, visit.session_id)
                                             for event in ("attempt", "outcome")]
    assert entry.audit_record_id == outcome.record["record_id"]
    assert read_audit_log(tmp_path / "audit.jsonl") == [attempt.record, outcome.record]  # the journal, the same
    info = store.sessions.get(visit.session_id)
    assert (info.patient_identifier, info.pump_serial, info.workstation) == (PATIENT_ID, serial, "bedside")
    assert info.ended_at is not None


def test_a_pump_bound_to_the_patient_is_matched_and_a_refill_and_bolus_are_dose_history(store, pump, tmp_path):
    serial = pump.identify().serial
    store.patients.bind_pump(OSEI, PATIENT_ID, serial, "ITB-20", date(2025, 1, 1), 60.0)
    visit = Visit(store, OSEI, tmp_path / "audit.jsonl")
    assert visit.match_pump(serial) == (PumpMatch.BOUND, TEST_PATIENT) and visit.patient == TEST_PATIENT
    snapshot = read_pump(pump)
    refill = review_refill(snapshot, RefillRequest(snapshot.status.volume_ml, 19.5, Syringe(BACLOFEN, "LOT-1",
                                                                                             date(2099, 1, 1))),
                           load_library())
    visit.record(commit_refill(pump, refill, OSEI, visit.audit))
    bolus = review_bolus(read_pump(pump), 50.0, 30.0, load_library())
    visit.record(commit_bolus(pump, bolus, OSEI, visit.audit))
    refilled, given = store.patients.dose_history(PATIENT_ID)
    assert (refilled.kind, refilled.volume_ml, refilled.daily_dose) == ("refill", 19.5, 150.0)
    assert refilled.reservoir_ml == pytest.approx(19.5, abs=0.001)
    assert (given.kind, given.dose, given.volume_ml) == ("bolus", 50.0, 0.1)  # 50 mcg at 500 mcg/mL


def test_a_pump_bound_to_another_patient_is_a_hard_stop_at_the_attempt(store, pump, tmp_path):
    serial = pump.identify().serial
    store.patients.add(OSEI, "MRN-2", "Other Patient", date(1960, 1, 1))
    store.patients.bind_pump(OSEI, "MRN-2", serial, "ITB-20", date(2025, 1, 1), None)
    visit = Visit(store, OSEI, tmp_path / "audit.jsonl")
    with pytest.raises(WrongPatient, match=f"^pump {serial} is bound to patient MRN-2, not to TEST-0001"):
        visit.choose_patient(PATIENT_ID, serial, "ITB-20")
    visit.choose_patient(PATIENT_ID, "EMU-OTHER", "ITB-20")  # the visit's patient, with another pump
    assert visit.match_pump(serial) == (PumpMatch.OTHER_PUMP, Patient("MRN-2", "Other Patient", date(1960, 1, 1)))
    before = pump.read_program().checksum
    with pytest.raises(WrongPump, match=f"^this visit is with pump EMU-OTHER, not {serial}: another pump needs a "
                                        "visit of its own; nothing is sent to it$") as refused:
        write(pump, visit, 165)
    assert store.sessions.get(visit.session_id).pump_serial == "EMU-OTHER"  # the refusal changed nothing
    assert pump.read_program().checksum == before
    [record] = [entry.record for entry in store.audit.query(session_id=visit.session_id)]
    assert (record["event"], record["outcome"], record["message"], record["pump_serial"]) == (
        "outcome", "refused", str(refused.value), serial)
    assert read_audit_log(tmp_path / "audit.jsonl") == [record]


def test_no_patient_chosen_is_a_hard_stop_too(store, pump, tmp_path):
    visit = Visit(store, OSEI, tmp_path / "audit.jsonl")
    before = pump.read_program().checksum
    with pytest.raises(UnknownPump, match=r"is not bound to any patient: say whose pump it is \(--patient ID, or the "
                                          r"application's Which patient\? question\) before changing it$") as refused:
        write(pump, visit, 165)
    assert refused.value.kind.value == "refused"
    assert pump.read_program().checksum == before
    assert [e.record["outcome"] for e in store.audit.query(session_id=visit.session_id)] == ["refused"]


def test_a_store_that_fails_leaves_the_record_in_the_journal_until_the_next_visit(store, pump, tmp_path, monkeypatch,
                                                                                  caplog):
    journal = tmp_path / "audit.jsonl"
    serial = pump.identify().serial
    visit = Visit(store, OSEI, journal)
    visit.choose_patient(PATIENT_ID, serial, "ITB-20")

    def locked(record):
        raise OperationalError("INSERT INTO audit_records", {}, Exception("database is locked"))

    monkeypatch.setattr(store.audit, "append", locked)
    with caplog.at_level(logging.WARNING, logger="clinic.journaled_audit"):
        assert write(pump, visit, 165).outcome is Outcome.VERIFIED  # the change went ahead on the journal's record
    assert len(caplog.records) == 2 and PATIENT_ID not in caplog.text and PATIENT_NAME not in caplog.text
    assert "is in the journal" in caplog.records[0].getMessage()
    monkeypatch.undo()
    assert store.audit.query(session_id=visit.session_id) == []
    Visit(store, OSEI, journal)  # the next visit reconciles the journal, once
    Visit(store, OSEI, journal)
    assert [{k: v for k, v in e.record.items() if k != "reconciled"}
            for e in store.audit.query(session_id=visit.session_id)] == read_audit_log(journal)
    assert {e.record["reconciled"]["by"] for e in store.audit.query(session_id=visit.session_id)} == {"osei"}
    assert store.audit.verify().intact


def test_a_later_command_continues_its_users_visit_with_its_patient(store, pump, tmp_path):
    first = Visit(store, OSEI, tmp_path / "audit.jsonl")
    first.choose_patient(PATIENT_ID, pump.identify().serial, "ITB-20")
    first.end()
    later = Visit(store, OSEI, tmp_path / "audit.jsonl", session_id=first.session_id)
    assert (later.session_id, later.patient) == (first.session_id, TEST_PATIENT)
    assert write(pump, later, 165).outcome is Outcome.VERIFIED
    assert [e.record["session_id"] for e in store.audit.query(action="write")] == [first.session_id] * 2
    with pytest.raises(PermissionRefused, match=f"^session {first.session_id} is osei's: kim starts a session of"):
        Visit(store, KIM, tmp_path / "audit.jsonl", session_id=first.session_id)


def test_a_crash_between_journal_and_store_loses_nothing(store, tmp_path):
    journal = AuditLog(tmp_path / "audit.jsonl")
    journal.append({"action": "write", "event": "attempt", "record_id": "crashed-here"})  # the store never saw it
    Visit(store, OSEI, journal.path)
    assert [entry.record["record_id"] for entry in store.audit.query(action="write")] == ["crashed-here"]
    assert store.audit.reconcile(journal.path) == 0
