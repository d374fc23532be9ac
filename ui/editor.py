"""The program editor: mode, daily dose or flex steps, the figures they give, and why they may not be
written. Every keystroke re-evaluates the draft (``ui.draft.evaluate``), so figures, markers and the
preview are never stale, and the Review button is enabled only when no hard limit is broken."""

from __future__ import annotations

import re

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QIcon, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QStackedWidget, QStyledItemDelegate, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from programmer.interrogation import PumpSnapshot
from programmer.library import LoadedLibrary
from ui.draft import DAILY_TOTAL, GENERAL, MODE_LABELS, Draft, Evaluation, Problem, evaluate
from ui.format import NOT_APPLICABLE, moment_and_days, number, percent_change, quantity, signed_percent
from ui.widgets import FactGrid, ProblemLabel, heading, problem_icon, problems_text

DAY, START, DOSE, VOLUME = range(4)
_STEP_FIELD = re.compile(r"steps\[(\d+)\]\.(day|start|dose_per_hour)")
_COLUMN = {"day": DAY, "start": START, "dose_per_hour": DOSE}


class _LiveDelegate(QStyledItemDelegate):
    """Commits a text cell on every keystroke, so the figures follow the typing (not only on Enter)."""

    def createEditor(self, parent, option, index):
        editor = super().createEditor(parent, option, index)
        if isinstance(editor, QLineEdit):
            editor.textEdited.connect(lambda _text, e=editor: self.commitData.emit(e))
        return editor


