"""The plan as the command line shows it: the ``plan --json`` object and the readable table.

The JSON keys are a contract (docs/cli.md); the table is for people and may change.
"""

from __future__ import annotations

from programmer.checks import CheckReport
from programmer.clock import iso
from programmer.planner import Plan, minutes_to_days
from programmer.program import MINUTES_PER_DAY
from programmer.pump import PumpLimits
from programmer.refill_by import REASON_WORDS, RefillBy

PLAN_FORMAT = "itb-plan/1"


def cycle_time(offset_min: int) -> str:
    """A cycle offset as 'day D HH:MM' (day 1 first)."""
    day, minute = divmod(offset_min, MINUTES_PER_DAY)
    return f"day {day + 1} {minute // 60:02d}:{minute % 60:02d}"


def plan_to_json(plan: Plan, report: CheckReport, pump: PumpLimits, current: Plan | None = None) -> dict:
    """The ``plan --json`` object."""
    drug = plan.program.drug
    data = {
        "format": PLAN_FORMAT,
        "start": iso(plan.start),
        "drug": drug.model_dump(mode="json"),
        "therapy_mode": plan.program.therapy.mode,
        "daily_dose": plan.mean_daily_dose,
        "dose_unit": drug.dose_unit,
        "daily_doses": plan.daily_doses,
        "cycle_days": plan.cycle_days,
        "rate_ml_per_day": plan.ml_per_day,
        "timeline": [
            {"start_min": start, "end_min": end, "start": cycle_time(start), "dose_per_hour": dose_h, "ml_per_hour": ml_h}
            for start, end, dose_h, ml_h in plan.rate_steps()
        ],
        "reservoir": {
            "pump_model": pump.model,
            "capacity_ml": plan.reservoir.capacity_ml,
            "volume_ml": plan.reservoir.volume_ml,
            "low_alarm_ml": plan.reservoir.low_alarm_ml,
        },
        "days_to_low_alarm": minutes_to_days(plan.minutes_to_low_alarm),
        "days_to_empty": minutes_to_days(plan.minutes_to_empty),
        "low_reservoir_alarm_at": iso(plan.low_alarm_at),
        "empty_at": iso(plan.empty_at),
        "warnings": [finding.as_dict() for finding in report.warnings],
        "errors": [finding.as_dict() for finding in report.errors],
        "library": report.library.model_dump(),
    }
    if current is not None:
        data["current"] = {
            "daily_dose": current.mean_daily_dose,
            "rate_ml_per_day": current.ml_per_day,
            "change_percent": _change_percent(current.mean_daily_dose, plan.mean_daily_dose),
        }
    return data


def refill_by_json(refill: RefillBy | None) -> dict:
    """The ``refill_by`` and ``refill_by_reason`` keys of ``plan``, ``interrogate`` and ``refill --json``."""
    return {"refill_by": None if refill is None else iso(refill.at),
            "refill_by_reason": None if refill is None else refill.reason}


def _change_percent(old: float, new: float) -> float | None:
    return None if old == 0 else (new / old - 1) * 100


def _days(minutes: float | None) -> str:
    return "never" if minutes is None else f"{minutes / MINUTES_PER_DAY:.2f} days"


def refill_by_line(refill: RefillBy, clock: str = "") -> str:
    """The text reports' refill-by line: the date, on which clock (``clock``, such as " (pump clock)"), and what
    set it."""
    return f"Refill by     {iso(refill.at)}{clock}: set by {REASON_WORDS[refill.reason]}"


def plan_to_text(plan: Plan, report: CheckReport, pump: PumpLimits, current: Plan | None = None,
                 refill: RefillBy | None = None) -> str:
    """A readable summary: program, timeline, reservoir dates (with ``refill``, the refill-by date), findings
    and the library that applied."""
    drug = plan.program.drug
    unit = drug.dose_unit
    lines = [
        f"Drug          {drug.name} {drug.concentration_per_ml:g} {unit}/mL",
        f"Mode          {plan.program.therapy.mode}",
        f"Daily dose    {plan.mean_daily_dose:.4g} {unit}/day (mean over a {plan.cycle_days}-day cycle)",
        f"Volume        {plan.ml_per_day:.4g} mL/day",
    ]
    if current is not None:
        change = _change_percent(current.mean_daily_dose, plan.mean_daily_dose)
        change_text = "n/a" if change is None else f"{change:+.1f} %"
        lines.append(f"Current       {current.mean_daily_dose:.4g} {unit}/day ({change_text})")
    if plan.cycle_days > 1:
        for day, dose in enumerate(plan.daily_doses, start=1):
            lines.append(f"  day {day}       {dose:.4g} {unit}")
    lines += ["", f"{'from':<14}{'to':<14}{unit + '/h':>12}{'mL/h':>12}"]
    for start, end, dose_h, ml_h in plan.rate_steps():
        lines.append(f"{cycle_time(start):<14}{cycle_time(end):<14}{dose_h:>12.4g}{ml_h:>12.5g}")
    reservoir = plan.reservoir
    lines += [
        "",
        f"Reservoir     {reservoir.volume_ml:g} of {reservoir.capacity_ml:g} mL ({pump.model}), low alarm at "
        f"{reservoir.low_alarm_ml:g} mL",
        f"Start         {iso(plan.start)}",
        f"Low alarm     {iso(plan.low_alarm_at) or 'never'} ({_days(plan.minutes_to_low_alarm)})",
        f"Empty         {iso(plan.empty_at) or 'never'} ({_days(plan.minutes_to_empty)})",
    ]
    if refill is not None:
        lines.append(refill_by_line(refill))
    lines += ["", findings_text(report)]
    return "\n".join(lines)


def findings_text(report: CheckReport) -> str:
    """The report's errors, then its warnings, one a line, and the drug library that applied."""
    lines = [f"ERROR   {finding.code}: {finding.message}" for finding in report.errors]
    lines += [f"WARNING {finding.code}: {finding.message}" for finding in report.warnings]
    if not report.findings:
        lines.append("No errors or warnings.")
    identity = report.library
    lines.append(f"Drug library  {identity.name} {identity.version} (sha256 {identity.sha256[:16]})")
    lines.append(f"              {identity.approval_words()}")
    return "\n".join(lines)
