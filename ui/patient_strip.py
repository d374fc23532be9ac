"""The strip above the banner that says whose pump this is: the patient's name and identifier once the pump read is
bound to them, a question while it is bound to nobody, and the hard stop, in red, while it is another patient's.

Why apart from the banner: the banner says the latest thing that happened and the next replaces it; which patient
the pump belongs to is a standing fact for the whole visit, and a hard stop must stay in sight whatever the banner
says meanwhile. The signed-in user is said on the same line: every change is made in their name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from programmer.roles import User
from ui.view_models.palette import BANNER

if TYPE_CHECKING:
    from clinic.patients import Patient

PATIENT_STYLE = "QLabel { background: #e8eef7; color: #102a4c; padding: 1px 8px; }"
"""Dark blue on pale blue (contrast about 12:1): information, never an alarm colour."""
QUESTION_STYLE = f"QLabel {{ background: {BANNER['warning'][0]}; color: {BANNER['warning'][1]}; padding: 1px 8px; }}"
STOP_STYLE = f"QLabel {{ background: {BANNER['error'][1]}; color: white; font-weight: bold; padding: 6px 8px; }}"
"""White on the error red (contrast about 8:1), as the insecure link's strip: nothing milder uses it."""
DEMO_NOTE = "DEMO RECORD (throwaway: deleted at quit)"


class PatientStrip(QLabel):
    """One line: the patient (or the question, or the stop) and who is signed in."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setAccessibleName("Patient")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stopped = False
        self.hide()

    def show_patient(self, patient: Patient, user: User | None, demo: bool) -> None:
        self._show(f"Patient: {patient.name} ({patient.identifier}), born {patient.birth_date.isoformat()}",
                   user, demo, PATIENT_STYLE, stopped=False)

    def show_question(self, text: str, user: User | None, demo: bool) -> None:
        self._show(text, user, demo, QUESTION_STYLE, stopped=False)

    def show_stop(self, text: str, user: User | None, demo: bool) -> None:
        self._show(text, user, demo, STOP_STYLE, stopped=True)

    def show_user(self, user: User | None, demo: bool) -> None:
        """Before any pump is read: who is signed in only."""
        self._show("", user, demo, PATIENT_STYLE, stopped=False)

    def _show(self, text: str, user: User | None, demo: bool, style: str, stopped: bool) -> None:
        signed = "Nobody signed in" if user is None else f"Signed in: {user.display_name} ({user.role.value})"
        parts = [part for part in (text, signed, DEMO_NOTE if demo else "") if part]
        self.setText("   \u2022   ".join(parts))
        self.setStyleSheet(style)
        self.stopped = stopped
        self.show()
