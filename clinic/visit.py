"""One signed-in user's visit to one pump: its session, its patient, its audit log, and the hard stop.

Why a visit holds the patient: the pump's serial is matched to a patient when it is first read, and every change
afterwards is checked against that match before anything is sent (``require_change_allowed``, which the visit's
``JournaledAudit`` calls at every attempt). A pump bound to another patient, or one no patient was chosen for, is a
hard stop: no front end, option or override goes past it. Verified changes become the patient's dose history.
"""

from __future__ import annotations

import socket
from datetime import date, datetime, timezone
from pathlib import Path

from clinic.errors import UnknownPump, WrongPatient, WrongPump
from clinic.journaled_audit import JournaledAudit
from clinic.patients import DoseEntry, Patient
from clinic.pump_match import PumpMatch
from clinic.store import Store
from programmer.bolus import BolusReview, BridgeReview, DemandReview, PrimeReview
from programmer.commit import SessionResult
from programmer.errors import PermissionRefused
from programmer.outcome import Outcome
from programmer.planner import mean_daily_dose
from programmer.program import Drug
from programmer.refill import RefillReview
from programmer.review import WriteReview
from programmer.roles import User


class Visit:
    """A visit: reconciles the audit journal into the store first (records a failed store left behind), then starts
    a session, or continues ``session_id`` (the same user's: several commands of one visit), with its patient."""

    def __init__(self, store: Store, user: User, journal: Path, workstation: str = socket.gethostname(), *,
                 session_id: str | None = None):
        self.store = store
        self.user = user
        self.patient: Patient | None = None
        self.pump_serial: str | None = None
        """The visit's pump, once one was matched: a visit is with one pump (another is refused, WrongPump)."""
        store.audit.reconcile(journal, by=user)
        if session_id is None:
            self.session_id = store.sessions.start(user, workstation)
        else:
            info = store.sessions.get(session_id)
            if info.username != user.username:
                raise PermissionRefused(f"session {session_id} is {info.username}'s: {user.username} starts a session "
                                        "of their own", step="continue a session")
            self.session_id = session_id
            self.pump_serial = info.pump_serial
            if info.patient_identifier is not None:
                self.patient = store.patients.get(info.patient_identifier)
        self.audit = JournaledAudit(journal, store, self)

    def match_pump(self, serial: str) -> tuple[PumpMatch, Patient | None]:
        """Which patient the pump is bound to, and whether that is this visit's (it becomes so if none is yet).
        OTHER_PUMP when the visit is with another pump: nothing changes, and every change to it is refused."""
        bound = self.store.patients.patient_for_pump(serial)
        if self.pump_serial is not None and serial != self.pump_serial:
            return PumpMatch.OTHER_PUMP, bound
        if bound is None:
            return PumpMatch.UNKNOWN, None
        if self.patient is not None and self.patient != bound:
            return PumpMatch.OTHER_PATIENT, bound
        self._set_patient(bound, serial)
        return PumpMatch.BOUND, bound

    def choose_patient(self, identifier: str, serial: str, model: str, *, implanted_on: date | None = None,
                       catheter_cm: float | None = None, replaces: str | None = None) -> Patient:
        """Make ``identifier`` this visit's patient for pump ``serial``: a pump bound to nobody is bound to the
        patient as a new implant (``implanted_on`` today unless given; a patient with a pump still implanted needs
        ``replaces`` naming it). Raises WrongPatient for a pump bound to another patient, or when the visit already
        has another patient; WrongPump when the visit is with another pump or ``replaces`` is not the one
        implanted."""
        self._require_visit_pump(serial)
        patient = self.store.patients.get(identifier)
        if self.patient is not None and self.patient != patient:
            raise WrongPatient(f"this visit is for patient {self.patient.identifier}: patient {identifier} needs a "
                               "visit of their own")
        bound = self.store.patients.patient_for_pump(serial)
        if bound is None:
            self.store.patients.bind_pump(self.user, identifier, serial, model,
                                          implanted_on or datetime.now().date(), catheter_cm, replaces=replaces)
        elif bound != patient:
            raise WrongPatient(f"pump {serial} is bound to patient {bound.identifier}, not to {identifier}: nothing "
                               "may be changed on it in this patient's visit")
        self._set_patient(patient, serial)
        return patient

    def require_change_allowed(self, serial: str) -> None:
        """Raises (kind refused) unless pump ``serial`` is bound to this visit's patient: UnknownPump when no patient
        was chosen or the pump is bound to nobody, WrongPatient when it is bound to another patient, WrongPump when
        the visit is with another pump or the pump was explanted."""
        self._require_visit_pump(serial)
        implant = self.store.patients.implant_for_pump(serial) if serial else None
        if implant is not None and implant.explanted_on is not None:
            raise WrongPump(f"pump {serial} was recorded as explanted on {implant.explanted_on.isoformat()}: nothing "
                            "is sent to an explanted pump")
        bound = None if implant is None else self.store.patients.get(implant.patient_identifier)
        if self.patient is None or bound is None:
            if bound is not None:
                raise UnknownPump(f"pump {serial} is bound to a patient, and no patient was chosen for this visit: say "
                                  "whose pump it is (--patient ID, or the application's Which patient? question)")
            raise UnknownPump(f"pump {serial or '(no serial)'} is not bound to any patient: say whose pump it is "
                              "(--patient ID, or the application's Which patient? question) before changing it")
        if bound != self.patient:
            raise WrongPatient(f"pump {serial} is bound to patient {bound.identifier}, not to "
                               f"{self.patient.identifier}, this visit's patient: nothing is sent to it")

    def record(self, result: SessionResult) -> None:
        """Add a verified write, refill, bolus, prime, bridge or demand dose to the patient's dose history."""
        if result.outcome is not Outcome.VERIFIED or self.patient is None:
            return
        entry = _dose_entry(result)
        if entry is None:
            return
        kind, drug, figures = entry
        self.store.patients.record_dose(DoseEntry(
            self.patient.identifier, result.review.snapshot.identity.serial, self.session_id,
            datetime.now(timezone.utc), kind, drug.name, drug.dose_unit, drug.concentration_per_ml,
            figures.get("daily_dose"), figures.get("volume_ml"), figures.get("dose"), figures.get("reservoir_ml"),
            self.user.username, self.audit.last_outcome_id))

    def end(self) -> None:
        self.store.sessions.end(self.session_id)

    def _require_visit_pump(self, serial: str) -> None:
        if self.pump_serial is not None and serial != self.pump_serial:
            raise WrongPump(f"this visit is with pump {self.pump_serial}, not {serial or '(no serial)'}: another pump "
                            "needs a visit of its own; nothing is sent to it")

    def _set_patient(self, patient: Patient, serial: str) -> None:
        self.store.sessions.attach(self.session_id, patient.identifier, serial)
        self.patient = patient
        self.pump_serial = serial


