"""Properties of the planner on random valid flex programs (hypothesis).

Programs have 1-7 days per cycle and up to 13 steps a day (a day may have none of its own: the previous
step runs on). Reservoirs and start times (to the second) are random too. Each property states something
that must hold whatever the program: conservation of dose, a reservoir that only goes down, alarm before
empty, concentration scaling, and alarm times that solve the volume equation.
"""

from __future__ import annotations

import math
from datetime import datetime

from hypothesis import example, given
from hypothesis import strategies as st

from programmer.planner import Plan
from programmer.pump import Reservoir
from tests.support.planner_programs import SETTINGS, flex_therapies, make_program

DAY = 1440

concentrations = st.floats(0.5, 5000, allow_nan=False, allow_infinity=False)
starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31))


@st.composite
def reservoirs(draw, capacity: float = 40.0) -> Reservoir:
    # Volumes are 0 or at least a microlitre: vanishing volumes such as 1e-120 mL only test float noise
    # (see test_planner.py::test_vanishing_volume_never_gives_negative_times for that edge).
    volume = draw(st.one_of(st.just(0.0), st.floats(1e-6, capacity)))
    alarm = draw(st.one_of(st.just(0.0), st.floats(1e-6, capacity * 0.5)))
    return Reservoir(capacity_ml=capacity, volume_ml=volume, low_alarm_ml=alarm)


def hand_cycle(therapy: dict) -> tuple[list[float], float]:
    """Dose per day of the cycle and the cycle's dose, summed by hand from the steps.

    Each step runs from its start to the next step's start (the last to the end of the cycle); a step's
    dose is dose_per_hour * hours, split at each midnight it crosses.
    """
    cycle = therapy["cycle_days"] * DAY
    offsets = []
    for step in therapy["steps"]:
        hours, minutes = step["start"].split(":")
        offsets.append((step["day"] - 1) * DAY + int(hours) * 60 + int(minutes))
    bounds = offsets + [cycle]
    per_day = [0.0] * therapy["cycle_days"]
    for index, step in enumerate(therapy["steps"]):
        t, end = bounds[index], bounds[index + 1]
        while t < end:
            day_end = (t // DAY + 1) * DAY
            piece_end = min(end, day_end)
            per_day[t // DAY] += step["dose_per_hour"] * (piece_end - t) / 60
            t = piece_end
    return per_day, math.fsum(per_day)


@SETTINGS
@given(flex_therapies(), concentrations, starts)
def test_dose_conservation(therapy, concentration, start):
    program = make_program(therapy, concentration)
    plan = Plan(program, Reservoir(capacity_ml=1e9, volume_ml=1e8, low_alarm_ml=0), start)
    days, cycle_dose = hand_cycle(therapy)
    cycle_days = therapy["cycle_days"]
    # The sum over the cycle's days is the mean daily dose times the cycle length.
    assert math.isclose(math.fsum(plan.daily_doses), plan.mean_daily_dose * cycle_days, rel_tol=1e-9)
    # ... and both agree with the doses summed by hand from the steps.
    assert len(plan.daily_doses) == cycle_days
    for got, want in zip(plan.daily_doses, days):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(plan.mean_daily_dose, cycle_dose / cycle_days, rel_tol=1e-9)
    assert math.isclose(plan.ml_per_day, cycle_dose / cycle_days / concentration, rel_tol=1e-9)


@SETTINGS
@given(flex_therapies(), concentrations, starts, st.integers(1, 12))
def test_whole_cycles_deliver_whole_cycle_doses(therapy, concentration, start, k):
    program = make_program(therapy, concentration)
    _, cycle_dose = hand_cycle(therapy)
    cycle_min = therapy["cycle_days"] * DAY
    big = Reservoir(capacity_ml=1e9, volume_ml=1e8, low_alarm_ml=0)
    # From phase 0 (local midnight) ...
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    plan = Plan(program, big, midnight)
    assert plan.phase_min == 0
    assert math.isclose(plan.cumulative_dose(k * cycle_min), k * cycle_dose, rel_tol=1e-9)
    # ... and from any phase: k whole cycles are k cycle doses wherever they start.
    shifted = Plan(program, big, start)
    assert math.isclose(shifted.cumulative_dose(k * cycle_min), k * cycle_dose, rel_tol=1e-9)


@SETTINGS
@given(flex_therapies(), concentrations, starts, reservoirs())
def test_volume_never_increases_and_alarm_comes_first(therapy, concentration, start, res):
    plan = Plan(make_program(therapy, concentration), res, start)
    alarm, empty = plan.minutes_to_low_alarm, plan.minutes_to_empty
    # Flex rates are all positive: the reservoir always reaches the alarm and then empties.
    assert alarm is not None and empty is not None
    assert 0 <= alarm <= empty
    horizon = min(empty + 2 * DAY, 60 * DAY)
    points = plan.reservoir_points(horizon)
    assert points[0] == (0.0, res.volume_ml)
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        assert t1 > t0
        assert v1 <= v0
        assert v1 >= 0
    if empty <= horizon:
        assert points[-1][1] == 0


@SETTINGS
@given(flex_therapies(), concentrations, starts, reservoirs())
def test_alarm_time_solves_the_volume_equation(therapy, concentration, start, res):
    plan = Plan(make_program(therapy, concentration), res, start)
    t = plan.minutes_to_low_alarm
    if res.volume_ml <= res.low_alarm_ml:
        assert t == 0
        return
    assert abs(plan.volume_at(t) - res.low_alarm_ml) <= 1e-9
    # And it is the first such time: a minute earlier the volume is still above the threshold.
    if t >= 1:
        assert plan.volume_at(t - 1) > res.low_alarm_ml
    e = plan.minutes_to_empty
    assert abs(plan.volume_at(e)) <= 1e-9


@SETTINGS
@given(flex_therapies(), concentrations, starts, reservoirs(capacity=20.0))
@example(  # found in CI: the reservoir 2e-15 mL above the alarm, below float resolution of the volume
    therapy={"mode": "flex", "cycle_days": 1, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 1.0},
                                                        {"day": 1, "start": "00:01", "dose_per_hour": 1.0},
                                                        {"day": 1, "start": "00:06", "dose_per_hour": 2.0}]},
    concentration=1.0, start=datetime(2020, 1, 1, 5, 0, 2, 4),
    res=Reservoir(capacity_ml=20.0, volume_ml=10.0, low_alarm_ml=9.999999999999998))
