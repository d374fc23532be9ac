"""The delivery planner: what a program delivers over time and when the reservoir runs low.

Everything here is exact arithmetic on a piecewise-constant rate, never a time-stepped simulation: a
program is a cycle of segments (start, end, rate), the volume delivered is a piecewise-linear function of
time, and the moments the reservoir reaches the low-alarm threshold and empties are solved in closed form:
whole cycles are counted by division, not walked, and only the segment where the moment falls is solved. So
the dates cost the same for any horizon (tens of microseconds), a year's plot is one pass over its
breakpoints, and the answers agree with the pump's own (calculated, not measured) reservoir volume
(benchmarks/planner_projection.py checks them to 1e-9 mL against a minute-by-minute integration).

Time inside the planner is in minutes from the projection start. The cycle's day 1 00:00 is local
midnight of the start date in the pump's clock, so a one-day flex schedule lines up with the wall clock.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from operator import itemgetter

from programmer.program import MINUTES_PER_DAY, Flex, Program, SimpleContinuous
from programmer.pump import Reservoir


@dataclass(frozen=True)
class Segment:
    """A stretch of the cycle at one rate. Offsets are minutes from the cycle's day 1 00:00."""

    start_min: int
    end_min: int
    dose_per_hour: float
    ml_per_hour: float

    @property
    def ml_per_day(self) -> float:
        return self.ml_per_hour * 24


def _cycle_table(program: Program) -> tuple[list[int], list[float], list[float], int]:
    """The cycle read from the program once: step starts (minutes from day 1 00:00), dose per hour, mL per hour,
    and the cycle length in minutes. A stopped program is one step at zero; simple continuous, one step a day."""
    therapy = program.therapy
    concentration = program.drug.concentration_per_ml
    if isinstance(therapy, SimpleContinuous):
        per_hour = therapy.daily_dose / 24
        return [0], [per_hour], [per_hour / concentration], MINUTES_PER_DAY
    if isinstance(therapy, Flex):
        doses = [step.dose_per_hour for step in therapy.steps]
        return ([step.offset_minutes for step in therapy.steps], doses, [dose / concentration for dose in doses],
                therapy.cycle_days * MINUTES_PER_DAY)
    return [0], [0.0], [0.0], MINUTES_PER_DAY


def _segments(starts: list[int], doses: list[float], mls: list[float], cycle_min: int) -> tuple[Segment, ...]:
    ends = starts[1:] + [cycle_min]
    return tuple(Segment(*fields) for fields in zip(starts, ends, doses, mls))


def rate_segments(program: Program) -> tuple[tuple[Segment, ...], int]:
    """The program's cycle as rate segments, and the cycle length in minutes."""
    starts, doses, mls, cycle_min = _cycle_table(program)
    return _segments(starts, doses, mls, cycle_min), cycle_min


def mean_daily_dose(program: Program) -> float:
    """The program's dose per day averaged over its cycle (dose units/day; 0 when stopped), without a
    projection: what the event log's baseline and the editor need. ``Plan.mean_daily_dose`` is the same
    figure summed day by day."""
    segments, cycle_min = rate_segments(program)
    return sum(s.dose_per_hour * (s.end_min - s.start_min) for s in segments) / 60 / (cycle_min / MINUTES_PER_DAY)