def _dose_entry(result: SessionResult) -> tuple[str, Drug, dict[str, float | None]] | None:
    """The dose history's kind, drug and figures of a verified result (None: a change that is no dose, or no drug)."""
    review = result.review
    drug = review.snapshot.active.drug
    reservoir = review.snapshot.status.volume_ml
    if isinstance(review, WriteReview):
        return "program", review.program.drug, {"daily_dose": mean_daily_dose(review.program),
                                                "reservoir_ml": reservoir}
    if isinstance(review, RefillReview):
        refilled = review.new_drug or drug
        return None if refilled is None else ("refill", refilled, {
            "volume_ml": review.request.added_ml,
            "daily_dose": None if review.program is None else mean_daily_dose(review.program),
            "reservoir_ml": None if result.refill is None else result.refill.volume_ml})
    if drug is None:
        return None
    if isinstance(review, BolusReview):
        return "bolus", drug, {"dose": review.dose, "volume_ml": review.volume_ml, "reservoir_ml": reservoir}
    if isinstance(review, PrimeReview):
        return "prime", drug, {"dose": review.dose, "volume_ml": review.volume_ml, "reservoir_ml": reservoir}
    if isinstance(review, BridgeReview):
        return "bridge", drug, {"dose": review.dose, "volume_ml": review.volume_ml, "reservoir_ml": reservoir}
    if isinstance(review, DemandReview):
        return "demand", drug, {"dose": review.demand.dose}
    return None
