"""A session report as a FHIR bundle, for the hospital's record: who, which pump, what dose, what was given.

Why fhir.resources: a hand-written dict would be JSON that a hospital's server might refuse; the library's pydantic
models check every element's type, cardinality and value set as the bundle is built, so what this module returns
has been validated once, here. The package (8.x) ships FHIR R5 at its top, R4B and STU3 beside it, and no R4
module: R4B (4.3.0) is used, which keeps R4's Patient, Device, MedicationStatement, MedicationAdministration and
Observation as they were, so an R4 server reads these resources.

What goes in (a ``collection`` Bundle, every entry a ``urn:uuid`` derived from the session's id, so the same
session always gives the same bundle): the Patient; the pump as a Device; one MedicationStatement per verified
dose change (the last one ``active``, those it replaced ``completed``); one MedicationAdministration per refill
and per bolus, prime or bridge, its status from the outcome; one Observation of the reservoir volume the report
projects from, in UCUM mL. Doses are in UCUM where the drug's unit has a code (mcg is ``ug``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from fhir.resources.R4B.resource import Resource

from clinic.session_report import BolusLine, ProgramChange, RefillLine, SessionReport, ml_words
from programmer.program import Drug, Flex, Program

UCUM = "http://unitsofmeasure.org"
PATIENT_SYSTEM = "urn:itb-programmer:patient"
"""The system of the patient's identifier (the clinic's medical record number as the programmer stores it)."""
PUMP_SYSTEM = "urn:itb-programmer:pump-serial"
SESSION_SYSTEM = "urn:itb-programmer:session"
RESERVOIR_CODE = {"system": "urn:itb-programmer:observation", "code": "reservoir-volume",
                  "display": "Implanted pump reservoir volume (calculated by the pump)"}
UCUM_UNITS = {"mL": "mL", "mcg": "ug", "mg": "mg", "mcg/day": "ug/d", "mg/day": "mg/d"}
"""The dose units the drug library uses, and mL, as UCUM codes; another unit is written without a code."""
ADMINISTRATION_STATUS = {"verified": "completed", "refused": "not-done", "pump_refused": "not-done",
                         "unchanged": "not-done"}
"""A change's outcome as a MedicationAdministration's status; any other (uncertain, mismatch, none recorded) is
``unknown``: the pump's own log says what happened."""
INTRATHECAL = {"text": "intrathecal"}
R = TypeVar("R", bound=Resource)


def fhir_bundle(report: SessionReport) -> dict:
    """The session as a validated FHIR R4B ``collection`` Bundle, as JSON-ready data."""
    ids = _Ids(report.session.session_id)
    entries: list[tuple[str, Resource]] = []
    patient_ref = None
    if report.patient is not None:
        patient = report.patient
        patient_ref = {"reference": ids.url("patient"), "display": patient.name}
        entries.append((ids.url("patient"), _valid(Patient, 
            identifier=[{"system": PATIENT_SYSTEM, "value": patient.identifier}], name=[{"text": patient.name}],
            birthDate=patient.birth_date.isoformat())))
    device_ref = None
    if report.pump_serial is not None:
        device_ref = {"reference": ids.url("device"), "display": f"{report.pump_model} {report.pump_serial}"}
        entries.append((ids.url("device"), _valid(Device, 
            identifier=[{"system": PUMP_SYSTEM, "value": report.pump_serial}], serialNumber=report.pump_serial,
            deviceName=[{"name": report.pump_model or "implanted pump", "type": "model-name"}],
            type={"text": "implanted intrathecal drug pump"}, status="active", patient=patient_ref)))
    verified = [change for change in report.changes if change.outcome == "verified"]
    for number, change in enumerate(verified):
        last = number == len(verified) - 1
        entries.append((ids.url(f"statement-{number}"), _statement(change, last, patient_ref, report.made_at)))
    for number, refill in enumerate(report.refills):
        entries.append((ids.url(f"refill-{number}"), _refill(refill, patient_ref, device_ref)))
    for number, bolus in enumerate(report.boluses):
        entries.append((ids.url(f"bolus-{number}"), _bolus(bolus, report, patient_ref, device_ref)))
    if report.reservoir is not None and report.reservoir_at is not None:
        entries.append((ids.url("reservoir"), _valid(Observation, 
            status="final", code={"coding": [RESERVOIR_CODE], "text": RESERVOIR_CODE["display"]},
            subject=patient_ref, device=device_ref, effectiveDateTime=_aware(report.reservoir_at),
            valueQuantity=_quantity(report.reservoir.volume_ml, "mL"))))
    bundle = _valid(Bundle, type="collection", timestamp=report.made_at.isoformat(),
                    identifier={"system": SESSION_SYSTEM, "value": report.session.session_id},
                    entry=[{"fullUrl": url, "resource": resource} for url, resource in entries])
    return bundle.model_dump(mode="json", by_alias=True, exclude_none=True)


