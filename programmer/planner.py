"""The delivery planner: what a program delivers over time and when the reservoir runs low.

Everything here is exact arithmetic on a piecewise-constant rate, never a time-stepped simulation: a
program is a cycle of segments (start, end, rate), the volume delivered is a piecewise-linear function of
time, and the moments the reservoir reaches the low-alarm threshold and empties are solved in closed form:
whole cycles are counted by division, not walked, and only the segment where the moment falls is solved. So
the dates cost the same for any horizon (tens of microseconds), a year's plot is one vectorised sum of the
cycle bases and the cycle's step table, and the answers agree with the pump's own (calculated, not measured)
reservoir volume (benchmarks/planner_projection.py checks them to 1e-9 mL against a minute-by-minute
integration).

Time inside the planner is in minutes from the projection start. The cycle's day 1 00:00 is local
midnight of the start date in the pump's clock, so a one-day flex schedule lines up with the wall clock.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING

from programmer.program import MINUTES_PER_DAY, Flex, Program, SimpleContinuous
from programmer.pump import Reservoir

if TYPE_CHECKING:
    from numpy import float64
    from numpy.typing import NDArray


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
        self._prefix_ml = list(accumulate((ml_per_hour * (end - begin) / 60 for begin, end, ml_per_hour
                                           in zip(self._starts, ends, self._ml_per_hour)), initial=0.0))
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

    def ml_per_hour_at(self, minutes: float) -> float:
        """The program's pump rate (mL/h) ``minutes`` after the start: the rate of the step running then (the later
        step at a step's start), ignoring that the reservoir empties."""
        within = (self.phase_min + minutes) % self.cycle_min
        return self._ml_per_hour[bisect.bisect_right(self._starts, within) - 1]

    def step_times(self, start_min: float, end_min: float) -> list[float]:
        """The minutes (from the start) strictly between ``start_min`` and ``end_min`` at which a step starts: where
        the pump rate may change. A walk over the cycles the span touches (a span of weeks holds a few hundred)."""
        times: list[float] = []
        cycle = math.floor((self.phase_min + start_min) / self.cycle_min)
        while cycle * self.cycle_min - self.phase_min < end_min:
            base = cycle * self.cycle_min - self.phase_min
            times += [base + start for start in self._starts if start_min < base + start < end_min]
            cycle += 1
        return times

    def minutes_until_pumped(self, goal_ml: float) -> float | None:
        """Minutes from the start until the program has pumped ``goal_ml`` (ignoring that the reservoir empties);
        0 for a goal of 0 or less, None for a program that pumps nothing. Closed form, as the reservoir dates."""
        return self._minutes_until_delivered(goal_ml)

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
        """Breakpoints (minutes, mL) of the reservoir volume from the start to ``horizon_min``, as pairs: the
        points of ``reservoir_arrays`` for readers that walk them one by one."""
        minutes, volumes = self.reservoir_arrays(horizon_min)
        return list(zip(minutes.tolist(), volumes.tolist()))

    def reservoir_arrays(self, horizon_min: float) -> tuple[NDArray[float64], NDArray[float64]]:
        """Breakpoints of the reservoir volume from the start to ``horizon_min``: minutes and mL, ascending.

        The volume is linear between consecutive points, so a plot or a comparison needs nothing more. They
        are the step starts until the reservoir empties, the low-alarm and empty moments, and the start and the
        horizon.

        Cycle ``k`` starts ``k * cycle_min - phase_min`` minutes after the start, having delivered ``k`` cycle
        volumes less what went before the start. Every cycle is the same table of steps shifted by those two
        figures, so the whole series is one outer sum of the cycle bases and the step table, computed by numpy
        in the same order of additions as ``volume_at`` (each value is rounded the same way, and no running total
        drifts over the years). numpy is imported here, not with the module: the plot that needs the series has
        loaded it already, and the command line, which needs only the dates, never pays for it.
        """
        import numpy

        horizon = float(horizon_min)
        end = horizon if self.minutes_to_empty is None else min(horizon, self.minutes_to_empty)
        volume = self.reservoir.volume_ml
        minutes = numpy.empty(0)
        volumes = numpy.empty(0)
        if self.cycle_ml > 0 and end > 0:
            cycles = numpy.arange(math.floor((self.phase_min + end) / self.cycle_min) + 1, dtype=float)
            minutes = numpy.add.outer(cycles * self.cycle_min - self.phase_min, self._starts).ravel()
            delivered = numpy.add.outer(cycles * self.cycle_ml, self._prefix_ml[:-1]).ravel() - self._ml_before_start
            # Ascending already (each cycle's steps lie inside its cycle), so the points strictly between the
            # start and the end are one slice.
            inside = slice(numpy.searchsorted(minutes, 0.0, "right"), numpy.searchsorted(minutes, end, "left"))
            minutes, volumes = minutes[inside], volume - numpy.minimum(delivered[inside], volume)
        moments = {0.0, self.minutes_to_low_alarm, self.minutes_to_empty, horizon}
        wanted = [moment for moment in moments if moment is not None and 0 <= moment <= horizon]
        missing = [moment for moment, index in zip(wanted, numpy.searchsorted(minutes, wanted).tolist())
                   if index == len(minutes) or minutes[index] != moment]
        if missing:
            minutes = numpy.concatenate((minutes, missing))
            volumes = numpy.concatenate((volumes, [self.volume_at(moment) for moment in missing]))
            order = numpy.argsort(minutes, kind="stable")
            minutes, volumes = minutes[order], volumes[order]
        return minutes, volumes

    def rate_steps(self) -> list[tuple[int, int, float, float]]:
        """The cycle's timeline as (start_min, end_min, dose/h, mL/h), for tables and step plots."""
        ends = self._starts[1:] + [self.cycle_min]
        return list(zip(self._starts, ends, self._doses, self._ml_per_hour))


def minutes_to_days(minutes: float | None) -> float | None:
    return None if minutes is None else minutes / MINUTES_PER_DAY
