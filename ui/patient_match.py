""""Which patient?": asked when the pump read is not recorded for any patient (a new implant, a replacement pump, or
a pump implanted before this clinic kept its record here).

The clinician finds the patient (by identifier or name) or records a new one, and the pump is bound to that patient
as an implant from today. Until then nothing may be changed on the pump (the visit refuses it, and the window's
controls say why), so a pump is never programmed for nobody in particular. The dialog asks; ``choose`` (the
window's) binds, and its refusal (a duplicate identifier, the pump bound meanwhile) is said here, the dialog kept
open for another answer.

Why every store call goes through ``run``: the search, a patient's implants and the binding use the clinic's store,
which the window calls only in its clinic thread (``ui.background``), one call after another; a binding takes tens of
milliseconds, more than the GUI thread may stall. So the dialog asks ``run`` and hears the answer back on the GUI
thread, saying meanwhile what it waits for. A search typed fast asks once per key: each answer is numbered, and only
the latest question's is shown. While it binds, every control is off, so a double click cannot bind twice.

Why the replacement is a question of its own: a patient found here may still have a pump implanted. The store then
refuses a second implant unless the binding names the pump replaced, which it records as explanted; nothing is sent
to an explanted pump again. So recording that is never a default: the dialog shows the implanted pump (serial, model,
implant date) and binds only once the clinician ticks the box that spells out both serials.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from programmer.errors import ProgrammerError
from programmer.roles import User
from ui.clinic_session import implanted_pump
from ui.widgets import WrappedText, describe, heading, problem_line

if TYPE_CHECKING:
    from clinic.patients import Implant, Patient

TITLE = "Which patient?"
SEARCHING = "Searching\u2026"
LOOKING_UP = "Looking up the patient's implanted pump\u2026"
RECORDING = "Recording the patient\u2026"
BINDING = "Binding the pump\u2026"

Run = Callable[[Callable[[], object], Callable[[object], None], Callable[[Exception], None]], None]
"""``run(call, done, failed)``: ``call`` (which uses the store) in the clinic thread, after those before it; then
``done(result)`` or ``failed(exception)`` on the GUI thread."""


class PatientsPort(Protocol):
    """What the dialog needs of the store's patients (``clinic.patients.Patients``)."""

    def search(self, text: str) -> list[Patient]: ...

    def add(self, by: User, identifier: str, name: str, birth_date: date) -> Patient: ...

    def implants(self, identifier: str) -> list[Implant]: ...


def new_patient_problems(identifier: str, name: str, born: str) -> list[str]:
    """What keeps a new patient from being recorded, each naming its field and the limit."""
    problems = []
    if not identifier.strip():
        problems.append("Identifier: required (the clinic's record number)")
    if not name.strip():
        problems.append("Name: required")
    try:
        birth = date.fromisoformat(born.strip())
    except ValueError:
        problems.append("Date of birth: a date as YYYY-MM-DD")
    else:
        if birth > date.today():
            problems.append(f"Date of birth: not after today ({date.today().isoformat()})")
    return problems


def replacement_question(patient: Patient, implanted: Implant, serial: str, today: date) -> str:
    """What the dialog says of a found patient's implanted pump, and what binding the pump read to them does."""
    return (f"{patient.name} has {implanted.pump_model} serial {implanted.pump_serial} implanted since "
            f"{implanted.implanted_on.isoformat()}. Pump serial {serial} can be theirs only as its replacement: "
            f"pump serial {implanted.pump_serial} is then recorded as explanted today ({today.isoformat()}), and "
            "nothing is sent to it again.")


def replaces_text(serial: str, implanted: Implant) -> str:
    """The box that must be ticked: both serials spelled out."""
    return f"Pump serial {serial} &replaces pump serial {implanted.pump_serial} (explanted today)"