def _valid(model: type[R], **fields: Any) -> R:
    """The resource built and validated from its elements (pydantic's ``ValidationError`` names a wrong one)."""
    return model.model_validate(fields)


class _Ids:
    """Entry URLs derived from the session's id: the same session, the same bundle."""

    def __init__(self, session_id: str):
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{SESSION_SYSTEM}:{session_id}")

    def url(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self.namespace, name)}"


def _quantity(value: float, unit: str) -> dict:
    quantity: dict[str, Any] = {"value": round(value, 6), "unit": unit}
    if unit in UCUM_UNITS:
        quantity |= {"system": UCUM, "code": UCUM_UNITS[unit]}
    return quantity


def _medication(drug: Drug) -> dict:
    return {"text": f"{drug.name} {drug.concentration_per_ml:g} {drug.dose_unit}/mL"}


def _aware(moment: datetime) -> str:
    """A pump-clock time (naive, this computer's local clock) as a FHIR dateTime, which needs its offset."""
    return (moment if moment.tzinfo is not None else moment.astimezone()).isoformat()


def _statement(change: ProgramChange, last: bool, subject: dict | None, asserted: datetime) -> MedicationStatement:
    program = change.after
    unit = program.drug.dose_unit
    daily = change.daily_after
    note = [{"text": f"override reason: {change.override_reason}"}] if change.override_reason else None
    return _valid(MedicationStatement, 
        status="active" if last else "completed", medicationCodeableConcept=_medication(program.drug),
        subject=subject or {"display": "patient not recorded"}, effectiveDateTime=change.time.isoformat(),
        dateAsserted=asserted.isoformat(), note=note,
        dosage=[{"text": _dosage_text(program, daily), "route": INTRATHECAL,
                 "doseAndRate": [{"rateQuantity": _quantity(daily, f"{unit}/day")}]}])


def _dosage_text(program: Program, daily: float) -> str:
    unit = program.drug.dose_unit
    therapy = program.therapy
    if isinstance(therapy, Flex):
        return (f"{daily:g} {unit}/day on average, flex: {len(therapy.steps)} steps over {therapy.cycle_days} "
                "day(s), intrathecal by implanted pump")
    return f"{daily:g} {unit}/day, continuous, intrathecal by implanted pump"


def _refill(refill: RefillLine, subject: dict | None, device: dict | None) -> MedicationAdministration:
    drug = refill.drug
    words = (f"pump reservoir refill: {refill.withdrawn_ml:.4g} mL withdrawn (the pump had calculated "
             f"{refill.calculated_ml:.4g} mL, discrepancy {ml_words(refill.discrepancy_ml)} mL, tolerance "
             f"{ml_words(refill.tolerance_ml)} mL), {refill.added_ml:.4g} mL added")
    if refill.lot:
        words += f"; lot {refill.lot}, expiry {refill.expiry}"
    if refill.outcome != "verified":
        words += f"; {refill.outcome}: not done"
    return _valid(MedicationAdministration, 
        status=ADMINISTRATION_STATUS.get(refill.outcome, "unknown"),
        medicationCodeableConcept=_medication(drug) if drug is not None else {"text": "drug not recorded"},
        subject=subject or {"display": "patient not recorded"}, device=[device] if device else None,
        effectiveDateTime=refill.time.isoformat(), dosage={"text": words, "dose": _quantity(refill.added_ml, "mL")})


def _bolus(bolus: BolusLine, report: SessionReport, subject: dict | None,
           device: dict | None) -> MedicationAdministration:
    drug = report.drug
    end = bolus.time + timedelta(minutes=bolus.duration_min or 0)
    status = ADMINISTRATION_STATUS.get(bolus.outcome, "unknown")
    if status == "completed" and end > report.made_at:
        status = "in-progress"
    if bolus.kind == "therapeutic" and bolus.dose is not None and bolus.dose_unit is not None:
        dose = _quantity(bolus.dose, bolus.dose_unit)
    else:
        dose = _quantity(bolus.volume_ml or 0.0, "mL")
    words = f"{bolus.kind} bolus {bolus.bolus_id or ''}".strip()
    if bolus.kind == "prime":
        # the dose history records the drug a prime moves into the line; what reaches the patient is labelled apart
        words += f": {bolus.dose_words(report.drug.dose_unit if report.drug else None)}"
    return _valid(MedicationAdministration, 
        status=status, medicationCodeableConcept=_medication(drug) if drug is not None else {"text": "pump's drug"},
        subject=subject or {"display": "patient not recorded"}, device=[device] if device else None,
        effectivePeriod={"start": bolus.time.isoformat(), "end": end.isoformat()},
        dosage={"text": words, "route": INTRATHECAL, "dose": dose})
