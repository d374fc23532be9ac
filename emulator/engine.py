"""The delivery engine: what the simulated motor pushes out, integrated exactly between events.

The rate is piecewise constant: a basal rate from the program (simple_continuous: daily_dose / 24 per
hour; flex: the step in force, the cycle's day 1 00:00 being local midnight of the activation day) plus
a running therapeutic or demand bolus at volume / duration. A prime replaces the basal rate by the priming rate, a
bridge by the program's dose rate at the old concentration. ``advance`` walks from one breakpoint to the next (a
step change, the bolus finishing, the reservoir reaching its low mark or empty, the battery reaching ERI or EOS, a
part of the line wholly leaving the catheter tip) and integrates each piece exactly, moving the line by the volume
pumped (emulator/line.py), so how the time is cut into calls does not change the volumes, the line or the
counters: any ``--speed`` gives the same result. It never imports the planner (see the package docstring).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import timedelta
from typing import Callable

from emulator import line
from emulator.clock import CLOCK_END
from emulator.events import log_event
from emulator.spec import BATTERY_DRAIN_PERCENT_PER_DAY, EOS_PERCENT, ERI_PERCENT, PRIMING_ML_PER_HOUR
from emulator.state import PumpState
from programmer.program import Flex, SimpleContinuous

SECONDS_PER_DAY = 86400.0
BATTERY_DRAIN_PER_S = BATTERY_DRAIN_PERCENT_PER_DAY / SECONDS_PER_DAY
_BOUNDARY_S = 1e-6
"""A step boundary closer than this (a float rounding's worth) counts as reached, so no piece is empty."""


def can_deliver(state: PumpState) -> bool:
    """The motor runs only with a drug, drug left, battery before EOS and no stall."""
    return (
        state.drug is not None
        and state.volume_ml > 0
        and state.battery_percent > EOS_PERCENT
        and not state.stalled
    )


def cycle_seconds(therapy) -> float:
    """Length of the program's cycle: flex cycle_days, otherwise one day."""
    return therapy.cycle_days * SECONDS_PER_DAY if isinstance(therapy, Flex) else SECONDS_PER_DAY


def cycle_phase_s(state: PumpState) -> float:
    """Seconds since day 1 00:00 of the running cycle (READ_STATUS reports it in minutes)."""
    return since_anchor_s(state) % cycle_seconds(state.therapy)


def since_anchor_s(state: PumpState) -> float:
    """Seconds from the running cycle's anchor to the pump's time."""
    return (state.pump_time - state.cycle_anchor).total_seconds()


def mean_daily_dose(therapy) -> float:
    """The therapy's dose per day averaged over its cycle, in dose units (0 when stopped): the figure the
    pump logs with ``program_activated``. Summed step by step from the pump's own program."""
    if isinstance(therapy, SimpleContinuous):
        return therapy.daily_dose
    if not isinstance(therapy, Flex):
        return 0.0
    cycle_min = therapy.cycle_days * SECONDS_PER_DAY / 60
    starts = [step.offset_minutes for step in therapy.steps] + [cycle_min]
    total = sum(step.dose_per_hour * (starts[i + 1] - starts[i]) / 60 for i, step in enumerate(therapy.steps))
    return total / therapy.cycle_days


def highest_dose_per_day(therapy) -> float:
    """The program's highest dose rate, as a dose per day (0 when stopped)."""
    if isinstance(therapy, SimpleContinuous):
        return therapy.daily_dose
    if isinstance(therapy, Flex):
        return max(step.dose_per_hour for step in therapy.steps) * 24
    return 0.0


def basal_piece(concentration_per_ml: float, therapy, phase_s: float) -> tuple[float, float]:
    """The basal rate in mL/s at cycle phase ``phase_s`` with the drug at ``concentration_per_ml``, and how many
    seconds it holds from there."""
    if isinstance(therapy, SimpleContinuous):
        return therapy.daily_dose / SECONDS_PER_DAY / concentration_per_ml, math.inf
    if not isinstance(therapy, Flex):
        return 0.0, math.inf
    cycle = cycle_seconds(therapy)
    # Shift by the tolerance before folding into the cycle, so a phase a hair before a boundary (or the
    # cycle's end) is treated as on it.
    phase = (phase_s + _BOUNDARY_S) % cycle - _BOUNDARY_S
    starts = [step.offset_minutes * 60.0 for step in therapy.steps]
    index = bisect_right(starts, phase + _BOUNDARY_S) - 1
    end = starts[index + 1] if index + 1 < len(starts) else cycle
    return therapy.steps[index].dose_per_hour / 3600.0 / concentration_per_ml, end - phase


def motor_piece(state: PumpState, phase: float) -> tuple[float, float, float]:
    """What the motor does ``phase`` seconds after the cycle's anchor: its rate in mL/s, the part of it that counts
    for the running bolus, and how many seconds that holds (until the program's next step). All 0 when it cannot
    deliver."""
    if not can_deliver(state):
        return 0.0, 0.0, math.inf
    assert state.drug is not None, "can_deliver: there is a drug"
    bolus = state.active_bolus
    if bolus is not None and bolus.kind == "prime":
        rate = PRIMING_ML_PER_HOUR / 3600.0
        return rate, rate, math.inf
    if bolus is not None and bolus.kind == "bridge":
        assert bolus.concentration_per_ml is not None, "a bridge has its old concentration"
        rate, holds = basal_piece(bolus.concentration_per_ml, state.therapy, phase)
        return rate, rate, holds
    basal, holds = basal_piece(state.drug.concentration_per_ml, state.therapy, phase)
    if bolus is None:
        return basal, 0.0, holds
    on_top = bolus.volume_ml / (bolus.duration_min * 60.0)
    return basal + on_top, on_top, holds


def advance(state: PumpState, seconds: float, settle: Callable[[], None]) -> None:
    """Run the pump ``seconds`` simulated seconds forward, calling ``settle`` after every discrete change.

    ``settle`` (the pump's) ends a finished or interrupted bolus and raises or clears alarms, with the
    pump time set to the exact instant of the change. A part of the line that wholly leaves the tip is logged here
    (``line_flushed``), at that instant.
    """
    # Times are kept as an offset from the start of this call (small floats, exact to far below a microsecond) and the
    # call ends exactly on the pump time it was asked to reach, to the microsecond: so how time is cut into calls
    # changes nothing, not even by a float rounding of the clock.
    start = state.pump_time
    end = start + timedelta(seconds=max(0.0, min(seconds, (CLOCK_END - start).total_seconds())))
    remaining = (end - start).total_seconds()
    elapsed = 0.0
    phase_at_start = (start - state.cycle_anchor).total_seconds()
    while remaining > 0:
        limits: dict[str, float] = {}
        bolus = state.active_bolus
        rate, bolus_rate, limits["step"] = motor_piece(state, phase_at_start + elapsed)
        if bolus is not None and bolus_rate > 0:
            limits["bolus"] = (bolus.volume_ml - bolus.delivered_ml) / bolus_rate
        if rate > 0:
            limits["empty"] = state.volume_ml / rate
            if state.volume_ml > state.low_alarm_ml:
                limits["low"] = (state.volume_ml - state.low_alarm_ml) / rate
            exit_ml = line.front_exit_ml(state)
            if exit_ml is not None:
                limits["flush"] = exit_ml / rate
        for name, level in (("eri", ERI_PERCENT), ("eos", EOS_PERCENT)):
            if state.battery_percent > level:
                limits[name] = (state.battery_percent - level) / BATTERY_DRAIN_PER_S
        limits["end"] = remaining  # last, so a change falling exactly at the end is still handled now
        reason = min(limits, key=limits.__getitem__)
        piece = limits[reason]

        moved = min(rate * piece, state.volume_ml)
        state.volume_ml = max(0.0, state.volume_ml - rate * piece)
        state.battery_percent = max(EOS_PERCENT, state.battery_percent - BATTERY_DRAIN_PER_S * piece)
        if bolus_rate:
            assert bolus is not None, "a bolus rate only with a bolus"
            bolus.delivered_ml = min(bolus.volume_ml, bolus.delivered_ml + bolus_rate * piece)
        # Land exactly on the level that ended the piece, so the alarm rules see it reached.
        if reason == "empty":
            state.volume_ml = 0.0
        elif reason == "low":
            state.volume_ml = state.low_alarm_ml
        elif reason == "bolus":
            assert bolus is not None, "a bolus limit only with a bolus"
            bolus.delivered_ml = bolus.volume_ml
        elif reason in ("eri", "eos"):
            state.battery_percent = ERI_PERCENT if reason == "eri" else EOS_PERCENT
        elapsed += piece
        remaining -= piece
        state.pump_time = end if reason == "end" else start + timedelta(seconds=elapsed)
        for concentration in line.push(state, moved):
            log_event(state, state.pump_time, "line_flushed", concentration_per_ml=concentration,
                      pumped_ml=state.pumped_ml, to_patient_ml=state.to_patient_ml)
        if reason not in ("end", "step", "flush"):
            settle()
