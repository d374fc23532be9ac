"""Reading the pump again never throws away a change that has not been written: F5, setting the clock and a
reconnection keep the editor's draft and judge it against the new reading, and say so. A reading of another
pump, or of another drug or concentration, starts again from what that pump runs."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt

from tests.support.emulator_support import simple
from tests.support.another_programmer import another_programmer
from programmer.program import program_from_data
from tests.support.ui_fakes import program, snapshot
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect, edit_the_dose, open_review, sign, write_and_wait
from ui.main_window import KEPT_CHANGE, PROGRAM_TAB


def press_f5_and_wait(qtbot, window) -> None:
    before = window.snapshot
    qtbot.keyClick(window, Qt.Key_F5)
    qtbot.waitUntil(lambda: window.snapshot is not before and not window.link.busy, timeout=LINK_TIMEOUT_MS)


def test_f5_keeps_an_unwritten_change_and_says_so(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    press_f5_and_wait(qtbot, window)
    editor = window.editor
    assert editor.daily_dose.text() == "165" and editor.evaluation.entered == "165"
    assert window.unwritten_change()
    assert window.banner.title.text() == "Pump read again." and KEPT_CHANGE.strip() in window.banner.text.text()
    assert editor.figures.values["change"].text() == "+10.0\u00a0%"  # 165 against the 150 the pump runs


def test_the_kept_change_is_judged_against_what_the_pump_now_runs(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    # Another programmer changes the pump (180 mcg/day) while this one is disconnected; then it reconnects.
    with another_programmer(qtbot, window, patient.url) as driver:
        written = program_from_data(simple(180))
        assert driver.write_program(written).active.checksum == written.checksum()
    editor = window.editor
    assert KEPT_CHANGE.strip() in window.banner.text.text()
    assert editor.daily_dose.text() == "165"
    assert window.snapshot.active.checksum == written.checksum()
    assert editor.figures.values["change"].text() == "-8.3\u00a0%"  # (165 - 180) / 180


def test_f5_with_nothing_changed_says_nothing_of_a_change(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    window.show_tab(PROGRAM_TAB)
    press_f5_and_wait(qtbot, window)
    assert window.editor.daily_dose.text() == "150" and not window.unwritten_change()
    assert KEPT_CHANGE.strip() not in window.banner.text.text()


def test_a_written_change_is_not_said_to_be_kept(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    sign(qtbot, open_review(qtbot, window))
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."
    assert KEPT_CHANGE.strip() not in window.banner.text.text() and not window.unwritten_change()
    assert window.editor.daily_dose.text() == "165"  # now the pump's own program


def test_another_pump_or_another_drug_starts_again_from_what_that_pump_runs(qtbot, window):
    window._show_snapshot(snapshot())
    window.editor.daily_dose.setText("165")
    window.editor.daily_dose.textEdited.emit("165")
    assert window.unwritten_change()
    other = snapshot(program({"mode": "simple_continuous", "daily_dose": 120}))
    other = dataclasses.replace(other, identity=dataclasses.replace(other.identity, serial="E20-999999"))
    assert not window._show_snapshot(other)
    assert window.editor.daily_dose.text() == "120" and not window.unwritten_change()

    window.editor.daily_dose.setText("130")
    window.editor.daily_dose.textEdited.emit("130")
    stronger = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 2000}
    refilled = snapshot(program({"mode": "simple_continuous", "daily_dose": 120}, stronger))
    refilled = dataclasses.replace(refilled, identity=other.identity)
    assert not window._show_snapshot(refilled)
    assert window.editor.daily_dose.text() == "120" and "2000" in window.editor.drug_label.text()
