"""Setting the low-reservoir alarm without a window: the range, what a threshold means in days and dates, which
typed values can be sent, and the banner's words for the result. The pump is the hand-made ITB-20 of
tests/support/ui_fakes.py: 14 mL of baclofen 500 mcg/mL at 150 mcg/day (0.3 mL/day), threshold 2 mL, its clock
at Mon 02 Mar 2026 00:00, its event log not read (so no fill date bounds the refill-by date)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from programmer.library import load_library
from programmer.port import ActiveProgram, Alarm
from tests.support.ui_fakes import PUMP_TIME, program, snapshot
from ui.view_models.low_alarm import LowAlarmChange, set_failure, set_result

LIBRARY = load_library()
NBSP = "\u00a0"
LOW_ALARM_MARGIN = "the low-reservoir alarm, less a week's margin"


def change(taken=None) -> LowAlarmChange:
    return LowAlarmChange(taken or snapshot(), LIBRARY)


def with_status(taken, **figures):
    return replace(taken, status=replace(taken.status, **figures))


def test_the_range_is_the_models_one_mL_to_half_the_reservoir():
    assert change().range_text == (f"This ITB-20 takes 1{NBSP}mL to 10{NBSP}mL (at most half its 20{NBSP}mL "
                                   f"reservoir), typed to 0.01{NBSP}mL at most.")
    taken = snapshot()
    bigger = change(replace(taken, identity=replace(taken.identity, model="ITB-40", capacity_ml=40.0)))
    assert (bigger.low_ml, bigger.high_ml) == (1.0, 20.0)


def test_the_threshold_now_in_days_of_delivery_and_the_dates_it_gives():
    # 2 mL at 0.3 mL/day is 6.67 days; the alarm comes after 12 mL, 40 days: Sat 11 Apr; refill a week before.
    assert change().current_text == (
        f"Now 2{NBSP}mL. That is 6.7{NBSP}days of delivery at this program (0.3{NBSP}mL/day). The alarm comes on Sat "
        f"11 Apr 2026 00:00 (pump clock), in 40.0{NBSP}days. Refill by Sat 04 Apr 2026 00:00 (pump clock), set by "
        f"{LOW_ALARM_MARGIN}.")


def test_a_new_threshold_says_what_it_would_give():
    # 3 mL is 10 days; the alarm after 11 mL, 36 2/3 days: Tue 07 Apr 16:00; the refill-by a week before.
    checked = change().check(" 3 ")
    assert (checked.value, checked.severity) == (3.0, "")
    assert checked.text == (
        f"New: 3{NBSP}mL. That is 10.0{NBSP}days of delivery at this program (0.3{NBSP}mL/day). The alarm comes on "
        f"Tue 07 Apr 2026 16:00 (pump clock), in 36.7{NBSP}days. Refill by Tue 31 Mar 2026 16:00 (pump clock), set "
        f"by {LOW_ALARM_MARGIN}.")
    assert change().confirmation(3.0) == f"I have checked: set the alarm from 2{NBSP}mL to 3{NBSP}mL"
    assert change().confirmation(None) == "I have checked the new threshold"


def test_a_flex_program_is_counted_on_average_and_its_date_comes_from_the_planner():
    # 5 mcg/h from 00:00 and 7.5 from 12:00: 150 mcg (0.3 mL) a day. 11 mL to the 3 mL alarm is 36 days (10.8 mL),
    # then 0.12 mL by noon and 0.08 mL at 0.015 mL/h, 5 h 20 min: Tue 07 Apr 17:20.
    flex = program({"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 5},
                                              {"start": "12:00", "dose_per_hour": 7.5}]})
    text = change(snapshot(flex)).check("3").text
    assert f"(0.3{NBSP}mL/day on average)" in text
    assert "The alarm comes on Tue 07 Apr 2026 17:20 (pump clock)" in text


def test_a_threshold_at_or_above_the_volume_puts_the_alarm_on_at_once():
    text = change(snapshot(volume_ml=2.5)).check("3").text
    assert f"The reservoir holds 2.5{NBSP}mL, no more than that: the alarm is on." in text
    assert "Refill by Mon 02 Mar 2026 00:00 (pump clock)" in text  # due now, never before now


def test_no_date_where_the_pump_counts_nothing_down():
    stalled = with_status(snapshot(), alarms=(Alarm("motor_stall", "critical", PUMP_TIME),))
    assert change(stalled).check("3").text == (
        f"New: 3{NBSP}mL. The pump is NOT DELIVERING (motor stall: the pump needs checking): it counts nothing down, "
        "so the alarm has no date.")
    assert change(snapshot(program({"mode": "stopped"}))).check("3").text.endswith(
        "The program delivers nothing, so the alarm is never reached at it.")
    empty = replace(snapshot(), active=ActiveProgram(None, {}, "0" * 16, None))
    assert change(empty).check("3").text.endswith("The pump holds no drug: the alarm has no date until it is filled.")


@pytest.mark.parametrize("typed, words", [
    ("12", f"Cannot be sent: 12{NBSP}mL is above the highest threshold this ITB-20 takes, 10{NBSP}mL (half its "
           f"reservoir). Type 1{NBSP}mL to 10{NBSP}mL."),
    ("10.01", f"Cannot be sent: 10.01{NBSP}mL is above the highest threshold this ITB-20 takes"),
    ("0.99", f"Cannot be sent: 0.99{NBSP}mL is below the lowest threshold this ITB-20 takes, 1{NBSP}mL. Type "
             f"1{NBSP}mL to 10{NBSP}mL."),
    ("0", f"Cannot be sent: 0{NBSP}mL is below the lowest threshold"),
    ("2.345", f"Cannot be sent: 2.345{NBSP}mL has more than 2 decimal places; type it to 0.01{NBSP}mL."),
    ("1,5", "Cannot be sent: '1,5': use a decimal point, not a comma."),
    ("-3", "Cannot be sent: '-3': type the volume with the digits 0-9"),
    ("3e0", "Cannot be sent: '3e0': type the volume with the digits 0-9"),
])
def test_a_value_that_cannot_be_sent_says_why_and_the_range(typed, words):
    checked = change().check(typed)
    assert (checked.value, checked.severity) == (None, "error")
    assert checked.text.startswith(words)


def test_the_ends_of_the_range_can_be_sent_and_nothing_and_the_same_value_cannot():
    assert (change().check("1").value, change().check("10.00").value) == (1.0, 10.0)
    assert change().check("") == change().check("  ")
    assert (change().check("").value, change().check("").text) == (None, f"Type the new threshold in mL, 1{NBSP}mL "
                                                                         f"to 10{NBSP}mL.")
    same = change().check("2.0")
    assert (same.value, same.severity) == (None, "")
    assert same.text == f"2{NBSP}mL is the threshold the pump holds already: nothing to change."


def test_the_result_is_verified_only_by_the_threshold_read_back_then_gives_the_new_dates():
    after = with_status(snapshot(), low_alarm_ml=3.0)
    kind, title, text = set_result(3.0, 2.0, 3.0, after, LIBRARY, None)
    assert (kind, title) == ("ok", "Low-reservoir alarm set and verified.")
    assert text.startswith(f"The pump reads 3{NBSP}mL (it was 2{NBSP}mL). That is 10.0{NBSP}days of delivery")
    assert "The alarm comes on Tue 07 Apr 2026 16:00 (pump clock)" in text

    kind, title, text = set_result(3.0, 2.0, 2.5, with_status(snapshot(), low_alarm_ml=2.5), LIBRARY, None)
    assert (kind, title) == ("error", "LOW-RESERVOIR ALARM NOT VERIFIED.")
    assert text.startswith(f"The pump reads 2.5{NBSP}mL after being set to 3{NBSP}mL (it was 2{NBSP}mL): interrogate "
                           "the pump, and set the threshold again.")


def test_the_result_says_an_alarm_now_on_and_a_pump_not_read_again():
    on = with_status(snapshot(volume_ml=2.5), low_alarm_ml=3.0,
                     alarms=(Alarm("low_reservoir", "non_critical", datetime(2026, 3, 2)),))
    assert " The low-reservoir alarm is on. That is" in set_result(3.0, 2.0, 3.0, on, LIBRARY, None)[2]
    assert set_result(3.0, 2.0, 3.0, None, LIBRARY, "no answer from the pump")[2] == (
        f"The pump reads 3{NBSP}mL (it was 2{NBSP}mL). The pump could not be interrogated again (no answer from the "
        "pump): reconnect to see its dates.")


def test_a_failure_is_not_set_when_nothing_acted_and_uncertain_when_the_link_failed():
    refused = "pump refused (OUT_OF_RANGE): set low alarm: low_alarm_ml 12 mL is outside this ITB-20's 1 to 10 mL"
    assert set_failure(refused, True, 2.0) == (
        "error", "Low-reservoir alarm NOT SET.", f"{refused}. The pump keeps its threshold of 2{NBSP}mL.")
    assert set_failure("no answer from the pump", False, 2.0) == (
        "error", "UNCERTAIN: whether the low-reservoir alarm was set is not known.",
        "no answer from the pump. Reconnect and interrogate the pump to see its threshold.")
