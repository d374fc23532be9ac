""""Confirm the patient": asked once a visit, when the pump read is bound to a patient in the clinic's record, before
anything may be changed on it.

The dialog names the pump and the patient the record has it implanted in (name and identifier, which the clinician
reads out), and asks for the date of birth the patient gives (or the wristband says): the record's date is never
shown here, so it cannot simply be copied. A date that matches confirms the patient for the visit; one that does not
is said, the field kept for another try, and after ``MAX_WRONG_DATES`` the visit stops, as it does at once when the
clinician answers "Not this patient". Closing it without an answer leaves the patient unconfirmed: the pump can be
read, nothing on it changed (Clinic > Confirm patient… asks again). The rules, the wording and the state are
``ui.view_models.identification`` and ``ui.clinic_session``'s; this only asks and says.

Why every answer goes through ``run``: each is audited through the visit's journal and the clinic's store, which the
window calls only in its clinic thread (``ui.background``); the dialog says meanwhile what it waits for and keeps its
buttons off, so a double click answers once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from programmer.errors import ProgrammerError
from ui.patient_match import Run
from ui.view_models.identification import CONFIRM_MENU, Identification, mismatch_text, read_birth_date
from ui.widgets import WrappedText, describe, heading, problem_line

TITLE = "Confirm the patient"
CHECKING = "Checking the date of birth\u2026"
STOPPING = "Recording that this is not the patient\u2026"


class PatientConfirmDialog(QDialog):
    """Confirms that the patient ``named`` ("Name (ID)") is the one in front of the clinician, for pump ``serial``
    (``model``). ``confirm(born)`` checks a date of birth (returns the visit's ``Identification``, or raises a
    ``ProgrammerError`` when it cannot be audited), ``not_this_patient()`` stops the visit's changes; both through
    ``run``. ``demo_note``: the line the demo shows (the demo patient's date of birth), else None. Window-modal,
    opened with ``open()``; accepted once confirmed, rejected when closed unanswered or once stopped
    (``identification`` says which)."""

    def __init__(self, serial: str, model: str, named: str, confirm: Callable[[date], Identification],
                 not_this_patient: Callable[[], Identification], run: Run, demo_note: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.named = named
        self.confirm = confirm
        self.not_this = not_this_patient
        self.run = run
        self.waiting: str | None = None
        """What the dialog waits for from the clinic thread, while it does (shown in ``status``)."""
        self.identification: Identification | None = None
        """The visit's confirmation after the latest answer (None: none answered yet)."""
        self._stopped = False
        """True once "Not this patient" was answered: its stop holds even when its record could not be written."""
        self._open = True
        self.setWindowTitle(TITLE)
        self.setModal(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(TITLE))
        layout.addWidget(WrappedText(f"{model} serial {serial} is recorded in the clinic's record as implanted in:"))
        patient = heading(named, scale=1.15, wraps=True)
        patient.setAccessibleName("Recorded patient")
        layout.addWidget(patient)
        layout.addWidget(WrappedText(
            "Read the name out, and ask the patient their date of birth (or read it from the wristband): the record's "
            "is not shown here. Nothing can be changed on the pump until the patient is confirmed."))
        form = QFormLayout()
        self.born = QLineEdit()
        self.born.setPlaceholderText("YYYY-MM-DD")
        describe(self.born, "Date of birth", "As the patient gives it, year-month-day: YYYY-MM-DD.")
        label = QLabel("&Date of birth (YYYY-MM-DD)")
        label.setBuddy(self.born)
        form.addRow(label, self.born)
        layout.addLayout(form)
        if demo_note is not None:
            demo = WrappedText(demo_note)
            demo.setAccessibleName("Demo note")
            layout.addWidget(demo)
        self.status = WrappedText()
        self.status.setAccessibleName("Confirmation status")
        self.status.hide()
        layout.addWidget(self.status)
        self.problem = problem_line("Confirmation problem")
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        self.not_this_button = QPushButton("&Not this patient")
        self.not_this_button.setToolTip("The patient in front of you is not the one named: nothing may be changed on "
                                        "this pump in this visit. It can still be read.")
        self.not_this_button.clicked.connect(self._not_this_patient)
        self.later = QPushButton("&Later")
        self.later.setToolTip(f"Close without an answer: the pump can be read, nothing on it changed until the "
                              f"patient is confirmed ({CONFIRM_MENU}).")
        self.later.clicked.connect(self.reject)
        self.confirm_button = QPushButton("&Confirm")
        self.confirm_button.setDefault(True)
        self.confirm_button.clicked.connect(self._confirm)
        buttons.addWidget(self.not_this_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later)
        buttons.addWidget(self.confirm_button)
        layout.addLayout(buttons)
        self.born.textChanged.connect(lambda _text: self._gate())
        self._gate()
        self.born.setFocus()

    @property
    def idle(self) -> bool:
        """True when no answer from the clinic thread is awaited."""
        return self.waiting is None

    def done(self, result: int) -> None:
        self._open = False
        super().done(result)

    def _gate(self) -> None:
        for control in (self.not_this_button, self.later):
            control.setEnabled(self.idle)
        self.born.setEnabled(self.idle and not self._stopped)
        self.confirm_button.setEnabled(self.idle and not self._stopped and bool(self.born.text().strip()))

    def _wait(self, waiting: str | None) -> None:
        self.waiting = waiting
        self.status.setText(waiting or "")
        self.status.setVisible(waiting is not None)
        self._gate()

    def _confirm(self) -> None:
        if not self.idle or self._stopped or not self.born.text().strip():
            return
        born = read_birth_date(self.born.text())
        if isinstance(born, str):
            self.problem.setText(born)  # not an answer: neither counted nor audited
            self.born.setFocus()
            return
        confirm = self.confirm
        self._ask(CHECKING, lambda: confirm(born), "Not recorded, so the patient is not confirmed")

    def _not_this_patient(self) -> None:
        if self.idle:
            self._stopped = True
            self._ask(STOPPING, self.not_this, "Nothing may be changed on this pump in this visit, but that could "
                      "not be recorded (try again)")

    def _ask(self, waiting: str, call: Callable[[], Identification], not_recorded: str) -> None:
        self._wait(waiting)
        self.problem.clear()

        def failed(error: Exception) -> None:
            if not self._open:
                return
            self._wait(None)
            if not isinstance(error, ProgrammerError):
                raise error  # a bug: said, not hidden
            self.problem.setText(f"{not_recorded}: {error}")

        self.run(call, self._answered, failed)

    def _answered(self, answer: object) -> None:
        if not self._open:
            return
        assert isinstance(answer, Identification), "the visit's confirmation"
        self.identification = answer
        self._wait(None)
        if answer.confirmed:
            self.accept()
        elif answer.refused is not None:
            self.reject()
        else:
            self.problem.setText(mismatch_text(self.named, answer.wrong_dates))
            self.born.selectAll()
            self.born.setFocus()
