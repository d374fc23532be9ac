"""The numbers the preview plots draw, computed from planner ``Plan``s. No Qt.

Kept apart from the plotting widget so that "the plot shows what the planner says" is a plain test on
lists of numbers, and the widget only hands these arrays to ``setData``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from programmer.planner import Plan
from programmer.program import MINUTES_PER_DAY

DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class RateSeries:
    """A step function: ``hours`` are the edges (one more than ``rates``), ``rates`` in dose units per hour."""

    hours: list[float]
    rates: list[float]

    def at(self, hour: float) -> float | None:
        """The rate in force at ``hour`` (a step includes its start), or None outside the series."""
        if not self.rates or not self.hours[0] <= hour < self.hours[-1]:
            return None
        return self.rates[bisect.bisect_right(self.hours, hour) - 1]


def rate_series(plan: Plan, span_min: int) -> RateSeries:
    """The plan's dose rate from its cycle's day 1 00:00 over ``span_min`` minutes, the cycle repeated as
    often as needed (so a 1-day program lines up with a 7-day one drawn beside it)."""
    hours: list[float] = []
    rates: list[float] = []
    cycle_start = 0
    while cycle_start < span_min:
        for start, end, dose_per_hour, _ in plan.rate_steps():
            begin = cycle_start + start
            if begin >= span_min:
                break
            if rates and rates[-1] == dose_per_hour:
                hours[-1] = min(cycle_start + end, span_min) / 60
                continue
            if not hours:
                hours.append(begin / 60)
            hours.append(min(cycle_start + end, span_min) / 60)
            rates.append(dose_per_hour)
        cycle_start += plan.cycle_min
    return RateSeries(hours, rates)


def common_span_min(*plans: Plan | None) -> int:
    """The span that shows every plan's whole cycle: the longest cycle among them."""
    return max((plan.cycle_min for plan in plans if plan is not None), default=MINUTES_PER_DAY)


@dataclass(frozen=True)
class ReservoirSeries:
    """Reservoir volume (mL) at ``times`` (POSIX seconds of the pump's local clock), linear in between,
    with the moments the low alarm sounds and the reservoir runs empty inside the horizon (else None)."""

    times: list[float]
    volumes: list[float]
    low_alarm_at: float | None
    empty_at: float | None

    def at(self, time: float) -> float | None:
        """The volume at ``time`` by linear interpolation, or None outside the series."""
        if not self.times or not self.times[0] <= time <= self.times[-1]:
            return None
        index = max(bisect.bisect_right(self.times, time) - 1, 0)
        if index >= len(self.times) - 1:
            return self.volumes[-1]
        t0, t1 = self.times[index], self.times[index + 1]
        v0, v1 = self.volumes[index], self.volumes[index + 1]
        return v0 if t1 == t0 else v0 + (v1 - v0) * (time - t0) / (t1 - t0)


def reservoir_series(plan: Plan, horizon_days: float = DEFAULT_HORIZON_DAYS) -> ReservoirSeries:
    horizon_min = horizon_days * MINUTES_PER_DAY
    points = plan.reservoir_points(horizon_min)

    def stamp(minutes: float | None) -> float | None:
        if minutes is None or minutes > horizon_min:
            return None
        return posix(plan.start + timedelta(minutes=minutes))

    start = posix(plan.start)
    return ReservoirSeries(
        times=[start + minutes * 60 for minutes, _ in points],
        volumes=[volume for _, volume in points],
        low_alarm_at=stamp(plan.minutes_to_low_alarm),
        empty_at=stamp(plan.minutes_to_empty),
    )


def posix(moment: datetime) -> float:
    """A pump-clock time (naive local, or aware) as POSIX seconds, the x of the date axis."""
    return moment.timestamp()


def from_posix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds)
