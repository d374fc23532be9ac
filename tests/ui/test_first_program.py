"""The application on a freshly filled pump (issue 10, no silent first program), against the real emulator: the
Program page asks what the patient had before only then, nothing can be reviewed or written until it is
answered, the reviewer's 960 mcg/day (40 mcg/h meant as 40 mcg/day) is refused whichever way it is answered, and
the Review page and the audit log say what the dose was compared with. The view model's rules are in
tests/ui/view_models/test_first_program.py; the command line's in tests/cli/test_first_programs.py."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtCore import Qt

from programmer.audit import read_audit_log
from programmer.port import open_driver
from programmer.program import Drug
from tests.support.ui_actions import connect, open_review, sign, write_and_wait
from tests.support.another_programmer import another_programmer
from ui.editor import DOSE
from ui.main_window import PROGRAM_TAB

pytestmark = pytest.mark.usefixtures("no_window_left_open")


@pytest.fixture
def filled(start_emulator) -> str:
    """A factory-new emulated ITB-20, just filled with 20 mL of baclofen 500 mcg/mL: it runs ``stopped``."""
    url = start_emulator().url
    with open_driver(url) as driver:
        driver.refill(uuid.uuid4().hex, 0.0, 20.0, Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500))
    return url


def codes(window, key: str) -> list[str]:
    return [problem.code for problem in window.editor.evaluation.at(key)]


def test_a_first_program_after_a_fill_is_asked_about_refused_when_it_is_a_slip_and_written_when_answered(
        qtbot, window, filled, tmp_path):
    connect(qtbot, window, filled)
    window.show_tab(PROGRAM_TAB)
    editor = window.editor
    assert editor.mode.currentData() == "stopped" and editor.prior_box.isHidden()  # stopped asks nothing

    # The reviewer's program: flex, one step of 40 mcg/h all day = 960 mcg/day.
    editor.mode.setCurrentIndex(editor.mode.findData("flex"))
    editor.table.item(0, DOSE).setText("40")
    assert editor.figures.values["daily"].text().startswith("960\u00a0mcg/day")
    assert editor.prior_box.isVisible() and "filled while it ran nothing" in editor.prior_why.text()
    assert not editor.review_button.isEnabled()
    assert editor.review_blocked.text().startswith("Review is not available until this is fixed: The pump runs no "
                                                   "program to compare the new daily dose 960 mcg/day with")
    # New to intrathecal therapy: 960 is above baclofen's hard starting dose of 200 mcg/day.
    qtbot.mouseClick(editor.new_to_itb, Qt.LeftButton)
    assert codes(window, "daily_total") == ["STARTING_DOSE_ABOVE_HARD_MAX"] and not editor.review_button.isEnabled()
    # Both answers: refused at the answer.
    qtbot.keyClicks(editor.previous_dose, "40")
    assert "not both" in editor.evaluation.at("prior_therapy")[0].text and not editor.review_button.isEnabled()
    # The chart's 40 mcg/day: 960 / 40 = 24, a dose per hour typed as a dose per day.
    qtbot.mouseClick(editor.new_to_itb, Qt.LeftButton)
    assert codes(window, "daily_total") == ["PROBABLE_UNIT_OR_DECIMAL_SLIP", "CHANGE_ABOVE_HARD_LIMIT"]
    assert not editor.review_button.isEnabled()
    with another_programmer(qtbot, window, filled) as driver:  # nothing went to the pump
        assert driver.read_program().therapy == {"mode": "stopped"}
    assert window.editor.mode.currentData() == "flex"  # the reconnection kept the change being edited

    # What was meant: 40 mcg/day, continuous. Against the previous 40 it is no change: reviewable and written.
    editor.mode.setCurrentIndex(editor.mode.findData("simple_continuous"))
    editor.daily_dose.selectAll()
    qtbot.keyClicks(editor.daily_dose, "40")
    assert editor.review_button.isEnabled(), editor.review_blocked.text()
    review = open_review(qtbot, window)
    said = review.compared.text()
    assert said.startswith("The pump runs no program to compare with (the pump was filled while it ran nothing at ")
    assert said.endswith("(pump clock): a first fill, or a new drug); the answer: the patient's daily dose before, "
                         "40\u00a0mcg/day. Compared with the patient's previous daily dose, 40 mcg/day.")
    sign(qtbot, review)
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."
    assert window.snapshot.active.program.therapy.daily_dose == 40
    record = read_audit_log(tmp_path / "audit.jsonl")[-1]
    assert (record["outcome"], record["prior_therapy"]["previous_daily_dose"]) == ("verified", 40)
    assert record["prior_therapy"]["answer_needed"] is True
    # The pump now runs 40 mcg/day: the next change is compared with it, and nothing is asked.
    window.show_tab(PROGRAM_TAB)
    assert editor.prior_box.isHidden() and editor.previous_dose.text() == ""
