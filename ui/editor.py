"""The program editor: mode, daily dose or flex steps, the figures they give, and why they may not be
written. On a pump that runs nothing to compare with (after a fill, a new drug, a long stop) it also asks what
the patient had before, and only then: the daily dose before, or new to intrathecal therapy.

Every keystroke re-evaluates the draft (``ui.view_models.draft.evaluate``), so the figures, the preview and the Review
button follow the typing. What is wrong is shown once typing pauses (``ui.view_models.dose_entry.PAUSE_MS``), or at once
on Enter or on leaving the entry, each reason in a place kept for it, so no entry moves as reasons come and
go. Review is enabled only when no hard limit is broken, and decides on the text as it is when pressed.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPen
from PySide6.QtWidgets import (QAbstractItemDelegate, QAbstractItemView, QAbstractSpinBox, QCheckBox, QComboBox,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSizePolicy,
                               QSpinBox, QStackedWidget, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from programmer.snapshot import PumpSnapshot
from programmer.library import LoadedLibrary
from programmer.program import SimpleContinuous
from programmer.review import WriteReview
from ui.view_models.comparison import change_text, daily_dose_figure, exact
from ui.view_models.dose_entry import PAUSE_MS, Move, cell_move, neighbour
from ui.view_models.draft import DAILY_TOTAL, GENERAL, MODE_LABELS, PRIOR, Draft, Evaluation, Problem, evaluate
from ui.view_models.format import NOT_APPLICABLE, UNIT_SPACE, count, moment_and_days, number, percent_change, quantity
from ui.view_models.wording import plain
from ui.widgets import (FOCUS, FactGrid, ProblemLabel, ReservedText, SelectAllOnFocus, WrappedText, describe,
                        heading, mark_field, problem_icon, problems_text, second_shortcut, worst)

DAY, START, DOSE, VOLUME = range(4)
EDITABLE_COLUMNS = 3
"""Day, start and dose are typed; the volume is computed."""
_STEP_FIELD = re.compile(r"steps\[(\d+)\]\.(day|start|dose_per_hour)")
_COLUMN = {"day": DAY, "start": START, "dose_per_hour": DOSE}
_PLACED = {"daily_dose", "cycle_days", "mode", DAILY_TOTAL, GENERAL, "steps", PRIOR}
"""The fields whose problems are shown at an entry of their own (and each step's, ``_STEP_FIELD``)."""
WIDEST_FIGURE = "Wed 30 Sep 2026 23:59 (in 888.8 days) (pump clock)"
"""The figures' room is kept as wide as their usual longest (a reservoir date) from the start, so that the
page does not widen, and the preview beside it shrink, as the figures change with each keystroke."""
_KEYS: dict[Qt.Key, Move] = {Qt.Key.Key_Left: "left", Qt.Key.Key_Right: "right", Qt.Key.Key_Up: "up",
                             Qt.Key.Key_Down: "down", Qt.Key.Key_Tab: "tab", Qt.Key.Key_Backtab: "backtab",
                             Qt.Key.Key_Return: "enter", Qt.Key.Key_Enter: "enter"}
FOCUS_FRAME_PX = 3
"""The current cell's frame while the table has focus: as wide as the focus ring of every other entry."""
CELL_EDITOR_EXTRA_PX = 12
"""A row is this much taller than a line of text: room for a cell editor's focus ring and padding (3 + 3 px
each side, ``ui.widgets.STYLE_SHEET``), so an open editor never cuts its text."""
PREVIOUS_DOSE_LABEL = "Daily dose &before:"
NEW_TO_ITB_TEXT = "New to &intrathecal therapy (no daily dose before)"
"""The answer's two controls. Their letters (B, I) are free on this page and in the window around it
(``tests/ui/test_keyboard.py`` checks every page's letters; docs/application.md lists them)."""
SHOWN_STEPS = 4
"""The flex table is never shorter than this many steps: a usual program (night, morning, afternoon, evening)
is seen whole on the smallest screen; the editor around it scrolls instead (``ui.widgets.VerticalScroll``)."""


class _CellDelegate(QStyledItemDelegate):
    """The flex table's cells. An editor commits on every keystroke (so the figures follow the typing, not
    only Enter) and opens with its whole text selected; the keys move between cells as ``ui.view_models.dose_entry``
    says; the current cell is framed in the focus colour while the table has focus."""

    typed = Signal()
    """A keystroke in a cell: the pause before problems are shown starts again."""

    def createEditor(self, parent, option, index):
        editor = super().createEditor(parent, option, index)
        text = _text_of(editor)
        if text is not None:
            text.textEdited.connect(lambda _text, e=editor: self._typed(e))
            assert isinstance(editor, (QLineEdit, QAbstractSpinBox)), "it has a text (_text_of)"
            SelectAllOnFocus(editor)
        return editor

    def _typed(self, editor: QWidget) -> None:
        self.typed.emit()
        self.commitData.emit(editor)

    def eventFilter(self, editor, event) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            move = _cell_key(editor, event)
            if move is not None:
                self._move(editor, move)
                return True
        return super().eventFilter(editor, event)

    def _move(self, editor: QWidget, move: Move) -> None:
        """Commit the cell and go where the key says; at the table's edge an arrow does nothing, Enter stays
        on the cell and Tab or Shift+Tab go on to the next entry outside the table."""
        table = self.parent()
        assert isinstance(table, QTableWidget), "the delegate of the flex table, its parent"
        target = neighbour(move, table.currentRow(), table.currentColumn(), table.rowCount(), EDITABLE_COLUMNS)
        if target is None and move in ("left", "right", "up", "down"):
            return
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)
        if target is not None:
            table.setCurrentCell(*target)  # its editor opens: the table edits on a change of current cell
        elif move != "enter":
            table.focusNextPrevChild(move == "tab")

    def paint(self, painter, option, index) -> None:
        if not option.state & QStyle.StateFlag.State_HasFocus:
            super().paint(painter, option, index)
            return
        plain = QStyleOptionViewItem(option)
        plain.state &= ~QStyle.StateFlag.State_HasFocus  # the frame below replaces the style's thin dotted one
        super().paint(painter, plain, index)
        painter.save()
        painter.setPen(QPen(QColor(FOCUS), FOCUS_FRAME_PX))
        inset = FOCUS_FRAME_PX // 2
        painter.drawRect(option.rect.adjusted(inset, inset, -inset - 1, -inset - 1))
        painter.restore()


