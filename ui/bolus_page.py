"""The Bolus page: a therapeutic, priming or bridge bolus, or the patient's demand dose, reviewed and given the way a
program is written: entry, findings, a reason for the warnings, the review with its plots, the clinician's name
and a confirmation, then the commit; while a bolus runs, its progress and a button that stops it; then its outcome.

Why one page with a kind selector: the four share the whole pattern and differ only in what is typed, and a
clinician who came to give one kind must see that the others exist (a concentration change needs a bridge, not a
bigger bolus). The page holds no logic of its own (``ui.view_models.bolus``) and does no I/O: the window sends
what it asks (``give_requested``, ``cancel_requested``) over its link and hands back the reading, the progress and
the outcome. The plots (``ui.preview.TransitionPlots``) show what reaches the patient through the transition, the
pump's rate and the reservoir, with and without the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout,
                               QWidget)

from programmer.library import LoadedLibrary
from programmer.port import BolusState, DemandSettings
from programmer.review import Review
from programmer.snapshot import PumpSnapshot
from ui.view_models.bolus import KIND_LABELS, KINDS, PRIME_REASONS, BolusEntry, Evaluation, progress
from ui.view_models.refill_steps import Verdict
from ui.view_models.transit_series import transits
from ui.widgets import VerticalScroll, WrappedText, describe, heading, keep_ratio, mark, second_shortcut

if TYPE_CHECKING:
    from clinic.prime_catheter import RecordedCatheter
    from ui.preview import TransitionPlots

GIVE_TEXT = {"therapeutic": "&Give the bolus", "prime": "&Give the priming bolus",
             "bridge": "&Give the bridge bolus", "demand": "&Give: set the demand dose"}
CONFIRM_TEXT = "I have &checked the figures and the patient should get this"
STOP_TEXT = "Stop the &bolus"
FORM_TO_PLOTS = (3, 2)


class BolusPage(QWidget):
    give_requested = Signal(object, str)   # the review to give, the clinician
    cancel_requested = Signal(str)         # the id of the bolus to stop

    def __init__(self, library: LoadedLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.entry: BolusEntry | None = None
        self.evaluation = Evaluation(Verdict(False, ""))
        self.sending = False
        self.link_busy = False
        self.refusal: str | None = None
        """Why the signed-in user may not give a bolus on this pump (their role, the patient's hard stop), or None."""
        self.recorded_catheter: RecordedCatheter | None = None
        """The catheter length the clinic recorded for the pump read, for the prime (None: none recorded)."""
        self.watching: str | None = None
        self.asked: float | None = None
        """The whole dose of the bolus watched, as its progress last showed it."""
        """The id of the bolus whose progress is shown (the window polls the pump for it), None when none runs."""
        self.plots: TransitionPlots | None = None
        self._build()
        self.setEnabled(False)

    # --- construction -------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.addWidget(heading("Give a bolus or set the patient's demand dose"))
        self.split = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(self.split, 1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        kind_row = QFormLayout()
        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(KIND_LABELS[kind], kind)
        describe(self.kind, "Kind of bolus", "Therapeutic, priming or bridge bolus, or the patient's demand dose.")
        self._row(kind_row, "&Kind", self.kind)
        column.addLayout(kind_row)
        self.unavailable = WrappedText()
        self.unavailable.setAccessibleName("Why this kind cannot be given")
        column.addWidget(self.unavailable)
        self.forms = QStackedWidget()
        column.addWidget(self.forms)
        self._build_therapeutic()
        self._build_prime()
        self._build_bridge()
        self._build_demand()
        self.figures = WrappedText()
        self.figures.setAccessibleName("The figures of the change")
        column.addWidget(self.figures)
        self.verdict = WrappedText()
        self.verdict.setAccessibleName("Findings")
        column.addWidget(self.verdict)
        column.addWidget(self._signature())
        column.addWidget(self._progress_box())
        self.outcome = WrappedText()
        self.outcome.setAccessibleName("Outcome")
        column.addWidget(self.outcome)
        column.addStretch(1)
        self.split.addWidget(VerticalScroll(left))  # a short window scrolls it; the plots never narrow it
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _row(self, form: QFormLayout, text: str, field: QWidget) -> None:
        label = QLabel(text)
        label.setBuddy(field)
        form.addRow(label, field)

    def _field(self, form: QFormLayout, text: str, name: str, about: str) -> QLineEdit:
        field = QLineEdit()
        describe(field, name, about)
        self._row(form, text, field)
        field.textChanged.connect(self.evaluate)
        return field

    def _form(self) -> QFormLayout:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.forms.addWidget(page)
        return form

    def _build_therapeutic(self) -> None:
        form = self._form()
        self.dose = self._field(form, "&Dose, in total", "Bolus dose",
                                "The whole bolus in the drug's dose unit: the total, not per hour.")
        self.duration = self._field(form, "D&uration (min)", "Bolus duration", "Over how many minutes it is given.")

    def _build_prime(self) -> None:
        form = self._form()
        self.catheter = self._field(form, "Catheter length (cm, as &implanted)", "Catheter length",
                                    "The catheter's length as implanted, after trimming; the volume is computed.")
        self.segments = self._field(form, "Catheter s&egments (cm, A, B)", "Catheter segments",
                                    "Optional: the lengths of a revised catheter's segments, which sum to its length.")
        self.prime_reason = QComboBox()
        self.prime_reason.addItem("Choose why", None)
        for key, words in PRIME_REASONS.items():
            self.prime_reason.addItem(words, key)
        describe(self.prime_reason, "Why the line is primed", "An implant, a pump replacement or a catheter revision.")
        self._row(form, "&Reason", self.prime_reason)
        self.prime_reason.currentIndexChanged.connect(self.evaluate)

    def _build_bridge(self) -> None:
        form = self._form()
        self.bridge_note = WrappedText("The volume and the old concentration are the pump's: what its line holds of "
                                       "another concentration than its reservoir's. Nothing is typed.")
        form.addRow(self.bridge_note)

    def _build_demand(self) -> None:
        form = self._form()
        self.demand_on = QCheckBox("Demand dose &on")
        describe(self.demand_on, "Demand dose on", "Off: a press of the patient's button gives nothing.")
        self.demand_on.toggled.connect(self.evaluate)
        form.addRow(self.demand_on)
        self.demand_dose = self._field(form, "&Dose per activation", "Demand dose per activation",
                                       "The dose a granted press gives, in the drug's dose unit.")
        self.demand_duration = self._field(form, "D&uration per activation (min)", "Demand dose duration",
                                           "Over how many minutes a granted press's dose is given (1 to 60).")
        self.lockout = self._field(form, "&Lockout (min)", "Lockout", "Minutes from one granted press to the next "
                                   "(15 to 1440): in minutes, not hours.")
        self.most = self._field(form, "&Most a day", "Most activations a day", "At most this many granted presses in "
                                "any 24 h (1 to 24).")

    def _signature(self) -> QGroupBox:
        box = QGroupBox("Give")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.override = self._field(form, "Reason for the &warnings", "Reason for the warnings",
                                    "Needed only when the review has warnings; recorded in the audit log.")
        self.clinician = self._field(form, "Clinician's &name", "Clinician's name",
                                     "Required: recorded in the audit log with this change.")
        self.signature_form = form
        form.setRowVisible(self.override, False)
        layout.addLayout(form)
        self.confirm = QCheckBox(CONFIRM_TEXT)
        describe(self.confirm, "Confirm", "Required: tick to confirm the figures shown.")
        self.confirm.toggled.connect(self._gate)
        layout.addWidget(self.confirm)
        self.blockers = WrappedText()
        self.blockers.setAccessibleName("What is needed before giving")
        layout.addWidget(self.blockers)
        row = QHBoxLayout()
        row.addStretch(1)
        self.give = QPushButton(GIVE_TEXT["therapeutic"])
        second_shortcut(self.give, "Ctrl+Return")
        self.give.setAutoDefault(False)
        self.give.clicked.connect(self._give)
        row.addWidget(self.give)
        layout.addLayout(row)
        return box

    def _progress_box(self) -> QGroupBox:
        box = QGroupBox("Running")
        layout = QVBoxLayout(box)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setAccessibleName("Bolus delivered")
        self.progress_text = WrappedText()
        self.progress_text.setAccessibleName("Bolus progress")
        self.stop = QPushButton(STOP_TEXT)
        self.stop.setAutoDefault(False)
        describe(self.stop, "Stop the bolus", "Stop the running bolus; what was delivered stays delivered.")
        self.stop.clicked.connect(self._stop)
        for widget in (self.bar, self.progress_text, self.stop):
            layout.addWidget(widget)
        box.setVisible(False)
        self.progress_box = box
        return box

    # --- what the window tells it --------------------------------------------------------------------

    def set_snapshot(self, snapshot: PumpSnapshot, demand: DemandSettings | None) -> None:
        """A reading of the pump (and its demand dose): everything typed is judged again against it; a bolus it
        reports running is shown and watched."""
        self.entry = BolusEntry(snapshot, self.library, demand)
        self.setEnabled(True)
        unit = self.entry.unit
        self.dose.setPlaceholderText(f"{unit}, the whole bolus" if unit else "")
        self.demand_dose.setPlaceholderText(unit)
        if demand is not None and demand.demand.enabled and not self.demand_dose.text():
            self._fill_demand(demand)
        bolus = snapshot.status.bolus
        if bolus is not None:
            self.show_progress(bolus, unit)
        elif self.watching is not None:  # it ended between two readings: the event log says how
            self.show_ended(f"Bolus {self.watching} has ended; the event log says how.")
        self.evaluate()

    def set_recorded_catheter(self, recorded: RecordedCatheter | None) -> None:
        """The catheter length the clinic recorded for the pump read (None: none, or not the visit's patient's): the
        Prime form is filled with it, says where it comes from, and refuses another length typed."""
        before, self.recorded_catheter = self.recorded_catheter, recorded
        if recorded is not None:
            self.catheter.setText(f"{recorded.cm:g}")
            self.catheter.setToolTip(f"The length the clinic recorded: {recorded}. A revised catheter is recorded "
                                     "first (patient revise-catheter), then primed.")
        elif before is not None:
            self.catheter.clear()  # the last pump's length: this one has none recorded
            self.catheter.setToolTip("")
        self.evaluate()

    def _fill_demand(self, settings: DemandSettings) -> None:
        demand = settings.demand
        self.demand_on.setChecked(True)
        for field, value in ((self.demand_dose, demand.dose), (self.demand_duration, demand.duration_min),
                             (self.lockout, demand.lockout_min), (self.most, demand.max_per_day)):
            field.setText(f"{value:g}")

    def show_progress(self, bolus: BolusState, unit: str) -> None:
        self.watching, self.asked = bolus.bolus_id, bolus.dose
        percent, text = progress(bolus, unit)
        self.progress_box.setVisible(True)
        self.bar.setValue(percent)
        self.progress_text.setText(text)
        self.stop.setEnabled(True)

    def show_ended(self, text: str) -> None:
        """The bolus watched has ended (done or stopped): say how, and stop watching."""
        self.watching = None
        self.progress_text.setText(text)
        self.stop.setEnabled(False)
        self._gate()

    def show_outcome(self, verdict: Verdict) -> None:
        """The outcome of what was sent; once given, the entry is cleared (the same bolus is not there to give again)
        and the confirmation too."""
        self.sending = False
        if verdict.ready:
            self.confirm.setChecked(False)
            for field in (self.dose, self.duration, self.catheter, self.segments):
                field.clear()
            self.prime_reason.setCurrentIndex(0)
        self.outcome.setText(verdict.text)
        mark(self.outcome, "" if verdict.severity == "ok" else verdict.severity)
        self._gate()

    def set_refusal(self, refusal: str | None) -> None:
        """Why Give is not offered to the signed-in user (``ui.view_models.access``), or None when it may be."""
        self.refusal = refusal
        self._gate()

    def set_link_busy(self, busy: bool) -> None:
        self.link_busy = busy
        self._gate()

    # --- judging what is typed --------------------------------------------------------------------------

    @property
    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def _kind_changed(self) -> None:
        index = self.kind.currentIndex()
        for number in range(self.forms.count()):  # the forms as tall as the one shown, not the tallest
            policy = QSizePolicy.Policy.Preferred if number == index else QSizePolicy.Policy.Ignored
            page = self.forms.widget(number)
            assert page is not None, "one page a kind"
            page.setSizePolicy(policy, policy)
        self.forms.setCurrentIndex(index)
        self.outcome.setText("")  # the last outcome was of another kind
        self.give.setText(GIVE_TEXT[self.current_kind])
        self.confirm.setChecked(False)
        self.evaluate()

    def evaluate(self) -> None:
        entry, kind = self.entry, self.current_kind
        if entry is None:
            return
        why_not = entry.unavailable(kind)
        self.unavailable.setText(why_not or "")
        self.unavailable.setVisible(why_not is not None)
        self.forms.setEnabled(why_not is None)
        if why_not is not None:
            evaluation = Evaluation(Verdict(False, ""))
        else:
            reason = self.override.text()
            evaluations: dict[str, Callable[[], Evaluation]] = {
                "therapeutic": lambda: entry.therapeutic(self.dose.text(), self.duration.text(), reason),
                "prime": lambda: entry.prime(self.catheter.text(), self.segments.text(),
                                             self.prime_reason.currentData(), reason, self.recorded_catheter),
                "bridge": lambda: entry.bridge(reason),
                "demand": lambda: entry.demand(self.demand_on.isChecked(), self.demand_dose.text(),
                                               self.demand_duration.text(), self.lockout.text(), self.most.text(),
                                               reason),
            }
            evaluation = evaluations[kind]()
        for field in (self.demand_dose, self.demand_duration, self.lockout, self.most):
            field.setEnabled(self.demand_on.isChecked())
        self.evaluation = evaluation
        self.figures.setText(evaluation.figures)
        self.verdict.setText(evaluation.verdict.text)
        mark(self.verdict, "" if evaluation.verdict.severity == "ok" else evaluation.verdict.severity)
        self.signature_form.setRowVisible(self.override, evaluation.verdict.asks_reason)
        self._draw(evaluation.review)
        self._gate()

    def _draw(self, review: Review | None) -> None:
        """The plots for a review that may be given: what reaches the patient with and without it."""
        entry = self.entry
        if entry is None or not self.isVisible():
            return
        if self.plots is None:
            from ui.preview import TransitionPlots  # pyqtgraph loads with the window (ui.main_window), not here

            self.plots = TransitionPlots()
            self.split.addWidget(self.plots)
            keep_ratio(self.split, FORM_TO_PLOTS)
        without, with_change = transits(entry.snapshot, review)
        self.plots.show_transits(entry.unit, without, with_change)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._draw(self.evaluation.review)

    # --- giving -----------------------------------------------------------------------------------------

    def blockers_now(self) -> list[str]:
        said = []
        if self.evaluation.review is None:
            said.append("the entry above is not ready")
        if not self.clinician.text().strip():
            said.append("enter the clinician's name")
        if not self.confirm.isChecked():
            said.append("tick the confirmation")
        if self.watching is not None and self.current_kind != "demand":
            said.append("a bolus is running: wait for it to end, or stop it")
        return said

    def _gate(self) -> None:
        blockers = self.blockers_now()
        self.give.setEnabled(not blockers and not self.sending and not self.link_busy and self.refusal is None)
        self.give.setToolTip(self.refusal or "")
        if self.refusal is not None:
            text = self.refusal
        elif self.sending:
            text = "Sending to the pump: wait for its answer."
        elif blockers:
            text = "Before giving: " + "; ".join(blockers) + "."
        else:
            text = "Ready." + (" Wait: the programmer is busy with the pump." if self.link_busy else "")
        self.blockers.setText(text)

    def _give(self) -> None:
        review = self.evaluation.review
        if review is None or self.blockers_now() or self.sending or self.link_busy:
            return
        self.sending = True
        self.outcome.setText("")
        self._gate()
        self.give_requested.emit(review, self.clinician.text().strip())

    def give_refused(self, why: str) -> None:
        self.show_outcome(Verdict(False, f"Not given, nothing was sent to the pump: {why}.", "error"))

    def _stop(self) -> None:
        if self.watching is not None:
            self.stop.setEnabled(False)
            self.cancel_requested.emit(self.watching)

