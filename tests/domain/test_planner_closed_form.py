"""The planner's closed form against a plain walk through the schedule, step after step, in exact fractions.

The planner counts whole cycles by division and searches only the cycle in which a threshold is crossed. The
walk here knows nothing of that: from the start's place in the cycle it follows the program's steps one after
another, adding each step's volume (dose per hour / concentration x minutes / 60) as a ``Fraction``, so it
carries no rounding at all, until the volume asked for is reached. Random flex programs, phases (whole
minutes, fractions of a minute, or from a start time's local midnight), volumes and alarm thresholds; each
reservoir lasts up to 25 cycles so that the walk stays short (the concentration is chosen to make it so).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from programmer.planner import Plan
from programmer.pump import Reservoir
from tests.support.planner_programs import SETTINGS, flex_therapies, make_program

DAY = 1440
TOLERANCE_ML = 1e-9


class Walk:
    """The schedule as the pump lives it: steps (start minute, mL per minute) over a cycle, from a phase."""

    def __init__(self, therapy: dict, concentration: float, phase_min: Fraction):
        self.cycle = therapy["cycle_days"] * DAY
        self.starts = []
        for step in therapy["steps"]:
            hours, minutes = step["start"].split(":")
            self.starts.append((step["day"] - 1) * DAY + int(hours) * 60 + int(minutes))
        self.ends = self.starts[1:] + [self.cycle]
        self.rates = [Fraction(step["dose_per_hour"]) / Fraction(concentration) / 60 for step in therapy["steps"]]
        self.phase = phase_min % self.cycle

    def pieces(self):
        """(minutes from the start, length in minutes, mL per minute) of each step in turn, for ever."""
        elapsed = Fraction(0)
        index = max(i for i, start in enumerate(self.starts) if start <= self.phase)
        position = self.phase
        while True:
            length = self.ends[index] - position
            yield elapsed, length, self.rates[index]
            elapsed += length
            index = (index + 1) % len(self.starts)
            position = self.starts[index]

    def minutes_until(self, goal_ml: Fraction) -> Fraction:
        """Minutes from the start until ``goal_ml`` has gone (0 if nothing is asked)."""
        if goal_ml <= 0:
            return Fraction(0)
        delivered = Fraction(0)
        for elapsed, length, rate in self.pieces():
            if delivered + rate * length >= goal_ml:
                return elapsed + (goal_ml - delivered) / rate
            delivered += rate * length
        raise AssertionError("unreachable: the walk goes on for ever")

    def delivered(self, minutes: Fraction) -> Fraction:
        """mL called for from the start to ``minutes`` later."""
        delivered = Fraction(0)
        for elapsed, length, rate in self.pieces():
            if elapsed + length >= minutes:
                return delivered + rate * (minutes - elapsed)
            delivered += rate * length
        raise AssertionError("unreachable: the walk goes on for ever")

    def step_starts(self, until: Fraction) -> list[Fraction]:
        """Minutes from the start of every step start strictly between the start and ``until``."""
        found = []
        for elapsed, _, _ in self.pieces():
            if elapsed >= until:
                return found
            if elapsed > 0:
                found.append(elapsed)
        raise AssertionError("unreachable: the walk goes on for ever")


def cycle_dose(therapy: dict) -> Fraction:
    """Dose units per cycle: the walk's mL at a concentration of 1."""
    walk = Walk(therapy, 1.0, Fraction(0))
    return sum((rate * (end - start) for start, end, rate in zip(walk.starts, walk.ends, walk.rates)), Fraction(0))


phases = st.one_of(st.integers(0, 30 * DAY), st.floats(0, 30 * DAY, allow_nan=False, allow_infinity=False))


def planned(therapy: dict, volume: float, cycles: float, alarm_share: float, phase: float | datetime):
    """The plan, its walk and its reservoir: the concentration makes ``volume`` mL last ``cycles`` cycles; the
    alarm is ``alarm_share`` of the volume (above 1: the reservoir starts below it)."""
    concentration = float(cycle_dose(therapy) * Fraction(cycles) / Fraction(volume)) if volume > 0 else 500.0
    program = make_program(therapy, concentration)
    reservoir = Reservoir(capacity_ml=2 * volume + 1, volume_ml=volume, low_alarm_ml=alarm_share * volume)
    if isinstance(phase, datetime):
        plan = Plan(program, reservoir, phase)
        midnight = phase.replace(hour=0, minute=0, second=0, microsecond=0)
        phase_min = Fraction((phase - midnight) // timedelta(microseconds=1), 60_000_000)
    else:
        plan = Plan(program, reservoir, datetime(2026, 12, 3), cycle_phase_min=phase)
        phase_min = Fraction(phase)
    return plan, Walk(therapy, concentration, phase_min), reservoir


volumes = st.one_of(st.just(0.0), st.floats(1e-6, 40))
cycle_counts = st.floats(0.001, 25)
alarm_shares = st.one_of(st.just(0.0), st.floats(0, 1.5))
start_or_phase = st.one_of(phases, st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31)))