def _text_of(editor: QWidget) -> QLineEdit | None:
    """Where a cell editor's text is: itself, or a spin box's line edit."""
    if isinstance(editor, QAbstractSpinBox):
        return editor.lineEdit()
    return editor if isinstance(editor, QLineEdit) else None


def _cell_key(editor: QWidget, event) -> Move | None:
    """The move a key press in a cell editor makes, or None when the key is the editor's (a modifier other
    than Shift on Shift+Tab, such as Shift+Left extending a selection, always leaves it to the editor)."""
    move = _KEYS.get(event.key())
    text = _text_of(editor)
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    plain = (modifiers == Qt.KeyboardModifier.NoModifier
             or (move == "backtab" and modifiers == Qt.KeyboardModifier.ShiftModifier))
    if move is None or text is None or not plain:
        return None
    return cell_move(move, text.cursorPosition(), len(text.text()), len(text.selectedText()))


class ProgramEditor(QWidget):
    evaluated = Signal(object)          # Evaluation, after every change
    review_requested = Signal(object)   # Evaluation that can be reviewed

    def __init__(self, library: LoadedLibrary, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.snapshot: PumpSnapshot | None = None
        self.draft: Draft | None = None
        self.evaluation: Evaluation | None = None
        self.pause = QTimer(self)
        self.pause.setSingleShot(True)
        self.pause.setInterval(PAUSE_MS)
        self.pause.timeout.connect(self._show_verdict)
        self._build()

    # --- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(heading("New program"))
        self.drug_label = WrappedText()
        layout.addWidget(self.drug_label)

        mode_row = QHBoxLayout()
        mode_label = QLabel("&Mode:")
        self.mode = QComboBox()
        for key, text in MODE_LABELS.items():
            self.mode.addItem(text, key)
        describe(self.mode, "Therapy mode", "Stopped, simple continuous (one rate all day) or flex (dose steps "
                 "over a cycle).")
        mode_label.setBuddy(self.mode)
        mode_row.addWidget(mode_label)
        mode_row.addWidget(self.mode, 1)
        layout.addLayout(mode_row)
        self.mode.currentIndexChanged.connect(self._mode_changed)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._stopped_page())
        self.pages.addWidget(self._simple_page())
        self.pages.addWidget(self._flex_page())
        layout.addWidget(self.pages)
        layout.addWidget(self._prior_box())

        figures = QGroupBox("What this program delivers")
        self.figures = FactGrid()
        for key, label in (("daily", "Daily dose"), ("change", "Change"), ("volume", "Volume"),
                           ("per_day", "Dose on each day"), ("low_alarm", "Low-reservoir alarm"),
                           ("empty", "Reservoir empty")):
            value = self.figures.row(key, label)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance(WIDEST_FIGURE))
        figures.setLayout(self.figures)
        layout.addWidget(figures)

        self.general_problem = ProblemLabel()
        layout.addWidget(self.general_problem)

        buttons = QHBoxLayout()
        self.reset_button = QPushButton("Reset to the pump's &current program")
        self.reset_button.clicked.connect(self.reset)
        self.review_button = QPushButton("&Review change…")
        second_shortcut(self.review_button, "Ctrl+R")
        self.review_button.setToolTip("Review the change before writing it (Ctrl+R)")
        self.review_button.clicked.connect(self._review)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.review_button)
        layout.addLayout(buttons)
        self.review_blocked = ReservedText(2)
        layout.addWidget(self.review_blocked)
        layout.addStretch(1)

    def _stopped_page(self) -> QWidget:
        """The note, and the reasons about stopping (the checks' "mode" findings come only with stopping)."""
        page, box = _page()
        note = WrappedText("No drug is delivered while the pump is stopped. Abrupt withdrawal of intrathecal "
                           "baclofen can be life-threatening.")
        box.addWidget(note)
        self.mode_problem = ProblemLabel(self.mode)
        box.addWidget(self.mode_problem)
        return page

    def _simple_page(self) -> QWidget:
        page, box = _page()
        row, self.daily_dose, self.daily_unit = _dose_row("&Daily dose:")
        box.addLayout(row)
        self.daily_problem = ProblemLabel(self.daily_dose, lines=6)  # up to three reasons: range, change, flow
        box.addWidget(self.daily_problem)
        self.daily_dose.textEdited.connect(self._daily_edited)
        self.daily_dose.editingFinished.connect(self._show_verdict)
        return page

    def _flex_page(self) -> QWidget:
        """The cycle, the steps, and one place under the table for the reasons about all of them: the cycle's,
        the daily dose's the steps add up to, the schedule's, then each step's."""
        page, box = _page()
        row = QHBoxLayout()
        label = QLabel("C&ycle length:")
        self.cycle_days = QSpinBox()
        self.cycle_days.setRange(1, 31)
        self.cycle_days.setSuffix(f"{UNIT_SPACE}days")
        self.cycle_days.setSpecialValueText(f"1{UNIT_SPACE}day")  # shown at the minimum, 1: no "day(s)"
        describe(self.cycle_days, "Cycle length in days", "How many days the flex steps take before they repeat.")
        SelectAllOnFocus(self.cycle_days, label)
        row.addWidget(label)
        row.addWidget(self.cycle_days)
        row.addStretch(1)
        box.addLayout(row)
        self.cycle_days.valueChanged.connect(self._cycle_changed)

        self.table = QTableWidget(0, 4)
        describe(self.table, "Flex steps", "One row a step: day of the cycle, start time (HH:MM, pump clock) and "
                 "dose per hour; the volume per hour is computed. Arrows at a cell's ends, Tab and Enter move "
                 "between cells.")
        self.cells = _CellDelegate(self.table)
        self.cells.typed.connect(self.pause.start)
        self.cells.closeEditor.connect(self._show_verdict)  # Enter, Tab, an arrow out or a click away
        self.table.setItemDelegate(self.cells)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setMinimumSectionSize(self.fontMetrics().height() + CELL_EDITOR_EXTRA_PX)
        self.table.itemChanged.connect(self._cell_changed)
        box.addWidget(self.table, 1)
        self.steps_problem = ProblemLabel(self.table, lines=4)
        box.addWidget(self.steps_problem)

        actions = QHBoxLayout()
        self.add_button = self._step_button("&Add step", "Insert a step after the selected one, halfway to the "
                                            "next, at the same dose (Alt+A)", self._add_step)
        self.remove_button = self._step_button("R&emove step", "Remove the selected step (Alt+E)", self._remove_step)
        self.up_button = self._step_button("Move &up", "Swap the selected step with the one above (Alt+U)",
                                           lambda: self._move_step(-1))
        self.down_button = self._step_button("Move do&wn", "Swap the selected step with the one below (Alt+W)",
                                             lambda: self._move_step(1))
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            actions.addWidget(button)
        actions.addStretch(1)
        box.addLayout(actions)
        return page

    def _prior_box(self) -> QGroupBox:
        """What the patient had before: asked only when the pump runs no program to compare the new one with
        (``Evaluation.question``), hidden otherwise. The daily dose before, or new to intrathecal therapy."""
        box = self.prior_box = QGroupBox("The patient before this program")
        column = QVBoxLayout(box)
        self.prior_why = WrappedText()
        self.prior_why.setAccessibleName("Why the patient's therapy before is asked for")
        column.addWidget(self.prior_why)
        row, self.previous_dose, self.previous_unit = _dose_row(PREVIOUS_DOSE_LABEL)
        column.addLayout(row)
        self.new_to_itb = QCheckBox(NEW_TO_ITB_TEXT)
        describe(self.new_to_itb, "New to intrathecal therapy", "Tick when the patient had no intrathecal therapy "
                 "before: the drug's starting-dose limits apply. Either this or the daily dose before, not both.")
        column.addWidget(self.new_to_itb)
        self.prior_problem = ProblemLabel(self.previous_dose, lines=4)
        column.addWidget(self.prior_problem)
        self.previous_dose.textEdited.connect(self._previous_edited)
        self.previous_dose.editingFinished.connect(self._show_verdict)
        self.new_to_itb.toggled.connect(self._new_to_itb_toggled)
        box.hide()
        return box

    def _step_button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _set_headers(self, unit: str) -> None:
        """Two-line headers, the unit on its own line so it is never cut or split, and no column narrower than
        its header needs."""
        self.table.setHorizontalHeaderLabels(["Day of\ncycle", "Start\n(HH:MM)", f"Dose\n({unit}/h)",
                                              "Volume\n(mL/h)"])
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(max(header.sectionSizeHint(column) for column in range(header.count())))
        rows = SHOWN_STEPS * self.table.verticalHeader().minimumSectionSize()
        self.table.setMinimumHeight(header.sizeHint().height() + rows + 2 * self.table.frameWidth())

    # --- state ------------------------------------------------------------------------------------

    @property
    def _draft(self) -> Draft:
        """The draft being edited. Edits and evaluations happen only while there is one: without a pump that
        holds a drug there is none, and the page is disabled (``reset``)."""
        assert self.draft is not None, "no draft: nothing is being edited"
        return self.draft

    def set_snapshot(self, snapshot: PumpSnapshot) -> bool:
        """Take a new reading of the pump; returns True when an unwritten change was kept.

        A change is kept, and judged again against the new reading (figures, checks, preview), when the
        reading is of the same pump holding the same drug: reading the pump again (F5, setting its clock, a
        reconnection) must not silently throw away what the clinician typed. Another pump, or another drug
        or concentration, starts again from what that pump runs: a draft made for one pump or drug must never
        be offered for another.
        """
        previous = self.snapshot
        may_keep = (self.has_unwritten_change() and previous is not None  # a change implies a reading
                    and previous.identity.serial == snapshot.identity.serial
                    and snapshot.active.drug == self._draft.drug)
        self.snapshot = snapshot
        if may_keep:
            self._evaluate()
            if self.has_unwritten_change():  # not when the pump now runs it (the write of this very draft)
                return True
        self.reset()
        return False

    def has_unwritten_change(self) -> bool:
        """True when the draft is a program other than the pump's, or a half-typed one: work that closing the
        application, or starting again from the pump, would lose."""
        snapshot, draft, evaluation = self.snapshot, self.draft, self.evaluation
        if snapshot is None or snapshot.active.drug is None or draft is None:
            return False
        if evaluation is not None and evaluation.program is not None:
            return evaluation.program.checksum() != snapshot.active.checksum
        assert snapshot.active.program is not None, "a pump that holds a drug runs a program (ActiveProgram)"
        return draft != Draft.from_program(snapshot.active.program)

    def reset(self) -> None:
        snapshot = self.snapshot
        if snapshot is None or snapshot.active.drug is None:
            self.draft = self.evaluation = None
            self.setEnabled(False)
            return
        self.setEnabled(True)
        program = snapshot.active.program
        assert program is not None, "a pump that holds a drug runs a program (ActiveProgram)"
        self.draft = Draft.from_program(program)
        drug = program.drug
        strength = quantity(drug.concentration_per_ml, f"{drug.dose_unit}/mL")
        self.drug_label.setText(f"Drug: {drug.name} {strength}, the drug in the pump. A new drug or concentration "
                                f"is entered at a refill, not here. Limits from the drug library "
                                f"{self.library.identity.words()}.")
        self._show_draft()

    def focus_first_field(self) -> None:
        """Put the focus where typing starts on arriving at the Program page, with the whole entry selected so
        that digits typed replace it: the daily dose, the first cell of the flex table, or the mode when the
        pump is to stop. The main window calls this each time it shows the page."""
        if self.draft is None:
            return
        if self.draft.mode == "simple_continuous":
            self.daily_dose.setFocus(Qt.FocusReason.OtherFocusReason)
            self.daily_dose.selectAll()  # it may have had the focus already: then no focus event selects it
        elif self.draft.mode == "flex":
            self.table.setFocus(Qt.FocusReason.OtherFocusReason)  # an editor open elsewhere commits and closes
            self.table.setCurrentCell(0, DAY)  # a new current cell opens its editor
            if self.table.state() != QAbstractItemView.State.EditingState:
                first = self.table.item(0, DAY)
                assert first is not None, "a flex draft has a step: _fill_table made its row"
                self.table.editItem(first)
            editor = self.table.focusWidget()
            if isinstance(editor, (QLineEdit, QAbstractSpinBox)):
                editor.selectAll()
        else:
            self.mode.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_draft(self) -> None:
        draft = self._draft
        unit = draft.dose_unit
        with (QSignalBlocker(self.mode), QSignalBlocker(self.daily_dose), QSignalBlocker(self.cycle_days),
              QSignalBlocker(self.previous_dose), QSignalBlocker(self.new_to_itb)):
            self.mode.setCurrentIndex(self.mode.findData(draft.mode))
            self.daily_dose.setText(draft.daily_dose)
            self.daily_unit.setText(f"{unit}/day")
            self.cycle_days.setValue(draft.cycle_days)
            self.previous_dose.setText(draft.previous_daily_dose)
            self.previous_unit.setText(f"{unit}/day")
            self.new_to_itb.setChecked(draft.new_to_itb)
        describe(self.daily_dose, "Daily dose", self._daily_dose_help(unit))
        describe(self.previous_dose, "The patient's daily dose before", f"The daily dose the patient had before this "
                 f"program, in {unit}/day, from the chart or the old pump: the new program is checked against it "
                 "like a change. Either this or new to intrathecal therapy, not both.")
        self._show_page()
        self._set_headers(unit)
        self._fill_table()
        self._evaluate()

    def _daily_dose_help(self, unit: str) -> str:
        rule = self.library.rule_for(self._draft.drug.name)
        step = "" if rule is None else f", in steps of {number(rule.entry_step.daily_dose)}{UNIT_SPACE}{unit}/day"
        return f"The dose delivered each day, in {unit}/day{step}; the rate is the same all day."

    def _fill_table(self) -> None:
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self._draft.steps))
            for row, step in enumerate(self._draft.steps):
                day = QTableWidgetItem()
                day.setData(Qt.ItemDataRole.EditRole, step.day)
                self.table.setItem(row, DAY, day)
                self.table.setItem(row, START, QTableWidgetItem(step.start))
                self.table.setItem(row, DOSE, QTableWidgetItem(step.dose_per_hour))
                volume = QTableWidgetItem()
                volume.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(row, VOLUME, volume)

    # --- edits ------------------------------------------------------------------------------------

    def _mode_changed(self) -> None:
        self._draft.mode = self.mode.currentData()
        self._show_page()
        self._evaluate()

    def _show_page(self) -> None:
        """Show the mode's page at its own height (the others are ignored in the layout): the figures follow
        the short simple page instead of waiting below the flex table's height."""
        current = self.mode.currentIndex()
        for index in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if index == current else QSizePolicy.Policy.Ignored
            page = self.pages.widget(index)
            assert page is not None, "an index below count()"
            page.setSizePolicy(policy, policy)
        self.pages.setCurrentIndex(current)

    def _daily_edited(self, text: str) -> None:
        self.pause.start()
        self._draft.daily_dose = text
        self._evaluate()

    def _previous_edited(self, text: str) -> None:
        self.pause.start()
        self._draft.previous_daily_dose = text
        self._evaluate()

    def _new_to_itb_toggled(self, checked: bool) -> None:
        self._draft.new_to_itb = checked
        self._evaluate()

    def _cycle_changed(self, days: int) -> None:
        self._draft.cycle_days = days
        self._evaluate()

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        step = self._draft.steps[item.row()]
        if item.column() == DAY:
            step.day = int(item.data(Qt.ItemDataRole.EditRole))
        elif item.column() == START:
            step.start = item.text()
        elif item.column() == DOSE:
            step.dose_per_hour = item.text()
        else:
            return
        self._evaluate()

    def _selected_row(self) -> int:
        row = self.table.currentRow()
        return row if 0 <= row < len(self._draft.steps) else len(self._draft.steps) - 1

    def _add_step(self) -> None:
        self._refill_and_select(self._draft.add_step(self._selected_row()))

    def _remove_step(self) -> None:
        row = self._selected_row()
        self._draft.remove_step(row)
        self._refill_and_select(min(row, len(self._draft.steps) - 1))

    def _move_step(self, delta: int) -> None:
        self._refill_and_select(self._draft.move_step(self._selected_row(), delta))

    def _refill_and_select(self, row: int) -> None:
        self._fill_table()
        self.table.setCurrentCell(row, DOSE)
        self._evaluate()

    def _review(self) -> None:
        """Decide on the entry as it is now, and show why not at once: a pause still running is cut short,
        so the reasons on screen are those of the text that was decided on."""
        if self.draft is None:
            return
        self.draft.daily_dose = self.daily_dose.text()
        self.draft.previous_daily_dose = self.previous_dose.text()
        self.pause.stop()
        self._evaluate()
        assert self.evaluation is not None, "_evaluate just made it"
        if self.evaluation.can_review:
            self.review_requested.emit(self.evaluation)

    # --- evaluation -------------------------------------------------------------------------------

    def _evaluate(self) -> None:
        """Evaluate the draft now. The figures, the volumes, the preview and the Review button follow at
        once; the reasons wait while a pause in typing runs (``_show_verdict`` ends it)."""
        assert self.snapshot is not None, "a draft is made from a reading (reset)"
        result = self.evaluation = evaluate(self._draft, self.snapshot, self.library)
        self._show_question(result.question)
        self._show_figures(result)
        self._show_volumes(result)
        self.review_button.setEnabled(result.can_review)
        if not self.pause.isActive():
            self._show_verdict()
        self.evaluated.emit(result)

    def _show_question(self, question: str | None) -> None:
        """Show the fields about the patient's therapy before while the review needs them, and why."""
        if question is not None:
            self.prior_why.setText(f"The pump runs no program to compare the new one with ({plain(question)}). Type "
                                   "the daily dose the patient had before, from the chart or the old pump, or tick "
                                   "that the patient is new to intrathecal therapy: nothing can be written until "
                                   "then.")
        self.prior_box.setVisible(question is not None)

    def _show_verdict(self) -> None:
        """Show what the latest evaluation found: at each entry, at each cell, and why Review is not available."""
        self.pause.stop()
        result = self.evaluation
        if result is None or self.draft is None:  # nothing to edit (no pump, or one that holds no drug)
            return
        stopped = self.draft.mode == "stopped"
        self.daily_problem.show_problems(result.at("daily_dose"))
        self.prior_problem.show_problems(result.at(PRIOR))
        self.mode_problem.show_problems(result.at("mode") if stopped else [])
        self.general_problem.show_problems(result.at(GENERAL) + ([] if stopped else result.at("mode"))
                                           + _unplaced(result))
        mark_field(self.cycle_days, result.at("cycle_days"))
        self._show_step_checks(result)
        if result.can_review:
            warnings = len(result.warnings)
            self.review_blocked.setText(f"{count(warnings, 'warning')} will need an acknowledgement and a reason at "
                                        "review." if warnings else "No limit is broken: the change can be reviewed.")
        else:
            self.review_blocked.setText("Review is not available until this is fixed: "
                                        + (result.errors[0] if result.errors else "the program is incomplete"))

    def _show_step_checks(self, result: Evaluation) -> None:
        """Mark each cell (icon and tooltip) and list the problems under the table: the cycle's, the daily
        dose's the steps add up to, the schedule's, then each step's, naming it."""
        by_cell: dict[tuple[int, int], list[Problem]] = {}
        listed: list[Problem] = result.at("cycle_days") + result.at(DAILY_TOTAL) + result.at("steps")
        for key, problems in sorted(result.problems.items(), key=lambda item: _step_order(item[0])):
            match = _STEP_FIELD.fullmatch(key)
            if match:
                row = int(match[1])
                by_cell[(row, _COLUMN[match[2]])] = problems
                step = self._draft.steps[row]
                listed += [Problem(p.severity, f"step {row + 1} (day {step.day} {step.start}): {p.text}", p.code)
                           for p in problems]
        self.steps_problem.show_problems(listed)
        with QSignalBlocker(self.table):
            for row in range(self.table.rowCount()):
                for column in (DAY, START, DOSE):
                    problems = by_cell.get((row, column), [])
                    item, text = self.table.item(row, column), problems_text(problems)
                    assert item is not None, "_fill_table made every cell"
                    if item.toolTip() != text:  # the text names each severity: the icon is unchanged too
                        item.setToolTip(text)
                        item.setIcon(problem_icon(self, worst(problems)) if problems else QIcon())
        self.table.resizeRowsToContents()

    def _show_volumes(self, result: Evaluation) -> None:
        segments = result.review.plan.segments if result.review is not None and self._draft.mode == "flex" else None
        with QSignalBlocker(self.table):
            for row in range(self.table.rowCount()):
                volume = self.table.item(row, VOLUME)
                assert volume is not None, "_fill_table made every cell"
                volume.setText(number(segments[row].ml_per_hour) if segments else NOT_APPLICABLE)

    def _show_figures(self, result: Evaluation) -> None:
        unit = self._draft.dose_unit
        review = result.review
        if review is None:
            reason = f"{NOT_APPLICABLE} (complete the entries marked above)"
            for key in self.figures.values:
                self.figures.set(key, reason)
            return
        plan, current = review.plan, review.current_plan
        daily, change = _daily_texts(review)
        self.figures.set("daily", daily)
        self.figures.set("change", change)
        self.figures.set("volume", f"{quantity(plan.ml_per_day, 'mL/day')}   (now "
                                   f"{quantity(current.ml_per_day if current else None, 'mL/day')})")
        self.figures.set("per_day", ", ".join(f"day{UNIT_SPACE}{d}: {quantity(v, unit)}"
                                              for d, v in enumerate(plan.daily_doses, 1)))
        self.figures.set("low_alarm", moment_and_days(plan.low_alarm_at, plan.minutes_to_low_alarm) + " (pump clock)")
        self.figures.set("empty", moment_and_days(plan.empty_at, plan.minutes_to_empty) + " (pump clock)")


