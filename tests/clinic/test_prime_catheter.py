"""The catheter length a prime goes by (``clinic.prime_catheter``): the clinic's record for the visit's patient's
pump, a length given only when it is the same, and a pump bound to nobody as before (a length needed)."""

from __future__ import annotations

from datetime import date

import pytest

from clinic.errors import CatheterMismatch
from clinic.prime_catheter import RecordedCatheter, prime_length, recorded_catheter
from programmer.errors import ErrorKind
from tests.support.clinic_fixtures import ADA, OSEI, PATIENT_ID


def test_the_length_recorded_for_the_visits_patients_pump_names_where_it_comes_from(store):
    patients = store.patients
    patient = patients.get(PATIENT_ID)
    other = patients.add(ADA, "P-2", "Other Patient", date(1960, 1, 1))
    patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 6, 1), 60.0)
    patients.bind_pump(OSEI, "P-2", "EMU-2", "ITB-20", date(2025, 6, 1), None)
    assert recorded_catheter(patients, patient, "EMU-1") == RecordedCatheter("EMU-1", PATIENT_ID, 60.0,
                                                                            "the implant of 2025-06-01")
    patients.revise_catheter(OSEI, "EMU-1", date(2025, 7, 1), 55.0, "tip moved")
    assert str(recorded_catheter(patients, patient, "EMU-1")) == "55 cm, from the catheter revision of 2025-07-01"
    assert recorded_catheter(patients, other, "EMU-1") is None   # another patient's pump: the hard stop's to refuse
    assert recorded_catheter(patients, None, "EMU-1") is None    # no patient chosen for the visit
    assert recorded_catheter(patients, other, "EMU-2") is None   # no length recorded
    assert recorded_catheter(patients, patient, "EMU-9") is None  # bound to nobody


RECORDED = RecordedCatheter("EMU-1", PATIENT_ID, 55.0, "the catheter revision of 2025-07-01")


@pytest.mark.parametrize("recorded, given, length", [
    (RECORDED, None, 55.0), (RECORDED, 55.0, 55.0), (RECORDED, 55.0 + 1e-12, 55.0),  # the record's, or the same
    (None, 60.0, 60.0), (None, None, None),  # nothing recorded: the length given, or none (the front end asks)
])
def test_the_length_primed_with(recorded, given, length):
    assert prime_length(recorded, given) == length


def test_a_length_given_that_differs_from_the_record_is_refused_naming_both():
    with pytest.raises(CatheterMismatch) as refused:
        prime_length(RECORDED, 60.0)
    assert refused.value.kind is ErrorKind.REFUSED and (refused.value.given, refused.value.recorded) == (
        60.0, "55 cm, from the catheter revision of 2025-07-01")
    assert str(refused.value) == ("60 cm is not the catheter length recorded for pump EMU-1 of TEST-0001: 55 cm, from "
                                  "the catheter revision of 2025-07-01; a catheter revised since is recorded first, "
                                  "then primed; nothing was sent to the pump")
