"""No silent first program (issue 10): a pump that runs nothing has no program to compare a new one with, so the
review needs what the patient had before; restarts follow the library's restart rule; ziconotide's absolute
titration steps and the least time between its increases.

The pure checks (``check_program`` with a ``Stop``, a ``PriorTherapy`` and the last ``Increase``), then how the
event log says a pump came to stop (``baseline.therapy_stop``, ``baseline.last_increase``) and that the
interrogation reads back to that stop. Each test is one failure mode; every figure is worked out by hand in it.
The same failure modes against the real emulator are in tests/cli/test_first_programs.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from programmer.baseline import last_increase, therapy_stop
from programmer.checks import CheckReport, Increase, PriorTherapy, Stop, check_program, check_resumption
from programmer.errors import InputError
from programmer.interrogation import read_pump
from programmer.library import library_from_data, load_library
from programmer.planner import Plan
from programmer.port import PumpEvent
from programmer.program import program_from_data
from programmer.pump import Reservoir, pump_model
from tests.support.library_data import shipped_data
from tests.support.fake_pump import PUMP_TIME, FakePump, active_for, baclofen, identity, status

LIBRARY = load_library()
NOW = PUMP_TIME  # 2026-11-28 09:00, pump clock
RESERVOIR = Reservoir(capacity_ml=20, volume_ml=20, low_alarm_ml=2)


def program(dose: float | None = None, name: str = "baclofen", concentration: float = 500,
            therapy: dict | None = None):
    therapy = therapy or {"mode": "simple_continuous", "daily_dose": dose}
    return program_from_data({"format": "itb-program/1", "therapy": therapy,
                              "drug": {"name": name, "dose_unit": "mcg", "concentration_per_ml": concentration}})


def zico(dose: float | None = None):
    return program(dose, "ziconotide", 25) if dose is not None else program(name="ziconotide", concentration=25,
                                                                             therapy={"mode": "stopped"})


STOPPED = program(therapy={"mode": "stopped"})
FLEX_40_PER_HOUR = program(therapy={"mode": "flex", "cycle_days": 1,
                                    "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 40}]})
"""The reviewer's case: 40 mcg/h all day, meant as 40 mcg/day: 40 x 24 = 960 mcg/day."""
FILLED = Stop("filled", NOW - timedelta(hours=1), 1.0)
"""Filled with baclofen an hour ago while nothing ran (a first fill): no dose to compare with."""


def check(new, current=STOPPED, library=LIBRARY, **facts):
    return check_program(Plan(new, RESERVOIR, NOW), library, pump_model("ITB-20"), current, **facts)


def codes(report) -> list[str]:
    return [finding.code for finding in report.findings]


def message(report, code: str) -> str:
    [found] = [finding.message for finding in report.findings if finding.code == code]
    return found


# --- the 960 mcg/day first program after a fill -----------------------------------------------------------


def test_a_first_program_after_a_fill_without_an_answer_is_refused_naming_both_answers():
    report = check(FLEX_40_PER_HOUR, stop=FILLED)
    assert codes(report) == ["NO_PROGRAM_TO_COMPARE"] and report.errors[0].field == "prior_therapy"
    text = message(report, "NO_PROGRAM_TO_COMPARE")
    assert "new daily dose 960 mcg/day" in text
    assert "the pump was filled while it ran nothing at 2026-11-28T08:00:00, 1 h ago (pump clock)" in text
    assert "the daily dose the patient had before" in text and "new to intrathecal therapy" in text
    assert "--" not in text  # the domain names no command-line option
    assert report.answer_needed is not None and report.compared_with == []


def test_a_first_program_for_a_patient_new_to_itb_is_held_to_the_starting_dose():
    # 960 mcg/day against baclofen's starting dose: hard 200 (twice the 100 mcg screening bolus).
    report = check(FLEX_40_PER_HOUR, stop=FILLED, prior=PriorTherapy(new_to_itb=True))
    assert codes(report) == ["STARTING_DOSE_ABOVE_HARD_MAX"]
    assert message(report, "STARTING_DOSE_ABOVE_HARD_MAX") == (
        "daily dose 960 mcg/day is above the hard maximum starting dose 200 mcg/day for baclofen (a patient new to "
        "intrathecal therapy)")
    assert report.compared_with == ["the starting-dose limits for baclofen, a patient new to intrathecal therapy: "
                                    "soft maximum 100 mcg/day, hard maximum 200 mcg/day"]