def _daily_texts(review: WriteReview) -> tuple[str, str]:
    """The daily dose (with the current one) and its change, with as many digits as it takes for a real
    change to show (the review's own rule, ``ui.view_models.comparison``). A simple continuous dose is a setting, not a
    derived figure, so it is shown exactly: the number in the field, not a rounding of it."""
    plan, current = review.plan, review.current_plan
    unit, therapy = plan.program.drug.dose_unit, plan.program.therapy
    figure = daily_dose_figure(unit)
    row = figure.row(current, plan) if current is not None else None
    if isinstance(therapy, SimpleContinuous):
        new = f"{exact(therapy.daily_dose)}{UNIT_SPACE}{unit}/day"
    else:
        new = figure.text(figure.value(plan), 0) if row is None else row.new
    if row is None:
        return new, NOT_APPLICABLE
    assert current is not None, "a row is made only with a current plan"
    change = change_text(percent_change(current.mean_daily_dose, plan.mean_daily_dose), row.changed)
    return f"{new}   (now {row.old})", change


def _dose_row(text: str) -> tuple[QHBoxLayout, QLineEdit, QLabel]:
    """A labelled daily-dose field that selects all on focus, with its unit after it (set per drug)."""
    row = QHBoxLayout()
    label = QLabel(text)
    field = QLineEdit()
    SelectAllOnFocus(field, label)
    unit = QLabel()
    row.addWidget(label)
    row.addWidget(field, 1)
    row.addWidget(unit)
    return row, field, unit


def _page() -> tuple[QWidget, QVBoxLayout]:
    """A mode's page, without margins of its own: the editor's are enough, and height is short."""
    page = QWidget()
    box = QVBoxLayout(page)
    box.setContentsMargins(0, 0, 0, 0)
    return page, box


def _unplaced(result: Evaluation) -> list[Problem]:
    """Problems at a field the editor has no entry for (a document path the draft does not spell): shown
    with the general ones, so that no reason is ever left unshown."""
    return [p for key, problems in result.problems.items()
            if key not in _PLACED and not _STEP_FIELD.fullmatch(key) for p in problems]


def _step_order(key: str) -> tuple[int, str]:
    match = _STEP_FIELD.fullmatch(key)
    return (int(match[1]), match[2]) if match else (-1, key)
