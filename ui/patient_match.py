""""Which patient?": asked when the pump read is not recorded for any patient (a new implant, or a pump implanted
before this clinic kept its record here).

The clinician finds the patient (by identifier or name) or records a new one, and the pump is bound to that patient
as a new implant, from today. Until then nothing may be changed on the pump (the visit refuses it, and the window's
controls say why), so a pump is never programmed for nobody in particular. The dialog asks; ``choose`` (the
window's) binds, and its refusal (a duplicate identifier, the pump bound meanwhile) is said here, the dialog kept
open for another answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from programmer.errors import ProgrammerError
from programmer.roles import User
from ui.widgets import ERROR, WrappedText, describe, heading

if TYPE_CHECKING:
    from clinic.patients import Patient

TITLE = "Which patient?"


class PatientsPort(Protocol):
    """What the dialog needs of the store's patients (``clinic.patients.Patients``)."""

    def search(self, text: str) -> list[Patient]: ...

    def add(self, by: User, identifier: str, name: str, birth_date: date) -> Patient: ...


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


class PatientMatchDialog(QDialog):
    """Finds or records the patient the pump ``serial`` is implanted in; ``choose(identifier)`` binds it (raises a
    ``ProgrammerError`` to refuse). Window-modal, opened with ``open()``; accepted once bound."""

    def __init__(self, patients: PatientsPort, user: User, model: str, serial: str,
                 choose: Callable[[str], object], parent: QWidget | None = None):
        super().__init__(parent)
        self.patients = patients
        self.user = user
        self.choose = choose
        self.setWindowTitle(TITLE)
        self.setModal(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(TITLE))
        layout.addWidget(WrappedText(
            f"{model} serial {serial} is not recorded for any patient. Find the patient it is implanted in, or "
            "record a new patient: the pump is then recorded as their implant from today. Until then nothing can "
            "be changed on it."))

        find = QGroupBox("Find the patient")
        find_layout = QVBoxLayout(find)
        self.search = QLineEdit()
        self.search.setPlaceholderText("identifier or name")
        describe(self.search, "Find a patient", "Part of the patient's identifier or name.")
        self.results = QListWidget()
        self.results.setAccessibleName("Patients found")
        self.this_patient = QPushButton("&This patient's pump")
        self.this_patient.clicked.connect(self._choose_found)
        find_layout.addWidget(self.search)
        find_layout.addWidget(self.results)
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

        self.problem = WrappedText()
        self.problem.setStyleSheet(f"color: {ERROR};")
        self.problem.setAccessibleName("Patient problem")
        layout.addWidget(self.problem)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.later = QPushButton("Not now")
        self.later.setToolTip("Close without choosing: the pump can be read, nothing on it can be changed.")
        self.later.clicked.connect(self.reject)
        buttons.addWidget(self.later)
        layout.addLayout(buttons)

        self.search.textChanged.connect(self._find)
        self.results.itemSelectionChanged.connect(self._gate)
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

    def _find(self, text: str) -> None:
        self.results.clear()
        for patient in self.patients.search(text.strip()):
            item = QListWidgetItem(f"{patient.name}  ({patient.identifier}, born {patient.birth_date.isoformat()})")
            item.setData(Qt.ItemDataRole.UserRole, patient.identifier)
            self.results.addItem(item)
        if self.results.count() == 1:
            self.results.setCurrentRow(0)
        self._gate()

    def _gate(self) -> None:
        self.this_patient.setEnabled(bool(self.results.selectedItems()))
        problems = new_patient_problems(self.identifier.text(), self.name.text(), self.born.text())
        self.record_new.setEnabled(not problems)
        self.record_new.setToolTip("; ".join(problems))

    def _choose_found(self) -> None:
        items = self.results.selectedItems()
        if items:
            self._bind(items[0].data(Qt.ItemDataRole.UserRole))

    def _record_new(self) -> None:
        if new_patient_problems(self.identifier.text(), self.name.text(), self.born.text()):
            return
        identifier = self.identifier.text().strip()
        try:
            self.patients.add(self.user, identifier, self.name.text().strip(),
                              date.fromisoformat(self.born.text().strip()))
        except ProgrammerError as exc:
            self.problem.setText(f"Not recorded: {exc}")
            return
        self._bind(identifier)

    def _bind(self, identifier: str) -> None:
        try:
            self.choose(identifier)
        except ProgrammerError as exc:
            self.problem.setText(f"Not bound: {exc}")
            return
        self.accept()
