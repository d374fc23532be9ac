"""Review and commit: the old and new program side by side, what the new daily dose was compared with, the
plots, the clinical context of a stop or a large drop (only when the change is one), the warnings that need
an acknowledgement and a reason, the clinician's name and an explicit confirmation; then the write.

The page holds a frozen copy of the program being reviewed: editing goes back to the editor, so what is
written is exactly what was reviewed. The write itself (``programmer.commit.commit_write``) re-checks
everything and refuses on its own if anything here were missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSizePolicy, QSplitter, QStyle, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from programmer.checks import Finding
from programmer.overrides import CLINICAL_CONTEXTS, clinical_context
from programmer.snapshot import PumpSnapshot
from programmer.library import LoadedLibrary
from programmer.review import Decision, WriteReview, review_write
from ui.view_models.commit_gate import CommitGate
from ui.view_models.comparison import Row, compare, compared_with, headline
from ui.view_models.draft import Evaluation
from ui.view_models.format import UNIT_SPACE
from ui.widgets import (UnitsWholeDelegate, VerticalScroll, WrappedText, describe, heading, keep_ratio,
                        second_shortcut)
from ui.view_models.mnemonics import mnemonic, mnemonic_letter
from ui.view_models.wording import finding_text, plain

if TYPE_CHECKING:
    from programmer.planner import Plan
    from ui.preview import PreviewPlots

TABLE_TO_PLOTS = (3, 2)
"""How the review splits its width: the comparison table gets the larger part, because every figure in it
must be read in full (it wraps, never elides), while the plots stay readable at a smaller size."""
NAME_LABEL = "Clinician's &name:"
CONTEXT_LABEL = "C&linical context:"
CONTEXT_UNSTATED = "Not stated: the change is refused"
CONFIRM_TEXT = "I have reviewed the &change and the pump should now run the proposed program"
BACK_TEXT = "&Back to editing"
WRITE_TEXT = "&Write to the pump"
RESERVED_LETTERS = frozenset("pv123456789sth")
"""Mnemonics the window around this page uses while it is shown: the menus &Pump and &View, the tabs &1 to
&9 and the banner's buttons (&Set the pump clock, Reconnec&t, Pair wit&h this pump; ``tests/ui/test_keyboard.py``
checks that this set holds every letter of the window). A letter used twice makes Qt only move the focus between
its owners, never act (Alt+P once focused the confirmation without ticking it), so this page's letters avoid
these."""
PAGE_LETTERS = frozenset(letter for text in (NAME_LABEL, CONTEXT_LABEL, CONFIRM_TEXT, BACK_TEXT, WRITE_TEXT)
                         if (letter := mnemonic_letter(text)) is not None)  # each text has one
DOSE_FIELDS = ("therapy", "therapy.daily_dose")
"""The fields of the findings about the daily dose itself (its limits and its changes): their figure is the
typed dose rounded, so their acknowledgement repeats the dose as typed."""


class ComparisonTable(QTableWidget):
    """Old and new side by side, every figure in full: cells wrap instead of eliding ("Simple continuous
    ..."), each row is as tall as its longest cell at the column widths of the moment, and the table is as
    tall as all its rows, so no figure hides below a scroll edge either."""

    def __init__(self):
        super().__init__(0, 4)
        self.setHorizontalHeaderLabels(["Figure", "Now on the pump", "Proposed", "Changed?"])
        self.setAccessibleName("Current and proposed program side by side")
        self.setAccessibleDescription("Each figure now on the pump and as proposed; the last column says whether "
                                      "it changed.")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)
        self.setWordWrap(True)
        self.setItemDelegate(UnitsWholeDelegate(self))
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        rows.sectionResized.connect(self.updateGeometry)  # a row re-wrapped: the table's height changes
        header = self.horizontalHeader()
        for index, mode in enumerate((QHeaderView.ResizeMode.Fixed, QHeaderView.ResizeMode.Stretch,
                                      QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(index, mode)

    def fit_names(self) -> None:
        """The figures' names only as wide as their longest word: they wrap at their spaces, so the values,
        which break worse ("6.25 mcg/" over "h"), get the rest of the width."""
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self)
        margins = 2 * (margin + 1) + 1  # and the grid
        names = [name for row in range(self.rowCount())
                 if (name := self.item(row, 0)) is not None]  # all of them: _fill_table sets every cell
        widths = [QFontMetrics(name.font()).horizontalAdvance(word) + margins
                  for name in names for word in name.text().split(" ")]
        header = self.horizontalHeader()
        header.resizeSection(0, max([header.sectionSizeHint(0), *widths]))

    def sizeHint(self) -> QSize:
        height = self.horizontalHeader().sizeHint().height() + self.verticalHeader().length() + 2 * self.frameWidth()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())


WRITE_TIP = "Write, then read back and verify (Ctrl+Enter)"


class ReviewPage(QWidget):
    """One review at a time, each from a clean slate (``start``): a write is signed, confirmed and its
    warnings acknowledged for itself, never with what was ticked or typed for the one before."""

    commit_requested = Signal(object, str)   # the WriteReview with its override reason, the clinician
    back_requested = Signal()

    def __init__(self, library: LoadedLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.snapshot: PumpSnapshot | None = None
        self.gate: CommitGate | None = None
        self.entered: str | None = None
        self.writing = False
        self.link_busy = False
        self.refusal: str | None = None
        """Why the signed-in user may not write to this pump (their role, the patient's hard stop), or None."""
        self.signer: tuple[str, ...] = ()
        """The signed-in user's names, one of which the name typed must be (``CommitGate.signer``)."""
        self.notice = ""
        """Why the last attempt did not go out (refused by the link or the checks); kept until the next."""
        self._ack_widgets: list[tuple[QCheckBox, QLineEdit]] = []
        self._warnings_list: QWidget | None = None
        self._build()
        self.setEnabled(False)

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.addWidget(heading("Review the change before it is written"))
        self.change = heading("", 1.1, wraps=True)
        outer.addWidget(self.change)
        self.compared = WrappedText()
        self.compared.setAccessibleName("What the new daily dose was compared with")
        outer.addWidget(self.compared)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter, 1)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.table = ComparisonTable()
        column.addWidget(self.table)
        self.library_line = WrappedText(f"Limits from the drug library {self.library.identity.words()}.")
        self.library_line.setAccessibleName("The drug library whose limits apply, and who approved it")
        column.addWidget(self.library_line)
        column.addWidget(self._context())

        self.warnings_box = QGroupBox("Warnings: each needs your acknowledgement and a reason (recorded)")
        self.warnings_layout = QVBoxLayout(self.warnings_box)
        column.addWidget(self.warnings_box)
        column.addWidget(self._signature())
        column.addStretch(1)
        # On a short screen the column scrolls as a whole, never the table inside it: the clinician reads
        # every row, then the warnings, then signs, in one movement.
        splitter.addWidget(VerticalScroll(left))
        self.splitter = splitter
        self.plots: PreviewPlots | None = None  # given by the window (set_plots), or built at the first review
        self._ahead: tuple[Plan | None, Plan | None] = (None, None)
        self._ahead_timer = QTimer(self)
        self._ahead_timer.setSingleShot(True)
        self._ahead_timer.setInterval(0)
        self._ahead_timer.timeout.connect(self._draw_ahead)

    def _context(self) -> QGroupBox:
        """The clinical context of a stop or a drop beyond the hard limit: shown only for such a change."""
        box = QGroupBox("A stop or a large drop: why is it right?")
        layout = QVBoxLayout(box)
        self.context_why = WrappedText()
        self.context_why.setAccessibleName("Why a clinical context is needed")
        layout.addWidget(self.context_why)
        row = QHBoxLayout()
        label = QLabel(CONTEXT_LABEL)
        self.context = QComboBox()
        self.context.addItem(CONTEXT_UNSTATED, None)
        for context in CLINICAL_CONTEXTS:
            self.context.addItem(context.label, context.key)
        describe(self.context, "Clinical context of the stop or drop",
                 "Required for a stop or a drop beyond the hard limit, recorded in the audit log: "
                 + "; ".join(f"{context.label}: {context.why}" for context in CLINICAL_CONTEXTS) + ".")
        label.setBuddy(self.context)
        row.addWidget(label)
        row.addWidget(self.context, 1)
        layout.addLayout(row)
        self.context_meaning = WrappedText()
        self.context_meaning.setAccessibleName("What the clinical context chosen means")
        layout.addWidget(self.context_meaning)
        self.context.currentIndexChanged.connect(self._context_changed)
        box.hide()
        self.context_box = box
        return box

    def _signature(self) -> QGroupBox:
        """The clinician's name, the confirmation, and the buttons."""
        sign = QGroupBox("Write")
        layout = QVBoxLayout(sign)
        name_row = QHBoxLayout()
        name_label = QLabel(NAME_LABEL)
        self.clinician = QLineEdit()
        self.clinician.setPlaceholderText("recorded in the audit log with this change")
        describe(self.clinician, "Clinician's name", "Required: recorded in the audit log with this change.")
        name_label.setBuddy(self.clinician)
        name_row.addWidget(name_label)
        name_row.addWidget(self.clinician, 1)
        layout.addLayout(name_row)
        self.confirm = QCheckBox(CONFIRM_TEXT)
        describe(self.confirm, "Confirm the change",
                  "Required: tick to confirm that the pump should now run the proposed program.")
        layout.addWidget(self.confirm)
        self.blockers = WrappedText()
        self.blockers.setAccessibleName("What is needed before writing")
        layout.addWidget(self.blockers)
        buttons = QHBoxLayout()
        self.back = QPushButton(BACK_TEXT)
        describe(self.back, "Back to editing", "Return to the editor; nothing is written.")
        self.back.clicked.connect(self.back_requested)
        self.write = QPushButton(WRITE_TEXT)
        second_shortcut(self.write, "Ctrl+Return")
        self.write.setToolTip(WRITE_TIP)
        describe(self.write, "Write to the pump", "Write, then read back and verify (Ctrl+Enter).")
        self.write.clicked.connect(self._write)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.write)
        layout.addLayout(buttons)
        self.clinician.textChanged.connect(self._gate_changed)
        self.confirm.toggled.connect(self._gate_changed)
        return sign

    # --- one review ------------------------------------------------------------------------------

    def start(self, evaluation: Evaluation, snapshot: PumpSnapshot) -> None:
        """Show a reviewable evaluation from a clean slate: the name empty, nothing ticked, no reasons,
        every input enabled (``_clear``)."""
        review = evaluation.review
        assert review is not None, "only an evaluation that can be reviewed is started (it has a program)"
        self._clear()
        self.snapshot, self.entered = snapshot, evaluation.entered
        rows, _change = compare(review.current_plan, review.plan)
        self._show_headline(headline(review, evaluation.entered))
        self.compared.setText(compared_with(review))
        self._fill_table(rows)
        self.gate = CommitGate.for_review(review)
        self.gate.signer = self.signer
        self._show_context(review)
        self._fill_warnings(review.plan.program.drug.dose_unit)
        self._show_plots(review)
        self._set_tab_order()
        self.setEnabled(True)
        self._gate_changed()

    def finish(self) -> None:
        """Close the review (its write is done, or it no longer describes the pump): nothing of it stays
        on the page, which is disabled until the next ``start``."""
        self._clear()
        self._show_headline("")
        self.compared.setText("")
        self._fill_table([])
        self.context_box.hide()
        self._fill_warnings("")
        if self.plots is not None:
            self.plots.show_plans(None, None)
        self.setEnabled(False)

    def _clear(self) -> None:
        """Forget the last review's signature and state. The gate goes first, so the widgets' signals
        below change no gate."""
        self.gate = None
        self.snapshot = self.entered = None
        self.notice = ""
        self.context.setCurrentIndex(0)
        self.clinician.clear()
        self.confirm.setChecked(False)
        self.set_writing(False)

    def _show_headline(self, text: str) -> None:
        self.change.setText(text)
        self.change.setAccessibleName(text)

    def _show_context(self, review: WriteReview) -> None:
        """Ask for the clinical context only when the change needs one, and say why and what the one chosen means."""
        needed = review.report.context_needed
        self.context_box.setVisible(bool(needed))
        changes = "; ".join(plain(why) for why in needed)
        self.context_why.setText(f"{changes}. A stop, or a drop beyond the hard limit, is written only with its "
                                 "clinical context: choose the situation it is, then give the reason with the "
                                 "warnings. Both are recorded in the audit log." if needed else "")
        chosen = review.report.clinical_context
        self.context_meaning.setText("" if chosen is None else f"{chosen.label}: {chosen.why}.")

    def _context_changed(self) -> None:
        """Review again with the context chosen: its warnings replace the ones shown, each to be acknowledged."""
        gate = self.gate
        if gate is None or self.snapshot is None:
            return
        review = gate.review
        review = review_write(self.snapshot, review.program, self.library, None, review.prior,
                              clinical_context(self.context.currentData()))
        self.gate = CommitGate.for_review(review)
        self.gate.signer = self.signer
        self._show_context(review)
        self._fill_warnings(review.program.drug.dose_unit)
        self._set_tab_order()
        self._gate_changed()

    def set_plots(self, plots: PreviewPlots) -> None:
        """Take plots built ahead of the first review (the window builds them while it is idle), so that opening
        it does not build them then."""
        self.plots = plots
        self.splitter.addWidget(plots)
        self.splitter.setStretchFactor(0, TABLE_TO_PLOTS[0])
        self.splitter.setStretchFactor(1, TABLE_TO_PLOTS[1])
        keep_ratio(self.splitter, TABLE_TO_PLOTS)

    def draw_ahead(self, current: Plan | None, proposed: Plan | None) -> None:
        """While no review is open, draw on its plots the programs the next review would show (the window gives the
        Program page's preview each time it is drawn), at a later turn of the event loop than the preview's: opening
        the review then finds its plots drawn (``PreviewPlots.show_plans`` leaves what it drew alone), and that
        turn is the table's and the page's layout only, not some 10 ms more of plotting too."""
        self._ahead = (current, proposed)
        if self.gate is None and self.plots is not None:
            self._ahead_timer.start()

    def _draw_ahead(self) -> None:
        if self.gate is None and self.plots is not None:  # a review opened since shows its own
            self.plots.show_plans(*self._ahead)

    def _show_plots(self, review: WriteReview) -> None:
        if self.plots is None:  # a page used alone, or a review opened before the window built them
            from ui.preview import PreviewPlots  # pyqtgraph loads here, not at start-up

            self.set_plots(PreviewPlots())
        assert self.plots is not None, "set_plots just gave them"
        self.plots.show_plans(review.current_plan, review.plan)

    def _fill_table(self, rows: list[Row]) -> None:
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for index, row in enumerate(rows):
            cells = (row.label, row.old, row.new, "CHANGED" if row.changed else "same")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if row.changed:
                    item.setFont(bold)
                    if column in (2, 3):
                        item.setBackground(Qt.GlobalColor.yellow)
                self.table.setItem(index, column, item)
        self.table.fit_names()

    def _fill_warnings(self, unit: str) -> None:
        """A new list of warnings, each with its own acknowledgement and reason. The old list is hidden at
        once (it is deleted later): a hidden widget is no tab stop and no mnemonic."""
        if self._warnings_list is not None:
            self._warnings_list.hide()
            self.warnings_layout.removeWidget(self._warnings_list)
            self._warnings_list.deleteLater()
        self._warnings_list = QWidget()
        layout = QVBoxLayout(self._warnings_list)
        layout.setContentsMargins(0, 0, 0, 0)
        taken = set(RESERVED_LETTERS | PAGE_LETTERS)
        acknowledgements = [] if self.gate is None else self.gate.acknowledgements
        self._ack_widgets = [self._warning(layout, number, ack.finding, unit, taken)
                             for number, ack in enumerate(acknowledgements, 1)]
        if not self._ack_widgets:
            layout.addWidget(QLabel("None: no soft limit is crossed."))
        self.warnings_layout.addWidget(self._warnings_list)

    def _warning(self, layout: QVBoxLayout, number: int, finding: Finding, unit: str,
                 taken: set[str]) -> tuple[QCheckBox, QLineEdit]:
        """One warning in words, its acknowledgement and its labelled reason field."""
        words = finding_text(finding)
        text = WrappedText(f"{number}. {words}")
        acknowledge = f"Acknowledge warning {number}"
        if self.entered is not None and finding.field in DOSE_FIELDS:
            acknowledge += f" (the daily dose as typed: {self.entered}{UNIT_SPACE}{unit}/day)"
        check = QCheckBox(mnemonic(acknowledge, taken))
        describe(check, f"Acknowledge warning {number}", words)
        reason_row = QHBoxLayout()
        label = QLabel(mnemonic(f"Reason for warning {number}:", taken))
        reason = QLineEdit()
        reason.setPlaceholderText("why going ahead is right (required)")
        describe(reason, f"Reason for overriding warning {number}",
                  "Required: recorded in the audit log with the warning.")
        label.setBuddy(reason)
        reason_row.addWidget(label)
        reason_row.addWidget(reason, 1)
        check.toggled.connect(self._gate_changed)
        reason.textChanged.connect(self._gate_changed)
        layout.addWidget(text)
        layout.addWidget(check)
        layout.addLayout(reason_row)
        return check, reason

    def _set_tab_order(self) -> None:
        """Tab follows the page as it is read: the figures, each warning's acknowledgement and reason,
        then the signature and the buttons."""
        context = [self.context] if self.context_box.isVisibleTo(self) else []
        chain = [self.table, *context, *(widget for pair in self._ack_widgets for widget in pair),
                 self.clinician, self.confirm, self.back, self.write]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # --- the gate and the write ------------------------------------------------------------------

    def _gate_changed(self) -> None:
        gate = self.gate
        if gate is None:
            self.write.setEnabled(False)
            self.blockers.setText(self.notice)
            return
        for ack, (check, reason) in zip(gate.acknowledgements, self._ack_widgets):
            ack.acknowledged = check.isChecked()
            ack.reason = reason.text()
        gate.clinician = self.clinician.text()
        gate.confirmed = self.confirm.isChecked()
        blockers = gate.blockers()
        self.write.setEnabled(not blockers and not self.writing and not self.link_busy and self.refusal is None)
        self.write.setToolTip(self.refusal or WRITE_TIP)
        self.blockers.setText(" ".join(filter(None, (self.refusal, self.notice, self._state(blockers)))))

    def _state(self, blockers: list[str]) -> str:
        """What stands between the clinician and the write, in words."""
        if self.writing:
            return "Writing to the pump: wait for the read-back."
        said = [] if not blockers else ["Before writing: " + "; ".join(blockers) + "."]
        if self.link_busy:
            said.append("Wait: the programmer is busy with the pump (see the status bar); Write is available "
                        "when it is done.")
        return " ".join(said) or "Ready to write."

    def _write(self) -> None:
        if self.gate is None or not self.gate.ready or self.writing or self.link_busy:
            return
        program = self.gate.review.program
        assert self.snapshot is not None, "start() set it with the gate"
        review = review_write(self.snapshot, program, self.library, self.gate.override_reason(),
                              self.gate.review.prior, self.gate.review.report.clinical_context)
        if review.decision is not Decision.PROCEED:  # the same snapshot and program: cannot differ, but never assume
            self.notice = ("The checks no longer allow this write: "
                           + "; ".join(finding_text(f) for f in review.report.findings) + ".")
            self._gate_changed()
            return
        self.notice = ""
        self.set_writing(True)
        self.commit_requested.emit(review, self.gate.clinician.strip())

    def set_writing(self, writing: bool) -> None:
        """While a write runs nothing here can change; after one that failed, everything can again, so
        the clinician can retry (the name, ticks and reasons stay)."""
        self.writing = writing
        for widget in (self.clinician, self.confirm, self.back, self.warnings_box, self.context_box):
            widget.setEnabled(not writing)
        self._gate_changed()

    def set_refusal(self, refusal: str | None, signer: tuple[str, ...] = ()) -> None:
        """Why Write is not offered to the signed-in user (``ui.view_models.access``), or None when it may be; and
        the names of the signed-in user, the name typed must be one of them."""
        self.refusal = refusal
        self.signer = signer
        if self.gate is not None:
            self.gate.signer = signer
        self._gate_changed()

    def set_link_busy(self, busy: bool) -> None:
        """The pump link is (or is no longer) serving another request: a write asked for now would not be
        taken, so Write waits for it."""
        self.link_busy = busy
        self._gate_changed()

    def write_refused(self, reason: str) -> None:
        """The write was not sent (the link refused the request): the page is usable again and says why,
        rather than staying locked as if the pump were being written."""
        self.notice = f"Not written, nothing was sent to the pump: {reason}."
        self.set_writing(False)
