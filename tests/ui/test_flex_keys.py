"""The keyboard and focus: moving between the flex table's cells (a start time typed then Right goes to the
dose only at the end of the text), a current cell that can be seen, headers that are never cut, and a focus
ring that is visible, distinct from the validation marks and readable (WCAG contrast, computed)."""

from __future__ import annotations

import colorsys

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLineEdit

from programmer.library import load_library
from tests.support.ui_actions import clinic_session, shown
from tests.support.ui_fakes import program, snapshot
from ui.view_models.dose_entry import cell_move, neighbour
from ui.editor import DAY, DOSE, START, VOLUME, ProgramEditor
from ui.main_window import PROGRAM_TAB, MainWindow
from ui.view_models.palette import MIN_TEXT_CONTRAST, contrast_ratio
from ui.widgets import (DISABLED_TEXT, ERROR, ERROR_TINT, FIELD_BACKGROUND, FOCUS, SELECTION, STYLE_SHEET, TEXT,
                        WARNING, WARNING_TINT, WINDOW, mark)

FLEX = {"mode": "flex", "cycle_days": 1, "steps": [
    {"day": 1, "start": "00:00", "dose_per_hour": 5.0}, {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
    {"day": 1, "start": "14:00", "dose_per_hour": 6.0}]}


# --- the rules, without Qt ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key, cursor, length, selected, move", [
    ("right", 5, 5, 0, "right"),    # at the end of "07:30": on to the next cell
    ("right", 3, 5, 0, None),       # in the middle: the cursor moves
    ("left", 3, 5, 0, None),
    ("left", 0, 5, 0, "left"),      # at the start: on to the previous cell
    ("left", 5, 5, 5, "left"),      # the whole text selected, as on arriving: either way leaves
    ("right", 5, 5, 5, "right"),
    ("left", 0, 5, 2, None),        # part of it selected: the key acts on the selection
    ("right", 0, 0, 0, "right"),    # an empty cell
    ("up", 2, 5, 0, "up"), ("down", 2, 5, 0, "down"), ("tab", 2, 5, 0, "tab"), ("enter", 2, 5, 0, "enter"),
])
def test_which_keys_leave_a_cell(key, cursor, length, selected, move):
    assert cell_move(key, cursor, length, selected) == move


@pytest.mark.parametrize("move, row, column, target", [
    ("right", 0, 1, (0, 2)), ("right", 0, 2, None), ("left", 0, 0, None), ("up", 0, 1, None),
    ("down", 1, 1, (2, 1)), ("down", 2, 1, None), ("enter", 0, 2, (1, 2)), ("enter", 2, 2, None),
    ("tab", 0, 2, (1, 0)), ("tab", 2, 2, None), ("backtab", 1, 0, (0, 2)), ("backtab", 0, 0, None),
])
def test_where_a_move_goes(move, row, column, target):
    assert neighbour(move, row, column, rows=3, columns=3) == target


# --- the table ---------------------------------------------------------------------------------------------


@pytest.fixture
def editor(qtbot):
    editor = shown(qtbot, ProgramEditor(load_library()), (560, 720))
    editor.set_snapshot(snapshot(program(FLEX)))
    return editor


def type_over(qtbot, field: QLineEdit, text: str) -> None:
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)


def open_cell(editor: ProgramEditor, row: int, column: int) -> QLineEdit:
    editor.table.setFocus()
    editor.table.setCurrentCell(row, column)
    return QApplication.focusWidget()


def at(editor: ProgramEditor) -> tuple[int, int]:
    return editor.table.currentRow(), editor.table.currentColumn()


def test_a_start_time_typed_then_right_goes_to_the_dose_only_at_the_end(editor, qtbot):
    cell = open_cell(editor, 1, START)
    qtbot.keyClicks(cell, "07:30")
    qtbot.keyClick(cell, Qt.Key_Left)
    qtbot.keyClick(cell, Qt.Key_Right)  # back at the end, still in the start cell
    assert at(editor) == (1, START) and cell.cursorPosition() == 5
    qtbot.keyClick(cell, Qt.Key_Right)
    assert at(editor) == (1, DOSE)
    assert editor.draft.steps[1].start == "07:30"
    dose = QApplication.focusWidget()
    assert dose is not cell and dose.selectedText() == "8"


