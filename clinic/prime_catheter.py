"""The catheter length a prime goes by: the one the clinic recorded for the pump, when the pump is the visit's
patient's.

Why from the record: a prime's volume is the pump's tubing plus the catheter at its volume per cm, so the length is a
dose decision; typed again at each prime it is one more chance of a slip, while the record is what the implant and
its revisions set (``Patients.revise_catheter``) and what the session report prints. So a length given that differs
from the record is refused, not sent: the record is revised first, and every later prime and bridge goes by it. A
pump bound to nobody, or whose record holds no length, needs the length given, as before the record kept one. Each
front end says where the length came from and words the refusal its own way (``CatheterMismatch`` carries both
lengths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clinic.errors import CatheterMismatch
from clinic.patients import Patient, Patients


@dataclass(frozen=True)
class RecordedCatheter:
    serial: str
    patient: str
    cm: float
    source: str
    """Where the length comes from: ``the catheter revision of 2026-12-04``, ``the implant of 2025-06-01``."""

    def __str__(self) -> str:
        return f"{self.cm:g} cm, from {self.source}"


def recorded_catheter(patients: Patients, visit_patient: Patient | None, serial: str) -> RecordedCatheter | None:
    """The length recorded for pump ``serial`` when it is implanted in ``visit_patient`` (None: bound to nobody or to
    another patient, no patient chosen, or no length recorded)."""
    implant = patients.implant_for_pump(serial)
    if (implant is None or implant.catheter_cm is None or visit_patient is None
            or implant.patient_identifier != visit_patient.identifier):
        return None
    return RecordedCatheter(serial, implant.patient_identifier, implant.catheter_cm, implant.catheter_source())


def prime_length(recorded: RecordedCatheter | None, given: float | None) -> float | None:
    """The catheter length to prime with: the recorded one when none is given or the one given is the same, the one
    given when none is recorded; None when neither (the front end asks for it). Raises CatheterMismatch when the one
    given is not the one recorded."""
    if recorded is None:
        return given
    if given is not None and not math.isclose(given, recorded.cm, rel_tol=1e-9):
        raise CatheterMismatch(recorded.serial, recorded.patient, str(recorded), given)
    return recorded.cm