class Plan:
    """The projection of one program from one reservoir state and start time.

    Building it reads the cycle once (its steps, and the volume delivered from the cycle's start to each step,
    summed in the steps' order) and solves the low-alarm and empty moments in closed form: whole cycles are
    counted by one division, and only the cycle in which the threshold is crossed is searched, by bisection
    over its steps. So the dates cost the same whether they fall tomorrow or in ten years, and the volume at
    any moment is ``k`` whole cycles (one multiplication, no running total that drifts over the years) plus a
    lookup inside one cycle.
    """

    def __init__(self, program: Program, reservoir: Reservoir, start: datetime, cycle_phase_min: float | None = None):
        self.program = program
        self.reservoir = reservoir
        self.start = start
        self._starts, self._doses, self._ml_per_hour, self.cycle_min = _cycle_table(program)
        ends = self._starts[1:] + [self.cycle_min]
        self._prefix_ml = [0.0]
        for begin, end, ml_per_hour in zip(self._starts, ends, self._ml_per_hour):
            self._prefix_ml.append(self._prefix_ml[-1] + ml_per_hour * (end - begin) / 60)
        self.cycle_ml = self._prefix_ml[-1]
        if cycle_phase_min is None:
            midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
            cycle_phase_min = (start - midnight).total_seconds() / 60
        self.phase_min = cycle_phase_min % self.cycle_min
        self._ml_before_start = self._cycle_ml_at(self.phase_min)
        self.minutes_to_low_alarm = self._minutes_until_delivered(reservoir.volume_ml - reservoir.low_alarm_ml)
        self.minutes_to_empty = self._minutes_until_delivered(reservoir.volume_ml)

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        """The cycle's rate segments, built when a check or a table first asks (the dates do not need them)."""
        return _segments(self._starts, self._doses, self._ml_per_hour, self.cycle_min)

    # --- daily figures -------------------------------------------------------------------------------

    @property
    def cycle_days(self) -> int:
        return self.cycle_min // MINUTES_PER_DAY

    @property
    def daily_doses(self) -> list[float]:
        """Dose delivered on each day of the cycle (dose units), day 1 first.

        Summed from the doses per hour directly, not through mL and back, so a program written at a
        library limit is not pushed over it by rounding.
        """
        therapy = self.program.therapy
        if isinstance(therapy, SimpleContinuous):
            return [therapy.daily_dose]
        doses = [0.0] * self.cycle_days
        for segment in self.segments:
            start = segment.start_min
            while start < segment.end_min:
                day = start // MINUTES_PER_DAY
                end = min(segment.end_min, (day + 1) * MINUTES_PER_DAY)
                doses[day] += segment.dose_per_hour * (end - start) / 60
                start = end
        return doses

    @property
    def mean_daily_dose(self) -> float:
        """Dose per day averaged over the cycle (dose units/day)."""
        return sum(self.daily_doses) / self.cycle_days

    @property
    def ml_per_day(self) -> float:
        """Volume per day averaged over the cycle (mL/day)."""
        return self.cycle_ml / self.cycle_days

    # --- volume over time ----------------------------------------------------------------------------

    def _cycle_ml_at(self, cycle_min: float) -> float:
        """mL delivered from cycle time 0 to ``cycle_min`` (which may run past one cycle)."""
        whole, within = divmod(cycle_min, self.cycle_min)
        index = bisect.bisect_right(self._starts, within) - 1
        return (whole * self.cycle_ml + self._prefix_ml[index]
                + self._ml_per_hour[index] * (within - self._starts[index]) / 60)

    def pumped_ml(self, minutes: float) -> float:
        """mL the program calls for from the start to ``minutes`` later, ignoring that the reservoir empties."""
        return self._cycle_ml_at(self.phase_min + minutes) - self._ml_before_start

    def delivered_ml(self, minutes: float) -> float:
        """mL actually delivered by ``minutes`` after the start: delivery stops when the reservoir is empty."""
        return min(self.pumped_ml(minutes), self.reservoir.volume_ml)

    def volume_at(self, minutes: float) -> float:
        """Calculated reservoir volume (mL) ``minutes`` after the start."""
        return self.reservoir.volume_ml - self.delivered_ml(minutes)

    def cumulative_dose(self, minutes: float) -> float:
        """Dose delivered (dose units) from the start to ``minutes`` later."""
        return self.delivered_ml(minutes) * self.program.drug.concentration_per_ml

    def _minutes_until_delivered(self, goal_ml: float) -> float | None:
        """Minutes from the start until ``goal_ml`` has been delivered; 0 if already; None if never (a program
        that delivers nothing).

        Counted from the start of the cycle the projection starts in: the whole cycles before the goal are
        one floor division, the rest is found by bisection over the cycle's cumulative volumes and solved
        linearly inside its step. A quotient that rounding puts one cycle off is corrected, so the remainder
        always lies within one cycle.
        """
        if goal_ml <= 0:
            return 0.0
        if self.cycle_ml <= 0:
            return None
        target = self._ml_before_start + goal_ml
        whole = math.floor(target / self.cycle_ml)
        remainder = target - whole * self.cycle_ml
        if remainder < 0:
            whole, remainder = whole - 1, remainder + self.cycle_ml
        elif remainder > self.cycle_ml:
            whole, remainder = whole + 1, remainder - self.cycle_ml
        index = bisect.bisect_left(self._prefix_ml, remainder) - 1
        index = min(max(index, 0), len(self._starts) - 1)
        # A program with any delivery has only steps above zero (flex and simple rates are validated > 0).
        within = self._starts[index] + (remainder - self._prefix_ml[index]) * 60 / self._ml_per_hour[index]
        return max(0.0, whole * self.cycle_min + within - self.phase_min)

    def at(self, minutes: float | None) -> datetime | None:
        """Wall-clock time ``minutes`` after the start (None stays None)."""
        return None if minutes is None else self.start + timedelta(minutes=minutes)

    @property
    def low_alarm_at(self) -> datetime | None:
        return self.at(self.minutes_to_low_alarm)

    @property
    def empty_at(self) -> datetime | None:
        return self.at(self.minutes_to_empty)

    def reservoir_points(self, horizon_min: float) -> list[tuple[float, float]]:
        """Breakpoints (minutes, mL) of the reservoir volume from the start to ``horizon_min``.

        The volume is linear between consecutive points, so a plot or a comparison needs nothing more. They
        are the step starts until the reservoir empties, the low-alarm and empty moments, and the start and the
        horizon.
        """
        horizon = float(horizon_min)
        points = self._step_points(horizon)
        moments = (self.minutes_to_low_alarm, self.minutes_to_empty, horizon)
        for moment in [0.0] + [m for m in moments if m is not None and 0 <= m <= horizon]:
            index = bisect.bisect_left(points, moment, key=itemgetter(0))
            if index == len(points) or points[index][0] != moment:
                points.insert(index, (moment, self.volume_at(moment)))
        return points

    def _step_points(self, horizon: float) -> list[tuple[float, float]]:
        """(minutes, mL) at every step start strictly between the start and the horizon or the empty moment.

        Cycle ``k`` starts ``k * cycle_min - phase_min`` minutes after the start, having delivered ``k`` cycle
        volumes less what went before the start: the whole cycles in between come from one comprehension over
        (cycle, step) without a test, and only the partial cycles at either end are bounded, and kept from going
        below empty.
        """
        end = horizon if self.minutes_to_empty is None else min(horizon, self.minutes_to_empty)
        if self.cycle_ml <= 0 or end <= 0:
            return []
        volume, before = self.reservoir.volume_ml, self._ml_before_start
        steps = list(zip(self._starts, self._prefix_ml))
        last = math.floor((self.phase_min + end) / self.cycle_min)
        bases = [(whole * self.cycle_min - self.phase_min, whole * self.cycle_ml) for whole in range(last + 1)]

        def partial(base_min: float, base_ml: float) -> list[tuple[float, float]]:
            return [(moment, volume - min(base_ml + ml - before, volume)) for start, ml in steps
                    if 0 < (moment := base_min + start) < end]

        points = partial(*bases[0])
        if last > 0:
            points += [(base_min + start, volume - (base_ml + ml - before))
                       for base_min, base_ml in bases[1:-1] for start, ml in steps]
            points += partial(*bases[-1])
        return points

    def rate_steps(self) -> list[tuple[int, int, float, float]]:
        """The cycle's timeline as (start_min, end_min, dose/h, mL/h), for tables and step plots."""
        ends = self._starts[1:] + [self.cycle_min]
        return list(zip(self._starts, ends, self._doses, self._ml_per_hour))


def minutes_to_days(minutes: float | None) -> float | None:
    return None if minutes is None else minutes / MINUTES_PER_DAY