@pytest.mark.parametrize("dose, found", [(150, ["STARTING_DOSE_ABOVE_SOFT_MAX"]), (100, []), (200.1, None)])
def test_the_starting_dose_band(dose, found):
    # 150 is above twice the 50 mcg screening bolus (soft 100), 100 is at it, 200.1 beyond the hard 200.
    report = check(program(dose), stop=FILLED, prior=PriorTherapy(new_to_itb=True))
    assert codes(report) == (found if found is not None else ["STARTING_DOSE_ABOVE_HARD_MAX"])


def test_a_first_program_against_the_previous_dose_is_a_24x_slip():
    # 960 / 40 = 24: a dose per hour taken for a dose per day; +2300 % is far beyond the hard 50 % too.
    report = check(FLEX_40_PER_HOUR, stop=FILLED, prior=PriorTherapy(previous_daily_dose=40))
    assert codes(report) == ["PROBABLE_UNIT_OR_DECIMAL_SLIP", "CHANGE_ABOVE_HARD_LIMIT"]
    assert message(report, "PROBABLE_UNIT_OR_DECIMAL_SLIP") == (
        "daily dose 960 mcg/day is 24x the patient's previous daily dose, 40 mcg/day: probably a dose per hour "
        "entered as a dose per day")
    assert message(report, "CHANGE_ABOVE_HARD_LIMIT") == (
        "daily dose changes by +2300.0 % from the patient's previous daily dose (40 -> 960 mcg/day), beyond the hard "
        "limit of 50 % for baclofen")
    assert report.compared_with == ["the patient's previous daily dose, 40 mcg/day"]


def test_the_previous_dose_it_was_meant_as_passes():
    # 40 mcg/day as 40 mcg/day (1.67 mcg/h) is no change.
    report = check(program(40), stop=FILLED, prior=PriorTherapy(previous_daily_dose=40))
    assert codes(report) == [] and report.compared_with == ["the patient's previous daily dose, 40 mcg/day"]


@pytest.mark.parametrize("ratio_dose, words", [(960, "a dose per hour entered as a dose per day"),
                                               (40 / 24, "a dose per day entered as a dose per hour")])
def test_a_24x_slip_against_the_current_program_either_way(ratio_dose, words):
    # 40 -> 960 is 24x, 40 -> 1.6667 is 1/24. The message keeps its old form for the current program.
    report = check(program(round(ratio_dose, 1)), current=program(40))
    assert "PROBABLE_UNIT_OR_DECIMAL_SLIP" in codes(report)
    assert words in message(report, "PROBABLE_UNIT_OR_DECIMAL_SLIP")
    assert "the current 40 mcg/day" in message(report, "PROBABLE_UNIT_OR_DECIMAL_SLIP")


@pytest.mark.parametrize("new, old", [(800, 40), (1200, 40), (30, 1)])
def test_no_slip_at_20x_30x(new, old):
    # 20x and 30x are outside 24x +- 15 % (20.9 to 27.6).
    assert "PROBABLE_UNIT_OR_DECIMAL_SLIP" not in codes(check(program(new, concentration=2000),
                                                              current=program(old, concentration=2000)))


def test_an_answer_given_although_the_pump_runs_a_program_is_checked_too():
    # The pump runs 960 (an earlier slip); the chart says 40: the new 960 is no change from the pump's program,
    # but 24x the patient's previous dose.
    report = check(program(960), current=program(960), prior=PriorTherapy(previous_daily_dose=40))
    assert "PROBABLE_UNIT_OR_DECIMAL_SLIP" in codes(report) and report.answer_needed is None
    assert report.compared_with == ["the pump's current program, 960 mcg/day",
                                    "the patient's previous daily dose, 40 mcg/day"]


