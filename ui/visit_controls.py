"""The window's clinic side: who is signed in (and the lock after inactivity), which patient the pump read belongs
to (and the question when nobody knows, the hard stop when it is another patient's), and which controls the
signed-in role and that patient allow.

Why apart from ``ui.main_window``: the window routes the pump's requests and answers; this routes the clinic's
facts (``ui.clinic_session``) to the same screens. The window tells it when a pump was read (``pump_read``) and asks
it for the visit to change a pump in (``visit_for_change``); it tells the window's pages what they may offer
(``apply_access``). The core refuses every one of these anyway: the controls only say it first. The one refusal the
core does not know is the window's own: a pump bound to a patient waits until the patient in front of the clinician is
confirmed ("Confirm the patient", ``ui.patient_confirm``), so ``visit_for_change`` refuses every change until then.

Every call to the clinic's store is made in ``calls``, a thread of its own (``ui.background``), one after another,
never on the GUI thread: the store opens after the window shows ("Opening the clinic record"), and until a call has
answered, what depends on it waits (the lock page, and every change refused with what the record is doing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from clinic.pump_match import PumpMatch
from programmer.errors import ProgrammerError
from programmer.roles import Permission, User
from ui.app_log import log
from ui.background import Background
from ui.clinic_session import ClinicSession
from ui.demo_clinic import DEMO_CONFIRM_NOTE, DEMO_SIGN_IN_NOTE
from ui.inactivity import InactivityWatch
from ui.patient_confirm import PatientConfirmDialog
from ui.patient_match import PatientMatchDialog
from ui.patient_strip import PatientStrip
from ui.report_action import REPORT_TEXT
from ui.view_models.access import Access
from ui.view_models.identification import unconfirmed_strip
from ui.sign_in import SignInDialog
from ui.widgets import WrappedText, heading

if TYPE_CHECKING:
    from programmer.snapshot import PumpSnapshot
    from clinic.prime_catheter import RecordedCatheter
    from clinic.visit import Visit
    from ui.main_window import MainWindow

LOCKED_TITLE = "Signed out"
SIGNED_OUT_NOTE = "Signed out after {minutes} without input: sign in to go on."
DISCARDED_NOTE = ("The change {name} was editing had not been written: it was discarded when {other} signed in. The "
                  "pump runs what it ran.")
KEPT_NOTE = "Signed in again: the change you were editing is kept, not written."
NEW_VISIT_TITLE = "Another pump: a new visit."
NEW_VISIT_NOTE = ("A new visit, with pump serial {serial}: the visit with pump serial {before} ended (its session "
                  "{session}, whose report is in the clinic's record).")
DISCARDED_CHANGE_NOTE = " The change being edited for pump serial {before} had not been written: it was discarded."
STARTING_NEW_VISIT = "Starting a visit with pump serial {serial}"
OPENING = "Opening the clinic record"
OPEN_FAILED_NOTE = ("The clinic's record could not be opened, so nothing can be changed on a pump: every change is "
                    "tied to a signed-in user and a patient. {error}")
STARTING_VISIT = "Starting the visit"
LOOKING_UP = "Looking pump serial {serial} up in the clinic record"
READ_FAILED = "The clinic's record could not be read."
REFUSED_PROPERTY = "ordinary_tool_tip"
"""Where a control keeps its own tooltip while it shows why it is off."""


def refuse(control: QWidget | QAction, reason: str | None) -> None:
    """Enable ``control``, or disable it with ``reason`` as its tooltip (its own tooltip back once enabled)."""
    ordinary = control.property(REFUSED_PROPERTY)
    if ordinary is None:
        ordinary = control.toolTip()
        control.setProperty(REFUSED_PROPERTY, ordinary)
    control.setEnabled(reason is None)
    control.setToolTip(ordinary if reason is None else reason)
    if isinstance(control, QAction):
        control.setStatusTip("" if reason is None else reason)


def said(error: Exception) -> str:
    """What a store call that failed says: the record's own words; anything else is a bug, for the crash handler."""
    if not isinstance(error, ProgrammerError):
        raise error
    return str(error)


