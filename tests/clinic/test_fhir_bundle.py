"""The FHIR bundle of the real visit of tests/support/session_visits.py: it validates (read back into the R4B
models from its JSON) and holds the visit's figures, worked out by hand: 200 mcg/day (UCUM ug/d) after the change,
18 mL added at the refill, a bolus of 50 mcg (ug) over 30 min, 18 mL in the reservoir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from clinic.fhir_bundle import PATIENT_SYSTEM, PUMP_SYSTEM, UCUM, fhir_bundle
from clinic.session_report import SessionReport, build_session_report, report_from_records
from tests.support.session_visits import RecordedVisit, recorded_visit


@pytest.fixture(scope="module")
def visit(tmp_path_factory) -> Iterator[RecordedVisit]:
    with recorded_visit(tmp_path_factory.mktemp("visit")) as recorded:
        yield recorded


def report_of(visit: RecordedVisit, after_end: timedelta = timedelta(minutes=1)) -> SessionReport:
    ended = visit.store.sessions.get(visit.session_id).ended_at
    return build_session_report(visit.store, visit.session_id, made_at=ended + after_end)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def test_the_bundle_validates_and_holds_the_visit(visit):
    report = report_of(visit)
    bundle = fhir_bundle(report)
    again = Bundle.model_validate_json(json.dumps(bundle))  # the JSON as written reads back into the models
    assert again.type == "collection" and len(again.entry) == 6
    assert [entry["resource"]["resourceType"] for entry in bundle["entry"]] == [
        "Patient", "Device", "MedicationStatement", "MedicationAdministration", "MedicationAdministration",
        "Observation"]
    [patient] = resources(bundle, "Patient")
    assert (patient["identifier"], patient["birthDate"]) == ([{"system": PATIENT_SYSTEM, "value": "TEST-0001"}],
                                                            "1970-01-01")
    [device] = resources(bundle, "Device")
    assert device["identifier"] == [{"system": PUMP_SYSTEM, "value": report.pump_serial}]
    assert device["deviceName"] == [{"name": "ITB-20", "type": "model-name"}]
    patient_url = bundle["entry"][0]["fullUrl"]
    assert device["patient"]["reference"] == patient_url


def test_the_dose_change_refill_bolus_and_reservoir_carry_their_figures(visit):
    report = report_of(visit)
    bundle = fhir_bundle(report)
    [statement] = resources(bundle, "MedicationStatement")
    assert statement["status"] == "active"
    assert statement["medicationCodeableConcept"]["text"] == "baclofen 500 mcg/mL"
    assert statement["dosage"][0]["doseAndRate"][0]["rateQuantity"] == {"value": 200.0, "unit": "mcg/day",
                                                                         "system": UCUM, "code": "ug/d"}
    assert statement["note"] == [{"text": "override reason: titration plan agreed with the patient"}]
    refill, bolus = resources(bundle, "MedicationAdministration")
    assert (refill["status"], refill["dosage"]["dose"]) == ("completed", {"value": 18.0, "unit": "mL",
                                                                          "system": UCUM, "code": "mL"})
    assert "19 mL withdrawn (the pump had calculated 20 mL, discrepancy -1 mL" in refill["dosage"]["text"]
    assert "lot BX2291, expiry 2099-12-31" in refill["dosage"]["text"]
    # made a minute after the visit: the 30 min bolus is still running
    assert (bolus["status"], bolus["dosage"]["dose"]) == ("in-progress", {"value": 50.0, "unit": "mcg",
                                                                          "system": UCUM, "code": "ug"})
    start = bolus["effectivePeriod"]["start"].replace("Z", "+00:00")
    end = bolus["effectivePeriod"]["end"].replace("Z", "+00:00")
    assert datetime.fromisoformat(end) - datetime.fromisoformat(start) == timedelta(minutes=30)
    [reservoir] = resources(bundle, "Observation")
    assert reservoir["valueQuantity"] == {"value": 18.0, "unit": "mL", "system": UCUM, "code": "mL"}
    assert reservoir["subject"]["display"] == "Test Patient"


def test_the_same_session_gives_the_same_bundle_and_a_finished_bolus_is_completed(visit):
    report = report_of(visit)
    later = report_of(visit, timedelta(hours=1))
    assert fhir_bundle(later)["entry"][0]["fullUrl"] == fhir_bundle(report)["entry"][0]["fullUrl"]
    assert resources(fhir_bundle(later), "MedicationAdministration")[1]["status"] == "completed"


def test_a_refused_change_states_no_dose_and_a_refused_refill_is_not_done(visit):
    # The visit's write and refill outcome records as a refusal would have left them (before anything was sent).
    one = report_of(visit)
    records = [entry.record for entry in visit.store.audit.query(session_id=visit.session_id)
               if entry.record["action"] in ("write", "refill") and entry.record["event"] == "outcome"]
    refused = [record | {"outcome": "refused", "message": "refused: nothing was sent to the pump"}
               for record in records]
    report = report_from_records(refused, one.session, one.patient, one.anchor, one.made_at)
    bundle = fhir_bundle(report)
    assert resources(bundle, "MedicationStatement") == []
    [refill] = resources(bundle, "MedicationAdministration")
    assert refill["status"] == "not-done"
    assert resources(bundle, "Observation") == []  # no verified refill, no reading: nothing to observe
