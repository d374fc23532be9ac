"""Two things a clinician must never be wrong about: whether the pump on screen is a patient's or the
emulator, and whether quitting throws away a change that was never written."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QTimer

from programmer.port import SIMULATED_FIRMWARE_PREFIX
from tests.support.ui_actions import connect, edit_the_dose
from tests.support.ui_fakes import snapshot
from ui.main_window import SIMULATED_TEXT


def test_the_emulator_is_marked_simulated_everywhere_it_is_shown(qtbot, window, patient):
    assert not window.simulated.isVisible()
    connect(qtbot, window, patient.url)
    assert window.simulated.isVisible() and window.simulated.text() == SIMULATED_TEXT
    assert SIMULATED_TEXT in window.windowTitle()


def test_a_pump_with_real_firmware_is_not_marked(qtbot, window):
    real = snapshot()
    real = dataclasses.replace(real, identity=dataclasses.replace(real.identity, firmware="4.2.1"))
    window._show_snapshot(real)
    assert not window.simulated.isVisible()
    assert SIMULATED_TEXT not in window.windowTitle()


def test_the_emulator_firmware_is_the_one_the_programmer_recognises():
    # Two independent codebases (the emulator must not import the programmer): they must agree.
    from emulator.spec import FIRMWARE

    assert FIRMWARE.startswith(SIMULATED_FIRMWARE_PREFIX)


def answer_unwritten_question(qtbot, window, button_text: str) -> list[str]:
    """Click ``button_text`` in the question Quit asks, once it is open; returns what it said."""
    said = []

    def answer():
        box = window.unwritten_question
        if box is None:
            QTimer.singleShot(10, answer)
            return
        said.append(box.text())
        [button] = [b for b in box.buttons() if b.text().replace("&", "") == button_text]
        button.click()

    QTimer.singleShot(0, answer)
    return said


def test_quit_with_an_unwritten_change_asks_and_keep_editing_keeps_it(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    assert window.unwritten_change()
    said = answer_unwritten_question(qtbot, window, "Keep editing")
    window.quit()
    assert window.isVisible() and window.editor.daily_dose.text() == "165"
    assert "not been written" in said[0]


def test_quit_without_writing_closes_and_the_pump_keeps_its_program(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    before = window.snapshot.active.checksum
    edit_the_dose(qtbot, window, "165")
    answer_unwritten_question(qtbot, window, "Quit without writing")
    window.quit()
    assert not window.isVisible()
    from programmer.port import open_driver

    with open_driver(patient.url) as driver:
        assert driver.read_program().checksum == before


def test_quit_with_nothing_changed_does_not_ask(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "150.0")  # the same program, typed differently: nothing to lose
    assert not window.unwritten_change()
    window.quit()
    assert window.unwritten_question is None and not window.isVisible()