class PatientMatchDialog(QDialog):
    """Finds or records the patient the pump ``serial`` is implanted in; ``choose(identifier, replaces)`` binds it
    (``replaces``: the serial of the patient's implanted pump it replaces, else None; raises a ``ProgrammerError`` to
    refuse). Every store call, ``choose`` too, is made through ``run``. Window-modal, opened with ``open()``; accepted
    once bound."""

    def __init__(self, patients: PatientsPort, user: User, model: str, serial: str,
                 choose: Callable[[str, str | None], object], run: Run, parent: QWidget | None = None):
        super().__init__(parent)
        self.patients = patients
        self.user = user
        self.serial = serial
        self.choose = choose
        self.run = run
        self.waiting: str | None = None
        """What the dialog waits for from the clinic thread, while it does (shown in ``status``)."""
        self._asked = 0
        """The number of the latest search or implants question: an answer to an earlier one is not shown."""
        self._binding = False
        self._open = True
        """False once closed: an answer that comes back after is not shown."""
        self.found: dict[str, Patient] = {}
        self.replaced: str | None = None
        """Once accepted: the serial of the pump the pump read replaced (None: a first implant)."""
        self.implanted: Implant | None = None
        """The chosen patient's implanted pump, which the pump read would replace (None: they have none)."""
        self.setWindowTitle(TITLE)
        self.setModal(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(TITLE))
        layout.addWidget(WrappedText(
            f"{model} serial {serial} is not recorded for any patient. Find the patient it is implanted in (a "
            "replacement pump too), or record a new patient: the pump is then recorded as their implant from today. "
            "Until then nothing can be changed on it."))

        find = QGroupBox("Find the patient")
        find_layout = QVBoxLayout(find)
        self.search = QLineEdit()
        self.search.setPlaceholderText("identifier or name")
        describe(self.search, "Find a patient", "Part of the patient's identifier or name.")
        self.results = QListWidget()
        self.results.setAccessibleName("Patients found")
        self.replacement = WrappedText()
        self.replacement.setAccessibleName("Implanted pump")
        self.replaces = QCheckBox()
        self.replaces.setAccessibleDescription("Ticked: the pump read replaces the patient's implanted pump, which is "
                                               "recorded as explanted today.")
        self.this_patient = QPushButton("&This patient's pump")
        self.this_patient.clicked.connect(self._choose_found)
        find_layout.addWidget(self.search)
        find_layout.addWidget(self.results)
        find_layout.addWidget(self.replacement)
        find_layout.addWidget(self.replaces)
        find_layout.addWidget(self.this_patient, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(find)

        new = QGroupBox("New implant: record a new patient")
        form = QFormLayout(new)
        self.identifier = self._field(form, "&Identifier", "The clinic's record number (MRN).")
        self.name = self._field(form, "&Name", "The patient's full name.")
        self.born = self._field(form, "&Date of birth", "YYYY-MM-DD.")
        self.born.setPlaceholderText("YYYY-MM-DD")
        self.record_new = QPushButton("&Record the patient and this implant")
        self.record_new.clicked.connect(self._record_new)
        form.addRow("", self.record_new)
        layout.addWidget(new)

        self.status = WrappedText()
        self.status.setAccessibleName("Patient search status")
        layout.addWidget(self.status)
        self.problem = problem_line("Patient problem")
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.later = QPushButton("Not now")
        self.later.setToolTip("Close without choosing: the pump can be read, nothing on it can be changed.")
        self.later.clicked.connect(self.reject)
        buttons.addWidget(self.later)
        layout.addLayout(buttons)

        self.search.textChanged.connect(self._find)
        self.results.itemSelectionChanged.connect(self._selected)
        self.replaces.toggled.connect(self._gate)
        for field in (self.identifier, self.name, self.born):
            field.textChanged.connect(self._gate)
        self._find("")
        self.search.setFocus()

    def _field(self, form: QFormLayout, label_text: str, description: str) -> QLineEdit:
        field = QLineEdit()
        describe(field, label_text.replace("&", ""), description)
        label = QLabel(label_text)
        label.setBuddy(field)
        form.addRow(label, field)
        return field

    @property
    def idle(self) -> bool:
        """True when no answer from the clinic thread is awaited: what the dialog shows is what the store holds."""
        return self.waiting is None and not self._binding

    def done(self, result: int) -> None:
        self._open = False
        super().done(result)

    def _wait(self, waiting: str | None) -> None:
        self.waiting = waiting
        self.status.setText(waiting or "")
        self.status.setVisible(waiting is not None)

    def _ask(self, waiting: str, call: Callable[[], object], answer: Callable[[Any], None]) -> None:
        """A search or implants question: only the latest one's answer is shown."""
        self._asked += 1
        asked = self._asked
        self._wait(waiting)
        self._gate()

        def answered(then: Callable[[Any], None], value: object) -> None:
            if self._open and asked == self._asked:
                if not self._binding:  # a search answered while a new patient is recorded: that is still said
                    self._wait(None)
                then(value)
        self.run(call, lambda result: answered(answer, result), lambda error: answered(self._not_found, error))

    def _not_found(self, error: Exception) -> None:
        if not isinstance(error, ProgrammerError):
            raise error  # a bug: said, not hidden
        self.problem.setText(f"Not found: {error}")
        self._gate()

    def _find(self, text: str) -> None:
        patients, query = self.patients, text.strip()
        self._ask(SEARCHING, lambda: patients.search(query), self._show_found)

    def _show_found(self, found: list[Patient]) -> None:
        self.results.clear()
        self.found = {patient.identifier: patient for patient in found}
        for patient in self.found.values():
            item = QListWidgetItem(f"{patient.name}  ({patient.identifier}, born {patient.birth_date.isoformat()})")
            item.setData(Qt.ItemDataRole.UserRole, patient.identifier)
            self.results.addItem(item)
        if self.results.count() == 1:
            self.results.setCurrentRow(0)
        self._selected()

    def _selected(self) -> None:
        """Show the chosen patient's implanted pump, if any, and ask afresh whether the pump read replaces it."""
        items = self.results.selectedItems()
        patient = self.found[items[0].data(Qt.ItemDataRole.UserRole)] if items else None
        self._show_implanted(None, None)  # until the patient's implants are looked up
        if patient is None:
            return
        patients = self.patients
        self._ask(LOOKING_UP, lambda: implanted_pump(patients.implants(patient.identifier)),
                  lambda implanted: self._show_implanted(patient, implanted))

    def _show_implanted(self, patient: Patient | None, implanted: Implant | None) -> None:
        self.implanted = implanted
        self.replaces.setChecked(False)  # never carried from one patient to another
        if patient is None or self.implanted is None:
            self.replacement.clear()
        else:
            self.replacement.setText(replacement_question(patient, self.implanted, self.serial, date.today()))
            self.replaces.setText(replaces_text(self.serial, self.implanted))
        self.replacement.setVisible(self.implanted is not None)
        self.replaces.setVisible(self.implanted is not None)
        self._gate()

    def _gate(self) -> None:
        chosen = bool(self.results.selectedItems())
        unanswered = self.implanted is not None and not self.replaces.isChecked()
        for control in (self.search, self.results, self.replaces, self.identifier, self.name, self.born, self.later):
            control.setEnabled(not self._binding)
        self.this_patient.setEnabled(chosen and not unanswered and self.idle)
        self.this_patient.setToolTip(f"Tick \"{self.replaces.text().replace('&', '')}\" first: the patient has that "
                                     "pump implanted." if chosen and unanswered else "")
        problems = new_patient_problems(self.identifier.text(), self.name.text(), self.born.text())
        self.record_new.setEnabled(not problems and not self._binding)
        self.record_new.setToolTip("; ".join(problems))

    def _choose_found(self) -> None:
        items = self.results.selectedItems()
        if not items or not self.idle or (self.implanted is not None and not self.replaces.isChecked()):
            return
        self._bind(items[0].data(Qt.ItemDataRole.UserRole),
                   None if self.implanted is None else self.implanted.pump_serial)

    def _record_new(self) -> None:
        if self._binding or new_patient_problems(self.identifier.text(), self.name.text(), self.born.text()):
            return
        identifier, name, born = (self.identifier.text().strip(), self.name.text().strip(),
                                  date.fromisoformat(self.born.text().strip()))
        patients, user = self.patients, self.user
        self._store_change(RECORDING, lambda: patients.add(user, identifier, name, born),
                           lambda _patient: self._bind(identifier, None), "Not recorded")

    def _bind(self, identifier: str, replaces: str | None) -> None:
        choose = self.choose
        self._store_change(BINDING, lambda: choose(identifier, replaces), lambda _patient: self._bound(replaces),
                           "Not bound")

    def _store_change(self, waiting: str, call: Callable[[], object], done: Callable[[object], None],
                      refused: str) -> None:
        """Record or bind in the clinic thread, every control off until it has answered; a refusal said here."""
        self._binding = True
        self._wait(waiting)
        self._gate()

        def failed(error: Exception) -> None:
            if not self._open:
                return
            self._binding = False
            self._wait(None)
            self._gate()
            if not isinstance(error, ProgrammerError):
                raise error  # a bug: said, not hidden
            self.problem.setText(f"{refused}: {error}")

        def answered(result: object) -> None:
            if self._open:
                done(result)
        self.run(call, answered, failed)

    def _bound(self, replaces: str | None) -> None:
        self._binding = False
        self._wait(None)
        self.replaced = replaces
        self.accept()
