"""The delivery planner on cases computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from programmer.planner import Plan, minutes_to_days, rate_segments
from programmer.program import load_program, program_from_data
from programmer.pump import Reservoir

ROOT = Path(__file__).resolve().parents[2]
DAY = 1440
START = datetime(2026, 11, 28, 0, 0)  # local midnight: cycle phase 0


def program(concentration: float, therapy: dict, name: str = "baclofen", unit: str = "mcg"):
    return program_from_data({"format": "itb-program/1",
                              "drug": {"name": name, "dose_unit": unit, "concentration_per_ml": concentration},
                              "therapy": therapy})


def simple(concentration: float, daily_dose: float):
    return program(concentration, {"mode": "simple_continuous", "daily_dose": daily_dose})


def flex(concentration: float, steps: list[tuple[int, str, float]], cycle_days: int = 1):
    return program(concentration, {"mode": "flex", "cycle_days": cycle_days, "steps": [
        {"day": day, "start": start, "dose_per_hour": rate} for day, start, rate in steps]})


def reservoir(volume: float, alarm: float = 2.0, capacity: float = 40.0) -> Reservoir:
    return Reservoir(capacity_ml=capacity, volume_ml=volume, low_alarm_ml=alarm)


# --- simple continuous: 500 mcg/mL at 150 mcg/day -------------------------------------------------------


def test_simple_continuous_rate():
    plan = Plan(simple(500, 150), reservoir(18, capacity=20), START)
    # 150 mcg/day / 500 mcg/mL = 0.3 mL/day; per hour 150 / 24 = 6.25 mcg/h, 0.3 / 24 = 0.0125 mL/h.
    assert plan.ml_per_day == pytest.approx(0.3, rel=1e-12)
    assert plan.mean_daily_dose == pytest.approx(150, rel=1e-12)
    assert plan.daily_doses == pytest.approx([150], rel=1e-12)
    assert plan.cycle_days == 1
    [(start, end, dose_h, ml_h)] = plan.rate_steps()
    assert (start, end) == (0, DAY)
    assert dose_h == pytest.approx(6.25, rel=1e-12)
    assert ml_h == pytest.approx(0.0125, rel=1e-12)


def test_simple_continuous_alarm_and_empty():
    plan = Plan(simple(500, 150), reservoir(18, alarm=2, capacity=20), START)
    # (18 - 2) mL / 0.3 mL/day = 53.333... days = 76800 minutes; 18 / 0.3 = 60 days = 86400 minutes.
    assert plan.minutes_to_low_alarm == pytest.approx(16 / 0.3 * DAY, rel=1e-12)
    assert plan.minutes_to_low_alarm == pytest.approx(76800, abs=1e-6)
    assert minutes_to_days(plan.minutes_to_low_alarm) == pytest.approx(53.3333333333, rel=1e-9)
    assert plan.minutes_to_empty == pytest.approx(86400, abs=1e-6)
    assert minutes_to_days(plan.minutes_to_empty) == pytest.approx(60, rel=1e-12)
    # 2026-11-28 00:00 + 53 days 8 hours = 2027-01-20 08:00 (Nov 28 + 33 days = Dec 31, + 20 = Jan 20).
    assert abs(plan.low_alarm_at - datetime(2027, 1, 20, 8, 0)) < timedelta(seconds=1)
    # + 60 days = 2027-01-27 00:00.
    assert abs(plan.empty_at - datetime(2027, 1, 27, 0, 0)) < timedelta(seconds=1)
    # Half-way to the alarm, 8 mL have gone: 26.666... days.
    assert plan.volume_at(8 / 0.3 * DAY) == pytest.approx(10, abs=1e-9)


def test_simple_continuous_any_start_time():
    # A constant rate does not care about the time of day: starting at 09:00 shifts the dates by 9 h.
    plan = Plan(simple(500, 150), reservoir(18, capacity=20), datetime(2026, 11, 28, 9, 0))
    assert plan.minutes_to_low_alarm == pytest.approx(76800, abs=1e-6)
    assert abs(plan.low_alarm_at - datetime(2027, 1, 20, 17, 0)) < timedelta(seconds=1)
    assert abs(plan.empty_at - datetime(2027, 1, 27, 9, 0)) < timedelta(seconds=1)


def test_aware_start_keeps_its_time_zone():
    start = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    plan = Plan(simple(500, 150), reservoir(18, capacity=20), start)
    # 60 days after 2026-03-01 12:00+01:00 is 2026-04-30 12:00+01:00.
    assert plan.empty_at == datetime(2026, 4, 30, 12, 0, tzinfo=timezone(timedelta(hours=1)))


def test_morphine_in_mg():
    plan = Plan(load_program(ROOT / "examples/morphine-simple.json"), reservoir(20, alarm=2), START)
    # 2.5 mg/day / 10 mg/mL = 0.25 mL/day; (20 - 2) / 0.25 = 72 days to the alarm; 20 / 0.25 = 80 to empty.
    assert plan.ml_per_day == pytest.approx(0.25, rel=1e-12)
    assert plan.minutes_to_low_alarm == pytest.approx(72 * DAY, rel=1e-12)
    assert plan.minutes_to_empty == pytest.approx(80 * DAY, rel=1e-12)
    # 10 days deliver 2.5 mL = 25 mg.
    assert plan.cumulative_dose(10 * DAY) == pytest.approx(25, rel=1e-12)


# --- the 4-step flex day (examples/baclofen-flex-day.json) ----------------------------------------------

FLEX_DAY = ROOT / "examples/baclofen-flex-day.json"


def test_flex_day_doses():
    plan = Plan(load_program(FLEX_DAY), reservoir(18, capacity=20), START)
    # 00-06 at 5 mcg/h = 30; 06-14 at 8 = 64; 14-22 at 6 = 48; 22-24 at 7 = 14; total 156 mcg/day.
    assert plan.mean_daily_dose == pytest.approx(156, rel=1e-12)
    assert plan.daily_doses == pytest.approx([156], rel=1e-12)
    # 156 / 500 = 0.312 mL/day.
    assert plan.ml_per_day == pytest.approx(0.312, rel=1e-12)
    steps = plan.rate_steps()
    assert [(s, e) for s, e, _, _ in steps] == [(0, 360), (360, 840), (840, 1320), (1320, 1440)]
    # mL/h = mcg/h / 500: 0.010, 0.016, 0.012, 0.014.
    assert [ml for _, _, _, ml in steps] == pytest.approx([0.010, 0.016, 0.012, 0.014], rel=1e-12)


def test_flex_day_alarm_falls_inside_the_third_step():
    start = datetime(2026, 11, 28, 9, 0)
    plan = Plan(load_program(FLEX_DAY), reservoir(18, alarm=2, capacity=20), start)
    # From 09:00 to midnight: 09-14 at 0.016 mL/h = 0.080; 14-22 at 0.012 = 0.096; 22-24 at 0.014 = 0.028;
    # 0.204 mL in the first 15 h (900 min). Still to go before the alarm: 16 - 0.204 = 15.796 mL.
    # Whole days at 0.312 mL/day: floor(15.796 / 0.312) = 50 (15.6 mL), leaving 0.196 mL.
    # Next day: 00-06 gives 0.060 (0.060), 06-14 gives 0.128 (0.188), leaving 0.008 mL in the 14:00 step at
    # 0.012 mL/h: 0.008 / 0.012 h = 40 min, so 14:40.
    # Minutes: 900 + 50 * 1440 + 14 * 60 + 40 = 900 + 72000 + 880 = 73780.
    assert plan.minutes_to_low_alarm == pytest.approx(73780, abs=1e-6)
    assert abs(plan.low_alarm_at - datetime(2027, 1, 18, 14, 40)) < timedelta(seconds=1)
    alarm_minute_of_day = (9 * 60 + plan.minutes_to_low_alarm) % DAY
    assert 14 * 60 <= alarm_minute_of_day < 22 * 60
    # Empty: 18 - 0.204 = 17.796; floor(17.796 / 0.312) = 57 days (17.784), leaving 0.012 mL in the
    # 00:00 step at 0.010 mL/h = 1.2 h = 72 min. Minutes: 900 + 57 * 1440 + 72 = 83052.
    assert plan.minutes_to_empty == pytest.approx(83052, abs=1e-6)
    assert abs(plan.empty_at - datetime(2027, 1, 25, 1, 12)) < timedelta(seconds=1)
    # First 15 h deliver 0.204 mL (above).
    assert plan.pumped_ml(900) == pytest.approx(0.204, abs=1e-12)
    assert plan.volume_at(900) == pytest.approx(18 - 0.204, abs=1e-12)


# --- a 7-day cycle with different days ------------------------------------------------------------------


def test_week_cycle_daily_doses_and_mean():
    plan = Plan(load_program(ROOT / "examples/baclofen-flex-week.json"), reservoir(30), START)
    # Days 1-5: 00-07 at 12 = 84; 07-19 at 18 = 216; 19-24 at 14 = 70; total 370 mcg.
    # Days 6-7: 00-09 at 12 = 108; 09-24 at 15 = 225; total 333 mcg.
    assert plan.cycle_days == 7
    assert plan.daily_doses == pytest.approx([370] * 5 + [333] * 2, rel=1e-12)
    # Mean: (5 * 370 + 2 * 333) / 7 = 2516 / 7 = 359.428... mcg/day; at 1000 mcg/mL, 2.516 / 7 mL/day.
    assert plan.mean_daily_dose == pytest.approx(2516 / 7, rel=1e-12)
    assert plan.ml_per_day == pytest.approx(2.516 / 7, rel=1e-12)


def test_step_running_over_midnight_counts_on_both_days():
    # Day 1: 00-12 at 10 mcg/h (120), 12-24 at 20 (240): 360. The 20 mcg/h step runs on until day 2 06:00:
    # day 2: 00-06 at 20 (120), 06-24 at 5 (90): 210. Day 3 has no steps of its own: 24 h at 5 = 120.
    plan = Plan(flex(1000, [(1, "00:00", 10), (1, "12:00", 20), (2, "06:00", 5)], cycle_days=3),
                reservoir(30), START)
    assert plan.daily_doses == pytest.approx([360, 210, 120], rel=1e-12)
    # Mean (360 + 210 + 120) / 3 = 230 mcg/day.
    assert plan.mean_daily_dose == pytest.approx(230, rel=1e-12)
    assert [(s, e) for s, e, _, _ in plan.rate_steps()] == [(0, 720), (720, 1800), (1800, 4320)]


def test_week_cycle_starts_on_the_start_date():
    # The cycle's day 1 begins at local midnight of the start date, whatever the weekday.
    start = datetime(2026, 12, 2, 6, 0)  # a Wednesday, 06:00
    plan = Plan(load_program(ROOT / "examples/baclofen-flex-week.json"), reservoir(30), start)
    assert plan.phase_min == pytest.approx(360)
    # Rest of day 1 from 06:00: 06-07 at 12 = 12; 07-19 at 18 = 216; 19-24 at 14 = 70; 298 mcg = 0.298 mL.
    assert plan.pumped_ml(18 * 60) == pytest.approx(0.298, abs=1e-12)
    # A whole cycle from any phase is the cycle's 2516 mcg (2.516 mL).
    assert plan.cumulative_dose(7 * DAY) == pytest.approx(2516, rel=1e-12)


# --- starting in the middle of a step -------------------------------------------------------------------

TWO_STEPS = [(1, "00:00", 10.0), (1, "12:00", 30.0)]  # at 1000 mcg/mL: 0.01 and 0.03 mL/h


def test_start_in_the_middle_of_a_step():
    start = datetime(2026, 11, 28, 6, 0)
    plan = Plan(flex(1000, TWO_STEPS), reservoir(2.5, alarm=2), start)
    assert plan.phase_min == pytest.approx(360)
    # 06:00-12:00 at 0.01 mL/h = 0.06 mL; then 12 h at 0.03 = 0.36 (0.42 by midnight, 18 h = 1080 min).
    assert plan.pumped_ml(360) == pytest.approx(0.06, abs=1e-12)
    assert plan.pumped_ml(1080) == pytest.approx(0.42, abs=1e-12)
    # The alarm needs 0.5 mL: 0.08 more after midnight at 0.01 mL/h = 8 h; 1080 + 480 = 1560 minutes.
    assert plan.minutes_to_low_alarm == pytest.approx(1560, abs=1e-6)
    assert abs(plan.low_alarm_at - datetime(2026, 11, 29, 8, 0)) < timedelta(seconds=1)
    # Empty at 2.5 mL: one day from 06:00 delivers the full 0.48 mL (10*12 + 30*12 = 480 mcg);
    # 2.5 = 5 * 0.48 + 0.1; after 5 days (06:00 on day 6) 0.06 more to 12:00 (6 h), then 0.04 at 0.03 mL/h
    # = 80 min. Minutes: 5 * 1440 + 360 + 80 = 7640.
    assert plan.minutes_to_empty == pytest.approx(7640, abs=1e-6)


def test_explicit_phase_matches_start_time():
    by_time = Plan(flex(1000, TWO_STEPS), reservoir(2.5), datetime(2026, 11, 28, 6, 0))
    by_phase = Plan(flex(1000, TWO_STEPS), reservoir(2.5), START, cycle_phase_min=360)
    assert by_phase.minutes_to_low_alarm == pytest.approx(by_time.minutes_to_low_alarm, abs=1e-9)
    assert by_phase.minutes_to_empty == pytest.approx(by_time.minutes_to_empty, abs=1e-9)
    # A phase of more than a cycle wraps: 1440 + 360 is the same as 360.
    wrapped = Plan(flex(1000, TWO_STEPS), reservoir(2.5), START, cycle_phase_min=1800)
    assert wrapped.phase_min == pytest.approx(360)


def test_start_with_seconds_gives_a_fractional_phase():
    plan = Plan(flex(1000, TWO_STEPS), reservoir(2.5), datetime(2026, 11, 28, 11, 59, 30))
    # 30 s of the 0.01 mL/h step remain (0.5 min * 0.01 / 60 mL), then 0.03 mL/h.
    assert plan.phase_min == pytest.approx(719.5)
    assert plan.pumped_ml(0.5) == pytest.approx(0.5 * 0.01 / 60, abs=1e-15)
    assert plan.pumped_ml(1.5) == pytest.approx(0.5 * 0.01 / 60 + 0.03 / 60, abs=1e-15)


# --- stopped, at the alarm, and empty -------------------------------------------------------------------


def test_stopped_never_empties():
    plan = Plan(program(500, {"mode": "stopped"}), reservoir(18), START)
    assert plan.minutes_to_empty is None
    assert plan.minutes_to_low_alarm is None
    assert plan.empty_at is None and plan.low_alarm_at is None
    assert plan.mean_daily_dose == 0 and plan.ml_per_day == 0
    assert plan.daily_doses == [0]
    assert plan.volume_at(10 * 365 * DAY) == 18
    assert plan.reservoir_points(365 * DAY) == [(0.0, 18.0), (365.0 * DAY, 18.0)]
    assert minutes_to_days(None) is None


@pytest.mark.parametrize("volume", [2.0, 1.5, 0.0])
def test_reservoir_already_at_or_below_the_alarm(volume: float):
    plan = Plan(simple(500, 150), reservoir(volume, alarm=2), START)
    assert plan.minutes_to_low_alarm == 0
    assert plan.low_alarm_at == START
    # What is left still empties at 0.3 mL/day: 2.0 -> 6.667 days, 1.5 -> 5 days, 0 -> now.
    assert plan.minutes_to_empty == pytest.approx(volume / 0.3 * DAY, abs=1e-6)


def test_stopped_at_the_alarm_still_reports_the_alarm_now():
    plan = Plan(program(500, {"mode": "stopped"}), reservoir(1.0, alarm=2), START)
    assert plan.minutes_to_low_alarm == 0
    assert plan.minutes_to_empty is None


def test_zero_alarm_threshold_alarms_when_empty():
    plan = Plan(simple(500, 150), reservoir(3, alarm=0), START)
    # 3 / 0.3 = 10 days for both.
    assert plan.minutes_to_low_alarm == pytest.approx(10 * DAY, abs=1e-6)
    assert plan.minutes_to_empty == pytest.approx(10 * DAY, abs=1e-6)


def test_delivery_stops_at_empty():
    plan = Plan(simple(500, 150), reservoir(3, alarm=2), START)
    empty = plan.minutes_to_empty
    assert empty == pytest.approx(10 * DAY, abs=1e-6)  # 3 / 0.3
    for minutes in (empty, empty + 1, 20 * DAY, 1000 * DAY):
        assert plan.volume_at(minutes) == pytest.approx(0, abs=1e-12)
        assert plan.volume_at(minutes) >= 0
        # 3 mL at 500 mcg/mL is all there is: 1500 mcg.
        assert plan.cumulative_dose(minutes) == pytest.approx(1500, rel=1e-12)
    # What the program calls for keeps growing: 20 days at 0.3 mL/day = 6 mL.
    assert plan.pumped_ml(20 * DAY) == pytest.approx(6, rel=1e-12)
    assert plan.delivered_ml(20 * DAY) == pytest.approx(3, rel=1e-12)


# --- reservoir_points -----------------------------------------------------------------------------------


def interpolate(points, t):
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    raise AssertionError(f"{t} outside the points")


@pytest.mark.parametrize("start", [START, datetime(2026, 11, 28, 9, 0), datetime(2026, 11, 28, 23, 59, 40)])
def test_reservoir_points_are_piecewise_linear_and_match_volume_at(start):
    plan = Plan(load_program(FLEX_DAY), reservoir(18, capacity=20), start)
    horizon = 70 * DAY  # past the empty time (about 57.7 days)
    points = plan.reservoir_points(horizon)
    times = [t for t, _ in points]
    assert times[0] == 0 and times[-1] == horizon
    assert times == sorted(times) and len(set(times)) == len(times)
    for t, v in points:
        assert v == pytest.approx(plan.volume_at(t), abs=1e-12)
    # Alarm and empty are breakpoints.
    assert any(abs(t - plan.minutes_to_low_alarm) < 1e-9 for t in times)
    assert any(abs(t - plan.minutes_to_empty) < 1e-9 for t in times)
    # Every step start before empty is a breakpoint: the rate changes there.
    phase = plan.phase_min
    for k in range(0, 60):
        for step_start in (0, 360, 840, 1320):
            moment = k * DAY + step_start - phase
            if 0 < moment < plan.minutes_to_empty:
                assert any(abs(t - moment) < 1e-9 for t in times), moment
    # Linear in between: the volume a third of the way through each piece is the interpolation.
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        t = t0 + (t1 - t0) / 3
        assert plan.volume_at(t) == pytest.approx(v0 + (v1 - v0) / 3, abs=1e-9)
        assert v1 <= v0
    assert points[0][1] == 18
    assert points[-1][1] == pytest.approx(0, abs=1e-12)


def test_reservoir_points_short_horizon():
    plan = Plan(load_program(FLEX_DAY), reservoir(18, capacity=20), START)
    points = plan.reservoir_points(DAY)
    # 0, the three step starts inside the day (360, 840, 1320) and the horizon.
    assert [t for t, _ in points] == [0, 360, 840, 1320, DAY]
    # 18 - cumulative: 0.06, 0.188, 0.284, 0.312 mL delivered.
    assert [v for _, v in points] == pytest.approx([18, 17.94, 17.812, 17.716, 17.688], abs=1e-12)


def test_rate_segments_cover_the_cycle():
    segments, cycle = rate_segments(load_program(ROOT / "examples/baclofen-flex-week.json"))
    assert cycle == 7 * DAY
    assert segments[0].start_min == 0 and segments[-1].end_min == cycle
    for a, b in zip(segments, segments[1:]):
        assert a.end_min == b.start_min
    # 15 mcg/h at 1000 mcg/mL: 0.015 mL/h = 0.36 mL/day.
    assert segments[-1].ml_per_day == pytest.approx(0.36, rel=1e-12)


def test_vanishing_volume_never_gives_negative_times():
    # Found by hypothesis: 1e-120 mL left, started at 01:00 (phase 60 min) in a 2-step day.
    plan = Plan(flex(3.0, [(1, "00:00", 1.0), (1, "00:01", 1.0)]), reservoir(1e-120, alarm=0), datetime(2020, 1, 1, 1))
    assert plan.minutes_to_empty >= 0
    assert plan.reservoir_points(10)[0][0] == 0


def test_the_rate_at_a_moment_the_step_times_and_the_minutes_until_a_volume_is_pumped():
    # 500 mcg/mL: 5 mcg/h is 0.01 mL/h from 00:00, 25 mcg/h 0.05 mL/h from 06:00; the projection starts at 05:00.
    plan = Plan(flex(500, [(1, "00:00", 5), (1, "06:00", 25)]), reservoir(10), START + timedelta(hours=5))
    assert (plan.ml_per_hour_at(0), plan.ml_per_hour_at(60), plan.ml_per_hour_at(19 * 60)) == (0.01, 0.05, 0.01)
    assert plan.step_times(0, 2 * DAY) == [60, 19 * 60, 25 * 60, 43 * 60]
    assert plan.step_times(60, 19 * 60) == []  # strictly between
    # 0.01 mL in the first hour, then 0.05 mL/h: 0.06 mL after 2 h; a day is 6 x 0.01 + 18 x 0.05 = 0.96 mL.
    assert plan.minutes_until_pumped(0.06) == pytest.approx(120)
    assert plan.minutes_until_pumped(0.96 + 0.06) == pytest.approx(DAY + 120)
    assert plan.minutes_until_pumped(0) == 0.0
    stopped = Plan(program(500, {"mode": "stopped"}), reservoir(10), START)
    assert stopped.minutes_until_pumped(0.1) is None
