"""Old and new program side by side, figure by figure, with what changed, and what the new daily dose was
compared with (the current program, or on a pump that runs none, the patient's therapy before). No Qt.

"Changed" is decided on the values, never on the text shown: two doses that round to the same text are
changed (and are then shown with as many more digits as it takes to see the difference), two spellings
of one value are not. The program's own settings (drug, concentration, mode, schedule) are compared exactly,
every step of them: they are what the pump is told. The figures the planner derives from them (daily doses, volumes)
are compared within ``DERIVED_TOLERANCE``, so that two schedules whose float sums differ only in the last
bit are not called different; dates to the second, the resolution of the pump's clock.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Generic, TypeVar

from programmer.planner import Plan
from programmer.program import Flex, Program, SimpleContinuous
from programmer.review import WriteReview
from ui.view_models.draft import MODE_LABELS
from ui.view_models.format import (NOT_APPLICABLE, PUMP_CLOCK, UNIT_SPACE, count, cycle_offset, days, moment, number,
                       percent_change, quantity)
from ui.view_models.wording import plain

DIGITS = 4
"""Significant digits of a derived figure, as everywhere on screen (``ui.view_models.format.number``)."""
MORE_DIGITS = 8
"""At most this many more digits are added to show that two close figures differ."""
DERIVED_TOLERANCE = 1e-9
"""Relative: derived figures this close are the same (the checks' own slack at a limit, LIMIT_TOLERANCE)."""
T = TypeVar("T")
"""A figure's value: a number, a date, a program..."""


@dataclass(frozen=True)
class Row:
    label: str
    old: str
    new: str
    changed: bool


@dataclass(frozen=True)
class Figure(Generic[T]):
    """One row of the table: how to read it from a plan, say it (``extra`` digits more than usual), and
    tell whether two of its values are the same."""

    label: str
    value: Callable[[Plan], T]
    text: Callable[[T, int], str]
    same: Callable[[T, T], bool]

    def row(self, old: Plan | None, new: Plan) -> Row:
        if old is None:
            return Row(self.label, "no program", self.text(self.value(new), 0), True)
        old_value, new_value = self.value(old), self.value(new)
        changed = not self.same(old_value, new_value)
        return Row(self.label, *self._shown(old_value, new_value, changed), changed)

    def _shown(self, old_value, new_value, changed: bool) -> tuple[str, str]:
        """Both texts, with more digits while a change would otherwise read as none."""
        for extra in range(MORE_DIGITS + 1):
            texts = self.text(old_value, extra), self.text(new_value, extra)
            if not changed or texts[0] != texts[1]:
                break
        return texts


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=DERIVED_TOLERANCE)


def _all_close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return len(a) == len(b) and all(map(_close, a, b))


def _same_therapy(a: Program, b: Program) -> bool:
    return a.therapy == b.therapy  # the model's fields: every step, 6 and 6.0 alike


def _same_second(a: tuple[datetime | None, float | None], b: tuple[datetime | None, float | None]) -> bool:
    return _to_second(a[0]) == _to_second(b[0])


def _to_second(at: datetime | None) -> datetime | None:
    return None if at is None else (at + timedelta(microseconds=500_000)).replace(microsecond=0)


def exact(value: float) -> str:
    """A setting exactly as the pump is told it: the shortest text that is this float, no exponent."""
    text = f"{Decimal(repr(float(value))):f}"
    return text.removesuffix(".0")


def schedule_text(program: Program | None, extra: int = 0) -> str:
    """The therapy in numbers, one line per step: what the pump is told, not a summary of it."""
    if program is None:
        return "no program"
    therapy, unit = program.therapy, program.drug.dose_unit
    if isinstance(therapy, SimpleContinuous):
        per_hour = number(therapy.daily_dose / 24, DIGITS + extra)
        return f"{exact(therapy.daily_dose)}{UNIT_SPACE}{unit}/day all day ({per_hour}{UNIT_SPACE}{unit}/h)"
    if isinstance(therapy, Flex):
        return "\n".join(f"{cycle_offset(s.offset_minutes)}  {exact(s.dose_per_hour)}{UNIT_SPACE}{unit}/h"
                         for s in therapy.steps)
    return "no delivery"


def _on_pump_clock(value: tuple[datetime | None, float | None], extra: int) -> str:
    """'Thu 12 Mar 2026 14:05 (in 23.4 days) (pump clock)'; to the second when minutes do not tell."""
    at, minutes = value
    if at is None:
        return moment(at)
    return f"{moment(at, seconds=extra > 0)} ({days(minutes)}) ({PUMP_CLOCK})"


def _drug_text(drug: tuple[str, str], _extra: int) -> str:
    name, unit = drug
    return f"{name} (doses in {unit})"


def _concentration_text(drug: tuple[float, str], _extra: int) -> str:
    concentration, unit = drug
    return f"{exact(concentration)}{UNIT_SPACE}{unit}/mL"