@pytest.mark.parametrize("dose, new, problem", [
    (40, True, "not both"), (0, False, "not a daily dose"), (-5, False, "not a daily dose"),
    (float("nan"), False, "not a daily dose"), (float("inf"), False, "not a daily dose")])
def test_an_answer_that_cannot_be_used_is_an_input_error(dose, new, problem):
    with pytest.raises(InputError, match=problem) as info:
        PriorTherapy(previous_daily_dose=dose, new_to_itb=new)
    assert info.value.field == ("prior_therapy" if problem == "not both" else "previous_daily_dose")


@pytest.mark.parametrize("stop", [Stop("new_drug", NOW - timedelta(hours=3), 3.0), Stop("unknown")],
                         ids=["a new drug", "a stop the log cannot explain"])
def test_other_pumps_with_nothing_to_compare_need_the_answer_too(stop):
    report = check(program(150), stop=stop)
    assert codes(report) == ["NO_PROGRAM_TO_COMPARE"]
    assert ("a refill with a new drug stopped the therapy" if stop.cause == "new_drug"
            else "its event log does not say") in report.answer_needed


def test_writing_stopped_to_a_stopped_pump_needs_no_answer():
    assert codes(check(STOPPED, stop=FILLED)) == []


# --- restarts ------------------------------------------------------------------------------------------------


def stopped_hours_ago(hours: float, last: float = 200) -> Stop:
    return Stop("stopped", NOW - timedelta(hours=hours), hours, last)


def test_a_restart_within_the_window_compares_with_the_last_dose_like_a_change():
    # Stopped 2 h ago at 200; 900 is +350 %, beyond the hard 50 %. No answer is asked for.
    report = check(program(900), stop=stopped_hours_ago(2))
    assert codes(report) == ["CHANGE_ABOVE_HARD_LIMIT"] and report.answer_needed is None
    assert ("+350.0 % from the last dose on the pump, until 2026-11-28T07:00:00 (pump clock, 2 h ago) (200 -> 900 "
            "mcg/day)") in message(report, "CHANGE_ABOVE_HARD_LIMIT")
    assert codes(check(program(200), stop=stopped_hours_ago(2))) == []
    assert codes(check(program(200), stop=stopped_hours_ago(24))) == []  # at the window's end: still within


def test_a_restart_after_25_hours_needs_the_answer_and_follows_the_restart_rule():
    # Stopped 25 h ago at 200 (baclofen's window: 24 h). 900 / 200 = 450 %, beyond the hard 100 %.
    bare = check(program(900), stop=stopped_hours_ago(25))
    assert codes(bare) == ["NO_PROGRAM_TO_COMPARE", "RESTART_ABOVE_HARD_LIMIT"]
    assert ("delivery of 200 mcg/day stopped at 2026-11-27T08:00:00, 1 day 1 h ago (pump clock), longer than the "
            "24 h restart window for baclofen") in bare.answer_needed
    answered = check(program(900), stop=stopped_hours_ago(25), prior=PriorTherapy(previous_daily_dose=200))
    assert codes(answered) == ["CHANGE_ABOVE_HARD_LIMIT", "RESTART_ABOVE_HARD_LIMIT"]
    assert message(answered, "RESTART_ABOVE_HARD_LIMIT") == (
        "daily dose 900 mcg/day is 450.0 % of the last dose on the pump, 200 mcg/day, restarting after 1 day 1 h "
        "stopped: above the hard limit of 100 % for baclofen")


@pytest.mark.parametrize("dose, found", [
    (150, ["CHANGE_ABOVE_SOFT_LIMIT", "RESTART_ABOVE_SOFT_LIMIT"]),  # 75 % of 200; -25 % from 200
    (100, ["CHANGE_ABOVE_SOFT_LIMIT"]),                                # 50 %: at the soft limit; -50 %: soft
    (201, ["RESTART_ABOVE_HARD_LIMIT"]),                               # 100.5 %; +0.5 % is no change to speak of
])
def test_the_restart_band_after_the_window(dose, found):
    report = check(program(dose), stop=stopped_hours_ago(25), prior=PriorTherapy(previous_daily_dose=200))
    assert codes(report) == found