def test_left_in_the_middle_of_a_time_moves_the_cursor_not_the_cell(editor, qtbot):
    cell = open_cell(editor, 1, START)
    qtbot.keyClicks(cell, "07:30")
    qtbot.keyClick(cell, Qt.Key_Left)
    qtbot.keyClick(cell, Qt.Key_Left)
    assert at(editor) == (1, START) and cell.cursorPosition() == 3
    qtbot.keyClick(cell, Qt.Key_Home)
    qtbot.keyClick(cell, Qt.Key_Left)
    assert at(editor) == (1, DAY)


def test_shift_with_an_arrow_selects_text_and_stays(editor, qtbot):
    cell = open_cell(editor, 1, START)
    qtbot.keyClick(cell, Qt.Key_End)
    qtbot.keyClick(cell, Qt.Key_Left, Qt.ShiftModifier)
    assert at(editor) == (1, START) and cell.selectedText() == "0"


def test_up_down_and_enter_move_rows_and_commit(editor, qtbot):
    cell = open_cell(editor, 0, DOSE)
    qtbot.keyClicks(cell, "9")
    qtbot.keyClick(cell, Qt.Key_Down)
    assert at(editor) == (1, DOSE) and editor.draft.steps[0].dose_per_hour == "9"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Up)
    assert at(editor) == (0, DOSE)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Up)  # the top edge: nothing happens, editing goes on
    assert at(editor) == (0, DOSE) and QApplication.focusWidget().parent() is editor.table.viewport()
    for row in (1, 2):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Return)
        assert at(editor) == (row, DOSE)
    qtbot.keyClicks(QApplication.focusWidget(), "7")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Return)  # the last row: committed, the cell stays current
    assert at(editor) == (2, DOSE) and QApplication.focusWidget() is editor.table
    assert editor.draft.steps[2].dose_per_hour == "7"


def test_enter_shows_the_reasons_at_once(editor, qtbot):
    cell = open_cell(editor, 2, DOSE)
    qtbot.keyClicks(cell, "600")
    assert editor.steps_problem.text() == ""  # still typing: the pause runs
    qtbot.keyClick(cell, Qt.Key_Return)
    assert "step 3 (day 1 14:00)" in editor.steps_problem.text()


def test_tab_runs_along_the_rows_and_out_of_the_table(editor, qtbot):
    cell = open_cell(editor, 1, DOSE)
    qtbot.keyClick(cell, Qt.Key_Tab)
    assert at(editor) == (2, DAY)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Backtab, Qt.ShiftModifier)
    assert at(editor) == (1, DOSE)
    cell = open_cell(editor, 2, DOSE)
    qtbot.keyClick(cell, Qt.Key_Tab)
    assert QApplication.focusWidget() is editor.add_button
    cell = open_cell(editor, 0, DAY)
    qtbot.keyClick(cell, Qt.Key_Backtab, Qt.ShiftModifier)
    assert QApplication.focusWidget() is editor.cycle_days


def test_up_and_down_in_the_day_cell_move_rows_rather_than_change_the_day(editor, qtbot):
    cell = open_cell(editor, 1, DAY)
    qtbot.keyClick(cell, Qt.Key_Down)
    assert at(editor) == (2, DAY) and editor.draft.steps[1].day == 1


def test_the_current_cell_is_framed_in_the_focus_colour_when_the_table_has_focus(editor, qtbot):
    open_cell(editor, 2, DOSE)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Return)  # editor closed, the table keeps the focus
    assert QApplication.focusWidget() is editor.table
    image = editor.table.viewport().grab().toImage()
    cell = editor.table.visualRect(editor.table.model().index(2, DOSE))
    middle = cell.center()
    for point in (QPoint(cell.left() + 1, middle.y()), QPoint(middle.x(), cell.top() + 1),
                  QPoint(cell.right() - 1, middle.y()), QPoint(middle.x(), cell.bottom() - 1)):
        assert QColor(image.pixel(point)).name() == FOCUS, point
    other = editor.table.visualRect(editor.table.model().index(2, START))
    assert QColor(image.pixel(QPoint(other.left() + 1, other.center().y()))).name() != FOCUS