def _minutes(ms: int) -> str:
    minutes = ms / 60_000
    if minutes >= 1:
        return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    return f"{ms / 1000:g} seconds"


class VisitControls(QObject):
    """Built by the window with its ``clinic``; ``sign_out_ms``: the wait without input before the lock.
    ``record_failed(exception)``: the store could not be opened (the window stays locked, saying why)."""

    record_failed = Signal(object)

    def __init__(self, window: MainWindow, clinic: ClinicSession, sign_out_ms: int):
        super().__init__(window)
        self.window = window
        self.clinic = clinic
        self.calls = Background(self, "clinic record")
        self.strip = PatientStrip()
        self.sign_in_dialog: SignInDialog | None = None
        self.patient_dialog: PatientMatchDialog | None = None
        self.confirm_dialog: PatientConfirmDialog | None = None
        self._closing = False
        """True once the window closes: a dialog closed with it has nothing more to show."""
        self.locked_user: User | None = None
        """Who was signed in when the window locked: the same person signing in again keeps the unwritten change."""
        self._matching: str | None = None
        """The serial of the pump being matched to a patient in the clinic thread, while it is."""
        self.record_error: Exception | None = None
        """Why the store could not be opened, once it could not."""
        self._to_open = False
        """True from ``start`` until ``open_record`` when the store is to be opened."""
        self.lock_page = QWidget()
        layout = QVBoxLayout(self.lock_page)
        layout.addStretch(1)
        layout.addWidget(heading(LOCKED_TITLE), 0, Qt.AlignmentFlag.AlignHCenter)
        self.lock_text = WrappedText("Nobody is signed in.")
        self.lock_text.setAccessibleName("Locked")
        self.lock_text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.lock_text)
        self.sign_in_button = QPushButton("Sign in\u2026")
        self.sign_in_button.clicked.connect(lambda: self.open_sign_in())
        layout.addWidget(self.sign_in_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.inactivity = InactivityWatch(sign_out_ms, self)
        self.inactivity.timed_out.connect(self.sign_out_for_inactivity)

    # --- signing in and out -------------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self.clinic.user is None

    def store_call(self, waiting: str | None, call: Callable[[], object], done: Callable[[object], None],
                   failed: Callable[[Exception], None]) -> None:
        """Run ``call`` (which uses the store) in the clinic thread, after those before it; ``done(result)`` or
        ``failed(exception)`` on the GUI thread. ``waiting``: what it does, said on every change control until the
        calls have answered (None: a read nothing waits for)."""
        if waiting is not None:
            self.clinic.waiting = waiting
            self.apply_access()

        def answered(then: Callable, value) -> None:
            if not self.calls.busy:
                self.clinic.waiting = None
            then(value)
        self.calls.run(call, lambda result: answered(done, result), lambda error: answered(failed, error))

    @property
    def ready(self) -> bool:
        """True once the store is open and no call to it is pending: what the window shows is what it holds."""
        return self.clinic.store is not None and not self.calls.busy

    def start(self) -> None:
        """At the window's first showing: signed in already on an open store (a test), or locked, saying that the
        record is being opened, until ``open_record`` has opened it and someone is signed in (the demo's clinician, or
        whoever the dialog signs in)."""
        if self.clinic.store is not None and self.clinic.user is not None:
            self._opened()
            return
        self._lock(f"{OPENING}\u2026")
        self.sign_in_button.setEnabled(False)
        self._to_open = True

    def open_record(self) -> None:
        """Open the store in the clinic thread, if ``start`` left it to open. The window calls it once its pages are
        built: the opening's Python (SQLAlchemy's import, the schema's check, the demo's record) and the pages' build
        share one interpreter lock, so done together a step of the GUI thread's own 25 ms of work took 60 to 140 ms
        (``benchmarks/gui_stalls.py``); done one after the other, neither waits for the other, and the record was
        ready no later. Nobody can use a page before the record is open and someone is signed in."""
        if self._to_open:
            self._to_open = False
            self.store_call(OPENING, self.clinic.open, lambda _none: self._opened(), self._open_failed)

    def _opened(self) -> None:
        assert self.clinic.store is not None, "opened"
        if self.window.built("audit"):  # else it is given the store when built
            self.window.audit.set_trail(self.clinic.store.audit)
        self.sign_in_button.setEnabled(True)
        if self.clinic.user is None:
            self._lock("Sign in to use the programmer.")
            self.open_sign_in()
        else:
            self._unlock()

    def _open_failed(self, error: Exception) -> None:
        log.error("the clinic's record cannot be opened: %s", error)
        self.record_error = error
        self.lock_text.setText(OPEN_FAILED_NOTE.format(error=error))
        self.record_failed.emit(error)

    def open_sign_in(self, note: str = "") -> None:
        if self.clinic.store is None:
            return  # not open (yet): the lock page says why
        if self.sign_in_dialog is not None:
            self.sign_in_dialog.raise_()
            return
        username = "" if self.locked_user is None else self.locked_user.username
        note = note or self.lock_text.text()
        if self.clinic.demo:
            note = f"{note} {DEMO_SIGN_IN_NOTE}"
        dialog = SignInDialog(self.clinic.store.users, self.window, note, username, self.clinic.first_admin)
        dialog.signed_in.connect(self.signed_in)
        dialog.finished.connect(self._sign_in_closed)
        self.sign_in_dialog = dialog
        dialog.open()

    def _sign_in_closed(self) -> None:
        dialog, self.sign_in_dialog = self.sign_in_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def sign_out_for_inactivity(self) -> None:
        self.sign_out(SIGNED_OUT_NOTE.format(minutes=_minutes(self.inactivity.timeout_ms)))

    def sign_out(self, note: str = "Sign in to go on.") -> None:
        """Lock the window: nothing is shown or changed until someone signs in. The visit stays open for the same
        person; a running write is never cut (the link goes on, its result is shown after the sign-in)."""
        if self.locked:
            return
        log.info("signed out (%s)", "inactivity" if note.startswith("Signed out after") else "asked")
        self.locked_user = self.clinic.user
        self.clinic.lock()
        if self.confirm_dialog is not None:
            self.confirm_dialog.reject()  # not over the lock: asked again at the sign-in if still unanswered
        self._lock(note)
        self.open_sign_in(note)

    def signed_in(self, user: User) -> None:
        """Unlock for ``user``: the same person as before the lock keeps the visit and an unwritten change; anyone
        else starts a visit of their own, and the change is discarded, with a note."""
        window = self.window
        before = self.locked_user
        same = before is not None and before.username == user.username
        note = ""
        if before is not None and not same and window.unwritten_change():
            window.discard_change()
            note = DISCARDED_NOTE.format(name=before.display_name, other=user.display_name)
        elif same and window.unwritten_change():
            note = KEPT_NOTE
        self.lock_text.setText(f"{STARTING_VISIT}\u2026")
        self.store_call(STARTING_VISIT, lambda: self.clinic.sign_in(user),
                        lambda _none: self._visit_started(user, note),
                        lambda error: self._lock(f"Not signed in: {said(error)}"))

    def _visit_started(self, user: User, note: str) -> None:
        same = note == KEPT_NOTE
        log.info("signed in as a %s", user.role.value)  # no name in the application's log
        self.locked_user = None
        self._unlock()
        if note:
            self.window.banner.show_message("info" if same else "warning", "Signed in.", note)

    def _lock(self, note: str) -> None:
        self.inactivity.disarm()
        self.lock_text.setText(note)
        self.window.show_locked(True)
        self.apply_access()

    def _unlock(self) -> None:
        self.window.show_locked(False)
        self.inactivity.arm()
        self.show_pump()
        self.apply_access()
        self.ask_to_confirm()

    # --- the pump and its patient -----------------------------------------------------------------------------

    def pump_read(self, snapshot: PumpSnapshot, may_start_visit: bool = True) -> None:
        """Match the pump just read to a patient when it is not the one matched already (in the clinic thread); an
        unknown pump asks "Which patient?" (unless the demo binds it), another patient's stops every change. Another
        pump than the visit's ends the visit and starts a new one, matched afresh, and the banner says so; unless
        nobody is signed in or ``may_start_visit`` is False (a reading taken after a change): then it is a stop."""
        identity = snapshot.identity
        if self._matching == identity.serial:
            return
        seen, visit = self.clinic.pump, self.clinic.visit
        another = visit is not None and visit.pump_serial is not None and visit.pump_serial != identity.serial
        if not (another and may_start_visit and not self.locked) and seen is not None \
                and seen.serial == identity.serial and seen.match is not PumpMatch.OTHER_PUMP:
            return
        line = snapshot.status.line
        catheter_cm = None if line is None else line.catheter_cm
        self._matching = identity.serial
        if seen is None or seen.serial != identity.serial:
            for dialog in (self.patient_dialog, self.confirm_dialog):
                if dialog is not None:
                    dialog.reject()  # it asked about the pump read before: its answer is not this pump's
        if another and may_start_visit and not self.locked:
            self._new_visit(identity.serial, identity.model, catheter_cm)
            return
        self.store_call(LOOKING_UP.format(serial=identity.serial),
                        lambda: self.clinic.see_pump(identity.serial, identity.model, catheter_cm),
                        lambda _seen: self._pump_matched(), self._match_failed)

    def _new_visit(self, serial: str, model: str, catheter_cm: float | None) -> None:
        """End the visit with the pump read before and start one with pump ``serial``; an unwritten change of the
        visit ended is discarded (the Connect page asked first when it could), and the banner says so."""
        window, clinic = self.window, self.clinic
        assert clinic.visit is not None, "a visit to end"
        before = clinic.visit.pump_serial
        discarded = window.unwritten_change()
        if discarded:
            window.discard_change()
        log.info("a new visit for another pump")  # no serial, no name in the application's log

        def started(ended: object) -> None:
            self._pump_matched()
            note = NEW_VISIT_NOTE.format(before=before, serial=serial, session=ended)
            window.banner.show_message("info", NEW_VISIT_TITLE, note + (
                DISCARDED_CHANGE_NOTE.format(before=before) if discarded else ""))
        self.store_call(STARTING_NEW_VISIT.format(serial=serial),
                        lambda: clinic.new_visit(serial, model, catheter_cm), started, self._match_failed)

    def _pump_matched(self) -> None:
        self._matching = None
        self.show_pump()
        self.apply_access()
        pump = self.clinic.pump
        if pump is not None and pump.match is PumpMatch.UNKNOWN and not self.locked:
            self.ask_which_patient()
        self.ask_to_confirm()
        self.read_catheter()

    def read_catheter(self) -> None:
        """The catheter length recorded for the pump read, for the Bolus page's prime (read in the clinic thread)."""
        bolus = self.window.bolus
        self.store_call(None, self.clinic.recorded_catheter,
                        lambda recorded: bolus.set_recorded_catheter(cast("RecordedCatheter | None", recorded)),
                        self._match_failed)

    def _match_failed(self, error: Exception) -> None:
        self._matching = None
        self.apply_access()
        self.window.banner.show_message("error", READ_FAILED, said(error))

    def show_pump(self) -> None:
        """The strip above the banner, the History page and the Audit page's filter, for the pump read."""
        clinic, window = self.clinic, self.window
        pump, user = clinic.pump, clinic.user
        if pump is None:
            self.strip.show_user(user, clinic.demo)
        elif pump.match in (PumpMatch.OTHER_PATIENT, PumpMatch.OTHER_PUMP) or pump.explanted_on is not None:
            stop = clinic.pump_stop()
            assert stop is not None, "another patient's pump, a pump not this visit's or an explanted one is a stop"
            self.strip.show_stop(stop, user, clinic.demo)
        elif pump.match is PumpMatch.UNKNOWN or clinic.patient is None:
            self.strip.show_question(f"Pump serial {pump.serial}: which patient? Not recorded for anyone yet.",
                                     user, clinic.demo)
        elif (unconfirmed := clinic.identification_stop()) is not None:  # no date of birth shown until confirmed
            identification = clinic.identification
            if identification is not None and identification.refused is not None:
                self.strip.show_stop(unconfirmed, user, clinic.demo)
            else:
                self.strip.show_question(unconfirmed_strip(f"{clinic.patient.name} ({clinic.patient.identifier})"),
                                         user, clinic.demo)
        else:
            self.strip.show_patient(clinic.patient, user, clinic.demo)
        window.show_history()

    def ask_which_patient(self) -> None:
        """Open "Which patient?" for the pump read (Clinic > Which patient?, or an unknown pump just read)."""
        clinic = self.clinic
        if self.patient_dialog is not None:
            self.patient_dialog.raise_()
            return
        pump = clinic.pump
        if clinic.store is None or clinic.user is None or pump is None or pump.match is not PumpMatch.UNKNOWN:
            return
        refused = self.access().refusal(Permission.MANAGE_PATIENTS)
        if refused is not None:
            self.window.banner.show_message("warning", "Which patient?", f"This pump is not recorded for any "
                                            f"patient, and {refused[0].lower()}{refused[1:]}")
            return
        dialog = PatientMatchDialog(clinic.store.patients, clinic.user, pump.model, pump.serial,
                                    clinic.choose_patient, lambda call, done, failed: self.store_call(
                                        None, call, done, failed), self.window)
        dialog.accepted.connect(lambda: self._patient_chosen(dialog.replaced))
        dialog.finished.connect(self._patient_dialog_closed)
        self.patient_dialog = dialog
        dialog.open()

    def _patient_chosen(self, replaced: str | None) -> None:
        self.show_pump()
        self.apply_access()
        self.read_catheter()
        patient = self.clinic.patient
        if patient is not None and self.clinic.pump is not None:
            explanted = "" if replaced is None else (f" It replaces pump serial {replaced}, recorded as explanted "
                                                     "today.")
            self.window.banner.show_message("ok", "Patient chosen.", f"Pump serial {self.clinic.pump.serial} is "
                                            f"recorded as {patient.name}'s ({patient.identifier}) implant."
                                            + explanted)

    def _patient_dialog_closed(self) -> None:
        dialog, self.patient_dialog = self.patient_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def ask_to_confirm(self) -> None:
        """Open "Confirm the patient" for the pump read when its patient is not confirmed in this visit yet (Clinic >
        Confirm patient…, a pump read, a sign-in); the answers are checked and audited in the clinic thread."""
        if self.confirm_dialog is not None:
            self.confirm_dialog.raise_()
            return
        clinic, pump = self.clinic, self.clinic.pump
        patient = clinic.to_confirm()
        if patient is None or pump is None or self.locked:
            return
        dialog = PatientConfirmDialog(pump.serial, pump.model, f"{patient.name} ({patient.identifier})",
                                      clinic.confirm_patient, clinic.not_this_patient,
                                      lambda call, done, failed: self.store_call(None, call, done, failed),
                                      DEMO_CONFIRM_NOTE if clinic.demo else None, self.window)
        dialog.finished.connect(self._confirm_dialog_closed)
        self.confirm_dialog = dialog
        dialog.open()

    def _confirm_dialog_closed(self) -> None:
        """The strip says the answer (the patient confirmed, a STOP, or still to confirm) and each control follows
        it; the banner keeps what the reading said."""
        dialog, self.confirm_dialog = self.confirm_dialog, None
        if dialog is not None:
            dialog.deleteLater()
        if self._closing:
            return  # the window closes: nothing more to say or read
        self.show_pump()
        self.apply_access()
        if not self.locked:
            self.window.activateWindow()  # the keyboard back to the window, where the visit goes on

    # --- what may be done -------------------------------------------------------------------------------------

    def visit_for_change(self) -> tuple[Visit | None, str | None]:
        """The visit a change is made in, or None and why not (nobody signed in). The role and the patient are
        checked by the core (``Attempt.begin``, the visit's hard stop): a refusal there is audited."""
        if self.clinic.visit is None or self.clinic.user is None:
            return None, "nobody is signed in: sign in first"
        if self.clinic.waiting is not None:
            return None, f"{self.clinic.waiting[0].lower()}{self.clinic.waiting[1:]}: wait for it, then try again"
        unconfirmed = self.clinic.identification_stop()
        if unconfirmed is not None:
            return None, (unconfirmed if unconfirmed.startswith("STOP") else unconfirmed[0].lower() + unconfirmed[1:]
                          ).removesuffix(".")
        return self.clinic.visit, None

    def access(self) -> Access:
        """What the signed-in user may do on the pump read, over the link as it is."""
        link = self.window.link
        return self.clinic.access(self.window.connected and not link.secure and link.allow_insecure_link)

    def apply_access(self) -> None:
        """Each change control enabled, or disabled with why (the signed-in role, the insecure link, the patient)."""
        access = self.access()
        window = self.window
        user = self.clinic.user
        window.review.set_refusal(access.refusal(Permission.CHANGE_THERAPY),
                                  () if user is None else (user.display_name, user.username))
        window.bolus.set_refusal(access.refusal(Permission.BOLUS))
        for control, permission in ((window.overview.set_low_alarm, Permission.CHANGE_THERAPY),
                                    (window.overview.set_clock, Permission.SET_CLOCK),
                                    (window.refill_action, Permission.REFILL),
                                    (window.clock_action, Permission.SET_CLOCK),
                                    (self.which_patient_action, Permission.MANAGE_PATIENTS),
                                    (self.report_action, Permission.EXPORT),
                                    (window.connect_page.connect_button, Permission.INTERROGATE),
                                    (window.interrogate_action, Permission.INTERROGATE),
                                    (window.events_action, Permission.READ_EVENTS),
                                    (window.press_button_action, Permission.EMULATOR_CONTROL),
                                    (window.control_panel_action, Permission.EMULATOR_CONTROL)):
            refuse(control, access.refusal(permission))
        self.which_patient_action.setVisible(self.clinic.pump is not None
                                             and self.clinic.pump.match is PumpMatch.UNKNOWN)
        self.confirm_action.setVisible(self.clinic.to_confirm() is not None)

    def build_menu(self) -> None:
        menu = self.window.menuBar().addMenu("Clinic")  # no letter: the pages' letters are all taken
        self.which_patient_action = menu.addAction("Which patient?\u2026")
        self.which_patient_action.triggered.connect(self.ask_which_patient)
        self.confirm_action = menu.addAction("Confirm patient\u2026")
        self.confirm_action.triggered.connect(self.ask_to_confirm)
        self.report_action = menu.addAction(REPORT_TEXT)
        self.report_action.triggered.connect(self.window.report.ask)
        self.sign_out_action = menu.addAction("Sign out")
        self.sign_out_action.setShortcut("Ctrl+Shift+L")
        self.sign_out_action.triggered.connect(lambda: self.sign_out())

    def close(self) -> None:
        """The window closes: its dialogs with it, the visit ends, and the application is watched no more."""
        self._closing = True
        for dialog in (self.sign_in_dialog, self.patient_dialog, self.confirm_dialog):
            if dialog is not None:
                dialog.reject()
        self.inactivity.disarm()
        self.calls.run(self.clinic.end)  # after what is queued; the window waits for it: the store closes behind it
        self.calls.wait()
