"""Patients, their implanted pumps (with catheter revisions) and their dose history.

Why the pump binding lives here: the serial a pump reports is the one fact that ties it to a person, so each serial
is bound to one patient for good (``implants.pump_serial`` is unique); a visit checks the binding before any change
(``clinic.visit``). A replacement pump is a new implant of the same patient, and the earlier one is recorded as
explanted the day the new one went in, so the dose history (kept by patient, not by pump) survives the replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.clock import utc_now
from clinic.database import Database
from clinic.errors import UnknownPatient, WrongPatient, WrongPump
from clinic.mirror import (dose_fields, doses_problem, implant_problem, mirror, mirror_id, patient_problem,
                           require_confirmed)
from clinic.models import CatheterRevisionRow, DoseRow, ImplantRow, PatientRow
from clinic.record_keys import KEY_LENGTH, record_key
from programmer.dead_volume import check_catheter_cm
from programmer.errors import InputError
from programmer.roles import Permission, User, require

DOSE_KINDS = ("program", "refill", "bolus", "prime", "bridge", "demand")


@dataclass(frozen=True)
class Patient:
    identifier: str
    name: str
    birth_date: date


@dataclass(frozen=True)
class CatheterRevision:
    revised_on: date
    catheter_cm: float
    note: str


@dataclass(frozen=True)
class Implant:
    patient_identifier: str
    pump_serial: str
    pump_model: str
    implanted_on: date
    explanted_on: date | None
    catheter_cm: float | None
    revisions: tuple[CatheterRevision, ...]

    def catheter_source(self) -> str:
        """Where the recorded catheter length comes from, in words: the latest revision that set it, else the
        implant (``the catheter revision of 2025-07-01``, ``the implant of 2025-06-01``)."""
        setting = [revision for revision in self.revisions if revision.catheter_cm == self.catheter_cm]
        return (f"the catheter revision of {setting[-1].revised_on.isoformat()}" if setting
                else f"the implant of {self.implanted_on.isoformat()}")


@dataclass(frozen=True)
class DoseEntry:
    """One verified change to a patient's therapy: a program written (its mean ``daily_dose``), a refill
    (``volume_ml`` added, ``reservoir_ml`` after), a bolus, prime or bridge (``dose``, ``volume_ml``), a demand
    dose set (``dose`` per activation). ``concentration`` is the drug's per mL; ``time`` is aware."""

    patient_identifier: str
    pump_serial: str
    session_id: str | None
    time: datetime
    kind: str
    drug: str
    dose_unit: str
    concentration: float | None
    daily_dose: float | None
    volume_ml: float | None
    dose: float | None
    reservoir_ml: float | None
    username: str
    audit_record_id: str | None


