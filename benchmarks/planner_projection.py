"""The exact planner against a numpy minute-step integration that stops at empty, over one and ten years.

    .venv/bin/python benchmarks/planner_projection.py

For 13-step one-day flex programs and a 7-day cycle of 13 steps a day (91 steps), with reservoirs that last
beyond the horizon and ones that empty inside it, this script

1. times the planner's dates: build a Plan and read the low-alarm and empty moments (the refill-by date is
   the low alarm less a margin, so it costs nothing more). No horizon enters the planner's dates, so one
   timing serves both horizons;
2. times the planner's reservoir series for a one-year plot (``Plan.reservoir_arrays`` over 365 days, the form the plot
   takes);
3. integrates the same program minute by minute with numpy, written here from the document's steps alone (it
   does not use the planner): each minute delivers the step's dose per hour / 60, a month of minutes at a time
   (``numpy.cumsum``), and it stops at the first month in which the reservoir is empty or the horizon ends;
4. checks they agree: the planner's volume at minute-aligned points (every step start until empty, a grid of
   minutes, and the minutes either side of the alarm and of empty) within 1e-9 mL of the integration, and the
   planner's alarm and empty moments inside the minute in which the integration first sees them.

The programs' doses per hour are multiples of 1/32 dose unit/h, so the integration's running sums of doses are
exact in floating point and its only roundings are one division and one subtraction per minute: the reference
itself does not drift over five million minutes, and a disagreement is the planner's.

It prints the medians, the ratios and whether each target is met (dates under 0.2 ms, a one-year series under
2 ms, both at least 10x faster than the integration). The exit status is non-zero when the planner and the
integration disagree; timing alone never fails the run (machines differ).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from programmer.planner import Plan  # noqa: E402
from programmer.program import program_from_data  # noqa: E402
from programmer.pump import Reservoir  # noqa: E402

MINUTES_PER_DAY = 1440
YEAR_MIN = 365 * MINUTES_PER_DAY
HORIZONS = (("1 year", YEAR_MIN), ("10 years", 3652 * MINUTES_PER_DAY))
START = datetime(2026, 3, 4, 7, 30)  # 07:30: the projection starts 450 minutes into the cycle's day 1
PHASE_MIN = 7 * 60 + 30
CHUNK_DAYS = 28  # the integration's slice: a month of minutes per numpy call, a whole number of 1- or 7-day cycles
VOLUME_TOLERANCE_ML = 1e-9
DATES_TARGET_S = 0.0002
SERIES_TARGET_S = 0.002
RATIO_TARGET = 10.0

# 13 step starts in a day (minutes after midnight) and 13 rates (mcg/h), multiples of 1/4: irregular on purpose.
DAY_STARTS = [0, 95, 200, 333, 420, 555, 610, 777, 840, 999, 1111, 1234, 1380]
DAY_RATES = [5.0, 8.0, 6.5, 7.25, 4.5, 9.0, 6.0, 5.5, 8.75, 7.0, 6.25, 4.75, 5.0]


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def document(concentration: float, cycle_days: int, scale: float = 1.0) -> dict:
    """A flex program of 13 steps a day over ``cycle_days``. Each later day shifts its starts (not the first) by
    7 minutes a day and its rates by a quarter mcg/h a day; ``scale`` (a power of two) lowers every rate."""
    steps = []
    for day in range(1, cycle_days + 1):
        for index, (minute, rate) in enumerate(zip(DAY_STARTS, DAY_RATES)):
            start = minute if index == 0 else minute + 7 * (day - 1)
            steps.append({"day": day, "start": hhmm(start), "dose_per_hour": (rate + 0.25 * (day - 1)) * scale})
    return {"format": "itb-program/1",
            "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration},
            "therapy": {"mode": "flex", "cycle_days": cycle_days, "steps": steps}}


# --- the reference: minute-step integration from the document's steps, with numpy -----------------------------


def minute_doses(doc: dict) -> np.ndarray:
    """Dose per hour in force in each minute of the cycle, from the document's steps (no planner code)."""
    therapy = doc["therapy"]
    starts = []
    for step in therapy["steps"]:
        hours, minutes = step["start"].split(":")
        starts.append((step["day"] - 1) * MINUTES_PER_DAY + int(hours) * 60 + int(minutes))
    lengths = np.diff(np.array(starts + [therapy["cycle_days"] * MINUTES_PER_DAY]))
    return np.repeat(np.array([step["dose_per_hour"] for step in therapy["steps"]]), lengths)


