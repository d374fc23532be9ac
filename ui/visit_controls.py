"""The window's clinic side: who is signed in (and the lock after inactivity), which patient the pump read belongs
to (and the question when nobody knows, the hard stop when it is another patient's), and which controls the
signed-in role and that patient allow.

Why apart from ``ui.main_window``: the window routes the pump's requests and answers; this routes the clinic's
facts (``ui.clinic_session``) to the same screens. The window tells it when a pump was read (``pump_read``) and asks
it for the visit to change a pump in (``visit_for_change``); it tells the window's pages what they may offer
(``apply_access``). The core refuses every one of these anyway: the controls only say it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from clinic.visit import PumpMatch, Visit
from programmer.errors import ProgrammerError
from programmer.roles import Permission, User
from programmer.snapshot import PumpSnapshot
from ui.app_log import log
from ui.clinic_session import ClinicSession
from ui.demo_clinic import DEMO_SIGN_IN_NOTE
from ui.inactivity import InactivityWatch
from ui.patient_match import PatientMatchDialog
from ui.patient_strip import PatientStrip
from ui.report_action import REPORT_TEXT
from ui.sign_in import SignInDialog
from ui.widgets import WrappedText, heading

if TYPE_CHECKING:
    from ui.main_window import MainWindow

LOCKED_TITLE = "Signed out"
SIGNED_OUT_NOTE = "Signed out after {minutes} without input: sign in to go on."
DISCARDED_NOTE = ("The change {name} was editing had not been written: it was discarded when {other} signed in. The "
                  "pump runs what it ran.")
KEPT_NOTE = "Signed in again: the change you were editing is kept, not written."
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


def _minutes(ms: int) -> str:
    minutes = ms / 60_000
    if minutes >= 1:
        return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    return f"{ms / 1000:g} seconds"


class VisitControls(QObject):
    """Built by the window with its ``clinic``; ``sign_out_ms``: the wait without input before the lock."""

    def __init__(self, window: MainWindow, clinic: ClinicSession, sign_out_ms: int):
        super().__init__(window)
        self.window = window
        self.clinic = clinic
        self.strip = PatientStrip()
        self.sign_in_dialog: SignInDialog | None = None
        self.patient_dialog: PatientMatchDialog | None = None
        self.locked_user: User | None = None
        """Who was signed in when the window locked: the same person signing in again keeps the unwritten change."""
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

    def start(self) -> None:
        """At the window's first showing: signed in already (the demo, a test), or locked behind the dialog."""
        if self.clinic.user is None:
            self._lock("Sign in to use the programmer.")
            self.open_sign_in()
        else:
            self._unlock()

    def open_sign_in(self, note: str = "") -> None:
        if self.sign_in_dialog is not None:
            self.sign_in_dialog.raise_()
            return
        username = "" if self.locked_user is None else self.locked_user.username
        note = note or self.lock_text.text()
        if self.clinic.demo:
            note = f"{note} {DEMO_SIGN_IN_NOTE}"
        dialog = SignInDialog(self.clinic.store.users, self.window, note, username)
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
        try:
            self.clinic.sign_in(user)
        except ProgrammerError as exc:
            self._lock(f"Not signed in: {exc}")
            return
        log.info("signed in as a %s", user.role.value)  # no name in the application's log
        self.locked_user = None
        self._unlock()
        if note:
            window.banner.show_message("info" if same else "warning", "Signed in.", note)

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

    # --- the pump and its patient -----------------------------------------------------------------------------

    def pump_read(self, snapshot: PumpSnapshot) -> None:
        """Match the pump just read to a patient when it is not the one matched already; an unknown pump asks
        "Which patient?" (unless the demo binds it), another patient's stops every change."""
        identity = snapshot.identity
        seen = self.clinic.pump
        if seen is None or seen.serial != identity.serial:
            line = snapshot.status.line
            try:
                self.clinic.see_pump(identity.serial, identity.model, None if line is None else line.catheter_cm)
            except ProgrammerError as exc:
                self.window.banner.show_message("error", "The clinic's record could not be read.", str(exc))
                return
            self.show_pump()
            self.apply_access()
            pump = self.clinic.pump
            if pump is not None and pump.match is PumpMatch.UNKNOWN and not self.locked:
                self.ask_which_patient()

    def show_pump(self) -> None:
        """The strip above the banner, the History page and the Audit page's filter, for the pump read."""
        clinic, window = self.clinic, self.window
        pump, user = clinic.pump, clinic.user
        if pump is None:
            self.strip.show_user(user, clinic.demo)
        elif pump.match in (PumpMatch.OTHER_PATIENT, PumpMatch.OTHER_PUMP):
            stop = clinic.access().pump_stop
            assert stop is not None, "another patient's pump, or a pump not this visit's, is a stop"
            self.strip.show_stop(stop, user, clinic.demo)
        elif pump.match is PumpMatch.UNKNOWN or clinic.patient is None:
            self.strip.show_question(f"Pump serial {pump.serial}: which patient? Not recorded for anyone yet.",
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
        if clinic.user is None or clinic.pump is None or clinic.pump.match is not PumpMatch.UNKNOWN:
            return
        refused = clinic.access().refusal(Permission.MANAGE_PATIENTS)
        if refused is not None:
            self.window.banner.show_message("warning", "Which patient?", f"This pump is not recorded for any "
                                            f"patient, and {refused[0].lower()}{refused[1:]}")
            return
        dialog = PatientMatchDialog(clinic.store.patients, clinic.user, clinic.pump.model, clinic.pump.serial,
                                    clinic.choose_patient, self.window)
        dialog.accepted.connect(self._patient_chosen)
        dialog.finished.connect(self._patient_dialog_closed)
        self.patient_dialog = dialog
        dialog.open()

    def _patient_chosen(self) -> None:
        self.show_pump()
        self.apply_access()
        patient = self.clinic.patient
        if patient is not None and self.clinic.pump is not None:
            self.window.banner.show_message("ok", "Patient chosen.", f"Pump serial {self.clinic.pump.serial} is "
                                            f"recorded as {patient.name}'s ({patient.identifier}) implant.")

    def _patient_dialog_closed(self) -> None:
        dialog, self.patient_dialog = self.patient_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    # --- what may be done -------------------------------------------------------------------------------------

    def visit_for_change(self) -> tuple[Visit | None, str | None]:
        """The visit a change is made in, or None and why not (nobody signed in). The role and the patient are
        checked by the core (``Attempt.begin``, the visit's hard stop): a refusal there is audited."""
        if self.clinic.visit is None or self.clinic.user is None:
            return None, "nobody is signed in: sign in first"
        return self.clinic.visit, None

    def apply_access(self) -> None:
        """Each change control enabled, or disabled with why (the signed-in role, the patient)."""
        access = self.clinic.access()
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
                                    (window.control_panel_action, Permission.EMULATOR_CONTROL)):
            refuse(control, access.refusal(permission))
        self.which_patient_action.setVisible(self.clinic.pump is not None
                                             and self.clinic.pump.match is PumpMatch.UNKNOWN)

    def build_menu(self) -> None:
        menu = self.window.menuBar().addMenu("Clinic")  # no letter: the pages' letters are all taken
        self.which_patient_action = menu.addAction("Which patient?\u2026")
        self.which_patient_action.triggered.connect(self.ask_which_patient)
        self.report_action = menu.addAction(REPORT_TEXT)
        self.report_action.triggered.connect(self.window.report.ask)
        self.sign_out_action = menu.addAction("Sign out")
        self.sign_out_action.setShortcut("Ctrl+Shift+L")
        self.sign_out_action.triggered.connect(lambda: self.sign_out())

    def close(self) -> None:
        """The window closes: its dialogs with it, the visit ends, and the application is watched no more."""
        for dialog in (self.sign_in_dialog, self.patient_dialog):
            if dialog is not None:
                dialog.reject()
        self.inactivity.remove()
        self.clinic.end()
