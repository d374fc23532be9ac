"""Review and commit: the old and new program side by side, the plots, the warnings that need an
acknowledgement and a reason, the clinician's name and an explicit confirmation; then the write.

The page holds a frozen copy of the program being reviewed: editing goes back to the editor, so what is
written is exactly what was reviewed. The write itself (``programmer.session.commit_write``) re-checks
everything and refuses on its own if anything here were missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSizePolicy, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from programmer.interrogation import PumpSnapshot
from programmer.library import LoadedLibrary
from programmer.session import Decision, review_write
from ui.commit_gate import CommitGate
from ui.comparison import compare
from ui.draft import Evaluation
from ui.format import quantity, signed_percent
from ui.widgets import heading

if TYPE_CHECKING:
    from ui.preview import PreviewPlots

TABLE_TO_PLOTS = (3, 2)
"""How the review splits its width: the comparison table gets the larger part, because every figure in it
must be read in full (it wraps, never elides), while the plots stay readable at a smaller size."""


class ComparisonTable(QTableWidget):
    """Old and new side by side, every figure in full: cells wrap instead of eliding ("Simple continuous
    ..."), each row is as tall as its longest cell at the column widths of the moment, and the table is as
    tall as all its rows, so no figure hides below a scroll edge either."""

    def __init__(self):
        super().__init__(0, 4)
        self.setHorizontalHeaderLabels(["Figure", "Now on the pump", "Proposed", "Changed?"])
        self.setAccessibleName("Current and proposed program side by side")
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setTabKeyNavigation(False)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.ElideNone)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeToContents)
        rows.sectionResized.connect(self.updateGeometry)  # a row re-wrapped: the table's height changes
        header = self.horizontalHeader()
        for index, mode in enumerate((QHeaderView.Stretch, QHeaderView.Stretch, QHeaderView.Stretch,
                                      QHeaderView.ResizeToContents)):
            header.setSectionResizeMode(index, mode)

    def sizeHint(self) -> QSize:
        height = self.horizontalHeader().sizeHint().height() + self.verticalHeader().length() + 2 * self.frameWidth()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())


class ReviewPage(QWidget):
    commit_requested = Signal(object, str)   # the WriteReview with its override reason, the clinician
    back_requested = Signal()

    def __init__(self, library: LoadedLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.snapshot: PumpSnapshot | None = None
        self.gate: CommitGate | None = None
        self.writing = False
        self._ack_widgets: list[tuple[QCheckBox, QLineEdit]] = []
        self._build()
        self.setEnabled(False)

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.addWidget(heading("Review the change before it is written"))
        self.change = heading("", 1.1)
        self.change.setWordWrap(True)
        outer.addWidget(self.change)
        splitter = QSplitter(Qt.Horizontal)
        outer.addWidget(splitter, 1)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        self.table = ComparisonTable()
        column.addWidget(self.table)

        self.warnings_box = QGroupBox("Warnings: each needs your acknowledgement and a reason (recorded)")
        self.warnings_layout = QVBoxLayout(self.warnings_box)
        column.addWidget(self.warnings_box)

        sign = QGroupBox("Write")
        sign_layout = QVBoxLayout(sign)
        name_row = QHBoxLayout()
        name_label = QLabel("Clinician's &name:")
        self.clinician = QLineEdit()
        self.clinician.setAccessibleName("Clinician's name")
        self.clinician.setPlaceholderText("recorded in the audit log with this change")
        name_label.setBuddy(self.clinician)
        name_row.addWidget(name_label)
        name_row.addWidget(self.clinician, 1)
        sign_layout.addLayout(name_row)
        self.confirm = QCheckBox("I have reviewed the change and the pump should now run the &proposed program")
        sign_layout.addWidget(self.confirm)
        self.blockers = QLabel()
        self.blockers.setWordWrap(True)
        sign_layout.addWidget(self.blockers)
        buttons = QHBoxLayout()
        self.back = QPushButton("&Back to editing")
        self.back.clicked.connect(self.back_requested)
        self.write = QPushButton("&Write to the pump")
        self.write.setShortcut(QKeySequence("Ctrl+Return"))
        self.write.setToolTip("Write, then read back and verify (Ctrl+Enter)")
        self.write.clicked.connect(self._write)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.write)
        sign_layout.addLayout(buttons)
        column.addWidget(sign)
        self.clinician.textChanged.connect(self._gate_changed)
        self.confirm.toggled.connect(self._gate_changed)

        column.addStretch(1)
        # On a short screen the column scrolls as a whole, never the table inside it: the clinician reads
        # every row, then the warnings, then signs, in one movement (and Tab scrolls to each field).
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        splitter.addWidget(scroll)
        self.splitter = splitter
        self.plots: PreviewPlots | None = None  # built at the first review: plots cost start-up time
        self._split_pending = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._split_pending:
            self._split()

    def _split(self) -> None:
        """Divide the width as TABLE_TO_PLOTS once the page has its real size: a page not yet shown is
        tiny, and a ratio applied then would leave the table at its minimum for good. Later the
        clinician's own dragging of the splitter is kept."""
        width = sum(self.splitter.sizes())
        table = round(width * TABLE_TO_PLOTS[0] / sum(TABLE_TO_PLOTS))
        self.splitter.setSizes([table, width - table])  # in pixels: QSplitter does not scale a bare ratio
        self._split_pending = False

    def start(self, evaluation: Evaluation, snapshot: PumpSnapshot) -> None:
        """Show a reviewable evaluation; acknowledgements and the confirmation start unticked."""
        self.snapshot = snapshot
        review = evaluation.review
        self.gate = CommitGate.for_review(review)
        self.setEnabled(True)
        self.writing = False
        rows, change = compare(review.current_plan, review.plan)
        unit = review.plan.program.drug.dose_unit
        old = review.current_plan
        self.change.setText(f"Daily dose {quantity(old.mean_daily_dose if old else None, f'{unit}/day')} \u2192 "
                            f"{quantity(review.plan.mean_daily_dose, f'{unit}/day')} ({signed_percent(change)})")
        self._fill_table(rows)
        self._fill_warnings()
        if self.plots is None:
            from ui.preview import PreviewPlots  # pyqtgraph loads here, not at start-up

            self.plots = PreviewPlots()
            self.splitter.addWidget(self.plots)
            self.splitter.setStretchFactor(0, TABLE_TO_PLOTS[0])
            self.splitter.setStretchFactor(1, TABLE_TO_PLOTS[1])
            self._split_pending = True
            if self.isVisible():
                self._split()
        self.plots.show_plans(review.current_plan, review.plan)
        self.confirm.setChecked(False)
        self._gate_changed()

    def _fill_table(self, rows) -> None:
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
                        item.setBackground(Qt.yellow)
                self.table.setItem(index, column, item)

    def _fill_warnings(self) -> None:
        while self.warnings_layout.count():
            widget = self.warnings_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self._ack_widgets = []
        for number, ack in enumerate(self.gate.acknowledgements, 1):
            text = QLabel(f"{number}. {ack.finding.message}")
            text.setWordWrap(True)
            check = QCheckBox(f"I acknowledge warning {number} ({ack.finding.code})")
            reason = QLineEdit()
            reason.setPlaceholderText("reason for going ahead (required)")
            reason.setAccessibleName(f"Reason for overriding warning {number}")
            check.toggled.connect(self._gate_changed)
            reason.textChanged.connect(self._gate_changed)
            for widget in (text, check, reason):
                self.warnings_layout.addWidget(widget)
            self._ack_widgets.append((check, reason))
        if not self._ack_widgets:
            self.warnings_layout.addWidget(QLabel("None: no soft limit is crossed."))

    def _gate_changed(self) -> None:
        if self.gate is None:
            return
        for ack, (check, reason) in zip(self.gate.acknowledgements, self._ack_widgets):
            ack.acknowledged = check.isChecked()
            ack.reason = reason.text()
        self.gate.clinician = self.clinician.text()
        self.gate.confirmed = self.confirm.isChecked()
        blockers = self.gate.blockers()
        self.write.setEnabled(not blockers and not self.writing)
        self.blockers.setText("Ready to write." if not blockers else "Before writing: " + "; ".join(blockers) + ".")

    def _write(self) -> None:
        if self.gate is None or not self.gate.ready or self.writing:
            return
        program = self.gate.review.program
        review = review_write(self.snapshot, program, self.library, self.gate.override_reason())
        if review.decision is not Decision.PROCEED:  # the same snapshot and program: cannot differ, but never assume
            self.blockers.setText("The checks no longer allow this write: "
                                  + "; ".join(f.message for f in review.report.findings))
            return
        self.set_writing(True)
        self.commit_requested.emit(review, self.gate.clinician.strip())

    def set_writing(self, writing: bool) -> None:
        """While a write runs nothing here can change; afterwards the page is done with (a new review starts
        from the editor)."""
        self.writing = writing
        for widget in (self.clinician, self.confirm, self.back, self.warnings_box):
            widget.setEnabled(not writing)
        self._gate_changed()

    def finish(self) -> None:
        self.gate = None
        self.writing = False
        self.write.setEnabled(False)
        self.setEnabled(False)
