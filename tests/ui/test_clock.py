"""The pump's clock against this computer's: the warning beyond the checks' limit and not within it, the
confirmation before the clock is set (old and new time, how flex steps move, Cancel the default), and,
against the real emulator with its clock moved, that Cancel leaves the pump's clock alone and Set sets it
(both read back from the pump)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLabel

from programmer.clock import computer_now
from programmer.errors import LinkError
from programmer.snapshot import CLOCK_DRIFT_LIMIT_S
from programmer.port import open_driver
from tests.support.ui_fakes import PUMP_TIME, program, snapshot
from tests.support.ui_actions import LINK_TIMEOUT_MS, wait_for_patient
from ui.view_models.clock_check import SET_CLOCK_ACTION_TEXT, clock_change, clock_warning, drift_sentence
from ui.emulator import set_up_demo_patient
from ui.link import Failure, Interrogate, SetClock
from ui.view_models.mnemonics import mnemonic_letter
from ui.overview import OverviewPage

BEHIND = timedelta(hours=29, minutes=3)
FLEX = program({"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 6},
                                          {"start": "08:00", "dose_per_hour": 7},
                                          {"start": "20:00", "dose_per_hour": 6}]})


def drifting(drift: timedelta, current=None):
    """The fake pump (Mon 02 Mar 2026 00:00, cycle at day 1 00:00) read by a computer ``drift`` behind it."""
    return replace(snapshot(current), computer_time=PUMP_TIME - drift)


# --- the check, without a window -------------------------------------------------------------------


def test_the_warning_starts_just_past_the_checks_limit():
    limit = timedelta(seconds=CLOCK_DRIFT_LIMIT_S)
    assert clock_warning(drifting(timedelta(minutes=1))) is None
    assert clock_warning(drifting(limit)) is None
    assert clock_warning(drifting(-limit - timedelta(seconds=1))) is not None


def test_the_warning_says_the_drift_in_words_and_offers_to_set_the_clock():
    warning = clock_warning(drifting(-BEHIND))
    assert warning.text.startswith("The pump's clock is 29\u00a0h 3\u00a0min behind this computer's. ")
    assert (warning.action, warning.action_text) == ("set_clock", SET_CLOCK_ACTION_TEXT)
    assert drift_sentence(3 * 86400 + 4 * 3600 + 10) == "The pump's clock is 3\u00a0days 4\u00a0h ahead of this computer's."


def test_a_pump_behind_moves_forward_and_its_flex_steps_start_on_this_computers_time():
    taken = drifting(-BEHIND, FLEX)  # this computer: Tue 03 Mar 05:03
    change = clock_change(taken, taken.computer_time)
    assert change.summary == ("Mon 02 Mar 2026 00:00 (pump clock) \u2192 Tue 03 Mar 2026 05:03 (this computer's "
                              "clock): 29\u00a0h 3\u00a0min forward.")
    # The pump's Mon 08:00 comes at this computer's Tue 13:03; once set, the pump's next 08:00 is Tue 08:00.
    # It runs the 00:00 step at 00:00 (pump) and at 05:03 (set): no jump between steps.
    assert change.flex == ["Flex steps start by the pump's clock. The 08:00 step next starts Tue 03 Mar 2026 13:03 "
                           "(this computer's clock) as the pump's clock is now, and Tue 03 Mar 2026 08:00 (this "
                           "computer's clock) once it is set."]


def test_a_pump_ahead_moves_back_and_may_jump_to_another_step():
    taken = drifting(timedelta(hours=9), FLEX)  # read at this computer's Sun 01 Mar 15:00
    change = clock_change(taken, taken.computer_time + timedelta(minutes=10))  # set 10 min later
    assert change.summary == ("Mon 02 Mar 2026 00:10 (pump clock) \u2192 Sun 01 Mar 2026 15:10 (this computer's "
                              "clock): 9\u00a0h back.")
    # Now the pump's Mon 08:00 is this computer's Sun 23:00; set back, the pump reads Sun 15:10 in the cycle
    # that starts Mon 00:00, so its next 08:00 is Mon 08:00, and 15:10 is in the 08:00 step (7 mcg/h).
    assert change.flex == [
        "Flex steps start by the pump's clock. The 08:00 step next starts Sun 01 Mar 2026 23:00 (this computer's "
        "clock) as the pump's clock is now, and Mon 02 Mar 2026 08:00 (this computer's clock) once it is set.",
        "The pump moves at once from the 00:00 step (6\u00a0mcg/h) to the 08:00 step (7\u00a0mcg/h)."]


def test_a_longer_cycle_names_the_day_of_its_steps_and_other_programs_have_no_steps_to_move():
    two_days = program({"mode": "flex", "cycle_days": 2, "steps": [{"start": "00:00", "dose_per_hour": 5},
                                                                   {"day": 2, "start": "07:00", "dose_per_hour": 9}]})
    taken = drifting(-BEHIND, two_days)
    assert clock_change(taken, taken.computer_time).flex == [
        "Flex steps start by the pump's clock. The day 2 07:00 step next starts Wed 04 Mar 2026 12:03 (this "
        "computer's clock) as the pump's clock is now, and Tue 03 Mar 2026 07:00 (this computer's clock) once it "
        "is set."]
    assert clock_change(drifting(-BEHIND), PUMP_TIME).flex == []


# --- the Overview and its confirmation --------------------------------------------------------------


def test_the_overviews_keys_are_its_own_and_the_clock_is_set_only_by_the_set_button(qtbot):
    page = OverviewPage()
    qtbot.addWidget(page)
    page.show_snapshot(drifting(-BEHIND, FLEX))
    letters = [mnemonic_letter(w.text()) for w in page.findChildren(QAbstractButton) + page.findChildren(QLabel)]
    letters = [letter for letter in letters if letter]
    assert len(letters) == len(set(letters)) == 5
    assert not set(letters) & {"p", "v", "s", "r"}  # the menus &Pump and &View, the banner's actions
    assert page.clock_note.text().startswith(f"Warning: more than {CLOCK_DRIFT_LIMIT_S // 60} min out.")

    with qtbot.assertNotEmitted(page.set_clock_requested):
        for answer in (lambda d: QTest.keyClick(d, Qt.Key_Return), lambda d: QTest.keyClick(d, Qt.Key_Escape),
                       lambda d: QTest.keyClick(d.cancel_button, Qt.Key_Space), lambda d: d.cancel_button.click()):
            page.set_clock.click()
            dialog = page.clock_dialog
            assert dialog.isVisible() and dialog.cancel_button.isDefault() and not dialog.set_button.autoDefault()
            assert re.fullmatch(r"Pump clock: \w{3} \d\d \w{3} \d{4} \d\d:\d\d \(pump clock\) \u2192 \w{3} \d\d \w{3} "
                                r"\d{4} \d\d:\d\d \(this computer's clock\): 29\u00a0h 3\u00a0min forward\.",
                                dialog.summary.text())
            assert dialog.flex[0].text().startswith("Flex steps start by the pump's clock. The 08:00 step")
            answer(dialog)
            qtbot.waitUntil(lambda: page.clock_dialog is None, timeout=1000)
    page.set_clock.click()
    with qtbot.waitSignal(page.set_clock_requested, timeout=1000):
        page.clock_dialog.set_button.click()


# --- against the emulator ---------------------------------------------------------------------------


def connect_to_pump_off_by(qtbot, window, start_emulator, drift: timedelta) -> None:
    """The demo patient on an emulator whose clock is ``drift`` from this computer's, then connected."""
    emulator = start_emulator()
    set_up_demo_patient(emulator.url)
    with open_driver(emulator.url) as driver:
        driver.set_clock(computer_now() + drift)
    window.connect_to(emulator.url)
    qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
    wait_for_patient(qtbot, window)  # the pump matched to its patient, confirmed: its clock may be set