def test_ziconotide_restarts_from_its_starting_dose_after_the_window():
    # 9.6 mcg/day stopped 25 h ago; the chart agrees. Restarting at 9.6 is above the 2.4 starting dose.
    report = check(zico(9.6), current=zico(), stop=stopped_hours_ago(25, last=9.6),
                   prior=PriorTherapy(previous_daily_dose=9.6))
    assert codes(report) == ["STARTING_DOSE_ABOVE_HARD_MAX"]
    assert message(report, "STARTING_DOSE_ABOVE_HARD_MAX") == (
        "daily dose 9.6 mcg/day is above the hard maximum starting dose 2.4 mcg/day for ziconotide (a restart after "
        "1 day 1 h stopped, longer than the 24 h restart window)")
    assert codes(check(zico(1.2), current=zico(), stop=stopped_hours_ago(25, last=9.6),
                       prior=PriorTherapy(previous_daily_dose=9.6))) == []  # -87.5 %: inside ziconotide's 100 %


# --- ziconotide: the label's start, step and interval ----------------------------------------------------------


def test_a_first_ziconotide_program_at_19_2_is_refused_by_the_starting_dose():
    report = check(zico(19.2), current=zico(), stop=FILLED, prior=PriorTherapy(new_to_itb=True))
    assert codes(report) == ["DAILY_DOSE_ABOVE_SOFT_MAX", "STARTING_DOSE_ABOVE_HARD_MAX"]
    assert "daily dose 19.2 mcg/day is above the hard maximum starting dose 2.4 mcg/day for ziconotide" in \
        message(report, "STARTING_DOSE_ABOVE_HARD_MAX")
    assert codes(check(zico(2.4), current=zico(), stop=FILLED, prior=PriorTherapy(new_to_itb=True))) == [
        "STARTING_DOSE_ABOVE_SOFT_MAX"]  # 2.4 > 1.2, the slow start
    assert codes(check(zico(1.2), current=zico(), stop=FILLED, prior=PriorTherapy(new_to_itb=True))) == []


def test_a_ziconotide_step_of_9_6_is_refused():
    # 9.6 -> 19.2 is +100 %, exactly at its soft change limit (silent before), but 9.6 mcg/day in one step,
    # four times the 2.4 the label allows.
    report = check(zico(19.2), current=zico(9.6))
    assert codes(report) == ["DAILY_DOSE_ABOVE_SOFT_MAX", "INCREASE_ABOVE_STEP_LIMIT"]
    assert message(report, "INCREASE_ABOVE_STEP_LIMIT") == (
        "daily dose rises by 9.6 mcg/day (9.6 -> 19.2 mcg/day, against the current program), more than the 2.4 "
        "mcg/day one titration step may add for ziconotide")
    assert message(report, "DAILY_DOSE_ABOVE_SOFT_MAX") == (
        "daily dose 19.2 mcg/day is above the soft maximum 16.8 mcg/day for ziconotide")


def test_the_step_limit_applies_to_the_previous_dose_given_too():
    # A replacement pump: the old one ran 4.8; 9.6 is +4.8 in one step.
    report = check(zico(9.6), current=zico(), stop=FILLED, prior=PriorTherapy(previous_daily_dose=4.8))
    assert codes(report) == ["INCREASE_ABOVE_STEP_LIMIT"]
    assert "against the patient's previous daily dose" in message(report, "INCREASE_ABOVE_STEP_LIMIT")


def increased(hours_ago: float, before: float = 2.4, after: float = 4.8) -> Increase:
    return Increase(NOW - timedelta(hours=hours_ago), hours_ago, before, after)


