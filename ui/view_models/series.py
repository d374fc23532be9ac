"""The numbers the preview plots draw, computed from planner ``Plan``s. No Qt.

Kept apart from the plotting widget so that "the plot shows what the planner says" is a plain test on
lists of numbers, and the widget only hands these arrays to ``setData``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from programmer.clock import MINUTES_PER_DAY

if TYPE_CHECKING:  # the plots are built before the planner is imported: a plan only arrives with a reading
    from programmer.planner import Plan

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
    minutes, volumes = plan.reservoir_arrays(horizon_min)

    def stamp(minutes: float | None) -> float | None:
        if minutes is None or minutes > horizon_min:
            return None
        return posix(plan.start + timedelta(minutes=minutes))

    start = posix(plan.start)
    return ReservoirSeries(
        times=(start + minutes * 60).tolist(),
        volumes=volumes.tolist(),
        low_alarm_at=stamp(plan.minutes_to_low_alarm),
        empty_at=stamp(plan.minutes_to_empty),
    )


def posix(moment: datetime) -> float:
    """A pump-clock time (naive local, or aware) as POSIX seconds, the x of the date axis."""
    return moment.timestamp()


def from_posix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds)


TICK_STEPS_DAYS = (1, 2, 7, 14, 28)
TICK_FORMAT = "%d %b"
TICK_FORMAT_WITH_YEAR = "%d %b %Y"


def tick_format(first: float, last: float) -> str:
    """How the date axis labels its ticks over the view from ``first`` to ``last`` (POSIX seconds): '07 Dec',
    or '07 Dec 2026' when the view runs into another year, so a forecast from December into January never
    reads as going back to the start of the same year."""
    return TICK_FORMAT if from_posix(first).year == from_posix(last).year else TICK_FORMAT_WITH_YEAR


def date_ticks(first: float, last: float, min_gap_s: float) -> list[float]:
    """Tick positions for the date axis: midnights of the pump clock from ``first`` to ``last`` (POSIX
    seconds), every 1, 2, 7, 14 or 28 days (then doubling), the finest step at least ``min_gap_s`` apart.

    One level of ticks only, each labelled the same way: pyqtgraph's date axis mixes month names with
    day numbers at different spacings, and they ran into each other ("28 Dec03"). Steps of a week or more
    fall on Mondays, so every tick is the same weekday.
    """
    step = next((days for days in TICK_STEPS_DAYS if days * 86400 >= min_gap_s), TICK_STEPS_DAYS[-1])
    while step * 86400 < min_gap_s:
        step *= 2
    day = from_posix(first).replace(hour=0, minute=0, second=0, microsecond=0)
    if step >= 7:
        day += timedelta(days=-day.weekday() % 7)
    ticks = []
    while posix(day) <= last:
        if posix(day) >= first:
            ticks.append(posix(day))
        day += timedelta(days=step)
    return ticks


VALUE_STEPS = (1, 2, 5, 10)
"""A value axis's tick step is one of these times a power of ten."""
RATE_HEADROOM = 1.15
"""The dose-rate axis reaches at least 15 % above the highest rate, so the top step is not on the plot's edge."""
RATE_AXIS_STEPS = 10
"""The dose-rate axis's top is a multiple of a round step of about a tenth of it (``rate_axis_top``)."""


def round_step(at_least: float) -> float:
    """The smallest of 1, 2 and 5 times a power of ten that is at least ``at_least`` (> 0): 0.9 gives 1, 1.3
    gives 2, 0.07 gives 0.1."""
    magnitude = 10.0 ** math.floor(math.log10(at_least))
    return float(f"{next(f * magnitude for f in VALUE_STEPS if f * magnitude >= at_least * (1 - 1e-9)):.12g}")