def test_doubling_the_concentration(therapy, concentration, start, res):
    single = Plan(make_program(therapy, concentration), res, start)
    double = Plan(make_program(therapy, 2 * concentration), res, start)
    # Same doses, half the volume.
    assert math.isclose(double.ml_per_day, single.ml_per_day / 2, rel_tol=1e-12)
    assert math.isclose(double.mean_daily_dose, single.mean_daily_dose, rel_tol=1e-12)
    # Doubling the concentration is the same as doubling the volume at the old concentration: the time to
    # empty V mL at 2C is the time to deliver 2V mL at C (and the alarm needs 2(V - A) mL at C).
    twice = Plan(make_program(therapy, concentration),
                 Reservoir(capacity_ml=2 * res.capacity_ml, volume_ml=2 * res.volume_ml,
                           low_alarm_ml=2 * res.low_alarm_ml), start)
    assert math.isclose(double.minutes_to_empty, twice.minutes_to_empty, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(double.minutes_to_low_alarm, twice.minutes_to_low_alarm, rel_tol=1e-9, abs_tol=1e-6)
    # So the days to empty double, give or take the unevenness of one cycle.
    cycle_min = therapy["cycle_days"] * DAY
    assert abs(double.minutes_to_empty - 2 * single.minutes_to_empty) <= cycle_min + 1e-6
    if res.volume_ml <= res.low_alarm_ml:
        # Already at the alarm: both say "now", whatever the concentration.
        assert single.minutes_to_low_alarm == double.minutes_to_low_alarm == 0
    else:
        assert abs(double.minutes_to_low_alarm - 2 * single.minutes_to_low_alarm) <= cycle_min + 1e-6
        # Never earlier (to float resolution: a margin of 1e-15 mL above the alarm is "now" either way).
        assert double.minutes_to_low_alarm >= single.minutes_to_low_alarm - 1e-6
    assert double.minutes_to_empty >= single.minutes_to_empty


@SETTINGS
@given(st.floats(1, 2000), st.sampled_from([50, 500, 1000, 2000]), starts, reservoirs())
def test_doubling_the_concentration_simple_continuous_is_exact(daily_dose, concentration, start, res):
    therapy = {"mode": "simple_continuous", "daily_dose": daily_dose}
    single = Plan(make_program(therapy, concentration), res, start)
    double = Plan(make_program(therapy, 2 * concentration), res, start)
    assert math.isclose(double.ml_per_day, single.ml_per_day / 2, rel_tol=1e-12)
    # A constant rate: days = V / (D / C), so doubling C doubles the days exactly.
    assert math.isclose(double.minutes_to_empty, 2 * single.minutes_to_empty, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(double.minutes_to_low_alarm, 2 * single.minutes_to_low_alarm, rel_tol=1e-9, abs_tol=1e-9)
    # And both equal the formula.
    assert math.isclose(single.minutes_to_empty, res.volume_ml / (daily_dose / concentration) * DAY,
                        rel_tol=1e-9, abs_tol=1e-9)