def test_a_ziconotide_increase_within_24_hours_of_the_last_is_refused():
    report = check(zico(7.2), current=zico(4.8), last_increase=increased(6))
    assert codes(report) == ["INCREASE_TOO_SOON"]
    assert message(report, "INCREASE_TOO_SOON") == (
        "daily dose rises from 4.8 to 7.2 mcg/day 6 h after the last increase (2.4 -> 4.8 mcg/day at "
        "2026-11-28T03:00:00, pump clock): ziconotide needs at least 24 h between increases")
    assert codes(check(zico(7.2), current=zico(4.8), last_increase=increased(24))) == []
    assert codes(check(zico(2.4), current=zico(4.8), last_increase=increased(6))) == []  # a decrease: any time
    assert codes(check(program(180), current=program(150), last_increase=increased(1, 120, 150))) == []  # baclofen


# --- a library without the new fields ---------------------------------------------------------------------------


def without(*keys: str):
    data = shipped_data()
    for drug in data["drugs"]:
        for key in keys:
            drug.pop(key, None)
    return library_from_data(data, "old site library")


def test_a_library_without_starting_doses_refuses_a_new_patient():
    report = check(program(100), stop=FILLED, prior=PriorTherapy(new_to_itb=True), library=without("starting_dose"))
    assert codes(report) == ["STARTING_DOSE_NOT_IN_LIBRARY"]
    assert "gives no starting-dose limits for baclofen" in message(report, "STARTING_DOSE_NOT_IN_LIBRARY")


def test_a_library_without_a_restart_window_asks_after_any_stop():
    report = check(program(200), stop=stopped_hours_ago(1), library=without("restart"))
    assert codes(report) == ["NO_PROGRAM_TO_COMPARE"] and "gives baclofen no restart window" in report.answer_needed


# --- the event log: how a stop came about, the last increase -------------------------------------------------


def ev(index: int, hours_ago: float, kind: str, **detail) -> PumpEvent:
    return PumpEvent(index, NOW - timedelta(hours=hours_ago), kind, detail)


def activated(index: int, hours_ago: float, before: float, after: float) -> PumpEvent:
    return ev(index, hours_ago, "program_activated", checksum="1" * 16, previous="2" * 16, daily_dose=after,
              dose_unit="mcg", previous_daily_dose=before, previous_dose_unit="mcg")


def refill(index: int, hours_ago: float, therapy_stopped: bool, name: str = "baclofen") -> PumpEvent:
    return ev(index, hours_ago, "refill", drug={"name": name, "dose_unit": "mcg", "concentration_per_ml": 500},
              therapy_stopped=therapy_stopped)


def test_a_first_fill_is_a_fill_while_nothing_ran():
    events = [ev(0, 3, "power_on", factory_new=True), refill(1, 2, therapy_stopped=False)]
    assert therapy_stop(events, NOW, STOPPED) == Stop("filled", NOW - timedelta(hours=2), 2.0)


def test_a_new_drug_that_stopped_the_therapy():
    events = [activated(4, 30, 0, 5), refill(5, 3, therapy_stopped=True)]
    assert therapy_stop(events, NOW, STOPPED).cause == "new_drug"


def test_a_program_that_stopped_a_dose_names_it_and_when():
    # 200 stopped 25 h ago; a stopped program written again 1 h ago (0 -> 0) and an alarm change nothing.
    events = [activated(5, 40, 150, 200), activated(6, 25, 200, 0), ev(7, 3, "alarm_raised", code="eri"),
              activated(8, 1, 0, 0)]
    assert therapy_stop(events, NOW, STOPPED) == Stop("stopped", NOW - timedelta(hours=25), 25.0, 200.0)
    assert therapy_stop(events, NOW, baclofen(150)) is None  # a pump that delivers has no stop


def test_a_stop_whose_time_a_clock_set_moved_is_counted_on_todays_clock():
    # The pump's clock ran 30 days behind. It stopped 200 mcg/day 2 h ago in real time, stamped 2026-10-29 07:00;
    # 1 h ago its clock was set from 2026-10-29 08:00 to 2026-11-28 08:00. On today's clock the stop was 2 h ago.
    events = [PumpEvent(6, datetime(2026, 10, 29, 7, 0), "program_activated",
                        {"daily_dose": 0, "dose_unit": "mcg", "previous_daily_dose": 200, "previous_dose_unit": "mcg"}),
              ev(7, 1, "clock_set", old="2026-10-29T08:00:00", new="2026-11-28T08:00:00")]
    found = therapy_stop(events, NOW, STOPPED)
    assert (found.cause, found.hours_ago, found.last_daily_dose) == ("stopped", 2.0, 200.0)


