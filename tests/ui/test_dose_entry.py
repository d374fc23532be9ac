"""Typing a dose: the library's entry steps, a typed number refused rather than rounded, a field that
selects its whole text on arriving (the "187.5" + "200" = 187.52 incident), problems shown after a pause in
typing, in a place that does not move the fields."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from programmer.errors import InputError
from programmer.library import decimal_places, library_from_data, load_library
from tests.support.ui_fakes import program, snapshot
from tests.support.ui_actions import clinic_session, shown, wait_for_plots
from ui.view_models.dose_entry import PAUSE_MS, parse_dose
from ui.view_models.draft import Draft, evaluate
from ui.editor import DAY, DOSE, ProgramEditor
from ui.main_window import PROGRAM_TAB, MainWindow

LIBRARY = load_library()
MORPHINE = {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}
FLEX_DAY = {"mode": "flex", "cycle_days": 1, "steps": [
    {"day": 1, "start": "00:00", "dose_per_hour": 5.0}, {"day": 1, "start": "06:00", "dose_per_hour": 8.0}]}
WAIT_MS = PAUSE_MS * 10
"""Bound for waiting on the pause: ten times it, so a slow machine does not fail a test."""


def shipped_data() -> dict:
    return json.loads(resources.files("programmer").joinpath("data/drug_library.json").read_text(encoding="utf-8"))


# --- the library's entry steps -----------------------------------------------------------------------------


def test_each_shipped_drug_has_entry_steps_and_says_why():
    steps = {name: LIBRARY.rule_for(name).entry_step for name in ("baclofen", "morphine", "ziconotide")}
    assert {name: (s.daily_dose, s.dose_per_hour) for name, s in steps.items()} == {
        "baclofen": (0.1, 0.01), "morphine": (0.01, 0.001), "ziconotide": (0.1, 0.001)}
    for name in steps:
        assert any(source.startswith("Entry steps") and "own choice" in source
                   for source in LIBRARY.rule_for(name).sources)


@pytest.mark.parametrize("step, places", [(1, 0), (0.1, 1), (0.01, 2), (0.001, 3), (0.000001, 6)])
def test_decimal_places_of_a_power_of_ten(step, places):
    assert decimal_places(step) == places


@pytest.mark.parametrize("step", [0.25, 0.5, 10, 0, -0.1, 0.0000001])
def test_a_step_that_is_not_a_power_of_ten_down_to_a_millionth_is_refused(step):
    with pytest.raises(ValueError, match="power of ten"):
        decimal_places(step)


@pytest.mark.parametrize("change, named", [
    (lambda rule: rule.pop("entry_step"), "drugs[0].entry_step"),
    (lambda rule: rule["entry_step"].update(daily_dose=0.25), "drugs[0].entry_step.daily_dose"),
    (lambda rule: rule["entry_step"].update(dose_per_hour="0.01"), "drugs[0].entry_step.dose_per_hour"),
    (lambda rule: rule["entry_step"].pop("dose_per_hour"), "drugs[0].entry_step.dose_per_hour"),
    (lambda rule: rule["entry_step"].update(bolus=1), "drugs[0].entry_step.bolus"),
])
def test_a_bad_entry_step_is_an_input_error_naming_the_field(change, named):
    data = copy.deepcopy(shipped_data())
    change(data["drugs"][0])
    with pytest.raises(InputError) as info:
        library_from_data(data, "site library")
    assert named in str(info.value), str(info.value)


# --- typed text --------------------------------------------------------------------------------------------


def test_more_decimal_places_than_the_step_are_refused_with_the_step_and_unit_named():
    with pytest.raises(ValueError) as info:
        parse_dose("187.5200", "mcg/day", 0.1)
    message = str(info.value)
    assert "187.5200 has 4 decimal places" in message
    assert "steps of 0.1\u00a0mcg/day (at most 1 decimal place)" in message
    assert "may still hold the old dose" in message


def test_trailing_zeros_count_as_decimal_places():
    with pytest.raises(ValueError, match="2 decimal places"):
        parse_dose("187.50", "mcg/day", 0.1)
    assert parse_dose("187.5", "mcg/day", 0.1) == 187.5
    assert parse_dose("187.", "mcg/day", 0.1) == 187.0  # a point and no decimals is a half-typed 187.x


def test_a_whole_number_step_says_so():
    with pytest.raises(ValueError, match=r"steps of 1\u00a0mcg/day \(whole numbers only\)"):
        parse_dose("150.5", "mcg/day", 1)
    assert parse_dose("150", "mcg/day", 1) == 150


@pytest.mark.parametrize("text", ["1e3", "+5", "1_000", "\u0661\u0660", " 1 5 "])
def test_only_plain_decimal_digits_are_a_dose(text):
    with pytest.raises(ValueError):
        parse_dose(text, "mcg/day", 0.1)


def test_without_a_step_any_places_are_read():
    assert parse_dose("6.458333", "mcg/h") == 6.458333


# --- the draft ---------------------------------------------------------------------------------------------


def test_a_dose_finer_than_the_step_cannot_be_reviewed():
    draft = Draft.from_program(snapshot().active.program)
    draft.daily_dose = "187.5200"
    result = evaluate(draft, snapshot(), LIBRARY)
    assert result.program is None and not result.can_review
    assert "steps of 0.1\u00a0mcg/day" in result.at("daily_dose")[0].text
    draft.daily_dose = "187.5"
    assert evaluate(draft, snapshot(), LIBRARY).program.therapy.daily_dose == 187.5


def test_flex_doses_per_hour_have_their_own_step():
    draft = Draft.from_program(program(FLEX_DAY))
    draft.steps[1].dose_per_hour = "8.125"
    result = evaluate(draft, snapshot(), LIBRARY)
    assert "steps of 0.01\u00a0mcg/h" in result.at("steps[1].dose_per_hour")[0].text
    draft.steps[1].dose_per_hour = "8.13"
    assert evaluate(draft, snapshot(), LIBRARY).at("steps[1].dose_per_hour") == []


def test_morphine_is_entered_to_the_hundredth_of_a_mg():
    current = program({"mode": "simple_continuous", "daily_dose": 1.2}, MORPHINE)
    draft = Draft.from_program(current)
    draft.daily_dose = "1.255"
    assert "steps of 0.01\u00a0mg/day" in evaluate(draft, snapshot(current), LIBRARY).at("daily_dose")[0].text
    draft.daily_dose = "1.25"
    assert evaluate(draft, snapshot(current), LIBRARY).at("daily_dose") == []


# --- the field ---------------------------------------------------------------------------------------------


@pytest.fixture
def editor(qtbot):
    editor = shown(qtbot, ProgramEditor(LIBRARY))
    editor.resize(560, 720)
    editor.set_snapshot(snapshot())
    return editor


def test_alt_d_selects_the_dose_even_when_the_field_already_has_focus(editor, qtbot):
    # The incident: the field had the focus, so Alt+D gave it none and selected nothing; "200" was added.
    field = editor.daily_dose
    field.setText("187.5")
    field.setFocus()
    field.deselect()
    field.end(False)
    qtbot.keyClick(editor, Qt.Key_D, Qt.AltModifier)
    qtbot.keyClicks(field, "200")
    assert field.text() == "200"


def test_tab_selects_the_whole_dose(editor, qtbot):
    editor.mode.setFocus()
    editor.daily_dose.setSelection(0, 1)  # a partial selection left from before is not kept
    qtbot.keyClick(editor.mode, Qt.Key_Tab)
    assert QApplication.focusWidget() is editor.daily_dose
    assert editor.daily_dose.selectedText() == "150"


def test_the_click_that_gives_focus_selects_all_and_the_next_places_the_cursor(editor, qtbot):
    field = editor.daily_dose
    editor.mode.setFocus()
    qtbot.mouseClick(field, Qt.LeftButton, pos=QPoint(4, field.height() // 2))
    assert QApplication.focusWidget() is field and field.selectedText() == "150"
    qtbot.mouseClick(field, Qt.LeftButton, pos=QPoint(4, field.height() // 2))
    assert field.selectedText() == "" and field.cursorPosition() == 0


def test_coming_back_to_the_page_focuses_the_dose_with_everything_selected(editor, qtbot):
    field = editor.daily_dose
    field.setFocus()
    field.deselect()
    editor.focus_first_field()
    assert QApplication.focusWidget() is field and field.selectedText() == "150"
    qtbot.keyClicks(field, "160")
    assert field.text() == "160"


def test_in_flex_the_first_cell_is_focused_with_its_text_selected(editor, qtbot):
    editor.set_snapshot(snapshot(program(FLEX_DAY)))
    editor.focus_first_field()
    cell = QApplication.focusWidget()
    assert editor.table.currentRow() == 0 and editor.table.currentColumn() == DAY
    assert cell.parent() is editor.table.viewport() and cell.lineEdit().selectedText() == "1"


def test_a_cell_editor_opens_with_its_text_selected(editor, qtbot):
    editor.set_snapshot(snapshot(program(FLEX_DAY)))
    editor.table.setFocus()
    editor.table.setCurrentCell(1, DOSE)
    cell = QApplication.focusWidget()
    assert cell.selectedText() == "8"
    qtbot.keyClicks(cell, "9")
    assert editor.draft.steps[1].dose_per_hour == "9"


def test_the_cycle_length_is_selected_on_arriving_too(editor, qtbot):
    editor.set_snapshot(snapshot(program(FLEX_DAY)))
    editor.cycle_days.setFocus()
    editor.mode.setFocus()
    qtbot.keyClick(editor, Qt.Key_Y, Qt.AltModifier)
    assert QApplication.focusWidget() is editor.cycle_days
    assert editor.cycle_days.lineEdit().selectedText() == "1\u00a0day"  # the special text at 1, all of it


# --- the pause and the place -------------------------------------------------------------------------------


def type_over(qtbot, field, text: str) -> None:
    field.selectAll()
    qtbot.keyClicks(field, text)


def test_no_reason_flashes_while_typing_and_the_verdict_follows_the_pause(editor, qtbot):
    field = editor.daily_dose
    field.setFocus()
    field.selectAll()
    for text in ("1", "18", "180"):  # 1 and 18 break hard limits on the way to 180
        qtbot.keyClick(field, text[-1])
        assert field.text() == text
        assert editor.daily_problem.text() == "" and "not available" not in editor.review_blocked.text()
        assert editor.evaluation.entered == text  # the figures and the preview follow every keystroke
    assert editor.pause.isActive()
    qtbot.waitUntil(lambda: not editor.pause.isActive(), timeout=WAIT_MS)
    assert editor.daily_problem.text() == "" and editor.review_button.isEnabled()
    type_over(qtbot, field, "2500")
    assert editor.daily_problem.text() == "" and not editor.review_button.isEnabled()
    qtbot.waitUntil(lambda: "hard maximum 2000" in editor.daily_problem.text(), timeout=WAIT_MS)


def test_enter_and_leaving_the_field_show_the_reasons_at_once(editor, qtbot):
    field = editor.daily_dose
    field.setFocus()
    type_over(qtbot, field, "2500")
    qtbot.keyClick(field, Qt.Key_Return)
    assert not editor.pause.isActive() and "hard maximum" in editor.daily_problem.text()
    type_over(qtbot, field, "185")
    qtbot.keyClick(field, Qt.Key_Tab)
    assert "soft limit of 20" in editor.daily_problem.text()


def test_review_decides_on_the_text_in_the_field_now(editor, qtbot):
    asked = []
    editor.review_requested.connect(asked.append)
    editor.daily_dose.setText("187.5200")  # no keystroke signal: the field's own text is what counts
    assert editor.review_button.isEnabled()
    editor.review_button.click()
    assert asked == [] and "steps of 0.1\u00a0mcg/day" in editor.daily_problem.text()
    assert not editor.review_button.isEnabled()
    editor.daily_dose.setFocus()
    type_over(qtbot, editor.daily_dose, "165")
    qtbot.keyClick(editor, Qt.Key_R, Qt.ControlModifier)  # the button clicks itself, animated, in 100 ms
    qtbot.waitUntil(lambda: asked != [], timeout=WAIT_MS)
    assert [e.program.therapy.daily_dose for e in asked] == [165]


def test_a_refused_precision_keeps_review_disabled_with_the_reason_at_the_field(editor, qtbot):
    field = editor.daily_dose
    field.setFocus()
    type_over(qtbot, field, "187.5200")
    qtbot.keyClick(field, Qt.Key_Return)
    assert not editor.review_button.isEnabled()
    assert editor.daily_problem.text().startswith("Not allowed: 187.5200 has 4 decimal places")
    assert field.property("problem") == "error" and field.accessibleDescription().endswith(editor.daily_problem.text())
    assert "Review is not available" in editor.review_blocked.text()


def test_the_dose_field_does_not_move_when_a_warning_appears(editor, qtbot):
    field = editor.daily_dose
    before = field.mapTo(editor, QPoint(0, 0)), editor.review_button.mapTo(editor, QPoint(0, 0))
    field.setFocus()
    type_over(qtbot, field, "185")
    qtbot.keyClick(field, Qt.Key_Return)
    assert "soft limit" in editor.daily_problem.text()
    type_over(qtbot, field, "2500")  # two errors and a warning: more text than fits, it scrolls in place
    qtbot.keyClick(field, Qt.Key_Return)
    QApplication.processEvents()
    assert (field.mapTo(editor, QPoint(0, 0)), editor.review_button.mapTo(editor, QPoint(0, 0))) == before


@pytest.mark.parametrize("size", [(1366, 900), (1024, 700)])
def test_in_the_window_nothing_moves_as_reasons_come_and_go(qtbot, tmp_path, size):
    window = MainWindow(LIBRARY, clinic_session(tmp_path))
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    wait_for_plots(qtbot, window)
    window._show_snapshot(snapshot())
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    QApplication.processEvents()

    def places():
        return [w.mapTo(window, QPoint(0, 0)) for w in (editor.mode, editor.daily_dose, editor.review_button)]

    before = places()
    for text, shown in (("185", "soft limit"), ("2500", "hard maximum"), ("1", "hard minimum"), ("150", "")):
        editor.daily_dose.setText(text)
        editor.daily_dose.textEdited.emit(text)
        editor.daily_dose.editingFinished.emit()
        QApplication.processEvents()
        assert shown in editor.daily_problem.text() and (shown or editor.daily_problem.text() == "")
        assert places() == before, text
    editor.mode.setCurrentIndex(editor.mode.findData("flex"))
    QApplication.processEvents()
    before = [editor.cycle_days.mapTo(window, QPoint(0, 0)), editor.table.mapTo(window, QPoint(0, 0)),
              editor.add_button.mapTo(window, QPoint(0, 0))]
    for dose, shown in (("600", "24 mL/day"), ("6", "")):
        editor.table.item(0, DOSE).setText(dose)
        QApplication.processEvents()
        assert shown in editor.steps_problem.text() and (shown or editor.steps_problem.text() == "")
        assert [editor.cycle_days.mapTo(window, QPoint(0, 0)), editor.table.mapTo(window, QPoint(0, 0)),
                editor.add_button.mapTo(window, QPoint(0, 0))] == before, dose
    window.close()
