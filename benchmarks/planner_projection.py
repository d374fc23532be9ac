"""One-year reservoir projection of 13-step flex programs: the exact planner against a minute-step integration.

    python3 benchmarks/planner_projection.py

For a 13-step one-day flex program and a 7-day cycle of 13 steps a day (91 steps), each with a reservoir that
lasts the year and one that empties within it, this script

1. times the exact planner (build a Plan, compute reservoir_points for 365 days, read the low-alarm and empty
   times), median over many repeats with time.perf_counter;
2. integrates the same program minute by minute, written here from the program's steps alone (it does not
   use the planner or its segments): each minute's rate is dose_per_hour of the step in force / concentration
   / 60, delivery stops when the reservoir is empty;
3. checks they agree: the volume at every breakpoint minute within 1e-6 mL, and the low-alarm and empty
   minutes within one minute.

It prints both times, their ratio and whether the planner is under 10 ms per projection (the product's speed target).
The exit status is non-zero when the two disagree (timing alone never fails the run: machines differ).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from programmer.planner import Plan  # noqa: E402
from programmer.program import program_from_data  # noqa: E402
from programmer.pump import Reservoir  # noqa: E402

MINUTES_PER_DAY = 1440
HORIZON_MIN = 365 * MINUTES_PER_DAY
START = datetime(2026, 3, 4, 7, 30)  # 07:30: the projection starts 450 minutes into the cycle's day 1
VOLUME_TOLERANCE_ML = 1e-6
TIME_TOLERANCE_MIN = 1.0
TARGET_S = 0.010

# 13 step starts in a day (minutes after midnight) and 13 rates (mcg/h): irregular on purpose.
DAY_STARTS = [0, 95, 200, 333, 420, 555, 610, 777, 840, 999, 1111, 1234, 1380]
DAY_RATES = [5.0, 8.0, 6.5, 7.25, 4.5, 9.0, 6.0, 5.5, 8.75, 7.0, 6.25, 4.75, 5.0]


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def one_day_program(concentration: float) -> dict:
    steps = [{"day": 1, "start": hhmm(m), "dose_per_hour": r} for m, r in zip(DAY_STARTS, DAY_RATES)]
    return {"format": "itb-program/1",
            "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration},
            "therapy": {"mode": "flex", "cycle_days": 1, "steps": steps}}


def week_program(concentration: float) -> dict:
    steps = []
    for day in range(1, 8):
        for index, (minute, rate) in enumerate(zip(DAY_STARTS, DAY_RATES)):
            # Each day shifts its starts (not the first) by a few minutes and scales its rates a little.
            start = minute if index == 0 else minute + 7 * (day - 1)
            steps.append({"day": day, "start": hhmm(start), "dose_per_hour": rate * (1 + 0.05 * (day - 4))})
    return {"format": "itb-program/1",
            "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration},
            "therapy": {"mode": "flex", "cycle_days": 7, "steps": steps}}


# --- the reference: minute-by-minute integration from the document's steps -----------------------------


def minute_rates(document: dict) -> list[float]:
    """mL delivered in each minute of the cycle, read from the document's steps (no planner code)."""
    therapy = document["therapy"]
    concentration = document["drug"]["concentration_per_ml"]
    cycle = therapy["cycle_days"] * MINUTES_PER_DAY
    starts = []
    for step in therapy["steps"]:
        hours, minutes = step["start"].split(":")
        starts.append((step.get("day", 1) - 1) * MINUTES_PER_DAY + int(hours) * 60 + int(minutes))
    rates = [0.0] * cycle
    for index, step in enumerate(therapy["steps"]):
        end = starts[index + 1] if index + 1 < len(starts) else cycle
        per_minute = step["dose_per_hour"] / concentration / 60
        for minute in range(starts[index], end):
            rates[minute] = per_minute
    return rates


def integrate(document: dict, volume_ml: float, low_alarm_ml: float, phase_min: int, horizon_min: int):
    """Volume at every whole minute 0..horizon, and the first minutes the volume is at the alarm and empty."""
    rates = minute_rates(document)
    cycle = len(rates)
    volumes = [volume_ml]
    volume = volume_ml
    alarm_minute = 0 if volume_ml <= low_alarm_ml else None
    empty_minute = 0 if volume_ml <= 0 else None
    position = phase_min % cycle
    for minute in range(1, horizon_min + 1):
        volume -= min(rates[position], volume)
        volumes.append(volume)
        if alarm_minute is None and volume <= low_alarm_ml:
            alarm_minute = minute
        if empty_minute is None and volume <= 0:
            empty_minute = minute
        position += 1
        if position == cycle:
            position = 0
    return volumes, rates, alarm_minute, empty_minute


def reference_volume_at(t: float, volumes: list[float], rates: list[float], phase_min: int) -> float:
    """The reference volume at any time: exact at whole minutes, linear inside a minute (the rate is constant
    there), and never below empty."""
    whole = math.floor(t)
    if whole == t:
        return volumes[whole]
    rate = rates[(phase_min + whole) % len(rates)]
    return max(volumes[whole] - rate * (t - whole), 0.0)


