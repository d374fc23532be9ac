"""The editor's pure view-model: typed text -> program -> review, problems at the right field."""

from __future__ import annotations

from datetime import datetime

import pytest

from programmer.library import load_library
from tests.support.ui_fakes import program, snapshot
from ui.view_models.comparison import compare
from ui.view_models.commit_gate import CommitGate
from ui.view_models.draft import DAILY_TOTAL, Draft, StepText, evaluate, parse_dose
from ui.view_models.series import rate_series, reservoir_series

LIBRARY = load_library()
FLEX_DAY = {"mode": "flex", "cycle_days": 1, "steps": [
    {"day": 1, "start": "00:00", "dose_per_hour": 5.0}, {"day": 1, "start": "06:00", "dose_per_hour": 8.0},
    {"day": 1, "start": "14:00", "dose_per_hour": 6.0}, {"day": 1, "start": "22:00", "dose_per_hour": 7.0}]}


def flex_draft() -> Draft:
    return Draft.from_program(program(FLEX_DAY))


def test_the_fake_snapshot_projects_the_current_program():
    plan = snapshot().forecast()
    assert plan.ml_per_day == 0.3  # 150 mcg/day at 500 mcg/mL
    assert plan.minutes_to_low_alarm == 40 * 1440  # (14 - 2) mL at 0.3 mL/day


def test_flex_figures_follow_an_edited_step():
    draft = flex_draft()
    assert draft.daily_dose == "156"  # 5*6 + 8*8 + 6*8 + 7*2 mcg
    draft.steps[1].dose_per_hour = "10"
    result = evaluate(draft, snapshot(), LIBRARY)
    plan = result.review.plan
    assert plan.mean_daily_dose == pytest.approx(172)  # 30 + 80 + 48 + 14
    assert plan.ml_per_day == pytest.approx(172 / 500)
    assert result.can_review
    rows, change = compare(result.review.current_plan, plan)
    assert change == pytest.approx((172 / 150 - 1) * 100)
    # Against the pump's simple 150 mcg/day (0.3 mL/day, a 1-day cycle) every figure moves but the drug, its
    # concentration and the cycle length, 1 day on both sides: the mode, 150 -> 172 mcg/day, 0.3 -> 0.344
    # mL/day, day 1's dose, the schedule, and both dates (12 mL to the alarm: 40 days at 0.3 mL/day, about
    # 34.9 at 0.344).
    assert [(row.label, row.changed) for row in rows] == [
        ("Drug", False), ("Concentration", False), ("Mode", True), ("Daily dose (mean over the cycle)", True),
        ("Change of daily dose", True),
        ("Volume per day", True), ("Cycle length", False), ("Dose on each day of the cycle", True),
        ("Schedule", True), ("Low-reservoir alarm", True), ("Reservoir empty", True)]


def test_an_edit_that_keeps_the_daily_dose_changes_only_the_schedule_and_the_dates():
    # The pump runs FLEX_DAY (156 mcg/day); the edit moves 16 mcg from the afternoon to the morning:
    # 06:00 8 -> 10 mcg/h (+2 x 8 h = +16), 14:00 6 -> 4 mcg/h (-2 x 8 h = -16): 30 + 80 + 32 + 14 = 156.
    # Mode, dose, volume, cycle and day dose are the same; the schedule is not, nor are the dates, which
    # fall at another hour of the last day. From midnight with 14 mL (2 mL alarm), at 500 mcg/mL:
    #   alarm after 12 mL = 6000 mcg: 38 days x 156 = 5928, 72 mcg into day 39 (Apr 9, 2026-03-02 + 38 d):
    #     old 30 by 06:00, 42 / 8 = 5.25 h -> 11:15;   new 30 by 06:00, 42 / 10 = 4.2 h -> 10:12
    #   empty after 14 mL = 7000 mcg: 44 days x 156 = 6864, 136 mcg into day 45 (Apr 15):
    #     old 30 + 64 by 14:00, 42 / 6 = 7 h -> 21:00;  new 30 + 80 by 14:00, 26 / 4 = 6.5 h -> 20:30
    draft = Draft.from_program(program(FLEX_DAY))
    draft.steps[1].dose_per_hour = "10"
    draft.steps[2].dose_per_hour = "4"
    result = evaluate(draft, snapshot(program(FLEX_DAY)), LIBRARY)
    old, new = result.review.current_plan, result.review.plan
    assert (old.low_alarm_at, new.low_alarm_at) == (datetime(2026, 4, 9, 11, 15), datetime(2026, 4, 9, 10, 12))
    assert (old.empty_at, new.empty_at) == (datetime(2026, 4, 15, 21, 0), datetime(2026, 4, 15, 20, 30))
    rows, change = compare(old, new)
    assert change == 0
    assert [(row.label, row.changed) for row in rows] == [
        ("Drug", False), ("Concentration", False), ("Mode", False), ("Daily dose (mean over the cycle)", False),
        ("Change of daily dose", False),
        ("Volume per day", False), ("Cycle length", False), ("Dose on each day of the cycle", False),
        ("Schedule", True), ("Low-reservoir alarm", True), ("Reservoir empty", True)]


