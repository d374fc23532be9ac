"""Old and new program side by side, figure by figure, with what changed. No Qt.

The review screen shows these rows; "changed" is decided on the text as shown, so a figure is marked
changed exactly when the clinician would see two different values.
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer.planner import Plan
from programmer.program import Flex, Program, SimpleContinuous
from ui.draft import MODE_LABELS
from ui.format import count, cycle_offset, moment_and_days, number, percent_change, quantity, signed_percent


@dataclass(frozen=True)
class Row:
    label: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def schedule_text(program: Program | None) -> str:
    """The therapy in numbers, one line per step: what the pump is told, not a summary of it."""
    if program is None:
        return "no program"
    therapy, unit = program.therapy, program.drug.dose_unit
    if isinstance(therapy, SimpleContinuous):
        return f"{number(therapy.daily_dose)} {unit}/day all day ({number(therapy.daily_dose / 24)} {unit}/h)"
    if isinstance(therapy, Flex):
        return "\n".join(f"{cycle_offset(s.offset_minutes)}  {number(s.dose_per_hour)} {unit}/h" for s in therapy.steps)
    return "no delivery"


def summary(plan: Plan | None) -> str:
    """One line a clinician can check against the chart: what is delivered, how much, of which drug."""
    if plan is None:
        return "no drug and no program"
    drug, therapy = plan.program.drug, plan.program.therapy
    mode = {"simple_continuous": "simple continuous", "stopped": "stopped (no delivery)"}.get(therapy.mode, "")
    if isinstance(therapy, Flex):
        mode = f"flex, {count(len(therapy.steps), 'step')} over {count(therapy.cycle_days, 'day')}"
    return (f"{mode}: {quantity(plan.mean_daily_dose, f'{drug.dose_unit}/day')} "
            f"({quantity(plan.ml_per_day, 'mL/day')}) of {drug.name} {number(drug.concentration_per_ml)} "
            f"{drug.dose_unit}/mL")


def compare(old: Plan | None, new: Plan) -> tuple[list[Row], float | None]:
    """The rows of the side-by-side table and the percent change of the mean daily dose (None if the old
    dose was zero or there is no old program)."""
    unit = new.program.drug.dose_unit

    def both(label: str, figure) -> Row:
        return Row(label, figure(old) if old is not None else "no program", figure(new))

    rows = [
        both("Mode", lambda p: MODE_LABELS[p.program.therapy.mode]),
        both("Daily dose (mean over the cycle)", lambda p: quantity(p.mean_daily_dose, f"{unit}/day")),
        both("Volume per day", lambda p: quantity(p.ml_per_day, "mL/day")),
        both("Cycle length", lambda p: count(p.cycle_days, "day")),
        both("Dose on each day of the cycle",
             lambda p: ", ".join(f"day {d}: {number(v)} {unit}" for d, v in enumerate(p.daily_doses, 1))),
        both("Schedule", lambda p: schedule_text(p.program)),
        both("Low-reservoir alarm", lambda p: moment_and_days(p.low_alarm_at, p.minutes_to_low_alarm)),
        both("Reservoir empty", lambda p: moment_and_days(p.empty_at, p.minutes_to_empty)),
    ]
    change = None if old is None else percent_change(old.mean_daily_dose, new.mean_daily_dose)
    if old is not None:
        rows.insert(2, Row("Change of daily dose", "", signed_percent(change)))
    return rows, change
