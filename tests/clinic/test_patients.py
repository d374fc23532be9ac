"""Patients, the pumps bound to them for good, replacements and catheter revisions, and the dose history that
outlives a pump."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from clinic.errors import UnknownPatient, WrongPatient
from clinic.patients import CatheterRevision, DoseEntry, Implant, Patient
from programmer.errors import ErrorKind, InputError, PermissionRefused
from tests.support.clinic_fixtures import ADA, KIM, OSEI, PATIENT_ID

TEST_PATIENT = Patient(PATIENT_ID, "Test Patient", date(1970, 1, 1))


def test_a_patient_is_added_found_and_searched_by_identifier_or_name_in_any_case(store):
    assert store.patients.add(OSEI, "MRN-77", "Åsa Berg", date(1980, 2, 29)) == Patient("MRN-77", "Åsa Berg",
                                                                                         date(1980, 2, 29))
    store.patients.add(ADA, "MRN-100%", "Jo Smith", date(1990, 1, 1))
    assert store.patients.get("MRN-77").name == "Åsa Berg"
    assert [p.identifier for p in store.patients.search("mrn")] == ["MRN-100%", "MRN-77"]
    assert [p.identifier for p in store.patients.search("SMITH")] == ["MRN-100%"]
    assert [p.identifier for p in store.patients.search("0%")] == ["MRN-100%"]  # % is a character, not a wildcard
    assert store.patients.search("test p") == [TEST_PATIENT]


def test_a_duplicate_an_unknown_and_a_technician_are_refused(store):
    with pytest.raises(InputError, match="^identifier: a patient with the identifier 'TEST-0001' exists already$"):
        store.patients.add(OSEI, PATIENT_ID, "Someone Else", date(1970, 1, 1))
    with pytest.raises(UnknownPatient, match="^patient: no patient has the identifier 'NOPE'$") as failed:
        store.patients.get("NOPE")
    assert failed.value.kind is ErrorKind.INPUT
    with pytest.raises(PermissionRefused, match="a technician may not record patients and implants"):
        store.patients.add(KIM, "MRN-9", "Kim's Friend", date(2000, 1, 1))
    with pytest.raises(InputError) as bad:
        store.patients.add(OSEI, " ", "", date(2999, 1, 1))
    assert [field for field, _ in bad.value.problems] == ["identifier", "name", "birth_date"]


def test_a_pump_is_bound_once_and_to_one_patient(store):
    assert store.patients.patient_for_pump("EMU-1") is None
    implant = store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 6, 1), 60.0)
    assert implant == Implant(PATIENT_ID, "EMU-1", "ITB-20", date(2025, 6, 1), None, 60.0, ())
    assert store.patients.patient_for_pump("EMU-1") == TEST_PATIENT
    assert store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 7, 1), None) == implant  # again
    store.patients.add(OSEI, "MRN-2", "Other Patient", date(1960, 1, 1))
    with pytest.raises(WrongPatient, match="^pump EMU-1 is bound to patient TEST-0001, not to MRN-2") as failed:
        store.patients.bind_pump(OSEI, "MRN-2", "EMU-1", "ITB-20", date(2025, 8, 1), None)
    assert failed.value.kind is ErrorKind.REFUSED


def test_a_replacement_pump_explants_the_earlier_one_on_its_implant_day(store):
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2019, 3, 4), 60.0)
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-2", "ITB-40", date(2026, 5, 6), None, replaces="EMU-1")
    first, second = store.patients.implants(PATIENT_ID)
    assert (first.pump_serial, first.explanted_on) == ("EMU-1", date(2026, 5, 6))
    assert (second.pump_serial, second.implanted_on, second.explanted_on) == ("EMU-2", date(2026, 5, 6), None)
    assert store.patients.patient_for_pump("EMU-1") == TEST_PATIENT  # still whose it was


def test_a_catheter_revision_is_kept_with_its_implant_and_sets_the_length(store):
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 6, 1), 60.0)
    implant = store.patients.revise_catheter(OSEI, "EMU-1", date(2025, 9, 1), 52.5, "tip migrated, shortened")
    assert (implant.catheter_cm, implant.revisions) == (52.5, (CatheterRevision(date(2025, 9, 1), 52.5,
                                                                                "tip migrated, shortened"),))
    assert store.patients.implants(PATIENT_ID) == [implant]
    with pytest.raises(InputError, match=r"^catheter_cm: 150 cm is outside the catheter lengths 10 to 110 cm"):
        store.patients.revise_catheter(OSEI, "EMU-1", date(2025, 9, 2), 150.0, "")
    with pytest.raises(InputError, match=r"^revised_on: 2025-05-01 is before the pump was implanted \(2025-06-01\)$"):
        store.patients.revise_catheter(OSEI, "EMU-1", date(2025, 5, 1), 50.0, "")
    with pytest.raises(InputError, match="^serial: no patient has the pump EMU-9 implanted$"):
        store.patients.revise_catheter(OSEI, "EMU-9", date(2025, 9, 2), 50.0, "")


def dose(kind: str, hour: int, serial: str = "EMU-1", **figures) -> DoseEntry:
    values = {"concentration": 500.0, "daily_dose": None, "volume_ml": None, "dose": None, "reservoir_ml": None}
    return DoseEntry(PATIENT_ID, serial, "s1", datetime(2026, 1, 2, hour, tzinfo=timezone.utc), kind, "baclofen", "mcg",
                     **(values | figures), username="osei", audit_record_id=f"r{hour}")


def test_the_dose_history_outlives_a_pump_oldest_first_and_the_last_program_is_found(store):
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 6, 1), 60.0)
    entries = [dose("program", 9, daily_dose=150.0), dose("refill", 10, volume_ml=18.0, reservoir_ml=20.0),
               dose("bolus", 11, dose=50.0, volume_ml=0.1), dose("program", 12, daily_dose=165.0),
               dose("program", 13, serial="EMU-2", daily_dose=170.0)]
    for entry in reversed(entries):
        store.patients.record_dose(entry)
    assert store.patients.dose_history(PATIENT_ID) == entries
    assert store.patients.last_program(PATIENT_ID) == entries[-1]
    assert store.patients.dose_history(PATIENT_ID)[0].time.tzinfo == timezone.utc


def test_no_program_recorded_is_none_and_a_naive_time_or_unknown_kind_is_refused(store):
    assert store.patients.last_program(PATIENT_ID) is None
    with pytest.raises(InputError, match="^kind: 'flush' is not a kind of dose entry"):
        store.patients.record_dose(dose("flush", 9))
    with pytest.raises(Exception, match="a time without its zone cannot be stored"):
        store.patients.record_dose(DoseEntry(**(vars(dose("program", 9)) | {"time": datetime(2026, 1, 2, 9)})))
    assert store.patients.dose_history(PATIENT_ID) == []