class Patients:
    def __init__(self, database: Database):
        self._database = database

    def add(self, by: User, identifier: str, name: str, birth_date: date) -> Patient:
        require(by, Permission.MANAGE_PATIENTS)
        problems = []
        if (not identifier.strip() or identifier != identifier.strip() or len(identifier) > 64
                or len(record_key(identifier)) > KEY_LENGTH):
            problems.append(("identifier", f"{identifier!r} is not an identifier: 1 to 64 characters, no spaces "
                                           "around"))
        if not name.strip() or len(name) > 256:
            problems.append(("name", "a patient's name is 1 to 256 characters"))
        if birth_date > utc_now().date():
            problems.append(("birth_date", f"{birth_date.isoformat()} is in the future"))
        if problems:
            raise InputError(problems, step="add a patient")
        with self._database.write() as session:
            existing = session.scalar(select(PatientRow.identifier)
                                      .where(PatientRow.identifier_key == record_key(identifier)))
            if existing is not None:
                raise InputError([("identifier", f"a patient with the identifier {existing!r} exists already"
                                                 + ("" if existing == identifier else f" ({identifier!r} is the same "
                                                    "identifier: case, width and spaces around are not told apart)"))],
                                 step="add a patient")
            session.add(PatientRow(identifier=identifier, identifier_key=record_key(identifier), name=name,
                                   birth_date=birth_date, created_at=utc_now(), created_by=by.username))
            try:
                session.flush()
            except IntegrityError:  # another workstation added it between the check and now
                raise InputError([("identifier", f"a patient with the identifier {identifier!r} exists already")],
                                 step="add a patient") from None
            mirror(session, "patient_added", by.username, mirror_id("patient", identifier), patient_id=identifier,
                   name=name, birth_date=birth_date)
        return Patient(identifier, name, birth_date)

    def get(self, identifier: str) -> Patient:
        """The patient, once the audit trail confirms the row (else RecordMismatch)."""
        with self._database.read() as session:
            row = _patient_row(session, identifier)
            require_confirmed("patients", patient_problem(session, row))
            return _patient(row)

    def search(self, text: str) -> list[Patient]:
        """Patients whose identifier (compared by its key, ``clinic.record_keys``) or name holds ``text``, whatever
        its case, by identifier."""
        needle = text.strip().lower()
        with self._database.read() as session:
            rows = session.scalars(select(PatientRow).where(or_(
                PatientRow.identifier_key.contains(record_key(text), autoescape=True),
                func.lower(PatientRow.name).contains(needle, autoescape=True))).order_by(PatientRow.identifier))
            return [_patient(row) for row in rows]

    def patient_for_pump(self, serial: str) -> Patient | None:
        """The patient the pump is bound to (None: bound to nobody yet); a binding the audit trail does not confirm
        raises RecordMismatch."""
        implant = self.implant_for_pump(serial)
        return None if implant is None else self.get(implant.patient_identifier)

    def implant_for_pump(self, serial: str) -> Implant | None:
        """The implant of pump ``serial`` (None: bound to nobody), once the audit trail confirms its row."""
        with self._database.read() as session:
            row = session.scalar(select(ImplantRow).where(ImplantRow.pump_serial == serial))
            if row is None:
                return None
            require_confirmed("implants", implant_problem(session, row))
            return _implant(session, row, session.get_one(PatientRow, row.patient_id).identifier)

    def bind_pump(self, by: User, identifier: str, serial: str, model: str, implanted_on: date,
                  catheter_cm: float | None, *, replaces: str | None = None) -> Implant:
        """Record pump ``serial`` as implanted in the patient (the same patient again: nothing changes). When the
        patient still has a pump implanted, ``replaces`` must name it: it is recorded as explanted on
        ``implanted_on`` (a replacement); without it, or naming another pump, WrongPump names the pump implanted.

        Raises WrongPatient for a pump bound to another patient."""
        require(by, Permission.MANAGE_PATIENTS)
        _check_catheter(catheter_cm)
        if not serial.strip() or not model.strip():
            raise InputError([("serial" if not serial.strip() else "model", "a pump's serial and model are needed")],
                             step="bind a pump")
        with self._database.write() as session:
            patient = _patient_row(session, identifier)
            require_confirmed("patients", patient_problem(session, patient))
            existing = session.scalar(select(ImplantRow).where(ImplantRow.pump_serial == serial))
            if existing is not None:
                require_confirmed("implants", implant_problem(session, existing))
                if existing.patient_id != patient.id:
                    owner = session.get_one(PatientRow, existing.patient_id)
                    raise WrongPatient(f"pump {serial} is bound to patient {owner.identifier}, not to "
                                       f"{patient.identifier}: a pump is never moved from one patient to another")
                return _implant(session, existing, patient.identifier)
            implanted = list(session.scalars(select(ImplantRow).where(ImplantRow.patient_id == patient.id,
                                                                      ImplantRow.explanted_on.is_(None))))
            serials = [earlier.pump_serial for earlier in implanted]
            if sorted(serials) != ([] if replaces is None or not implanted else [replaces]):
                if not implanted:
                    raise WrongPump(f"patient {identifier} has no pump implanted, so pump {serial} replaces none (not "
                                    f"{replaces}): bind it without naming a pump it replaces")
                raise WrongPump(f"patient {identifier} has pump {', '.join(serials)} implanted: binding pump {serial} "
                                f"records that one as explanted, so name it as the pump replaced (not "
                                f"{replaces or 'none'}); nothing was changed")
            for earlier in implanted:
                require_confirmed("implants", implant_problem(session, earlier))
                earlier.explanted_on = implanted_on
                mirror(session, "pump_explanted", by.username, mirror_id("implant-explanted", earlier.pump_serial),
                       patient=patient.identifier, pump_serial=earlier.pump_serial, explanted_on=implanted_on)
            row = ImplantRow(patient_id=patient.id, pump_serial=serial, pump_model=model, implanted_on=implanted_on,
                             explanted_on=None, catheter_cm=catheter_cm)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # another workstation bound it between the check and now
                raise InputError([("serial", f"pump {serial} was bound by another workstation at the same moment: "
                                             "read the pump again")], step="bind a pump") from None
            mirror(session, "pump_bound", by.username, mirror_id("implant", serial), patient=patient.identifier,
                   pump_serial=serial, pump_model=model, implanted_on=implanted_on, catheter_cm=catheter_cm)
            return _implant(session, row, patient.identifier)

    def revise_catheter(self, by: User, serial: str, revised_on: date, catheter_cm: float, note: str) -> Implant:
        """Record a catheter revision of the implant of pump ``serial``: its catheter is ``catheter_cm`` long now."""
        require(by, Permission.MANAGE_PATIENTS)
        _check_catheter(catheter_cm)
        with self._database.write() as session:
            row = session.scalar(select(ImplantRow).where(ImplantRow.pump_serial == serial))
            if row is None:
                raise InputError([("serial", f"no patient has the pump {serial} implanted")],
                                 step="revise a catheter")
            if revised_on < row.implanted_on:
                raise InputError([("revised_on", f"{revised_on.isoformat()} is before the pump was implanted "
                                                 f"({row.implanted_on.isoformat()})")], step="revise a catheter")
            require_confirmed("implants", implant_problem(session, row))
            revision = CatheterRevisionRow(implant_id=row.id, revised_on=revised_on, catheter_cm=catheter_cm,
                                           note=note)
            session.add(revision)
            row.catheter_cm = catheter_cm
            session.flush()
            mirror(session, "catheter_revised", by.username, mirror_id("catheter", serial, str(revision.id)),
                   pump_serial=serial, revised_on=revised_on, catheter_cm=catheter_cm, note=note)
            return _implant(session, row, session.get_one(PatientRow, row.patient_id).identifier)

    def implants(self, identifier: str) -> list[Implant]:
        """The patient's implants, the first implanted first (RecordMismatch for a row the chain does not confirm)."""
        with self._database.read() as session:
            patient = _patient_row(session, identifier)
            require_confirmed("patients", patient_problem(session, patient))
            rows = list(session.scalars(select(ImplantRow).where(ImplantRow.patient_id == patient.id)
                                        .order_by(ImplantRow.implanted_on, ImplantRow.id)))
            for row in rows:
                require_confirmed("implants", implant_problem(session, row))
            return [_implant(session, row, identifier) for row in rows]

    def record_dose(self, entry: DoseEntry) -> None:
        if entry.kind not in DOSE_KINDS:
            raise InputError([("kind", f"{entry.kind!r} is not a kind of dose entry: one of {', '.join(DOSE_KINDS)}")],
                             step="record a dose")
        with self._database.write() as session:
            patient = _patient_row(session, entry.patient_identifier)
            row = DoseRow(patient_id=patient.id, pump_serial=entry.pump_serial, session_id=entry.session_id,
                          time=entry.time, kind=entry.kind, drug=entry.drug, dose_unit=entry.dose_unit,
                          concentration=entry.concentration, daily_dose=entry.daily_dose, volume_ml=entry.volume_ml,
                          dose=entry.dose, reservoir_ml=entry.reservoir_ml, username=entry.username,
                          audit_record_id=entry.audit_record_id)
            session.add(row)
            session.flush()
            mirror(session, "dose_recorded", entry.username, mirror_id("dose", str(row.id)),
                   **dose_fields(row, patient.identifier))

    def dose_history(self, identifier: str) -> list[DoseEntry]:
        """The patient's dose history, oldest first, across every pump the patient had; an entry the audit trail
        does not confirm raises RecordMismatch (nothing is shown or compared from a history edited by hand)."""
        return self._doses(identifier, None)

    def last_program(self, identifier: str) -> DoseEntry | None:
        """The last program written to any of the patient's pumps (None: none recorded), once the audit trail
        confirms its row (else RecordMismatch: the first-program check never compares with an edited dose)."""
        found = self._doses(identifier, "program", newest_only=True)
        return found[0] if found else None

    def _doses(self, identifier: str, kind: str | None, newest_only: bool = False) -> list[DoseEntry]:
        """The patient's entries of ``kind`` (None: all), oldest first, once the audit trail confirms every row of
        the patient's (else RecordMismatch): the newest program is only the newest while none was deleted."""
        with self._database.read() as session:
            patient = _patient_row(session, identifier)
            rows = list(session.scalars(select(DoseRow).where(DoseRow.patient_id == patient.id)
                                        .order_by(DoseRow.time, DoseRow.id)))
            require_confirmed("dose_history", doses_problem(session, rows, patient.identifier))
            chosen = [row for row in rows if kind is None or row.kind == kind]
            return [DoseEntry(patient.identifier, row.pump_serial, row.session_id, row.time, row.kind, row.drug,
                              row.dose_unit, row.concentration, row.daily_dose, row.volume_ml, row.dose,
                              row.reservoir_ml, row.username, row.audit_record_id)
                    for row in (chosen[-1:] if newest_only else chosen)]


def _patient_row(session: Session, identifier: str) -> PatientRow:
    row = session.scalar(select(PatientRow).where(PatientRow.identifier_key == record_key(identifier)))
    if row is None:
        raise UnknownPatient(identifier)
    return row


def _patient(row: PatientRow) -> Patient:
    return Patient(row.identifier, row.name, row.birth_date)


def _implant(session: Session, row: ImplantRow, identifier: str) -> Implant:
    revisions = session.scalars(select(CatheterRevisionRow).where(CatheterRevisionRow.implant_id == row.id)
                                .order_by(CatheterRevisionRow.revised_on, CatheterRevisionRow.id))
    return Implant(identifier, row.pump_serial, row.pump_model, row.implanted_on, row.explanted_on, row.catheter_cm,
                   tuple(CatheterRevision(r.revised_on, r.catheter_cm, r.note) for r in revisions))


def _check_catheter(catheter_cm: float | None) -> None:
    if catheter_cm is not None:
        check_catheter_cm(catheter_cm)