def daily_dose_figure(unit: str) -> Figure[float]:
    return Figure("Daily dose (mean over the cycle)", lambda p: p.mean_daily_dose,
                  lambda v, extra: quantity(v, f"{unit}/day", DIGITS + extra), _close)


def figures(unit: str) -> list[Figure[Any]]:
    """The table's rows, top to bottom."""
    return [
        Figure("Drug", lambda p: (p.program.drug.name, p.program.drug.dose_unit), _drug_text, operator.eq),
        Figure("Concentration", lambda p: (p.program.drug.concentration_per_ml, p.program.drug.dose_unit),
               _concentration_text, operator.eq),
        Figure("Mode", lambda p: p.program.therapy.mode, lambda v, _extra: MODE_LABELS[v], operator.eq),
        daily_dose_figure(unit),
        Figure("Volume per day", lambda p: p.ml_per_day, lambda v, extra: quantity(v, "mL/day", DIGITS + extra),
               _close),
        Figure("Cycle length", lambda p: p.cycle_days, lambda v, _extra: count(v, "day"), operator.eq),
        Figure("Dose on each day of the cycle", lambda p: tuple(p.daily_doses),
               lambda v, extra: ", ".join(f"day {d}: {quantity(x, unit, DIGITS + extra)}" for d, x in enumerate(v, 1)),
               _all_close),
        Figure("Schedule", lambda p: p.program, lambda v, extra: schedule_text(v, extra), _same_therapy),
        Figure("Low-reservoir alarm", lambda p: (p.low_alarm_at, p.minutes_to_low_alarm), _on_pump_clock,
               _same_second),
        Figure("Reservoir empty", lambda p: (p.empty_at, p.minutes_to_empty), _on_pump_clock, _same_second),
    ]


def change_text(change: float | None, changed: bool) -> str:
    """The percent change of the daily dose, with more decimals while a real change would read +0.0 %."""
    if change is None:
        return "n/a (was zero)"
    for extra in range(MORE_DIGITS + 1):
        text = f"{change:+.{1 + extra}f}{UNIT_SPACE}%"
        if not changed or float(text.removesuffix(f"{UNIT_SPACE}%")) != 0:
            break
    return text


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
    dose_label = daily_dose_figure(new.program.drug.dose_unit).label
    rows = [figure.row(old, new) for figure in figures(new.program.drug.dose_unit)]
    change = None if old is None else percent_change(old.mean_daily_dose, new.mean_daily_dose)
    if old is not None:
        at = next(index for index, row in enumerate(rows) if row.label == dose_label)
        dose = rows[at]
        rows.insert(at + 1, Row("Change of daily dose", "", change_text(change, dose.changed), dose.changed))
    return rows, change


def program_unchanged(review: WriteReview) -> bool:
    """True when the proposed program is the pump's current one in every setting (the same checksum: the
    values, in canonical form, not their spelling): writing it would change nothing."""
    current = review.current_plan
    return current is not None and current.program.checksum() == review.program.checksum()


def headline(review: WriteReview, entered: str | None) -> str:
    """The change in one line: the daily dose before and after, the dose exactly as typed beside the
    rounded figure (what was typed is what the clinician recognises), and the percent change."""
    if program_unchanged(review):
        return "No change: the proposed program is the one the pump runs now"
    old, new = review.current_plan, review.plan
    typed = "" if entered is None else f" (as typed: {entered})"
    dose = daily_dose_figure(new.program.drug.dose_unit)
    if old is None:
        return f"Daily dose {NOT_APPLICABLE} \u2192 {dose.text(dose.value(new), 0)}{typed}"
    row = dose.row(old, new)
    change = percent_change(old.mean_daily_dose, new.mean_daily_dose)
    return f"Daily dose {row.old} \u2192 {row.new}{typed} ({change_text(change, row.changed)})"


def compared_with(review: WriteReview) -> str:
    """What the review compared the new daily dose with, in words: the pump's current program, or on a pump that
    runs nothing to compare with, the answer given about the patient's therapy before and the limits it brought
    (``CheckReport.compared_with``)."""
    report, prior = review.report, review.prior
    items = [plain(words) for words in report.compared_with]  # a sentence each: capitalised, then not
    said = "; ".join(item[:1].lower() + item[1:] for item in items) or "nothing (no daily dose to compare with)"
    text = f"Compared with {said}."
    if report.answer_needed is not None:
        unit = f"{review.program.drug.dose_unit}/day"
        answer = (f"the patient's daily dose before, {quantity(prior.previous_daily_dose, unit)}"
                  if prior.previous_daily_dose is not None
                  else "new to intrathecal therapy" if prior.new_to_itb else "not given")
        why = plain(report.answer_needed)
        text = f"The pump runs no program to compare with ({why[:1].lower()}{why[1:]}); the answer: {answer}. " + text
    return text