def test_rate_and_reservoir_series_are_the_planners():
    plan = evaluate(flex_draft(), snapshot(), LIBRARY).review.plan
    rates = rate_series(plan, 1440)
    assert rates.hours == [0, 6, 14, 22, 24] and rates.rates == [5, 8, 6, 7]
    assert rates.at(13.99) == 8 and rates.at(24) is None
    reservoir = reservoir_series(plan, 90)
    assert reservoir.volumes[0] == 14.0 and reservoir.volumes[-1] == 0.0
    days_to_low = 12 / 0.312
    assert (reservoir.low_alarm_at - reservoir.times[0]) / 86400 == pytest.approx(days_to_low, abs=0.01)
    assert reservoir.at(reservoir.low_alarm_at) == pytest.approx(2.0)


def test_a_seven_day_program_beside_a_one_day_one_repeats_the_short_cycle():
    plan = snapshot().forecast()
    rates = rate_series(plan, 7 * 1440)
    assert rates.hours == [0, 168] and rates.rates == [6.25]


def test_typing_problems_are_reported_at_the_field():
    draft = flex_draft()
    draft.steps[2].dose_per_hour = "1,5"
    draft.steps[3].start = "21:00"
    draft.steps[3].dose_per_hour = ""
    result = evaluate(draft, snapshot(), LIBRARY)
    assert not result.can_review and result.program is None
    assert "decimal point" in result.at("steps[2].dose_per_hour")[0].text
    assert "enter a dose" in result.at("steps[3].dose_per_hour")[0].text
    draft.steps[2].dose_per_hour, draft.steps[3].dose_per_hour = "6", "7"
    draft.steps[3].start = "13:00"
    result = evaluate(draft, snapshot(), LIBRARY)
    assert "must start after" in result.at("steps[3].start")[0].text


def test_a_hard_limit_blocks_review_and_names_the_field():
    draft = Draft.from_program(snapshot().active.program)
    draft.daily_dose = "2500"
    result = evaluate(draft, snapshot(), LIBRARY)
    assert not result.can_review
    codes = {p.code for p in result.at("daily_dose")}
    assert "DAILY_DOSE_ABOVE_HARD_MAX" in codes


def test_flex_daily_dose_limits_show_at_the_daily_total():
    draft = flex_draft()
    for step in draft.steps:
        step.dose_per_hour = "100"  # 2400 mcg/day
    result = evaluate(draft, snapshot(), LIBRARY)
    assert "DAILY_DOSE_ABOVE_HARD_MAX" in {p.code for p in result.at(DAILY_TOTAL)}


def test_a_warning_needs_acknowledgement_and_reason_before_commit():
    draft = Draft.from_program(snapshot().active.program)
    draft.daily_dose = "185"  # +23.3 %, above the 20 % soft limit for baclofen
    result = evaluate(draft, snapshot(), LIBRARY)
    assert result.can_review and [w.code for w in result.warnings] == ["CHANGE_ABOVE_SOFT_LIMIT"]
    gate = CommitGate.for_review(result.review)
    gate.clinician, gate.confirmed = "Dr Osei", True
    assert gate.blockers() == ["tick \u201cAcknowledge warning 1\u201d"]
    gate.acknowledgements[0].acknowledged = True
    assert gate.blockers() == ["type a reason for warning 1"]
    gate.acknowledgements[0].reason = "  titration agreed with the spasticity team  "
    assert gate.ready
    assert gate.override_reason() == "CHANGE_ABOVE_SOFT_LIMIT: titration agreed with the spasticity team"


def test_adding_a_step_goes_halfway_to_the_next_one():
    draft = flex_draft()
    row = draft.add_step(0)
    assert (row, draft.steps[1].start, draft.steps[1].dose_per_hour) == (1, "03:00", "5")
    assert draft.move_step(1, -1) == 0 and draft.steps[0].start == "03:00"
    draft.remove_step(0)
    assert [s.start for s in draft.steps] == ["00:00", "06:00", "14:00", "22:00"]


@pytest.mark.parametrize("text,reason", [("", "enter a dose"), ("abc", "not a number"), ("0", "more than 0"),
                                         ("nan", "finite"), ("1,000", "decimal point")])
def test_parse_dose_says_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_dose(text, "mcg/h")


def test_step_offset():
    assert StepText(2, "06:30", "1").offset_minutes() == 1440 + 390
    assert StepText(1, "24:00", "1").offset_minutes() is None