@pytest.mark.parametrize("size", [(1366, 900), (1024, 700)])
def test_no_column_header_is_cut(qtbot, tmp_path, size):
    window = MainWindow(load_library(), clinic_session(tmp_path))
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window._show_snapshot(snapshot(program(FLEX)))
    window.show_tab(PROGRAM_TAB)
    header = window.editor.table.horizontalHeader()
    qtbot.waitUntil(lambda: header.isVisible() and header.width() > 0)
    for column in (DAY, START, DOSE, VOLUME):
        assert header.sectionSize(column) >= header.sectionSizeHint(column), column
    labels = [window.editor.table.horizontalHeaderItem(c).text() for c in (DAY, START, DOSE, VOLUME)]
    assert labels == ["Day of\ncycle", "Start\n(HH:MM)", "Dose\n(mcg/h)", "Volume\n(mL/h)"]
    window.close()


# --- the focus ring ----------------------------------------------------------------------------------------


@pytest.fixture
def styled(qapp):
    """The application's style sheet, as ``ui.app`` applies it."""
    qapp.setStyleSheet(STYLE_SHEET)
    yield
    qapp.setStyleSheet("")


def pixel(widget, x: int, y: int) -> str:
    return QColor(widget.grab().toImage().pixel(x, y)).name()


def test_a_focused_field_has_a_3px_ring_and_an_invalid_one_shows_both(styled, editor, qtbot):
    editor.set_snapshot(snapshot())
    field = editor.daily_dose
    editor.mode.setFocus()
    assert pixel(field, 0, field.height() // 2) != FOCUS
    field.setFocus()
    assert [pixel(field, x, field.height() // 2) for x in range(3)] == [FOCUS] * 3
    type_over(qtbot, field, "2500")
    editor.mode.setFocus()  # leaving the field shows its problems at once
    assert pixel(field, 0, field.height() // 2) == ERROR  # unfocused: the problem's border
    field.setFocus()
    assert pixel(field, 1, field.height() // 2) == FOCUS  # focused: the ring, and still the tint and icon
    assert pixel(field, field.width() // 3, 4) == ERROR_TINT
    icons = [action for action in field.actions() if action.isVisible() and not action.icon().isNull()]
    assert len(icons) == 1


@pytest.mark.parametrize("kind", ["combo", "spin", "button", "table"])
def test_every_kind_of_entry_gets_the_ring(styled, editor, qtbot, kind):
    widget = {"combo": editor.mode, "spin": editor.cycle_days, "button": editor.add_button,
              "table": editor.table}[kind]
    if kind == "table":
        qtbot.keyClick(open_cell(editor, 2, DOSE), Qt.Key_Return)  # the table itself, no cell editor open
    else:
        widget.setFocus()
    assert QApplication.focusWidget() is widget
    assert pixel(widget, 1, widget.height() // 2) == FOCUS


def test_a_checkbox_gets_the_ring_without_moving(styled, qtbot):
    from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

    page = QWidget()
    box = QVBoxLayout(page)
    check, other = QCheckBox("I confirm"), QLineEdit()
    box.addWidget(check)
    box.addWidget(other)
    qtbot.addWidget(page)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page, timeout=2000)
    other.setFocus()
    geometry = check.geometry()
    check.setFocus()
    assert pixel(check, 1, check.height() // 2) == FOCUS and check.geometry() == geometry
    page.close()


def test_marking_a_problem_is_a_property_the_style_sheet_draws(editor):
    mark(editor.cycle_days, "warning")
    assert editor.cycle_days.property("problem") == "warning"
    mark(editor.cycle_days, "")
    assert editor.cycle_days.property("problem") == ""


def hue(colour: str) -> float:
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(red, green, blue)[0] * 360


def test_the_colours_are_readable_and_focus_is_not_a_validation_colour(qapp):
    window = qapp.palette().window().color().name()
    assert window == WINDOW  # the colours below are checked against the background actually used
    for background in (WINDOW, FIELD_BACKGROUND, SELECTION, ERROR_TINT, WARNING_TINT):
        assert contrast_ratio(FOCUS, background) >= MIN_TEXT_CONTRAST, background
        assert contrast_ratio(TEXT, background) >= MIN_TEXT_CONTRAST, background
    for text in (ERROR, WARNING, DISABLED_TEXT):
        assert contrast_ratio(text, WINDOW) >= MIN_TEXT_CONTRAST, text
    for validation in (ERROR, WARNING):
        distance = abs(hue(FOCUS) - hue(validation))
        assert min(distance, 360 - distance) > 120, validation