def test_a_pump_a_minute_out_gets_no_warning(qtbot, window, start_emulator):
    connect_to_pump_off_by(qtbot, window, start_emulator, timedelta(minutes=-1))
    assert clock_warning(window.snapshot) is None
    assert window.overview.clock_note.text() == ""


def test_cancel_leaves_the_pumps_clock_and_set_sets_it(qtbot, window, start_emulator):
    connect_to_pump_off_by(qtbot, window, start_emulator, -BEHIND)
    assert clock_warning(window.snapshot).text.startswith("The pump's clock is 29\u00a0h 3\u00a0min behind this computer's.")
    overview = window.overview
    overview.set_clock.click()
    overview.clock_dialog.cancel_button.click()
    window.interrogate()  # read the clock back from the pump
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert abs(window.snapshot.drift_s + BEHIND.total_seconds()) < 60
    overview.set_clock.click()
    overview.clock_dialog.set_button.click()
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Clock set.",
                    timeout=LINK_TIMEOUT_MS)
    assert abs(window.snapshot.drift_s) < 5 and clock_warning(window.snapshot) is None
    assert overview.clock_note.text() == ""


def test_the_window_warns_in_amber_for_a_pump_29_h_behind_and_asks_before_setting(qtbot, window, start_emulator):
    connect_to_pump_off_by(qtbot, window, start_emulator, -BEHIND)
    banner = window.banner
    assert banner.title.text() == "Check the pump's clock." and banner.action == "set_clock"
    assert "The pump's clock is 29\u00a0h 3\u00a0min behind this computer's." in banner.text.text()
    assert "#fff4e0" in banner.styleSheet()  # amber (ui.view_models.palette.BANNER["warning"])
    banner.button.click()  # the banner's offer asks the same confirmation as the Overview's button
    window.overview.clock_dialog.cancel_button.click()
    window.interrogate()
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert banner.action == "set_clock"  # still off: still said


def test_the_window_says_nothing_about_a_clock_a_minute_out(qtbot, window, start_emulator):
    connect_to_pump_off_by(qtbot, window, start_emulator, timedelta(minutes=-1))
    assert window.banner.title.text() == "Connected." and window.banner.action is None


def test_a_link_lost_while_setting_the_clock_does_not_say_nothing_changed(qtbot, window):
    window._show_snapshot(snapshot())
    lost = Failure(LinkError("no answer from the pump", step="read status"))
    window.link.failed.emit(SetClock(window.clinic.visit), lost)
    said = window.banner.text.text()
    assert window.banner.title.text() == "Link to the pump lost."
    assert "Whether the pump's clock was set is not known" in said and "Nothing was changed" not in said
    window.link.failed.emit(Interrogate(), Failure(LinkError("no answer from the pump", step="read status")))
    assert "Nothing was changed on the pump by this read" in window.banner.text.text()

