"""The dead volume: the fluid between the reservoir and the patient, and when what the pump moves reaches the patient.

Drug leaves the reservoir into the pump's internal tubing, then the catheter, and only then the patient. The line is
full and incompressible, so every mL the motor moves pushes one mL out of the catheter tip, and the tip gives what
entered the line earlier: plug flow. After an implant or a catheter revision the line holds spinal fluid (no drug);
after a concentration change, the old concentration. What reaches the patient therefore lags what the pump moves by
the line's volume, and a transition (a prime, a refill at another concentration, a bolus) changes the dose the
patient gets for hours or days. The preview plots that dose, and the prime and bridge volumes are computed from it.

These are the programmer's own figures and its own arithmetic, written independently of the emulator (which models
the same line in its engine: tests/system compares the two over 30 days). ``CATHETER_ML_PER_CM`` is the Prometra
catheter's published figure, which the emulated catheter uses; it is not every catheter's.

**Exact, not stepped.** The pumped volume is piecewise linear in time (the program's steps, a bolus on top, a prime
at its own rate, a bridge at the program's dose rate over the old concentration), the dose that has left the tip is
piecewise linear in the pumped volume (the line's contents, patient end first, then the reservoir's drug), and the
moments a content boundary reaches the tip are solved by inverting the first: the program part in closed form by
the planner (``Plan.minutes_until_pumped``), the rest within the few steps the special flow lasts.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate
from typing import Sequence

from programmer.errors import InputError
from programmer.planner import Plan
from programmer.port import LineContent

CATHETER_ML_PER_CM = 0.0026
"""Catheter dead volume, mL per cm of catheter (the Prometra catheter's figure; the emulated catheter uses it)."""
CATHETER_CM_RANGE = (10.0, 110.0)
"""The catheter lengths the programmer takes, cm, inclusive: the emulated catheter is supplied 110 cm long and
trimmed at implant (the programmer's own copy of the emulator's range; the pump checks its own too)."""
PRIMING_ML_PER_HOUR = 1.0
"""The rate a priming bolus fills the line at, mL/h, with the basal program suspended (the programmer's own copy)."""
BRIDGE_VOLUME_TOLERANCE_ML = 0.005
"""How far the volume a pump bridges may be from the one sent, mL (the programmer's own figure; the pump keeps the
same, docs/protocol.md, BOLUS). The line drains while the program runs, between the status read the bridge was
computed from and the request, so the pump bridges its own current figure of the old drug when it is within this of
the one sent; the programmer takes a bridge reported within it as the one it asked for (verified). 0.005 mL is under
a day of the slowest program's drain and two hundredths of the shortest line: the old drug the figures differ by is
negligible next to what the bridge moves."""
SEGMENTS_TOLERANCE_CM = 1e-6
"""How far a revised catheter's segments may sum from its length, cm (the pump's own tolerance)."""


def catheter_problem(catheter_cm: float) -> str | None:
    """Why ``catheter_cm`` is not a catheter length (outside ``CATHETER_CM_RANGE``), or None when it is one."""
    low, high = CATHETER_CM_RANGE
    if low <= catheter_cm <= high:
        return None
    return (f"{catheter_cm:g} cm is outside the catheter lengths {low:g} to {high:g} cm (the catheter is supplied "
            "110 cm long and trimmed at implant)")


def check_catheter_cm(catheter_cm: float, segments_cm: Sequence[float] = ()) -> None:
    """InputError naming ``catheter_cm`` (or ``segments_cm``) when the length is outside ``CATHETER_CM_RANGE`` or the
    segments of a revised catheter do not sum to it."""
    problem = catheter_problem(catheter_cm)
    if problem is not None:
        raise InputError([("catheter_cm", problem)])
    if segments_cm:
        if any(not segment > 0 for segment in segments_cm):
            raise InputError([("segments_cm", f"every segment must be longer than 0 cm (given: "
                                              f"{', '.join(f'{s:g}' for s in segments_cm)})")])
        total = sum(segments_cm)
        if abs(total - catheter_cm) > SEGMENTS_TOLERANCE_CM:
            raise InputError([("segments_cm", f"the segments sum to {total:g} cm, not the catheter's {catheter_cm:g} "
                                              "cm")])


def line_volume_ml(tubing_ml: float, catheter_cm: float | None) -> float:
    """The dead volume, mL: the pump's tubing and the catheter at ``CATHETER_ML_PER_CM``. ``catheter_cm`` None (not
    recorded) counts the catheter as 0 mL, as the pump does; a length outside the range is an InputError."""
    if catheter_cm is None:
        return tubing_ml
    check_catheter_cm(catheter_cm)
    return tubing_ml + catheter_cm * CATHETER_ML_PER_CM


def full_line(volume_ml: float, concentration_per_ml: float) -> tuple[LineContent, ...]:
    """A line of ``volume_ml`` holding one fluid (0: spinal fluid), as contents."""
    return (LineContent(volume_ml, concentration_per_ml),)


@dataclass(frozen=True)
class Prime:
    """A priming bolus: ``volume_ml`` at ``ml_per_hour`` with the basal program suspended, then the program."""

    volume_ml: float
    ml_per_hour: float = PRIMING_ML_PER_HOUR

    @property
    def duration_min(self) -> float:
        return self.volume_ml / self.ml_per_hour * 60


@dataclass(frozen=True)
class Bridge:
    """A bridge bolus: the program's dose rate pumped at the old ``concentration_per_ml`` (the mL rate the old drug
    needs) until ``volume_ml`` has moved, then the program's own mL rates."""

    volume_ml: float
    concentration_per_ml: float


@dataclass(frozen=True)
class Bolus:
    """A bolus on top of the basal program: ``volume_ml`` at a constant rate over ``duration_min``."""

    volume_ml: float
    duration_min: float

    @property
    def ml_per_hour(self) -> float:
        return self.volume_ml / self.duration_min * 60


Flow = Prime | Bridge | Bolus


@dataclass(frozen=True)
class RateStep:
    """One stretch of the preview's step plot: the pump's rate and the dose rate reaching the patient."""

    start_min: float
    end_min: float
    pump_ml_per_hour: float
    patient_dose_per_hour: float


class Transit:
    """What reaches the patient from one moment on, exactly: a program (``plan``, which also holds the reservoir and
    the reservoir drug's concentration), the line's ``contents`` at the start (patient end first; concentrations in
    the drug's dose units per mL, 0 for spinal fluid) and at most one special ``flow`` starting then.

    A prime's line holds spinal fluid: pass ``full_line(volume, 0.0)``. Delivery stops when the reservoir is empty.
    Times are minutes from the plan's start.
    """

    def __init__(self, plan: Plan, contents: Sequence[LineContent], flow: Flow | None = None):
        self.plan = plan
        self.flow = flow
        self.contents = tuple(part for part in contents if part.volume_ml > 0)
        self.concentration = plan.program.drug.concentration_per_ml
        """The reservoir drug's concentration: what enters the line."""
        self._bounds = list(accumulate(part.volume_ml for part in self.contents))
        self._dose_bounds = list(accumulate((part.volume_ml * part.concentration_per_ml for part in self.contents),
                                            initial=0.0))
        self.line_ml = self._bounds[-1] if self._bounds else 0.0
        self.reservoir_ml = plan.reservoir.volume_ml
        self.flow_end_min, self.flow_ml = self._flow_end()
        self.empty_min = self.minutes_until_pumped(self.reservoir_ml)

    # --- the pump -----------------------------------------------------------------------------------------

    def _flow_end(self) -> tuple[float, float]:
        """When the special flow ends (minutes) and what it pumped (mL); (0, 0) without one."""
        flow, plan = self.flow, self.plan
        if isinstance(flow, Prime):
            return flow.duration_min, flow.volume_ml
        if isinstance(flow, Bolus):
            return flow.duration_min, plan.pumped_ml(flow.duration_min) + flow.volume_ml
        if isinstance(flow, Bridge):
            end = plan.minutes_until_pumped(flow.volume_ml / self._bridge_factor)
            if end is None:
                raise InputError([("bridge", "the program pumps nothing, so nothing would move the old drug out of "
                                             "the line")])
            return end, flow.volume_ml
        return 0.0, 0.0

    @property
    def _bridge_factor(self) -> float:
        """A bridge's pump rate over the program's: new concentration / old."""
        assert isinstance(self.flow, Bridge)
        return self.concentration / self.flow.concentration_per_ml

    def _uncapped_ml(self, minutes: float) -> float:
        flow, plan = self.flow, self.plan
        if minutes > self.flow_end_min or flow is None:
            return self.flow_ml + plan.pumped_ml(minutes) - plan.pumped_ml(self.flow_end_min)
        if isinstance(flow, Prime):
            return flow.ml_per_hour * minutes / 60
        if isinstance(flow, Bolus):
            return plan.pumped_ml(minutes) + flow.ml_per_hour * minutes / 60
        return self._bridge_factor * plan.pumped_ml(minutes)

    def pumped_ml(self, minutes: float) -> float:
        """mL the motor has moved from the start to ``minutes`` (equal to what left the catheter tip)."""
        return min(self._uncapped_ml(max(0.0, minutes)), self.reservoir_ml)

    def volume_at(self, minutes: float) -> float:
        """The reservoir's calculated volume ``minutes`` after the start, mL."""
        return self.reservoir_ml - self.pumped_ml(minutes)

    def ml_per_hour_at(self, minutes: float) -> float:
        """The motor's rate at ``minutes`` (the later one at a change), mL/h; 0 once the reservoir is empty."""
        if self.empty_min is not None and minutes >= self.empty_min:
            return 0.0
        return self._motor_ml_per_hour(minutes)

    def _motor_ml_per_hour(self, minutes: float) -> float:
        """The rate the program and the flow call for at ``minutes``, mL/h, whatever the reservoir holds."""
        flow, plan = self.flow, self.plan
        program = plan.ml_per_hour_at(minutes)
        if flow is None or minutes >= self.flow_end_min:
            return program
        if isinstance(flow, Prime):
            return flow.ml_per_hour
        if isinstance(flow, Bolus):
            return program + flow.ml_per_hour
        return self._bridge_factor * program

    def minutes_until_pumped(self, goal_ml: float) -> float | None:
        """Minutes from the start until ``goal_ml`` has been pumped; None when it never is (more than the reservoir
        holds, or a program that pumps nothing)."""
        if goal_ml <= 0:
            return 0.0
        if goal_ml > self.reservoir_ml:
            return None
        flow, plan = self.flow, self.plan
        if flow is None or goal_ml > self.flow_ml:
            return plan.minutes_until_pumped(goal_ml - self.flow_ml + plan.pumped_ml(self.flow_end_min))
        if isinstance(flow, Prime):
            return goal_ml / flow.ml_per_hour * 60
        if isinstance(flow, Bridge):
            return plan.minutes_until_pumped(goal_ml / self._bridge_factor)
        return self._bolus_minutes(goal_ml)

    def _bolus_minutes(self, goal_ml: float) -> float:
        """Inside a bolus: the step in which basal plus bolus reach ``goal_ml``, solved linearly."""
        times = [0.0, *self.plan.step_times(0.0, self.flow_end_min), self.flow_end_min]
        for begin, end in zip(times, times[1:]):
            at_end = self._uncapped_ml(end)
            if at_end >= goal_ml:
                return begin + (goal_ml - self._uncapped_ml(begin)) * 60 / self._motor_ml_per_hour(begin)
        return self.flow_end_min

    # --- the patient ----------------------------------------------------------------------------------------

    def _dose_of_volume(self, volume_ml: float) -> float:
        """Dose in the first ``volume_ml`` to leave the tip: the line's contents in order, then the reservoir drug."""
        if volume_ml >= self.line_ml:
            return self._dose_bounds[-1] + (volume_ml - self.line_ml) * self.concentration
        index = bisect.bisect_right(self._bounds, volume_ml)
        before = self._bounds[index - 1] if index else 0.0
        return self._dose_bounds[index] + (volume_ml - before) * self.contents[index].concentration_per_ml

    def _concentration_at(self, volume_ml: float) -> float:
        """The concentration leaving the tip once ``volume_ml`` has left it."""
        if volume_ml >= self.line_ml:
            return self.concentration
        return self.contents[bisect.bisect_right(self._bounds, volume_ml)].concentration_per_ml

    def to_patient_dose(self, minutes: float) -> float:
        """Dose (the drug's dose units) that has left the catheter tip from the start to ``minutes``."""
        return self._dose_of_volume(self.pumped_ml(minutes))

    @property
    def flushed_at(self) -> float | None:
        """Minutes until the last of the line's contents other than the reservoir drug has left the tip (from then
        on the patient gets the reservoir drug); 0 when the line holds nothing else; None when it never leaves (the
        reservoir empties first, or the program pumps nothing)."""
        others = [index for index, part in enumerate(self.contents) if part.concentration_per_ml != self.concentration]
        if not others:
            return 0.0
        return self.minutes_until_pumped(self._bounds[others[-1]])

    def patient_rate_steps(self, horizon_min: float) -> list[RateStep]:
        """The pump's rate and the dose rate reaching the patient from the start to ``horizon_min``, as steps: a new
        step where the program's step changes, the special flow ends, a content boundary reaches the tip or the
        reservoir empties (adjacent equal steps merged)."""
        moments: set[float | None] = {0.0, float(horizon_min), self.flow_end_min,
                                      *self.plan.step_times(0.0, horizon_min)}
        moments.update(self.minutes_until_pumped(bound) for bound in self._bounds)
        moments.add(self.empty_min)
        times = sorted(moment for moment in moments if moment is not None and 0.0 <= moment <= horizon_min)
        steps: list[RateStep] = []
        for begin, end in zip(times, times[1:]):
            middle = (begin + end) / 2
            pump = self.ml_per_hour_at(middle)
            patient = pump * self._concentration_at(self.pumped_ml(middle))
            if steps and (steps[-1].pump_ml_per_hour, steps[-1].patient_dose_per_hour) == (pump, patient):
                steps[-1] = RateStep(steps[-1].start_min, end, pump, patient)
            else:
                steps.append(RateStep(begin, end, pump, patient))
        return steps


@dataclass(frozen=True)
class OldDrug:
    """Drug in the line at a concentration other than the reservoir's, and what a program does with it."""

    volume_ml: float
    dose: float
    """The old drug's dose in the line (dose units)."""
    concentrations: tuple[float, ...]
    peak_dose_per_hour: float | None
    """The highest dose rate reaching the patient until the old drug has left the catheter, under the program at the
    reservoir drug's mL rates; None when the program pumps nothing."""
    program_dose_per_hour: float | None
    """The program's own dose rate now (what the patient should get)."""
    flushed_min: float | None
    """Minutes until the old drug has left the catheter tip; None when it never does (nothing pumps, or the reservoir
    empties first)."""


def old_drug_in_line(plan: Plan | None, contents: Sequence[LineContent], concentration: float) -> OldDrug | None:
    """The drug in ``contents`` (patient end first) at a concentration above 0 other than ``concentration`` (the
    reservoir's), and when and how fast ``plan`` pushes it to the patient at the reservoir drug's mL rates (no
    bridge); None when the line holds none. ``plan`` None, or one that pumps nothing: the rates are None."""
    old = [part for part in contents if part.volume_ml > 0 and part.concentration_per_ml > 0
           and part.concentration_per_ml != concentration]
    if not old:
        return None
    volume = sum(part.volume_ml for part in old)
    dose = sum(part.volume_ml * part.concentration_per_ml for part in old)
    kinds = tuple(sorted({part.concentration_per_ml for part in old}))
    if plan is None or plan.cycle_ml <= 0:
        return OldDrug(volume, dose, kinds, None, None, None)
    transit = Transit(plan, contents)
    flushed = transit.flushed_at
    horizon = flushed if flushed is not None else 24 * 60.0
    peak = max((step.patient_dose_per_hour for step in transit.patient_rate_steps(horizon)
                if step.end_min > step.start_min), default=0.0)
    return OldDrug(volume, dose, kinds, peak, plan.ml_per_hour_at(0.0) * concentration, flushed)