class ProgramEditor(QWidget):
    evaluated = Signal(object)          # Evaluation, after every change
    review_requested = Signal(object)   # Evaluation that can be reviewed

    def __init__(self, library: LoadedLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.snapshot: PumpSnapshot | None = None
        self.draft: Draft | None = None
        self.evaluation: Evaluation | None = None
        self._build()

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(heading("New program"))
        self.drug_label = QLabel()
        self.drug_label.setWordWrap(True)
        layout.addWidget(self.drug_label)

        mode_row = QHBoxLayout()
        mode_label = QLabel("&Mode:")
        self.mode = QComboBox()
        for key, text in MODE_LABELS.items():
            self.mode.addItem(text, key)
        self.mode.setAccessibleName("Therapy mode")
        mode_label.setBuddy(self.mode)
        mode_row.addWidget(mode_label)
        mode_row.addWidget(self.mode, 1)
        layout.addLayout(mode_row)
        self.mode_problem = ProblemLabel(self.mode)
        layout.addWidget(self.mode_problem)
        self.mode.currentIndexChanged.connect(self._mode_changed)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._stopped_page())
        self.pages.addWidget(self._simple_page())
        self.pages.addWidget(self._flex_page())
        layout.addWidget(self.pages)

        figures = QGroupBox("What this program delivers")
        self.figures = FactGrid()
        for key, label in (("daily", "Daily dose"), ("volume", "Volume"), ("per_day", "Dose on each day"),
                           ("low_alarm", "Low-reservoir alarm"), ("empty", "Reservoir empty")):
            self.figures.row(key, label)
        self.total_problem = ProblemLabel(self.figures.values["daily"])
        self.figures.addRow("", self.total_problem)
        figures.setLayout(self.figures)
        layout.addWidget(figures)

        self.general_problem = ProblemLabel()
        layout.addWidget(self.general_problem)

        buttons = QHBoxLayout()
        self.reset_button = QPushButton("Reset to the pump's &current program")
        self.reset_button.clicked.connect(self.reset)
        self.review_button = QPushButton("&Review change…")
        self.review_button.setShortcut(QKeySequence("Ctrl+R"))
        self.review_button.setToolTip("Review the change before writing it (Ctrl+R)")
        self.review_button.clicked.connect(self._review)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.review_button)
        layout.addLayout(buttons)
        self.review_blocked = QLabel()
        self.review_blocked.setWordWrap(True)
        layout.addWidget(self.review_blocked)
        layout.addStretch(1)

    def _stopped_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        note = QLabel("No drug is delivered while the pump is stopped. Abrupt withdrawal of intrathecal baclofen "
                      "can be life-threatening.")
        note.setWordWrap(True)
        box.addWidget(note)
        return page

    def _simple_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        row = QHBoxLayout()
        label = QLabel("&Daily dose:")
        self.daily_dose = QLineEdit()
        self.daily_dose.setAccessibleName("Daily dose")
        self.daily_unit = QLabel()
        label.setBuddy(self.daily_dose)
        row.addWidget(label)
        row.addWidget(self.daily_dose, 1)
        row.addWidget(self.daily_unit)
        box.addLayout(row)
        self.daily_problem = ProblemLabel(self.daily_dose)
        box.addWidget(self.daily_problem)
        self.daily_dose.textEdited.connect(self._daily_edited)
        return page

    def _flex_page(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        row = QHBoxLayout()
        label = QLabel("C&ycle length:")
        self.cycle_days = QSpinBox()
        self.cycle_days.setRange(1, 31)
        self.cycle_days.setSuffix(" days")
        self.cycle_days.setSpecialValueText("1 day")  # shown at the minimum, 1: no "day(s)"
        self.cycle_days.setAccessibleName("Cycle length in days")
        label.setBuddy(self.cycle_days)
        row.addWidget(label)
        row.addWidget(self.cycle_days)
        row.addStretch(1)
        box.addLayout(row)
        self.cycle_problem = ProblemLabel(self.cycle_days)
        box.addWidget(self.cycle_problem)
        self.cycle_days.valueChanged.connect(self._cycle_changed)

        self.table = QTableWidget(0, 4)
        self.table.setAccessibleName("Flex steps")
        self.table.setItemDelegate(_LiveDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setEditTriggers(QAbstractItemView.AllEditTriggers)
        header = self.table.horizontalHeader()
        for column in (DAY, START, DOSE, VOLUME):
            header.setSectionResizeMode(column, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._cell_changed)
        box.addWidget(self.table, 1)
        self.steps_problem = ProblemLabel(self.table)
        box.addWidget(self.steps_problem)

        actions = QHBoxLayout()
        self.add_button = self._step_button("&Add step", "Insert a step after the selected one, halfway to the "
                                            "next, at the same dose (Alt+A)", self._add_step)
        self.remove_button = self._step_button("Remo&ve step", "Remove the selected step (Alt+V)", self._remove_step)
        self.up_button = self._step_button("Move &up", "Swap the selected step with the one above (Alt+U)",
                                           lambda: self._move_step(-1))
        self.down_button = self._step_button("Move do&wn", "Swap the selected step with the one below (Alt+W)",
                                             lambda: self._move_step(1))
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            actions.addWidget(button)
        actions.addStretch(1)
        box.addLayout(actions)
        return page

    def _step_button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # --- state ------------------------------------------------------------------------------------

    def set_snapshot(self, snapshot: PumpSnapshot) -> None:
        """Start editing from what the pump runs now (a new interrogation discards the old draft)."""
        self.snapshot = snapshot
        self.reset()

    def reset(self) -> None:
        snapshot = self.snapshot
        if snapshot is None or snapshot.active.drug is None:
            self.draft = None
            self.setEnabled(False)
            return
        self.setEnabled(True)
        program = snapshot.active.program
        self.draft = Draft.from_program(program)
        drug = program.drug
        self.drug_label.setText(f"Drug: {drug.name} {number(drug.concentration_per_ml)} {drug.dose_unit}/mL, the "
                                "drug in the pump. A new drug or concentration is entered at a refill, not here.")
        self._show_draft()

    def _show_draft(self) -> None:
        draft = self.draft
        unit = draft.dose_unit
        with QSignalBlocker(self.mode), QSignalBlocker(self.daily_dose), QSignalBlocker(self.cycle_days):
            self.mode.setCurrentIndex(self.mode.findData(draft.mode))
            self.daily_dose.setText(draft.daily_dose)
            self.daily_unit.setText(f"{unit}/day")
            self.cycle_days.setValue(draft.cycle_days)
        self.pages.setCurrentIndex(self.mode.currentIndex())
        self.table.setHorizontalHeaderLabels(["Day of cycle", "Start (HH:MM)", f"Dose ({unit}/h)", "Volume (mL/h)"])
        self._fill_table()
        self._evaluate()

    def _fill_table(self) -> None:
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self.draft.steps))
            for row, step in enumerate(self.draft.steps):
                day = QTableWidgetItem()
                day.setData(Qt.EditRole, step.day)
                self.table.setItem(row, DAY, day)
                self.table.setItem(row, START, QTableWidgetItem(step.start))
                self.table.setItem(row, DOSE, QTableWidgetItem(step.dose_per_hour))
                volume = QTableWidgetItem()
                volume.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                self.table.setItem(row, VOLUME, volume)

    # --- edits ------------------------------------------------------------------------------------

    def _mode_changed(self) -> None:
        self.draft.mode = self.mode.currentData()
        self.pages.setCurrentIndex(self.mode.currentIndex())
        self._evaluate()

    def _daily_edited(self, text: str) -> None:
        self.draft.daily_dose = text
        self._evaluate()

    def _cycle_changed(self, days: int) -> None:
        self.draft.cycle_days = days
        self._evaluate()

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        step = self.draft.steps[item.row()]
        if item.column() == DAY:
            step.day = int(item.data(Qt.EditRole))
        elif item.column() == START:
            step.start = item.text()
        elif item.column() == DOSE:
            step.dose_per_hour = item.text()
        else:
            return
        self._evaluate()

    def _selected_row(self) -> int:
        row = self.table.currentRow()
        return row if 0 <= row < len(self.draft.steps) else len(self.draft.steps) - 1

    def _add_step(self) -> None:
        self._refill_and_select(self.draft.add_step(self._selected_row()))

    def _remove_step(self) -> None:
        row = self._selected_row()
        self.draft.remove_step(row)
        self._refill_and_select(min(row, len(self.draft.steps) - 1))

    def _move_step(self, delta: int) -> None:
        self._refill_and_select(self.draft.move_step(self._selected_row(), delta))

    def _refill_and_select(self, row: int) -> None:
        self._fill_table()
        self.table.setCurrentCell(row, DOSE)
        self._evaluate()

    def _review(self) -> None:
        if self.evaluation is not None and self.evaluation.can_review:
            self.review_requested.emit(self.evaluation)

    # --- evaluation -------------------------------------------------------------------------------

    def _evaluate(self) -> None:
        self.evaluation = evaluate(self.draft, self.snapshot, self.library)
        self._show_evaluation(self.evaluation)
        self.evaluated.emit(self.evaluation)

    def _show_evaluation(self, result: Evaluation) -> None:
        self.daily_problem.show_problems(result.at("daily_dose"))
        self.cycle_problem.show_problems(result.at("cycle_days"))
        self.mode_problem.show_problems(result.at("mode"))
        self.total_problem.show_problems(result.at(DAILY_TOTAL) if self.draft.mode == "flex" else [])
        self.general_problem.show_problems(result.at(GENERAL))
        self._show_step_checks(result)
        self._show_figures(result)
        self.review_button.setEnabled(result.can_review)
        if result.can_review:
            count = len(result.warnings)
            self.review_blocked.setText(f"{count} warning(s) will need an acknowledgement and a reason at review."
                                        if count else "No limit is broken: the change can be reviewed.")
        else:
            self.review_blocked.setText("Review is not available until this is fixed: "
                                        + (result.errors[0] if result.errors else "the program is incomplete"))

    def _show_step_checks(self, result: Evaluation) -> None:
        """Mark each cell (icon and tooltip) and list the problems under the table, naming the step."""
        by_cell: dict[tuple[int, int], list[Problem]] = {}
        listed: list[Problem] = list(result.at("steps"))
        for key, problems in sorted(result.problems.items(), key=lambda item: _step_order(item[0])):
            match = _STEP_FIELD.fullmatch(key)
            if match:
                row = int(match[1])
                by_cell[(row, _COLUMN[match[2]])] = problems
                step = self.draft.steps[row]
                listed += [Problem(p.severity, f"step {row + 1} (day {step.day} {step.start}): {p.text}", p.code)
                           for p in problems]
        self.steps_problem.show_problems(listed)
        segments = result.review.plan.segments if result.review is not None and self.draft.mode == "flex" else None
        with QSignalBlocker(self.table):
            for row in range(self.table.rowCount()):
                for column in (DAY, START, DOSE):
                    problems = by_cell.get((row, column), [])
                    item = self.table.item(row, column)
                    item.setToolTip(problems_text(problems))
                    item.setIcon(problem_icon(self, _worst(problems)) if problems else QIcon())
                volume = self.table.item(row, VOLUME)
                volume.setText(number(segments[row].ml_per_hour) if segments else NOT_APPLICABLE)
        self.table.resizeRowsToContents()

    def _show_figures(self, result: Evaluation) -> None:
        unit = self.draft.dose_unit
        review = result.review
        if review is None:
            reason = f"{NOT_APPLICABLE} (complete the entries marked above)"
            for key in self.figures.values:
                self.figures.set(key, reason)
            return
        plan, current = review.plan, review.current_plan
        daily = quantity(plan.mean_daily_dose, f"{unit}/day")
        if current is not None:
            change = percent_change(current.mean_daily_dose, plan.mean_daily_dose)
            daily += f"   (now {quantity(current.mean_daily_dose, f'{unit}/day')}, change {signed_percent(change)})"
        self.figures.set("daily", daily)
        self.figures.set("volume", f"{quantity(plan.ml_per_day, 'mL/day')}   (now "
                                   f"{quantity(current.ml_per_day if current else None, 'mL/day')})")
        self.figures.set("per_day", ", ".join(f"day {d}: {number(v)} {unit}" for d, v in enumerate(plan.daily_doses, 1)))
        self.figures.set("low_alarm", moment_and_days(plan.low_alarm_at, plan.minutes_to_low_alarm) + " (pump clock)")
        self.figures.set("empty", moment_and_days(plan.empty_at, plan.minutes_to_empty) + " (pump clock)")


def _step_order(key: str) -> tuple[int, str]:
    match = _STEP_FIELD.fullmatch(key)
    return (int(match[1]), match[2]) if match else (-1, key)


def _worst(problems: list[Problem]) -> str:
    return "error" if any(p.severity == "error" for p in problems) else "warning"
