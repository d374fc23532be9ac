"""The window's side of the clinic record: the store it works on, who is signed in, the visit, and the pump read
matched to a patient. No Qt: the window asks and shows, this holds the state.

Why one object: the sign-in, the inactivity lock, the patient question and every control's enabled state all hang
on the same three facts (who, which visit, which pump for which patient), and each must change them together: a
sign-out ends the visit, a new user starts a new one, and the next reading of the pump is matched again. A visit is
with one pump: another pump read starts a new visit (``new_visit``) for the same person, matched afresh.

The methods that call the store (``open``, ``sign_in``, ``new_visit``, ``see_pump``, ``choose_patient``, ``end``)
are run by the window in its clinic thread (``ui.background``, one call after another), never on the GUI thread:
opening a store imports SQLAlchemy and may wait for a server, and binding a pump takes tens of milliseconds (the Which
patient? dialog, ``ui.patient_match``, searches and binds through the same thread). While such a call runs,
``waiting`` says what for, and every change to the pump is refused with it (``access``). The audit records of a change
are appended in the link's thread, by the visit's ``JournaledAudit``.

A pump read that the record binds to a patient is not enough to change it: the patient in front of the clinician is
confirmed first, once a visit, by the date of birth they give (``confirm_patient``, ``ui.view_models.identification``),
or turned down (``not_this_patient``), which stops every change for the rest of the visit. Choosing the patient in
"Which patient?" is the identification itself. Each answer is audited through the visit's ``JournaledAudit``.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from clinic.pump_match import PumpMatch
from programmer.roles import User
from ui.view_models.access import Access, no_patient_stop, wrong_patient_stop
from ui.view_models.identification import (MAX_WRONG_DATES, Identification, not_confirmed_stop,
                                           unconfirmed_refusal)

if TYPE_CHECKING:
    from clinic.patients import Implant, Patient
    from clinic.prime_catheter import RecordedCatheter
    from clinic.store import Store
    from clinic.visit import Visit

Opener = Callable[[], "tuple[Store, User | None]"]
"""Opens the store (in the clinic thread), and says who is signed in on it already (the demo's clinician), if anyone."""


@dataclass(frozen=True)
class PumpSeen:
    """The pump last read, and what the store says of it for this visit."""

    serial: str
    model: str
    catheter_cm: float | None
    match: PumpMatch
    owner: Patient | None
    """The patient it is bound to (this visit's when ``match`` is BOUND; another's when OTHER_PATIENT)."""
    explanted_on: date | None = None
    """When the pump was recorded as explanted (replaced): a hard stop, whoever's it was."""


class ClinicSession:
    """The store, the signed-in user and the visit. ``store``: an open store, or None with ``opener``, which ``open``
    calls (the window does, in its clinic thread, once it shows). ``new_pumps_patient``: the demo's (and the tests')
    patient an unknown pump is bound to as a new implant without asking; None asks "Which patient?" (the clinic's
    case). ``throwaway``: the demo store's directory, deleted by ``end`` with the store in it."""

    def __init__(self, store: Store | None, journal: Path, *, new_pumps_patient: str | None = None, demo: bool = False,
                 workstation: str | None = None, throwaway: tempfile.TemporaryDirectory | None = None,
                 opener: Opener | None = None):
        assert (store is None) != (opener is None), "an open store, or how to open one"
        self.store = store
        self.opener = opener
        self.waiting: str | None = None
        """What the clinic thread is doing for the window (opening the record, matching a pump), while it is: set and
        cleared on the GUI thread by the window, which refuses every change to the pump meanwhile."""
        self.first_admin = False
        """True when the store opened has nobody in it yet: the sign-in dialog creates the first administrator."""
        self.throwaway = throwaway
        self.journal = Path(journal)
        self.new_pumps_patient = new_pumps_patient
        self.demo = demo
        self.workstation = workstation or socket.gethostname()
        self.user: User | None = None
        self.visit: Visit | None = None
        self.pump: PumpSeen | None = None
        self._identification: Identification | None = None
        """The latest visit's confirmation of its patient (``identification``: a visit's own, or a fresh one)."""

    def open(self) -> None:
        """Open the store with ``opener`` unless it is open (a StoreError when it cannot be), sign in whoever it says is
        signed in, and learn whether it has anybody in it (``first_admin``)."""
        if self.store is None:
            assert self.opener is not None, "a store, or how to open one"
            store, user = self.opener()
            self.store = store
            if user is not None:
                self.sign_in(user)
        self.first_admin = self.user is None and self.store.users.count() == 0

    def sign_in(self, user: User) -> None:
        """Start a visit for ``user`` (ending any other one), and match the pump read so far again for it; the same
        person signing in after ``lock`` goes on with the visit they had."""
        if self.visit is not None and self.visit.user.username == user.username:
            self.user = user
            return
        from clinic.visit import Visit  # in the clinic thread: the GUI thread does not wait for the store's modules

        assert self.store is not None, "a user signs in on an open store"
        if self.visit is not None:
            self.visit.end()
        visit = Visit(self.store, user, self.journal, self.workstation)
        self.visit, self.user, self.first_admin = visit, user, False
        if self.pump is not None:
            self.see_pump(self.pump.serial, self.pump.model, self.pump.catheter_cm)

    def lock(self) -> None:
        """Nobody is signed in until ``sign_in``; the visit waits for its user to come back."""
        self.user = None

    def sign_out(self) -> None:
        """End the visit: nothing more is done in its name."""
        if self.visit is not None:
            self.visit.end()
        self.user = None
        self.visit = None

    def end(self) -> None:
        """The window closes: the visit ends and the store is closed (a throwaway, the demo's, deleted)."""
        self.sign_out()
        if self.store is not None:
            self.store.close()
        if self.throwaway is not None:
            self.throwaway.cleanup()
            self.throwaway = None

    def new_visit(self, serial: str, model: str, catheter_cm: float | None) -> str | None:
        """End the visit (its session closed in the store, as a sign-out does) and start another for the signed-in
        user with pump ``serial``, matched afresh (``see_pump``); returns the ended visit's session id (None: there
        was none)."""
        from clinic.visit import Visit  # in the clinic thread, as ``sign_in``

        assert self.store is not None and self.user is not None, "a visit is started for someone signed in"
        ended = None
        if self.visit is not None:
            ended = self.visit.session_id
            self.visit.end()
        self.visit = Visit(self.store, self.user, self.journal, self.workstation)
        self.pump = None
        self.see_pump(serial, model, catheter_cm)
        return ended

    def see_pump(self, serial: str, model: str, catheter_cm: float | None) -> PumpSeen:
        """Match a pump just read to a patient: an unknown pump is bound to ``new_pumps_patient`` when there is one,
        else it waits for ``choose_patient``."""
        if self.visit is None:
            self.pump = PumpSeen(serial, model, catheter_cm, PumpMatch.UNKNOWN, None)
            return self.pump
        match, owner = self.visit.match_pump(serial)
        if match is PumpMatch.UNKNOWN and self.new_pumps_patient is not None:
            owner = self.visit.choose_patient(self.new_pumps_patient, serial, model, catheter_cm=catheter_cm,
                                              replaces=self._implanted_pump(self.new_pumps_patient))
            match = PumpMatch.BOUND
        assert self.store is not None, "a pump is matched on an open store"
        implant = self.store.patients.implant_for_pump(serial) if match is PumpMatch.BOUND else None
        explanted_on = None if implant is None else implant.explanted_on
        self.pump = PumpSeen(serial, model, catheter_cm, match, owner, explanted_on)
        return self.pump

    def _implanted_pump(self, identifier: str) -> str | None:
        """The pump ``identifier`` has implanted now, if any: the one a pump bound by ``new_pumps_patient`` replaces
        (a binding configured for the demo and the tests, so it names the replaced pump itself)."""
        assert self.store is not None, "a pump is matched on an open store"
        implanted = implanted_pump(self.store.patients.implants(identifier))
        return None if implanted is None else implanted.pump_serial

    def choose_patient(self, identifier: str, replaces: str | None = None) -> Patient:
        """The answer to "Which patient?" for the pump read: binds it to that patient as an implant from today,
        ``replaces`` naming the patient's implanted pump it replaces (recorded as explanted today)."""
        assert self.visit is not None and self.pump is not None, "asked only for a pump read in a visit"
        pump = self.pump
        patient = self.visit.choose_patient(identifier, pump.serial, pump.model, catheter_cm=pump.catheter_cm,
                                            replaces=replaces)
        self._identification = Identification(self.visit.session_id, confirmed=True)  # the choice identifies them
        self.pump = PumpSeen(pump.serial, pump.model, pump.catheter_cm, PumpMatch.BOUND, patient)
        return patient

    @property
    def identification(self) -> Identification | None:
        """This visit's confirmation of its patient (None: no visit)."""
        if self.visit is None:
            return None
        known = self._identification
        return known if known is not None and known.session_id == self.visit.session_id \
            else Identification(self.visit.session_id)

    def to_confirm(self) -> Patient | None:
        """The patient to confirm for the pump read: the visit's, when the pump is bound to them, may be changed as
        the record says, and this visit has not confirmed them yet nor stopped (None: nothing to ask)."""
        pump, identification = self.pump, self.identification
        if (pump is None or pump.match is not PumpMatch.BOUND or pump.explanted_on is not None
                or identification is None or identification.answered):
            return None
        return self.patient

    def confirm_patient(self, born: date) -> Identification:
        """The date of birth the patient gave, against the record's, in the clinic thread. A match is audited
        (``patient_confirmed``) before the visit takes it: an audit that fails confirms nothing. A wrong date counts
        before it is audited (``patient_confirm_mismatch``; at the last one allowed, ``patient_not_confirmed``
        too), so a failing audit never buys another try."""
        patient = self.to_confirm()
        identification = self.identification
        assert patient is not None and identification is not None, "asked only while there is one to confirm"
        after = identification.given(born, patient.birth_date)
        if after.confirmed:
            self._audit_identification("patient_confirmed", f"{_named(patient)} confirmed by the date of birth given")
            self._identification = after
            return after
        self._identification = after
        self._audit_identification("patient_confirm_mismatch", f"the date of birth given did not match "
                                   f"{_named(patient)}'s ({after.wrong_dates} of {MAX_WRONG_DATES} allowed)")
        if after.refused is not None:
            self._audit_identification("patient_not_confirmed", self.pump_stop() or "")
        return after

    def not_this_patient(self) -> Identification:
        """The clinician said the patient in front of them is not the one the pump is recorded for: every change is
        stopped for the rest of the visit, before it is audited (``patient_not_confirmed``): a failed audit does not
        lift the stop, and asking again writes the record again."""
        identification = self.identification
        assert identification is not None and not identification.confirmed, "asked only while unconfirmed"
        stopped = identification if identification.refused is not None else identification.not_this_patient()
        self._identification = stopped
        self._audit_identification("patient_not_confirmed", self.pump_stop() or "")
        return stopped

    def _audit_identification(self, action: str, message: str) -> None:
        """One record of the patient's confirmation, through the visit's journaled audit (journal, then store), in the
        name of the visit's user (who answered, even if the window has locked since)."""
        assert self.visit is not None and self.pump is not None, "in a visit, of a pump"
        from programmer.audit_record import user_fields  # here: the window's modules import none of the domain

        self.visit.audit.append({"time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                                 "action": action, "event": "identification", **user_fields(self.visit.user),
                                 "pump_serial": self.pump.serial, "pump_model": self.pump.model, "message": message})

    @property
    def patient(self) -> Patient | None:
        """This visit's patient, once the pump read is bound to them."""
        return None if self.visit is None else self.visit.patient

    def recorded_catheter(self) -> RecordedCatheter | None:
        """The catheter length the clinic recorded for the pump read, when it is this visit's patient's (None: no
        pump, no patient, or no length recorded); in the clinic thread."""
        if self.store is None or self.pump is None or self.patient is None:
            return None  # nothing to read: in particular nobody signed in, when the store may not be open
        from clinic.prime_catheter import recorded_catheter

        return recorded_catheter(self.store.patients, self.patient, self.pump.serial)

    def access(self, insecure_link: bool = False) -> Access:
        """What the signed-in user may do on the pump read, for the window's controls; ``insecure_link``: a change
        would be sent over a link that is not encrypted."""
        if self.waiting is not None:
            waiting = f"{self.waiting}: wait for it before changing anything on the pump."
            return Access(self.user, waiting, insecure_link)
        return Access(self.user, self.pump_stop(), insecure_link)

    def pump_stop(self) -> str | None:
        """Why nothing may be changed on the pump read, as the record says (None: nothing stops it): another
        patient's, not this visit's, bound to nobody yet, or explanted."""
        pump = self.pump
        stop = None
        visit_patient = self.patient
        another_patients = pump is not None and pump.owner is not None and pump.owner != visit_patient
        if pump is not None and (pump.match is PumpMatch.OTHER_PATIENT
                                 or (pump.match is PumpMatch.OTHER_PUMP and another_patients)):
            stop = wrong_patient_stop(pump.serial, _named(pump.owner),
                                      None if visit_patient is None else _named(visit_patient))
        elif pump is not None and pump.match is PumpMatch.OTHER_PUMP:
            visit_pump = None if self.visit is None else self.visit.pump_serial
            stop = (f"STOP: this visit is with pump serial {visit_pump}, not pump serial {pump.serial}. Nothing may be "
                    "changed on it from this visit: read the pump again (Interrogate again, F5) to end this visit and "
                    "start one with it.")
        elif pump is not None and pump.match is PumpMatch.UNKNOWN:
            stop = no_patient_stop(pump.serial)
        elif pump is not None and pump.explanted_on is not None:
            stop = (f"STOP: pump serial {pump.serial} was recorded as explanted on {pump.explanted_on.isoformat()}, "
                    f"when a new pump replaced it in {_named(pump.owner)}. Nothing is sent to an explanted pump: "
                    "check the pump.")
        elif pump is not None and visit_patient is not None:
            stop = self.identification_stop()
        return stop

    def identification_stop(self) -> str | None:
        """Why nothing may be changed on the pump read while its patient is not confirmed in this visit: not yet
        (confirm first), or not at all (a stop); None once confirmed, or when there is no patient to confirm."""
        pump, patient, identification = self.pump, self.patient, self.identification
        if pump is None or patient is None or identification is None or pump.match is not PumpMatch.BOUND:
            return None
        if identification.refused is not None:
            return not_confirmed_stop(pump.serial, _named(patient), identification.refused)
        return None if identification.confirmed else unconfirmed_refusal(pump.serial, _named(patient))


def implanted_pump(implants: list[Implant]) -> Implant | None:
    """The pump a patient has implanted now (the newest not explanted): the one a new pump of theirs replaces."""
    implanted = [implant for implant in implants if implant.explanted_on is None]
    return implanted[-1] if implanted else None


def _named(patient: Patient | None) -> str:
    return "another patient" if patient is None else f"{patient.name} ({patient.identifier})"