def value_ticks(low: float, high: float, min_gap: float) -> tuple[float, list[float]]:
    """One level of ticks for a value axis from ``low`` to ``high``: the step (``round_step``, the finest at
    least ``min_gap`` apart, so that no two labels touch) and its multiples in the range.

    One level only: pyqtgraph's own two or three levels drew a grid line for each tick, and each
    translucent line drawn across the plot cost more than the curves.
    """
    if not high > low or not min_gap > 0:
        return 1.0, []
    step = round_step(min_gap)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return step, [float(f"{index * step:.12g}") for index in range(first, last + 1)]


def rate_axis_top(highest: float) -> float:
    """The top of the dose-rate axis, which starts at zero (a small change looks small): the highest rate and
    its headroom, rounded up to a round step of about a tenth of that (8 mcg/h: 9.2 up to a step of 1, 10;
    14 mcg/h: 16.1 up to a step of 2, 18). Most edits leave it where it was, so the axis, its labels and the
    plot's layout stay as they are and only the lines are drawn again; the highest rate stays above three
    quarters of the plot's height."""
    wanted = highest * RATE_HEADROOM
    if not wanted > 0:
        return 1.0
    step = round_step(wanted / RATE_AXIS_STEPS)
    return float(f"{math.ceil(wanted / step - 1e-9) * step:.12g}")


@dataclass(frozen=True)
class LabelPlace:
    """Where a date marker's label goes, in pixels from the bottom left of the view: its box, and the side
    of its line it reads on. The line ends at the box's top."""

    left: float
    bottom: float
    right: float
    top: float
    reads_right: bool

    def overlaps(self, left: float, bottom: float, right: float, top: float) -> bool:
        return self.left < right and left < self.right and self.bottom < top and bottom < self.top


def stagger_labels(xs: list[float], sizes: list[tuple[float, float]], width: float, height: float,
                   floor: float = 0.0, gap: float = 4.0) -> list[LabelPlace]:
    """Places for the labels of vertical date markers at pixel positions ``xs`` in a view ``width`` x
    ``height`` pixels, each label ``sizes[i]`` = (width, height) pixels; in the order given.

    A staircase: the earliest date's label at the top, each later one just below the one before, each
    reading to the right of its line and each line ending at its own label. So labels never overlap,
    and no line runs through a label (a later line ends below the earlier labels that reach over it).
    A label that would run off the right edge reads to the left instead: it then crosses earlier lines,
    which pass behind its opaque background, but it stays whole. The labels stay above ``floor`` pixels
    (where the curves run flat near empty) when they fit there; if not, they use the whole height, and
    only a view too small for all of them makes them overlap.
    """
    places: dict[int, LabelPlace] = {}  # by index into xs: every one is placed below
    top = height - gap
    if sum(label_height + gap for _, label_height in sizes) > top - floor:
        floor = 0.0
    for index in sorted(range(len(xs)), key=lambda i: xs[i]):
        label_width, label_height = sizes[index]
        top = max(top, min(floor + label_height, height))
        x = xs[index]
        if x + label_width <= width:
            places[index] = LabelPlace(x, top - label_height, x + label_width, top, True)
        else:
            places[index] = LabelPlace(x - label_width, top - label_height, x, top, False)
        top -= label_height + gap
    return [places[index] for index in range(len(xs))]


def threshold_label_at_right(width: float, size: tuple[float, float], base: float, xs: list[float],
                             places: list[LabelPlace], clearance: float = 8.0) -> bool:
    """Whether the threshold's label (``size`` pixels, standing on the threshold line ``base`` pixels up)
    goes at the right end of the view (True) or the left end (False).

    The right end, where the curves have run flat at empty, unless a date marker's line (at ``xs``) or
    label is there and the left end, where the reservoir is still full, is clear. So the label hides
    neither another label nor the crossing of a curve and the threshold that a marker's line points at.
    """
    label_width, label_height = size

    def clear(left: float, right: float) -> bool:
        return (not any(left - clearance <= x <= right + clearance for x in xs)
                and not any(place.overlaps(left, base, right, base + label_height) for place in places))

    return clear(width - label_width, width) or not clear(0, label_width)
