"""Review and commit: the old and new program side by side, the plots, the warnings that need an
acknowledgement and a reason, the clinician's name and an explicit confirmation; then the write.

The page holds a frozen copy of the program being reviewed: editing goes back to the editor, so what is
written is exactly what was reviewed. The write itself (``programmer.session.commit_write``) re-checks
everything and refuses on its own if anything here were missed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from programmer.interrogation import PumpSnapshot
from programmer.library import LoadedLibrary
from programmer.session import Decision, review_write
from ui.commit_gate import CommitGate
from ui.comparison import compare
from ui.draft import Evaluation
from ui.format import quantity, signed_percent
from ui.preview import PreviewPlots
from ui.widgets import heading


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
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Figure", "Now on the pump", "Proposed", "Changed?"])
        self.table.setAccessibleName("Current and proposed program side by side")
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for index, mode in enumerate((QHeaderView.ResizeToContents, QHeaderView.Stretch, QHeaderView.Stretch,
                                      QHeaderView.ResizeToContents)):
            header.setSectionResizeMode(index, mode)
        column.addWidget(self.table, 1)

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

        splitter.addWidget(left)
        self.splitter = splitter
        self.plots: PreviewPlots | None = None  # built at the first review: plots cost start-up time

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
            self.plots = PreviewPlots()
            self.splitter.addWidget(self.plots)
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 2)
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
        self.table.resizeRowsToContents()

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
