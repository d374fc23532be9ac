"""The program editor and its preview as widgets: typing changes figures, markers, plots and the Review
button. A hand-made pump snapshot (no emulator) keeps the expected numbers easy to compute by hand."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from programmer.library import load_library
from tests.support.ui_fakes import program, snapshot
from ui.editor import DOSE, START, ProgramEditor
from ui.preview import PreviewPlots
from ui.review import ReviewPage

FLEX_DAY = {"mode": "flex", "cycle_days": 1, "steps": [
    {"day": 1, "start": "00:00", "dose_per_hour": 5.0}, {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
    {"day": 1, "start": "14:00", "dose_per_hour": 6.0}, {"day": 1, "start": "22:00", "dose_per_hour": 7.0}]}


@pytest.fixture
def editor(qtbot):
    editor = ProgramEditor(load_library())
    plots = PreviewPlots()
    editor.evaluated.connect(lambda ev: plots.show_plans(ev.review.current_plan if ev.review else None,
                                                         ev.review.plan if ev.review else None))
    qtbot.addWidget(editor)
    qtbot.addWidget(plots)
    editor.plots = plots
    return editor


def type_cell(editor: ProgramEditor, row: int, column: int, text: str) -> None:
    editor.table.item(row, column).setText(text)


def test_editing_a_flex_step_updates_figures_and_plots(editor):
    editor.set_snapshot(snapshot(program(FLEX_DAY)))
    assert editor.figures.values["daily"].text().startswith("156\u00a0mcg/day")  # 5*6 + 8*8 + 6*8 + 7*2
    type_cell(editor, 1, DOSE, "10")
    # 5*6 + 10*8 + 6*8 + 7*2 = 172 mcg/day; 172 / 500 = 0.344 mL/day; +10.3 % from 156
    assert editor.figures.values["daily"].text() == "172\u00a0mcg/day   (now 156\u00a0mcg/day)"
    assert editor.figures.values["change"].text() == "+10.3\u00a0%"
    assert editor.figures.values["volume"].text().startswith("0.344\u00a0mL/day")
    assert editor.table.item(1, 3).text() == "0.02"  # 10 mcg/h / 500 mcg/mL
    x, y = editor.plots.rate_items["proposed"].getData()
    assert list(x) == [0, 6, 14, 22, 24] and list(y) == [5, 10, 6, 7]
    x, y = editor.plots.rate_items["current"].getData()
    assert list(y) == [5, 8, 6, 7]
    times, volumes = editor.plots.volume_items["proposed"].getData()
    assert volumes[0] == 14.0
    low_alarm_days = (editor.plots.markers[("proposed", "low")].value() - times[0]) / 86400
    # 12 mL to the alarm: 34 whole days give 34 * 0.344 = 11.696 mL; the last 0.304 mL on day 35 are
    # 0.06 mL by 06:00 (0.01 mL/h), 0.16 mL by 14:00 (0.02 mL/h), then 0.084 mL at 0.012 mL/h = 7 h: 21:00.
    assert low_alarm_days == pytest.approx(34 + 21 / 24, abs=1e-9)
    assert editor.review_button.isEnabled()


def test_add_and_reorder_steps_from_the_keyboard(editor, qtbot):
    editor.set_snapshot(snapshot(program(FLEX_DAY)))
    editor.table.setCurrentCell(0, DOSE)
    qtbot.keyClick(editor.add_button, Qt.Key_Space)
    assert editor.table.rowCount() == 5 and editor.table.item(1, START).text() == "03:00"
    qtbot.keyClick(editor.down_button, Qt.Key_Space)  # 03:00 now after 06:00: out of order
    assert "must start after" in editor.steps_problem.text()
    assert not editor.review_button.isEnabled()
    qtbot.keyClick(editor.up_button, Qt.Key_Space)
    assert editor.review_button.isEnabled()


def test_a_hard_limit_disables_review_and_says_why_at_the_field(editor, qtbot):
    editor.set_snapshot(snapshot())
    editor.daily_dose.setText("2500")
    editor.daily_dose.textEdited.emit("2500")
    assert not editor.review_button.isEnabled()  # at once; the reason once typing pauses
    qtbot.waitUntil(lambda: editor.daily_problem.text() != "", timeout=5000)
    reason = editor.daily_problem.text()
    assert "hard maximum 2000 mcg/day" in reason and reason.startswith("Not allowed")
    # what the field is for, then why it is refused
    assert editor.daily_dose.accessibleDescription() == ("The dose delivered each day, in mcg/day, in steps of "
                                                         f"0.1\u00a0mcg/day; the rate is the same all day.\n{reason}")
    assert "Review is not available" in editor.review_blocked.text()


def test_a_flow_limit_is_marked_on_its_step(editor):
    editor.set_snapshot(snapshot(program(FLEX_DAY)))
    type_cell(editor, 2, DOSE, "600")  # 600 / 500 * 24 = 28.8 mL/day, above the 24 mL/day pump maximum
    assert "step 3 (day 1 14:00)" in editor.steps_problem.text() and "24 mL/day" in editor.steps_problem.text()
    assert "24 mL/day" in editor.table.item(2, DOSE).toolTip()
    assert not editor.review_button.isEnabled()


def test_a_warning_cannot_be_committed_without_acknowledgement_and_reason(editor, qtbot):
    snap = snapshot()
    editor.set_snapshot(snap)
    editor.daily_dose.setText("185")
    editor.daily_dose.textEdited.emit("185")  # +23.3 %: above the 20 % soft limit
    assert editor.review_button.isEnabled()
    review = ReviewPage(load_library())
    qtbot.addWidget(review)
    review.start(editor.evaluation, snap)
    requests = []
    review.commit_requested.connect(lambda r, name: requests.append((r, name)))
    review.clinician.setText("Dr A. Osei")
    review.confirm.setChecked(True)
    check, reason = review._ack_widgets[0]
    assert not review.write.isEnabled() and "tick \u201cAcknowledge warning 1\u201d" in review.blockers.text()
    check.setChecked(True)
    assert not review.write.isEnabled() and "type a reason" in review.blockers.text()
    reason.setText("planned titration, spasticity clinic")
    assert review.write.isEnabled()
    check.setChecked(False)
    review.write.click()
    assert requests == []
    check.setChecked(True)
    review.write.click()
    (written, name), = requests
    assert name == "Dr A. Osei"
    assert written.override_reason == "CHANGE_ABOVE_SOFT_LIMIT: planned titration, spasticity clinic"
    assert written.program.therapy.daily_dose == 185
    changed = {review.table.item(r, 0).text() for r in range(review.table.rowCount())
               if review.table.item(r, 3).text() == "CHANGED"}
    assert "Daily dose (mean over the cycle)" in changed and "Mode" not in changed
    assert "+23.3\u00a0%" in review.change.text()
