"""The refill wizard: the bedside refill one step a page, in the order it is done (``programmer.refill``).

Why a wizard and not a form: at the bedside the order is the safety. The volume withdrawn is entered and
judged before the syringe is even asked for, so nobody injects into a pocket because a form let them fill in
everything at once; each page's Next stays disabled until its step is acceptable (``RefillSteps``, Qt-free).
Every control has a keyboard letter, unique on its page. The window does the I/O: it interrogates when the
wizard opens (``set_snapshot``) and records the refill over its link when asked (``refill_requested``),
then hands back the outcome (``show_result``) or why it failed (``show_failure``). The dialog is opened with
``open()``, window-modal and without a nested event loop.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from programmer.library import LoadedLibrary
from programmer.refill import RefillReview
from programmer.snapshot import PumpSnapshot
from ui.link import CommitDone
from ui.view_models.format import quantity
from ui.view_models.refill_steps import DOSE_UNITS, GUIDANCE, STEPS, RefillSteps, Verdict, result_text
from ui.widgets import WrappedText, describe, heading, mark

TITLE = "Refill the pump"
EXPECT, WITHDRAW, SYRINGE, INJECT, RESULT = range(len(STEPS))
NEXT_TEXT, RECORD_TEXT = "&Next", "&Record the refill"
BRIDGE_TEXT = "&Give a bridge bolus with the refill (the old drug in the line at the programmed dose)"


class RefillWizard(QDialog):
    refill_requested = Signal(object, str)  # RefillReview, clinician

    def __init__(self, library: LoadedLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.library = library
        self.steps: RefillSteps | None = None
        self.review: RefillReview | None = None
        self.recording = False
        layout = QVBoxLayout(self)
        self.title = heading("", wraps=True)
        layout.addWidget(self.title)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)
        self._build_expect()
        self._build_withdraw()
        self._build_syringe()
        self._build_inject()
        self._build_result()
        buttons = QHBoxLayout()
        self.back = QPushButton("&Back")
        self.next = QPushButton(NEXT_TEXT)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Close the wizard (Esc). Nothing is sent before Record the refill.")
        for button in (self.back, self.next, self.cancel):
            button.setAutoDefault(False)  # Enter never records a refill: only the button or its letter does
        self.back.clicked.connect(lambda: self._go(self.pages.currentIndex() - 1))
        self.next.clicked.connect(self._next)
        self.cancel.clicked.connect(self.reject)
        buttons.addStretch(1)
        for button in (self.back, self.next, self.cancel):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self._go(EXPECT)

    # --- pages ---------------------------------------------------------------------------------------

    def _page(self, *widgets: QWidget) -> QVBoxLayout:
        page = QWidget()
        layout = QVBoxLayout(page)
        for widget in widgets:
            layout.addWidget(widget)
        self.pages.addWidget(page)
        return layout

    def _field(self, form: QFormLayout, text: str, name: str, about: str) -> QLineEdit:
        field = QLineEdit()
        describe(field, name, about)
        label = QLabel(text)
        label.setBuddy(field)
        form.addRow(label, field)
        field.textChanged.connect(self._evaluate)
        return field

    def _build_expect(self) -> None:
        self.expected = WrappedText("Reading the pump…")
        self.guidance = WrappedText(GUIDANCE)
        layout = self._page(self.expected, self.guidance)
        layout.addStretch(1)

    def _build_withdraw(self) -> None:
        form = QFormLayout()
        self.withdrawn = self._field(form, "&Withdrawn from the reservoir (mL)", "Volume withdrawn",
                                     "The volume that came out of the reservoir, in mL, before anything is injected.")
        self.withdrawal_reason = self._field(form, "Reason for &going on", "Reason for going on",
                                             "Needed only when the volume withdrawn is beyond the tolerance; "
                                             "recorded in the audit log.")
        self.withdrawal_form = form
        form.setRowVisible(self.withdrawal_reason, False)
        self.withdrawal_verdict = WrappedText()
        layout = self._page(self.withdrawal_verdict)
        layout.insertLayout(0, form)
        layout.addStretch(1)

    def _build_syringe(self) -> None:
        self.same_drug = QPushButton("Same drug as the &pump")
        self.same_drug.setAutoDefault(False)
        self.same_drug.clicked.connect(self._same_drug)
        form = QFormLayout()
        self.drug = QComboBox()
        self.drug.addItems([rule.name for rule in self.library.library.drugs])
        self.drug.setCurrentIndex(-1)  # stated every time: nothing is chosen for the clinician
        describe(self.drug, "Drug", "The drug the syringe's label names.")
        self.unit = QComboBox()
        self.unit.addItems(list(DOSE_UNITS))
        self.unit.setCurrentIndex(-1)
        describe(self.unit, "Dose unit", "The dose unit of the syringe's concentration.")
        for text, combo in (("&Drug", self.drug), ("Dose &unit", self.unit)):
            label = QLabel(text)
            label.setBuddy(combo)
            form.addRow(label, combo)
            combo.currentIndexChanged.connect(self._evaluate)
        self.concentration = self._field(form, "&Concentration (per mL)", "Concentration",
                                         "The syringe's concentration in dose units per mL, as on its label.")
        self.lot = self._field(form, "&Lot", "Lot number", "The syringe's lot number, recorded in the audit log.")
        self.expiry = self._field(form, "E&xpiry (year-month-day)", "Expiry date",
                                  "The syringe's expiry date as year-month-day, such as 2027-03-31.")
        self.bridge = QCheckBox(BRIDGE_TEXT)
        self.bridge.setChecked(True)  # a concentration change needs it: on unless the clinician takes it off
        describe(self.bridge, "Give a bridge bolus with the refill", "A new concentration pushes the old drug left in "
                 "the tubing and catheter at the new mL rate; the bridge bolus gives it at the programmed dose. "
                 "Without it the refill cannot be recorded.")
        self.bridge.toggled.connect(self._evaluate)
        self.bridge.setVisible(False)
        self.syringe_verdict = WrappedText()
        layout = self._page(self.same_drug, self.bridge, self.syringe_verdict)
        layout.insertLayout(1, form)
        layout.addStretch(1)

    def _build_inject(self) -> None:
        self.fits = WrappedText()
        form = QFormLayout()
        self.added = self._field(form, "&Added to the reservoir (mL)", "Volume added",
                                 "The volume injected into the reservoir, in mL.")
        self.override = self._field(form, "Reason for the &warnings", "Reason for the warnings",
                                    "Needed only when the review has warnings; recorded in the audit log.")
        self.clinician = self._field(form, "Your &name", "Clinician's name",
                                     "Required: recorded in the audit log with this refill.")
        self.inject_form = form
        form.setRowVisible(self.override, False)
        self.inject_verdict = WrappedText()
        layout = self._page(self.fits, self.inject_verdict)
        layout.insertLayout(1, form)
        layout.addStretch(1)

    def _build_result(self) -> None:
        self.outcome = WrappedText()
        layout = self._page(self.outcome)
        layout.addStretch(1)

    # --- what the window tells it ---------------------------------------------------------------------

    def set_snapshot(self, snapshot: PumpSnapshot) -> None:
        """The pump as read when the wizard opened; later readings change nothing once the clinician went on."""
        if self.pages.currentIndex() != EXPECT:
            return
        self.steps = RefillSteps(snapshot, self.library)
        drug = snapshot.active.drug
        self.same_drug.setVisible(drug is not None)
        if drug is not None:
            self.same_drug.setText(f"Same drug as the &pump: {drug.name} "
                                   f"{quantity(drug.concentration_per_ml, f'{drug.dose_unit}/mL')}")
        self.expected.setText(self.steps.expectation())
        self._evaluate()
        self.next.setFocus()  # it was disabled until now, so it could not take the focus when the page opened

    def show_result(self, done: CommitDone) -> None:
        self.recording = False
        verdict = result_text(done.result, done.snapshot, self.library)
        if done.snapshot is None and done.refresh_error is not None:
            verdict = Verdict(False, f"{verdict.text} The pump could not be read again: reconnect to see it.",
                              "error")
        self._show_result(verdict)

    def show_failure(self, text: str) -> None:
        self.recording = False
        self._show_result(Verdict(False, text, "error"))

    def _show_result(self, verdict: Verdict) -> None:
        self.outcome.setText(verdict.text)
        mark(self.outcome, "" if verdict.severity == "ok" else verdict.severity)
        self._go(RESULT)

    # --- moving ----------------------------------------------------------------------------------------

    def _go(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self.title.setText(f"{TITLE}: step {index + 1} of {len(STEPS)}, {STEPS[index].lower()}")
        self.back.setVisible(index not in (EXPECT, RESULT))
        self.next.setText(RECORD_TEXT if index == INJECT else NEXT_TEXT)
        self.next.setVisible(index != RESULT)
        self.cancel.setText("&Close" if index == RESULT else "Cancel")
        if index == INJECT and self.steps is not None:
            self.fits.setText(f"Inject at most {quantity(self.steps.most_that_fits_ml(), 'mL')}: the reservoir "
                              f"holds {quantity(self.steps.snapshot.status.capacity_ml, 'mL')}, counting what may "
                              "still be in it.")
        first = {WITHDRAW: self.withdrawn, SYRINGE: self.same_drug if self.same_drug.isVisible() else self.drug,
                 INJECT: self.added, RESULT: self.cancel}.get(index, self.next)
        self._evaluate()
        first.setFocus()

    def _next(self) -> None:
        index = self.pages.currentIndex()
        if index == INJECT:
            if self.review is not None and self.next.isEnabled():
                self.recording = True
                self._evaluate()
                self.refill_requested.emit(self.review, self.clinician.text().strip())
            return
        self._go(index + 1)

    def _same_drug(self) -> None:
        """The one explicit action that states the pump's own drug: it fills the drug's fields, which stay
        editable; the lot and expiry are still typed from the label."""
        drug = None if self.steps is None else self.steps.pump_drug()
        if drug is None:
            return
        self.drug.setCurrentText(drug.name)
        self.unit.setCurrentText(drug.dose_unit)
        self.concentration.setText(f"{drug.concentration_per_ml:g}")
        self.lot.setFocus()

    def _evaluate(self) -> None:
        """Judge the page shown and enable Next (or Record) only when its step is acceptable."""
        index, steps = self.pages.currentIndex(), self.steps
        verdict = Verdict(steps is not None, "")
        if steps is None:
            pass
        elif index == WITHDRAW:
            verdict = steps.check_withdrawal(self.withdrawn.text(), self.withdrawal_reason.text())
            self._show(self.withdrawal_verdict, verdict)
            self.withdrawal_form.setRowVisible(self.withdrawal_reason, verdict.asks_reason)
        elif index == SYRINGE:
            verdict = steps.check_syringe(self.drug.currentText(), self.unit.currentText(), self.concentration.text(),
                                          self.lot.text(), self.expiry.text(), self.bridge.isChecked())
            self._show(self.syringe_verdict, verdict)
            self.bridge.setVisible(verdict.offers_bridge)
        elif index == INJECT:
            verdict, self.review = steps.review(self.added.text(), self.override.text(), self.clinician.text())
            self._show(self.inject_verdict, verdict)
            self.inject_form.setRowVisible(self.override, verdict.asks_reason)
        self.next.setEnabled(verdict.ready and not self.recording)
        self.back.setEnabled(not self.recording)
        self.cancel.setEnabled(not self.recording)

    def _show(self, label: WrappedText, verdict: Verdict) -> None:
        label.setText(verdict.text)
        mark(label, "" if verdict.severity == "ok" else verdict.severity)

    def reject(self) -> None:
        """Esc and Cancel close the wizard, except while a refill is being recorded: its result must be seen."""
        if not self.recording:
            super().reject()