def assert_same_moment(plan: Plan, walk: Walk, planned_min: float | None, goal_ml: float):
    """The planner's moment delivers the goal to 1e-9 mL, exactly as the walk counts it, and is the walk's
    moment to within what 1e-9 mL is worth at the rate in force."""
    assert planned_min is not None
    expected = walk.minutes_until(Fraction(goal_ml))
    if goal_ml <= 0:
        assert planned_min == 0
        return
    assert abs(float(walk.delivered(Fraction(planned_min))) - goal_ml) <= TOLERANCE_ML
    rate = next(rate for elapsed, length, rate in walk.pieces() if elapsed + length >= expected)
    assert abs(planned_min - float(expected)) * float(rate) <= TOLERANCE_ML


@SETTINGS
@given(flex_therapies(), volumes, cycle_counts, alarm_shares, start_or_phase)
@example(  # the threshold crossed exactly at a cycle's end: a quotient that rounding can put one cycle off
    therapy={"mode": "flex", "cycle_days": 1, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 3.0}]},
    volume=30.0, cycles=10.0, alarm_share=0.0, phase=0)
@example(  # a step running over midnight into day 2, started late on day 1 with seconds
    therapy={"mode": "flex", "cycle_days": 2, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 1.5},
                                                        {"day": 1, "start": "22:15", "dose_per_hour": 40.0},
                                                        {"day": 2, "start": "03:00", "dose_per_hour": 0.25}]},
    volume=12.5, cycles=7.3, alarm_share=0.2, phase=datetime(2026, 3, 29, 23, 59, 31))
def test_alarm_and_empty_are_the_walks(therapy, volume, cycles, alarm_share, phase):
    plan, walk, reservoir = planned(therapy, volume, cycles, alarm_share, phase)
    assert_same_moment(plan, walk, plan.minutes_to_empty, volume)
    assert_same_moment(plan, walk, plan.minutes_to_low_alarm, volume - reservoir.low_alarm_ml)


@SETTINGS
@given(flex_therapies(), st.floats(1e-3, 40), cycle_counts, start_or_phase, st.lists(st.floats(0, 1), max_size=8))
def test_volume_at_any_moment_is_the_walks(therapy, volume, cycles, phase, shares):
    plan, walk, _ = planned(therapy, volume, cycles, 0.0, phase)
    empty = plan.minutes_to_empty
    # Moments before and after empty, spread over the whole reservoir's life and beyond it.
    for moment in [share * 1.2 * empty for share in shares] + [empty, 1.2 * empty]:
        called_for = walk.delivered(Fraction(moment))
        assert abs(plan.pumped_ml(moment) - float(called_for)) <= TOLERANCE_ML
        assert abs(plan.volume_at(moment) - max(volume - float(called_for), 0.0)) <= TOLERANCE_ML


@SETTINGS
@given(flex_therapies(max_days=3), st.floats(1e-3, 40), st.floats(0.001, 6), start_or_phase, st.floats(0.1, 1.5))
def test_reservoir_points_are_the_walks_step_starts(therapy, volume, cycles, phase, horizon_share):
    plan, walk, _ = planned(therapy, volume, cycles, 0.0, phase)
    horizon = horizon_share * plan.minutes_to_empty
    points = plan.reservoir_points(horizon)
    until = Fraction(min(horizon, plan.minutes_to_empty))
    # The step starts until empty or the horizon, and besides them only the start, the alarm (here at empty),
    # empty and the horizon.
    # A step start within a rounding of empty or the horizon may fall on either side of it: left out.
    inner = [t for t, _ in points if 0 < t < until - 1e-6]
    expected = [t for t in walk.step_starts(until) if t < until - Fraction(1, 10**6)]
    assert len(inner) == len(expected)
    for got, want in zip(inner, expected):
        assert math.isclose(got, float(want), rel_tol=1e-12, abs_tol=1e-9)
    assert points[0] == (0.0, volume) and points[-1][0] == horizon
    for moment, ml in points:
        assert abs(ml - max(volume - float(walk.delivered(Fraction(moment))), 0.0)) <= TOLERANCE_ML