@pytest.mark.parametrize("events", [
    [ev(40, 3, "alarm_raised", code="eri")],                                                  # the log ends before
    [ev(5, 3, "program_activated", checksum="1" * 16, previous="2" * 16)],                   # no doses (old firmware)
    [activated(5, 3, 0, 150)],                                                                # says a dose started
    [activated(4, 30, 200, 0), ev(5, 3, "clock_set", old="garbled", new="2026-11-28T06:00:00")],  # cannot be placed
])
def test_a_stop_the_log_cannot_explain_is_unknown(events):
    assert therapy_stop(events, NOW, STOPPED).cause == "unknown"


def test_the_last_increase_is_the_newest_activation_that_raised_the_dose():
    events = [activated(3, 30, 0, 2.4), activated(4, 20, 2.4, 4.8), activated(5, 6, 4.8, 3.6)]
    assert last_increase(events, NOW, zico(3.6)) == Increase(NOW - timedelta(hours=20), 20.0, 2.4, 4.8)
    # Increases of another drug, before a refill that stopped it, do not count.
    assert last_increase([activated(3, 6, 0, 5), refill(4, 2, True, "ziconotide")], NOW, zico()) is None


def test_the_interrogation_reads_back_to_an_old_stop():
    # 60 alarm events an hour apart follow a stop 70 h ago: the 24 h window alone would end the read at the
    # fourth page; a pump that runs nothing is read back to its stop (event 0).
    pump = FakePump(STOPPED)
    pump.events = [activated(0, 70, 200, 0)] + [ev(index, 61 - index, "alarm_acknowledged", code="eri")
                                                 for index in range(1, 61)]
    taken = read_pump(pump, clock=lambda: NOW)
    assert taken.recent_events[0].index == 0
    assert pump.pages == [(0, 0), (45, 16), (29, 16), (13, 16), (0, 13)]
    assert taken.stop() == Stop("stopped", NOW - timedelta(hours=70), 70.0, 200.0)
    # A pump that delivers is read back past 24 h and to its last refill (its drug's stability counts from it):
    # the refill 41 h ago (event 20); with none in the log, the whole log, the fill being older than all of it.
    pump = FakePump(baclofen())
    pump.events = [activated(0, 70, 200, 150)] + [ev(index, 61 - index, "alarm_acknowledged", code="eri")
                                                   for index in range(1, 61)]
    assert read_pump(pump, clock=lambda: NOW).recent_events[0].index == 0
    pump.events[20] = ev(20, 41, "refill", refill_id="r-1")
    assert read_pump(pump, clock=lambda: NOW).recent_events[0].index == 20


def test_a_snapshot_without_its_event_log_cannot_say_how_the_pump_stopped():
    from programmer.snapshot import PumpSnapshot

    taken = PumpSnapshot(identity(), status(20.0, STOPPED), active_for(STOPPED), NOW)
    assert taken.stop() == Stop("unknown") and taken.last_increase() is None


# --- resuming after an empty reservoir (a refill resumes the program at once) ------------------------------------


@pytest.mark.parametrize(("hours_empty", "expected"), [
    (23.0, []),  # within ziconotide's 24 h restart window: resuming 9.6 mcg/day is not a restart
    (30.0, ["STARTING_DOSE_ABOVE_HARD_MAX"]),  # beyond it: the starting dose, at most 2.4 mcg/day (hard)
])
def test_resuming_ziconotide_after_a_long_empty_reservoir_follows_its_restart_rule(hours_empty, expected):
    plan = Plan(zico(9.6), RESERVOIR, NOW)
    report = CheckReport(LIBRARY.identity)
    check_resumption(plan, LIBRARY, Stop("stopped", NOW - timedelta(hours=hours_empty), hours_empty, 9.6), report)
    assert codes(report) == expected
    if expected:
        assert "with the reservoir empty, longer than the 24 h restart window" in message(report, expected[0])