def integrate(doc: dict, volume_ml: float, low_alarm_ml: float, horizon_min: int):
    """Volume at every whole minute from 0 until the reservoir is empty or the horizon, and the first minutes
    at which it is at or below the alarm and empty (None if not by then)."""
    per_minute = minute_doses(doc)
    ml_per_dose_minute = 60 * doc["drug"]["concentration_per_ml"]  # dose/h x minutes / this = mL
    chunk = np.tile(np.roll(per_minute, -PHASE_MIN), CHUNK_DAYS * MINUTES_PER_DAY // len(per_minute))
    slices = [np.array([volume_ml])]
    dose_minutes = 0.0  # dose/h x minutes delivered so far: exact (multiples of 1/32, far below 2**53)
    done = 0
    while done < horizon_min:
        sums = dose_minutes + np.cumsum(chunk[:horizon_min - done])
        volumes = np.maximum(volume_ml - sums / ml_per_dose_minute, 0.0)
        slices.append(volumes)
        dose_minutes = float(sums[-1])
        done += len(volumes)
        if volumes[-1] <= 0:
            break
    volumes = np.concatenate(slices)
    alarm = np.flatnonzero(volumes <= low_alarm_ml)
    empty = np.flatnonzero(volumes <= 0)
    return volumes, (int(alarm[0]) if len(alarm) else None), (int(empty[0]) if len(empty) else None)


# --- timing ----------------------------------------------------------------------------------------------------


def median_time(action, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def dates(program, reservoir: Reservoir):
    plan = Plan(program, reservoir, START)
    return plan.low_alarm_at, plan.empty_at


# --- agreement -------------------------------------------------------------------------------------------------


def disagreements(plan: Plan, volumes: np.ndarray, alarm: int | None, empty: int | None, horizon_min: int):
    """What the planner says differently from the integration, in words (empty when they agree)."""
    reach = len(volumes) - 1  # the last minute the integration computed
    minutes = {round(t) for t, _ in plan.reservoir_points(reach) if t == round(t)}
    minutes.update(range(0, reach + 1, 997))
    for moment in (alarm, empty):
        if moment is not None:
            minutes.update(m for m in (moment - 1, moment) if 0 <= m <= reach)
    worst = max(abs(plan.volume_at(m) - volumes[m]) for m in minutes)
    found = []
    if worst > VOLUME_TOLERANCE_ML:
        found.append(f"volume differs by {worst:.3g} mL at minute-aligned points (> {VOLUME_TOLERANCE_ML:g} mL)")
    for label, exact, minute in (("low alarm", plan.minutes_to_low_alarm, alarm),
                                 ("empty", plan.minutes_to_empty, empty)):
        if minute is None:
            if exact is not None and exact <= horizon_min:
                found.append(f"{label}: planner at minute {exact:.6f}, the integration not within the horizon")
        elif exact is None or not minute - 1 < exact <= minute + 1e-9:
            # The integration first sees the threshold at the end of the minute in which it is crossed.
            found.append(f"{label}: planner at minute {exact}, the integration at minute {minute}")
    return worst, len(minutes), found


def verdict(met: bool) -> str:
    return "yes" if met else "NO"


def check_case(name: str, doc: dict, reservoir: Reservoir) -> bool:
    program = program_from_data(doc)
    plan = Plan(program, reservoir, START)
    dates_s = median_time(lambda: dates(program, reservoir), 300)
    series_s = median_time(lambda: Plan(program, reservoir, START).reservoir_arrays(YEAR_MIN), 30)
    days = lambda m: "none" if m is None else f"{m / MINUTES_PER_DAY:.3f} d"
    print(f"{name}: {len(doc['therapy']['steps'])} steps over {doc['therapy']['cycle_days']} day(s), "
          f"{reservoir.volume_ml:g} mL (alarm {reservoir.low_alarm_ml:g} mL), {plan.ml_per_day:.4g} mL/day; "
          f"low alarm {days(plan.minutes_to_low_alarm)}, empty {days(plan.minutes_to_empty)}")
    print(f"  planner dates       {dates_s * 1e3:.4f} ms  under 0.2 ms: {verdict(dates_s < DATES_TARGET_S)}")
    print(f"  planner 1-year plot {series_s * 1e3:.4f} ms  under 2 ms: {verdict(series_s < SERIES_TARGET_S)}")
    ok = True
    for label, horizon in HORIZONS:
        volumes, alarm, empty = integrate(doc, reservoir.volume_ml, reservoir.low_alarm_ml, horizon)
        baseline_s = median_time(lambda: integrate(doc, reservoir.volume_ml, reservoir.low_alarm_ml, horizon), 5)
        worst, checked, found = disagreements(plan, volumes, alarm, empty, horizon)
        ratio = baseline_s / dates_s
        print(f"  {label:8} integration {baseline_s * 1e3:8.3f} ms over {len(volumes) - 1} minutes "
              f"(stops at {'empty' if empty is not None else 'the horizon'}); "
              f"dates {ratio:.0f}x faster, 10x: {verdict(ratio >= RATIO_TARGET)}", end="")
        if horizon == YEAR_MIN:
            series_ratio = baseline_s / series_s
            print(f"; plot {series_ratio:.0f}x faster, 10x: {verdict(series_ratio >= RATIO_TARGET)}", end="")
        print()
        print(f"  {label:8} agreement: {checked} minutes, worst {worst:.2e} mL; alarm minute {alarm}, "
              f"empty minute {empty}: {'ok' if not found else 'DISAGREES'}")
        for failure in found:
            print(f"    {failure}")
        ok = ok and not found
    return ok


def main() -> int:
    cases = [
        # 2000 mcg/mL at 160.75 mcg/day: 0.080 mL/day, 40 mL last about 500 days (beyond one year, not ten).
        ("1-day x 13 steps, lasts the year", document(2000, 1), Reservoir(capacity_ml=40, volume_ml=40,
                                                                         low_alarm_ml=2)),
        # 500 mcg/mL: 0.32 mL/day, 20 mL empty in about two months.
        ("1-day x 13 steps, empties", document(500, 1), Reservoir(capacity_ml=20, volume_ml=20, low_alarm_ml=2)),
        # An eighth of the rates: 0.010 mL/day, 40 mL last about eleven years (ten years of arithmetic).
        ("1-day x 13 steps, lasts ten years", document(2000, 1, scale=1 / 8),
         Reservoir(capacity_ml=40, volume_ml=40, low_alarm_ml=4)),
        ("7-day x 13 steps, lasts the year", document(2000, 7), Reservoir(capacity_ml=40, volume_ml=40,
                                                                         low_alarm_ml=2)),
        ("7-day x 13 steps, empties", document(500, 7), Reservoir(capacity_ml=20, volume_ml=20, low_alarm_ml=4)),
    ]
    ok = True
    for name, doc, reservoir in cases:
        ok = check_case(name, doc, reservoir) and ok
        print()
    print("the planner agrees with the minute integration" if ok else "DISAGREEMENT: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