# --- the exact planner ----------------------------------------------------------------------------------


def project(program, reservoir):
    plan = Plan(program, reservoir, START)
    points = plan.reservoir_points(HORIZON_MIN)
    return plan, points, plan.minutes_to_low_alarm, plan.minutes_to_empty


def time_planner(program, reservoir, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        project(program, reservoir)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def time_reference(document, reservoir, phase: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        integrate(document, reservoir.volume_ml, reservoir.low_alarm_ml, phase, HORIZON_MIN)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def check_case(name: str, document: dict, reservoir: Reservoir, repeats: int) -> bool:
    program = program_from_data(document)
    phase = START.hour * 60 + START.minute
    plan, points, alarm, empty = project(program, reservoir)
    volumes, rates, ref_alarm, ref_empty = integrate(document, reservoir.volume_ml, reservoir.low_alarm_ml, phase,
                                                     HORIZON_MIN)
    failures = []

    # The volume at every breakpoint (whole-minute step starts, plus the alarm/empty moments inside a minute).
    worst = 0.0
    for t, v in points:
        ref = reference_volume_at(t, volumes, rates, phase)
        worst = max(worst, abs(v - ref))
    # And on a sparse grid of whole minutes between breakpoints, through volume_at.
    for minute in range(0, HORIZON_MIN + 1, 997):
        worst = max(worst, abs(plan.volume_at(minute) - volumes[minute]))
    if worst > VOLUME_TOLERANCE_ML:
        failures.append(f"volume differs by {worst:.3g} mL (> {VOLUME_TOLERANCE_ML:g})")
    if points[0][0] != 0 or points[-1][0] != HORIZON_MIN:
        failures.append("reservoir_points do not span 0..horizon")

    # The alarm and empty moments: the reference sees them at the first whole minute at or after them.
    for label, exact, ref in (("low alarm", alarm, ref_alarm), ("empty", empty, ref_empty)):
        if ref is None:
            if exact is not None and exact <= HORIZON_MIN:
                failures.append(f"{label}: planner {exact:.3f} min inside the year, reference never")
        elif exact is None or abs(exact - ref) > TIME_TOLERANCE_MIN:
            failures.append(f"{label}: planner {exact} min, reference {ref} min")

    planner_s = time_planner(program, reservoir, repeats)
    reference_s = time_reference(document, reservoir, phase, 3)
    steps = len(document["therapy"]["steps"])
    days = lambda m: "beyond the year" if m is None or m > HORIZON_MIN else f"{m / MINUTES_PER_DAY:.3f} d"
    print(f"{name}: {steps} steps over {document['therapy']['cycle_days']} day(s), "
          f"{reservoir.volume_ml:g} mL (alarm {reservoir.low_alarm_ml:g} mL), {plan.ml_per_day:.4g} mL/day")
    print(f"  breakpoints        {len(points)}; max volume difference {worst:.2e} mL")
    print(f"  low alarm          planner {days(alarm)}  reference minute {ref_alarm}")
    print(f"  empty              planner {days(empty)}  reference minute {ref_empty}")
    print(f"  exact planner      {planner_s * 1e3:.3f} ms per projection (median of {repeats})")
    print(f"  minute integration {reference_s * 1e3:.1f} ms (median of 3)")
    print(f"  ratio              integration / planner = {reference_s / planner_s:.0f}x")
    print(f"  under 10 ms        {'yes' if planner_s < TARGET_S else 'NO'}")
    for failure in failures:
        print(f"  DISAGREES: {failure}")
    print(f"  agreement          {'ok' if not failures else 'FAILED'}")
    return not failures


def main() -> int:
    cases = [
        # 2000 mcg/mL at ~160 mcg/day is ~0.08 mL/day: 40 mL lasts beyond the year.
        ("1-day x 13 steps, lasts the year", one_day_program(2000), Reservoir(capacity_ml=40, volume_ml=40,
                                                                             low_alarm_ml=2)),
        # 500 mcg/mL: ~0.32 mL/day, 20 mL empties in about two months.
        ("1-day x 13 steps, empties", one_day_program(500), Reservoir(capacity_ml=20, volume_ml=20,
                                                                      low_alarm_ml=2)),
        ("7-day x 13 steps, lasts the year", week_program(2000), Reservoir(capacity_ml=40, volume_ml=40,
                                                                          low_alarm_ml=2)),
        ("7-day x 13 steps, empties", week_program(500), Reservoir(capacity_ml=20, volume_ml=20, low_alarm_ml=4)),
    ]
    ok = True
    for name, document, reservoir in cases:
        ok = check_case(name, document, reservoir, repeats=100) and ok
        print()
    print("all projections agree with the minute integration" if ok else "DISAGREEMENT: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
