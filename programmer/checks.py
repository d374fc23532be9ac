"""Dose-error reduction: the coded checks a proposed program must pass before it can be reviewed.

Each finding has a stable ``code`` (tests, audit logs and scripts key on it), a severity and a message
that names the value, its unit and the limit. Errors block: no override exists. Warnings need a typed
acknowledgement with a reason before the program may be written. The library's identity travels with
every report so a later review can tell which rules applied.

Changes are checked three ways, all with the library's ``change_percent`` limits (beyond soft warns,
beyond hard blocks, either direction):

- ``CHANGE_ABOVE_*``: the new mean daily dose against the current program's;
- ``DAY_CHANGE_ABOVE_*`` (flex cycles of more than one day): each day's dose of the new cycle against the
  current program's dose on the same day of its cycle when both cycles have the same length, otherwise
  against the current mean daily dose. A day whose comparison is the mean one above is not repeated;
- ``CHANGE_24H_ABOVE_*``: the new mean daily dose against the daily dose that ran 24 h ago on the pump's
  clock (a ``DoseBaseline``, derived from the pump's event log by ``programmer.interrogation``), so that
  repeated small writes cannot add up past the limits the library sets per change. It is checked only
  when another program ran then (otherwise the first check already covers it).

A dose that looks like a slip (``PROBABLE_UNIT_OR_DECIMAL_SLIP``): about 10x or 1000x the dose it is
compared with, or 1/10 or 1/1000 (a decimal point or mg/mcg), or about 24x or 1/24 (a dose per hour typed
as a dose per day, or the reverse: 40 mcg/h meant as 40 mcg/day is 960 mcg/day).

**First programs.** When the pump runs no program to compare a new one with (``Stop``, from its event log:
filled with a drug while nothing ran, a new drug, a stop of unknown cause, or a stop longer than the drug's
restart window), the checks cannot tell a slip from a dose: ``NO_PROGRAM_TO_COMPARE`` refuses until the
clinician says what the patient had before (``PriorTherapy``): the daily dose from the chart or the old
pump, which is then compared with exactly like a change (the slip check, ``CHANGE_ABOVE_*``, the absolute
step), or that the patient is new to intrathecal therapy, which puts the drug's starting-dose limits
(``STARTING_DOSE_ABOVE_*``) on the new daily dose. A stop within the restart window compares with the last
dose the pump ran, as a change. A stop beyond it also follows the library's restart rule: at most a
percentage of the last dose (``RESTART_ABOVE_*``), or the starting-dose limits. An answer given when the
pump does run a program is checked as well, on top of the current program. ``CheckReport.compared_with``
says, in words, what the new dose was compared with.

**Resuming after an empty reservoir** (``check_resumption``): a refill of a pump that ran empty longer than the
drug's restart window resumes its program the moment the drug is in, at the dose the patient has been without
all that time: the restart rule applies to it as to a program written after such a stop (``RESTART_ABOVE_*``
or the starting-dose limits), so the clinician lowers the program first or says why not.

**Absolute titration** (``TitrationLimits``, where a label sets them, as for ziconotide):
``INCREASE_ABOVE_STEP_LIMIT`` when the mean daily dose rises by more than one step allows against what it
is compared with, ``INCREASE_TOO_SOON`` when it rises within the least time after the last increase the
event log shows (pump clock).

**Stops and large drops** (``programmer.overrides``, clinical context): a change that stops a running delivery
(``THERAPY_STOPPED``, a warning) or drops the daily dose by more than the hard change limit (in any of the three
comparisons above) is refused with ``CLINICAL_CONTEXT_REQUIRED`` unless a clinical context is stated. With one,
the drop is the warning ``DECREASE_ABOVE_HARD_LIMIT`` instead of the ``*_ABOVE_HARD_LIMIT`` error, so it still
needs a reason; the stop keeps its warning. ``CheckReport.context_needed`` says, in words, which changes need
the context (whether or not one was stated), ``context_errors`` which errors a stated context would settle.

``PEAK_RATE_ABOVE_*``: in a flex program, each step's dose per hour against the mean dose per hour of each
day it runs on (that day's dose / 24 h), with the library's ``peak_to_mean_rate`` limits.

``DOSE_FINER_THAN_ENTRY_STEP``: a simple continuous daily dose, or a flex step's dose per hour, with more
decimal places than the library's ``entry_step`` for the drug allows (0.1 mcg/day: one place). The
application refuses such a dose at the field; this check refuses it on every other way in (a document
given to ``write`` or ``plan``, a script). A document holds binary floats, not the digits that were typed,
so a dose is judged by the shortest decimal that reads back as the same float (Python's ``repr``, which
round-trips): 187.5 has one place, however binary stores it, and passes a 0.1 step; 187.52 and
187.500000001 do not, and neither does 0.1 + 0.2, which is 0.30000000000000004 and not 0.3: that is the
number the pump would be given, and the screen would show 0.3. A JSON number's trailing zeros are gone
once it is read (187.50 is 187.5), unlike at the field, which judges the typed text. Doses the pump runs
now are not judged again (the same therapy of the same drug as the current program, as a refill keeps
it): the rule is about entering a dose, and a program written before the library's step was set must not
block a refill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from programmer.clock import duration, iso
from programmer.errors import InputError
from programmer.library import DrugRule, LibraryIdentity, LoadedLibrary, RestartPercentLimits, decimal_places
from programmer.overrides import CLINICAL_CONTEXTS, ClinicalContext
from programmer.planner import Plan
from programmer.program import MINUTES_PER_DAY, Flex, Program, Stopped
from programmer.pump import PumpLimits

LOW_ALARM_SOON_DAYS = 7.0
"""Warn when the low-reservoir alarm would sound within a week: refills are booked 3-5 days ahead of it."""

SLIP_FACTORS = (10.0, 1000.0)
SLIP_TOLERANCE = 0.15
"""A ratio within 15 % of 10x or 1000x (or their inverses) looks like a decimal-point or mg/mcg slip."""
HOURS_PER_DAY_SLIP = 24.0
"""A daily dose within ``SLIP_TOLERANCE`` of 24x (or 1/24) the one it is compared with looks like a dose per
hour typed as a dose per day (or the reverse); concentrations have no such slip."""

LIMIT_TOLERANCE = 1e-9
"""Relative slack when comparing with a limit: a dose typed exactly at a limit is at it, not over it,
whatever the last bit of a float sum says."""

Severity = Literal["error", "warning"]


def _above(value: float, limit: float) -> bool:
    return value > limit * (1 + LIMIT_TOLERANCE)


def _below(value: float, limit: float) -> bool:
    return value < limit * (1 - LIMIT_TOLERANCE)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    field: str = ""

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message, "field": self.field}


@dataclass
class CheckReport:
    library: LibraryIdentity
    findings: list[Finding] = field(default_factory=list)
    compared_with: list[str] = field(default_factory=list)
    """What the new program's daily dose was compared with, in words, in the order checked (the pump's
    current program, the last dose it ran, a previous daily dose given, starting-dose or restart limits)."""
    answer_needed: str | None = None
    """Why the pump has no program to compare with, when the clinician must say what the patient had before
    (``PriorTherapy``); None when the pump has one."""
    clinical_context: ClinicalContext | None = None
    """The clinical context the clinician stated for a stop or a large drop (``programmer.overrides``)."""
    context_needed: list[str] = field(default_factory=list)
    """The changes that need a clinical context, in words (a stop, a drop beyond the hard limit); empty when none
    does. Filled whether or not a context was stated."""
    context_errors: list[Finding] = field(default_factory=list)
    """The errors found because no clinical context was stated, which stating one would turn into warnings."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def only_context_missing(self) -> bool:
        """True when there are errors and a clinical context would settle every one of them (they are then the
        stop's or the drop's, and the reason is asked with the warnings)."""
        errors = self.errors
        return bool(errors) and all(finding in self.context_errors for finding in errors)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def error(self, code: str, message: str, field: str = "") -> Finding:
        finding = Finding(code, "error", message, field)
        self.findings.append(finding)
        return finding

    def warn(self, code: str, message: str, field: str = "") -> None:
        self.findings.append(Finding(code, "warning", message, field))


@dataclass(frozen=True)
class DoseBaseline:
    """The daily dose that ran at the start of the last 24 h of pump time (the pump's event log says so)."""

    daily_dose: float
    """Mean daily dose of the program that ran at ``since`` (dose units per day; 0 when it was stopped)."""
    dose_unit: str
    since: datetime
    """Pump time (on the pump's clock as it reads now) the baseline refers to: 24 h before the
    interrogation; or, when nothing ran then, the activation of the first dose above 0 since; or the
    oldest event the pump's log still holds when it no longer reaches back 24 h (``whole_window`` False)."""
    activations: int
    """Programs activated since ``since``; 0 means the current program ran throughout."""
    whole_window: bool = True


@dataclass(frozen=True)
class Stop:
    """How delivery came to stop, when the pump's program delivers nothing (``programmer.baseline.therapy_stop``,
    from its event log, on its clock as it reads now)."""

    cause: Literal["stopped", "new_drug", "filled", "unknown"]
    """``stopped``: a program that stopped a running dose of this drug was activated; ``new_drug``: a refill with
    another drug stopped the therapy; ``filled``: the pump was filled while it ran nothing (a first fill, or a
    drug that may be new); ``unknown``: the log does not reach back to the stop, or cannot be read."""
    at: datetime | None = None
    """Pump time of that event; None when unknown."""
    hours_ago: float | None = None
    """Hours of pump time from ``at`` to the interrogation."""
    last_daily_dose: float | None = None
    """``stopped`` only: the mean daily dose that ran until ``at`` (the same drug and dose unit, above 0)."""


@dataclass(frozen=True)
class Increase:
    """The newest program activation that raised the mean daily dose (``programmer.baseline.last_increase``)."""

    at: datetime
    hours_ago: float
    before: float
    after: float


@dataclass(frozen=True)
class PriorTherapy:
    """What the clinician says the patient had before the new program, asked when the pump runs no program to
    compare it with: the daily dose (from the chart or the old pump, in the drug's dose unit per day), or that
    the patient is new to intrathecal therapy. One or the other: a patient cannot be both."""

    previous_daily_dose: float | None = None
    new_to_itb: bool = False

    def __post_init__(self) -> None:
        dose = self.previous_daily_dose
        if dose is not None and not (math.isfinite(dose) and dose > 0):
            raise InputError([("previous_daily_dose", f"{dose!r} is not a daily dose (a finite number above 0; a "
                                                      "patient who had none is new to intrathecal therapy)")])
        if dose is not None and self.new_to_itb:
            raise InputError([("prior_therapy", "give either the daily dose the patient had before or that the "
                                                "patient is new to intrathecal therapy, not both")])

    @property
    def given(self) -> bool:
        return self.previous_daily_dose is not None or self.new_to_itb


NO_ANSWER = PriorTherapy()


def _fmt(value: float) -> str:
    """A dose or volume for a message: enough digits to tell 0.15 from 1.5, no float noise."""
    return f"{value:.6g}"


def check_program(
    plan: Plan,
    library: LoadedLibrary,
    pump: PumpLimits,
    current: Program | None = None,
    baseline: DoseBaseline | None = None,
    *,
    stop: Stop | None = None,
    prior: PriorTherapy = NO_ANSWER,
    last_increase: Increase | None = None,
    context: ClinicalContext | None = None,
) -> CheckReport:
    """Run every check on the plan of a proposed program (and against the current one, and the dose that
    ran 24 h ago, when known). ``stop``: the pump runs nothing, and how it came to (first programs, module
    docstring); ``prior``: what the clinician said the patient had before; ``last_increase``: the newest
    activation that raised the dose, for the least time between increases; ``context``: the clinical context
    stated for a stop or a large drop (module docstring)."""
    report = CheckReport(library.identity, clinical_context=context)
    program = plan.program
    rule = _check_drug(program, library, report)
    _check_flow(plan, pump, report)
    _check_schedule(program, rule, pump, report)
    if rule is not None and not isinstance(program.therapy, Stopped):
        _check_entry_step(program, rule, current, report)
        _check_daily_dose(plan, rule, report)
        _check_peak_rate(plan, rule, report)
    if current is not None:
        _check_change(plan, current, rule, report)
    if rule is not None and not isinstance(program.therapy, Stopped):
        before = _check_first_program(plan, rule, current, stop, prior, library.identity, report)
        _check_increase_interval(plan, rule, before, last_increase, report)
    if current is not None and baseline is not None and rule is not None:
        _check_change_24h(plan, current, baseline, rule, report)
    _check_reservoir(plan, report)
    _check_context(report)
    return report


def _check_context(report: CheckReport) -> None:
    """``CLINICAL_CONTEXT_REQUIRED``: a stop or a drop beyond the hard limit with no clinical context stated."""
    if not report.context_needed or report.clinical_context is not None:
        return
    contexts = ", ".join(context.label.lower() for context in CLINICAL_CONTEXTS)
    report.context_errors.append(report.error(
        "CLINICAL_CONTEXT_REQUIRED", f"{'; '.join(report.context_needed)}: a stop or a drop beyond the hard change "
        f"limit is refused unless the clinical context is stated (one of: {contexts}), with a reason",
        "clinical_context"))


def _check_drug(program: Program, library: LoadedLibrary, report: CheckReport) -> DrugRule | None:
    drug = program.drug
    rule = library.rule_for(drug.name)
    if rule is None:
        report.error("DRUG_NOT_IN_LIBRARY", f"drug {drug.name!r} is not in the drug library {library.identity.name!r} "
                     f"version {library.identity.version}", "drug.name")
        return None
    if drug.dose_unit != rule.dose_unit:
        report.error("DOSE_UNIT_MISMATCH", f"{rule.name} is dosed in {rule.dose_unit} in the drug library; the program "
                     f"says {drug.dose_unit}", "drug.dose_unit")
        return None
    if not rule.allows_concentration(drug.concentration_per_ml):
        allowed = ", ".join(_fmt(c) for c in rule.concentrations_per_ml)
        report.error("CONCENTRATION_NOT_IN_LIBRARY", f"{rule.name} at {_fmt(drug.concentration_per_ml)} "
                     f"{rule.dose_unit}/mL is not a library concentration (allowed: {allowed} {rule.dose_unit}/mL)",
                     "drug.concentration_per_ml")
    return rule


def _check_flow(plan: Plan, pump: PumpLimits, report: CheckReport) -> None:
    for index, segment in enumerate(plan.segments):
        if segment.ml_per_hour == 0:
            continue
        where = f"therapy.steps[{index}]" if isinstance(plan.program.therapy, Flex) else "therapy.daily_dose"
        if _above(segment.ml_per_day, pump.max_rate_ml_per_day):
            report.error("FLOW_ABOVE_PUMP_MAX", f"{where} needs {_fmt(segment.ml_per_day)} mL/day, above the "
                         f"{pump.model} maximum of {_fmt(pump.max_rate_ml_per_day)} mL/day", where)
        elif _below(segment.ml_per_day, pump.min_rate_ml_per_day):
            report.error("FLOW_BELOW_PUMP_MIN", f"{where} needs {_fmt(segment.ml_per_day)} mL/day, below the "
                         f"{pump.model} minimum of {_fmt(pump.min_rate_ml_per_day)} mL/day", where)


def _check_schedule(program: Program, rule: DrugRule | None, pump: PumpLimits, report: CheckReport) -> None:
    therapy = program.therapy
    if not isinstance(therapy, Flex):
        return
    if therapy.cycle_days > pump.max_cycle_days:
        report.error("FLEX_CYCLE_TOO_LONG", f"the cycle is {therapy.cycle_days} days; the {pump.model} runs cycles "
                     f"of at most {pump.max_cycle_days} days", "therapy.cycle_days")
    limit = pump.max_steps_per_day if rule is None else min(pump.max_steps_per_day, rule.max_flex_steps_per_day)
    for day in range(1, therapy.cycle_days + 1):
        count = sum(1 for step in therapy.steps if step.day == day)
        if count > limit:
            report.error("TOO_MANY_FLEX_STEPS", f"day {day} has {count} flex steps; at most {limit} a day are allowed",
                         "therapy.steps")


def _check_entry_step(program: Program, rule: DrugRule, current: Program | None, report: CheckReport) -> None:
    """``DOSE_FINER_THAN_ENTRY_STEP`` (module docstring) for each dose the program gives."""
    therapy = program.therapy
    if current is not None and _same_drug(program, current) and therapy == current.therapy:
        return  # the doses the pump runs now: nothing is being entered
    unit = rule.dose_unit
    # (the finding's field, the dose named in words, the dose, its step, its unit)
    if isinstance(therapy, Flex):
        doses = [(f"therapy.steps[{index}]", f"therapy.steps[{index}] dose per hour", step.dose_per_hour,
                  rule.entry_step.dose_per_hour, f"{unit}/h") for index, step in enumerate(therapy.steps)]
    else:
        assert not isinstance(therapy, Stopped), "check_program passes no stopped program"
        doses = [("therapy.daily_dose", "daily dose", therapy.daily_dose, rule.entry_step.daily_dose, f"{unit}/day")]
    for where, label, dose, step, per in doses:
        given = _shortest_decimal(dose)
        places = decimal_places(step)
        exponent = given.as_tuple().exponent
        assert isinstance(exponent, int), "a finite dose: the program model refuses NaN and infinity"
        if -exponent > places:
            size = f"{step:.{places}f} {per}"
            report.error("DOSE_FINER_THAN_ENTRY_STEP", f"{label} {given:f} {per} is finer than the {size} this "
                         f"library allows for {rule.name}: type it in steps of {size}", where)


def _shortest_decimal(value: float) -> Decimal:
    """``value`` as the shortest decimal that reads back as the same float (``repr``), without trailing
    zeros: 187.5 -> 187.5, 150.0 -> 1.5E+2, 1e-05 -> 0.00001, 0.1 + 0.2 -> 0.30000000000000004. Its
    decimal places are minus its exponent (none when the exponent is positive)."""
    return Decimal(repr(value)).normalize()


def _check_daily_dose(plan: Plan, rule: DrugRule, report: CheckReport) -> None:
    unit = f"{rule.dose_unit}/day"
    limits = rule.daily_dose
    for day, dose in enumerate(plan.daily_doses, start=1):
        label = "daily dose" if plan.cycle_days == 1 else f"day {day} dose"
        if _above(dose, limits.hard_max):
            report.error("DAILY_DOSE_ABOVE_HARD_MAX", f"{label} {_fmt(dose)} {unit} is above the hard maximum "
                         f"{_fmt(limits.hard_max)} {unit} for {rule.name}", "therapy")
        elif _above(dose, limits.soft_max):
            report.warn("DAILY_DOSE_ABOVE_SOFT_MAX", f"{label} {_fmt(dose)} {unit} is above the soft maximum "
                        f"{_fmt(limits.soft_max)} {unit} for {rule.name}", "therapy")
        elif _below(dose, limits.hard_min):
            report.error("DAILY_DOSE_BELOW_HARD_MIN", f"{label} {_fmt(dose)} {unit} is below the hard minimum "
                         f"{_fmt(limits.hard_min)} {unit} for {rule.name}", "therapy")
        elif _below(dose, limits.soft_min):
            report.warn("DAILY_DOSE_BELOW_SOFT_MIN", f"{label} {_fmt(dose)} {unit} is below the soft minimum "
                        f"{_fmt(limits.soft_min)} {unit} for {rule.name}", "therapy")


def _check_change(plan: Plan, current: Program, rule: DrugRule | None, report: CheckReport) -> None:
    new, old = plan.program, current
    if not _same_drug(new, old):
        report.warn("CURRENT_DRUG_DIFFERS", f"the current program is {old.drug.name} in {old.drug.dose_unit}; the new "
                    f"one is {new.drug.name} in {new.drug.dose_unit}: changes cannot be compared", "drug")
        return
    if not math.isclose(new.drug.concentration_per_ml, old.drug.concentration_per_ml, rel_tol=1e-9):
        ratio = new.drug.concentration_per_ml / old.drug.concentration_per_ml
        code = "PROBABLE_CONCENTRATION_SLIP" if looks_like_slip(ratio) else "CONCENTRATION_CHANGED"
        report.warn(code, f"concentration changes from {_fmt(old.drug.concentration_per_ml)} to "
                    f"{_fmt(new.drug.concentration_per_ml)} {new.drug.dose_unit}/mL ({ratio:.4g}x): a new concentration "
                    "needs a refill and a bridge bolus", "drug.concentration_per_ml")
    old_dose = Plan(old, plan.reservoir, plan.start).mean_daily_dose
    unit = f"{new.drug.dose_unit}/day"
    if isinstance(new.therapy, Stopped):
        if old_dose > 0:
            stops = f"delivery stops (now {_fmt(old_dose)} {unit})"
            report.context_needed.append(stops)
            report.warn("THERAPY_STOPPED", f"{stops}: abrupt withdrawal of {new.drug.name} can be life-threatening"
                        f"{_context_words(report)}", "therapy.mode")
        return
    if old_dose <= 0:
        return
    report.compared_with.append(f"the pump's current program, {_fmt(old_dose)} {unit}")
    _check_dose_change(plan, old_dose, None, rule, report)
    if rule is not None:
        _check_day_changes(plan, Plan(old, plan.reservoir, plan.start), rule, report)


def _check_dose_change(plan: Plan, old_dose: float, against: str | None, rule: DrugRule | None,
                       report: CheckReport) -> None:
    """The new mean daily dose against ``old_dose`` as a change: the slip check, the change limits in percent and
    the absolute step. ``against`` names a dose other than the current program's in the messages ("the patient's
    previous daily dose"); None is the current program."""
    new_dose = plan.mean_daily_dose
    unit = f"{plan.program.drug.dose_unit}/day"
    ratio = new_dose / old_dose
    slip = _dose_slip(ratio)
    if slip is not None:
        compared = f"the current {_fmt(old_dose)} {unit}" if against is None else f"{against}, {_fmt(old_dose)} {unit}"
        report.error("PROBABLE_UNIT_OR_DECIMAL_SLIP", f"daily dose {_fmt(new_dose)} {unit} is {ratio:.4g}x {compared}: "
                     f"probably {slip}", "therapy")
    if rule is None:
        return
    percent = (ratio - 1) * 100
    source = "" if against is None else f" from {against}"
    text = f"daily dose changes by {percent:+.1f} %{source} ({_fmt(old_dose)} -> {_fmt(new_dose)} {unit})"
    _limit_change("CHANGE", percent, text, rule, report)
    steps = rule.titration
    if steps is not None and _above(new_dose - old_dose, steps.max_increase_per_step):
        where = "the current program" if against is None else against
        report.error("INCREASE_ABOVE_STEP_LIMIT", f"daily dose rises by {_fmt(new_dose - old_dose)} {unit} "
                     f"({_fmt(old_dose)} -> {_fmt(new_dose)} {unit}, against {where}), more than the "
                     f"{_fmt(steps.max_increase_per_step)} {unit} one titration step may add for {rule.name}",
                     "therapy")


def _check_first_program(plan: Plan, rule: DrugRule, current: Program | None, stop: Stop | None,
                         prior: PriorTherapy, library: LibraryIdentity, report: CheckReport) -> float:
    """First programs (module docstring): what the new dose is compared with when the pump runs nothing to
    compare it with, and the answer the clinician gave. Returns the daily dose the new one follows (the
    current program's, the last dose on the pump, the previous daily dose given; 0 for a new patient), from
    which a rise is an increase."""
    unit = f"{rule.dose_unit}/day"
    running = 0.0 if current is None else Plan(current, plan.reservoir, plan.start).mean_daily_dose
    references: list[tuple[float, str]] = []
    beyond_window = False
    if stop is not None:
        restart = rule.restart
        last = stop.last_daily_dose
        why = no_comparison(stop, rule)
        if why is None:
            assert last is not None and stop.hours_ago is not None, "no_comparison: a stop within the window"
            references.append((last, f"the last dose on the pump, until {iso(stop.at)} "
                                      f"(pump clock, {duration(stop.hours_ago * 3600)} ago)"))
        else:
            report.answer_needed = why
            beyond_window = stop.cause == "stopped" and last is not None and restart is not None
            if not prior.given:
                report.error("NO_PROGRAM_TO_COMPARE", f"the pump runs no program to compare the new daily dose "
                             f"{_fmt(plan.mean_daily_dose)} {unit} with ({why}): give the daily dose the patient had "
                             f"before, from the chart or the old pump, in {unit}, or say that the patient is new to "
                             "intrathecal therapy", "prior_therapy")
    if prior.previous_daily_dose is not None:
        references.append((prior.previous_daily_dose, "the patient's previous daily dose"))
    for dose, words in references:
        report.compared_with.append(f"{words}, {_fmt(dose)} {unit}")
        _check_dose_change(plan, dose, words, rule, report)
    restart_rule = rule.restart if beyond_window else None
    if restart_rule is not None and restart_rule.percent_of_last_dose is not None:
        assert stop is not None and stop.last_daily_dose is not None, "beyond_window: a stop with its last dose"
        _check_restart_percent(plan, rule, stop, restart_rule.percent_of_last_dose, report)
    reasons = []
    if prior.new_to_itb:
        reasons.append("a patient new to intrathecal therapy")
    if restart_rule is not None and restart_rule.after_window == "starting_dose":
        assert stop is not None and stop.hours_ago is not None, "beyond_window: a stop with its time"
        reasons.append(f"a restart after {duration(stop.hours_ago * 3600)} stopped, longer than the "
                       f"{_fmt(restart_rule.window_hours)} h restart window")
    if reasons:
        _check_starting_dose(plan, rule, " and ".join(reasons), library, report)
    if running > 0:
        return running
    return references[0][0] if references else 0.0


def no_comparison(stop: Stop | None, rule: DrugRule) -> str | None:
    """Why a pump that runs nothing has no dose to compare a new program of ``rule``'s drug with, in words, so that
    the clinician must say what the patient had before; None when it has one (it runs a program, ``stop`` None, or
    it stopped a dose within the drug's restart window)."""
    if stop is None:
        return None
    restart = rule.restart
    if (stop.cause == "stopped" and stop.last_daily_dose is not None and stop.hours_ago is not None
            and restart is not None and not _above(stop.hours_ago, restart.window_hours)):
        return None
    return _why_no_comparison(stop, rule)


def _why_no_comparison(stop: Stop, rule: DrugRule) -> str:
    """Why a pump that runs nothing has no dose to compare a new one with, in words."""
    since = "" if stop.at is None or stop.hours_ago is None else (
        f" at {iso(stop.at)}, {duration(stop.hours_ago * 3600)} ago (pump clock)")
    if stop.cause == "new_drug":
        return f"a refill with a new drug stopped the therapy{since}"
    if stop.cause == "filled":
        return f"the pump was filled while it ran nothing{since}: a first fill, or a new drug"
    if stop.cause == "unknown" or stop.last_daily_dose is None:
        return "its event log does not say when or from which dose delivery stopped"
    if rule.restart is None:
        return (f"delivery of {_fmt(stop.last_daily_dose)} {rule.dose_unit}/day stopped{since}, and the drug library "
                f"gives {rule.name} no restart window")
    return (f"delivery of {_fmt(stop.last_daily_dose)} {rule.dose_unit}/day stopped{since}, longer than the "
            f"{_fmt(rule.restart.window_hours)} h restart window for {rule.name}")


def _check_restart_percent(plan: Plan, rule: DrugRule, stop: Stop, limits: RestartPercentLimits,
                           report: CheckReport) -> None:
    """``RESTART_ABOVE_*``: a restart beyond the window, against the last dose the pump ran."""
    assert stop.last_daily_dose is not None and stop.hours_ago is not None, "a stop beyond the window"
    unit = f"{rule.dose_unit}/day"
    last = stop.last_daily_dose
    percent = plan.mean_daily_dose / last * 100
    report.compared_with.append(f"the restart rule for {rule.name}: at most {_fmt(limits.soft)} % (soft) and "
                                f"{_fmt(limits.hard)} % (hard) of the last dose on the pump, {_fmt(last)} {unit}")
    text = (f"daily dose {_fmt(plan.mean_daily_dose)} {unit} is {percent:.1f} % of the last dose on the pump, "
            f"{_fmt(last)} {unit}, restarting after {duration(stop.hours_ago * 3600)} stopped")
    if _above(percent, limits.hard):
        report.error("RESTART_ABOVE_HARD_LIMIT", f"{text}: above the hard limit of {_fmt(limits.hard)} % for "
                     f"{rule.name}", "therapy")
    elif _above(percent, limits.soft):
        report.warn("RESTART_ABOVE_SOFT_LIMIT", f"{text}: above the soft limit of {_fmt(limits.soft)} % for "
                    f"{rule.name}", "therapy")


def check_resumption(plan: Plan, library: LoadedLibrary, empty: Stop, report: CheckReport) -> None:
    """The restart rule on the program a refill resumes (module docstring, resuming after an empty reservoir):
    ``empty`` is the reservoir's emptying (``at``, ``hours_ago``) and the daily dose it stopped. Nothing to check
    within the drug's restart window, for a drug without a rule, or for a program that delivers nothing."""
    rule = library.rule_for(plan.program.drug.name)
    restart = None if rule is None else rule.restart
    if (rule is None or restart is None or empty.hours_ago is None or empty.last_daily_dose is None
            or plan.mean_daily_dose <= 0 or not _above(empty.hours_ago, restart.window_hours)):
        return
    if restart.percent_of_last_dose is not None:
        _check_restart_percent(plan, rule, empty, restart.percent_of_last_dose, report)
    if restart.after_window == "starting_dose":
        _check_starting_dose(plan, rule, f"a restart after {duration(empty.hours_ago * 3600)} with the reservoir empty, "
                             f"longer than the {_fmt(restart.window_hours)} h restart window", library.identity, report)


def _check_starting_dose(plan: Plan, rule: DrugRule, reason: str, library: LibraryIdentity,
                         report: CheckReport) -> None:
    """``STARTING_DOSE_*``: each day's dose against the drug's starting-dose limits (``reason``: why they apply)."""
    limits = rule.starting_dose
    unit = f"{rule.dose_unit}/day"
    if limits is None:
        report.error("STARTING_DOSE_NOT_IN_LIBRARY", f"the drug library {library.name!r} version {library.version} "
                     f"gives no starting-dose limits for {rule.name}, so the daily dose of {reason} cannot be "
                     "checked", "therapy")
        return
    report.compared_with.append(f"the starting-dose limits for {rule.name}, {reason}: soft maximum "
                                f"{_fmt(limits.soft_max)} {unit}, hard maximum {_fmt(limits.hard_max)} {unit}")
    for day, dose in enumerate(plan.daily_doses, start=1):
        label = "daily dose" if plan.cycle_days == 1 else f"day {day} dose"
        if _above(dose, limits.hard_max):
            report.error("STARTING_DOSE_ABOVE_HARD_MAX", f"{label} {_fmt(dose)} {unit} is above the hard maximum "
                         f"starting dose {_fmt(limits.hard_max)} {unit} for {rule.name} ({reason})", "therapy")
        elif _above(dose, limits.soft_max):
            report.warn("STARTING_DOSE_ABOVE_SOFT_MAX", f"{label} {_fmt(dose)} {unit} is above the soft maximum "
                        f"starting dose {_fmt(limits.soft_max)} {unit} for {rule.name} ({reason})", "therapy")


def _check_increase_interval(plan: Plan, rule: DrugRule, before: float, last: Increase | None,
                             report: CheckReport) -> None:
    """``INCREASE_TOO_SOON``: a rise over ``before`` within the library's least time since the last increase."""
    steps = rule.titration
    new_dose = plan.mean_daily_dose
    if steps is None or last is None or not _above(new_dose, before):
        return
    if last.hours_ago >= steps.min_hours_between_increases:
        return
    unit = f"{rule.dose_unit}/day"
    report.error("INCREASE_TOO_SOON", f"daily dose rises from {_fmt(before)} to {_fmt(new_dose)} {unit} "
                 f"{duration(last.hours_ago * 3600)} after the last increase ({_fmt(last.before)} -> "
                 f"{_fmt(last.after)} {unit} at {iso(last.at)}, pump clock): {rule.name} needs at least "
                 f"{_fmt(steps.min_hours_between_increases)} h between increases", "therapy")


def _same_drug(a: Program, b: Program) -> bool:
    """The same drug in the same dose unit (the library matches names without regard to letter case), so
    their doses mean the same amounts whatever the concentrations."""
    return (a.drug.name.casefold(), a.drug.dose_unit) == (b.drug.name.casefold(), b.drug.dose_unit)


def _limit_change(prefix: str, percent: float, text: str, rule: DrugRule, report: CheckReport,
                  field: str = "therapy") -> None:
    """``{prefix}_ABOVE_HARD_LIMIT`` (error) or ``{prefix}_ABOVE_SOFT_LIMIT`` (warning) for a change of
    ``percent`` beyond the library's change limits, either direction; a drop beyond the hard limit with a
    clinical context stated is ``DECREASE_ABOVE_HARD_LIMIT`` (warning) instead (module docstring)."""
    limits = rule.change_percent
    if _above(abs(percent), limits.hard):
        beyond = f"{text}, beyond the hard limit of {_fmt(limits.hard)} % for {rule.name}"
        if percent > 0:
            report.error(f"{prefix}_ABOVE_HARD_LIMIT", beyond, field)
            return
        report.context_needed.append(text)
        if report.clinical_context is None:
            report.context_errors.append(report.error(f"{prefix}_ABOVE_HARD_LIMIT", beyond, field))
        else:
            report.warn("DECREASE_ABOVE_HARD_LIMIT", f"{beyond}{_context_words(report)}", field)
    elif _above(abs(percent), limits.soft):
        report.warn(f"{prefix}_ABOVE_SOFT_LIMIT", f"{text}, beyond the soft limit of {_fmt(limits.soft)} % for "
                    f"{rule.name}", field)


def _context_words(report: CheckReport) -> str:
    """The stated clinical context, as the end of a stop's or a drop's message ("" when none was stated)."""
    context = report.clinical_context
    return "" if context is None else f"; the clinical context stated: {context.label.lower()}"


def _check_day_changes(plan: Plan, old_plan: Plan, rule: DrugRule, report: CheckReport) -> None:
    """Each day of a multi-day cycle against the current program's same day (cycles of equal length) or
    against its mean daily dose: a mean that barely moves can hide one day far above the current dose."""
    if plan.cycle_days == 1:
        return  # its one day is the mean: the mean check said it
    unit = f"{plan.program.drug.dose_unit}/day"
    new_mean, old_mean = plan.mean_daily_dose, old_plan.mean_daily_dose
    same_length = plan.cycle_days == old_plan.cycle_days
    old_days = old_plan.daily_doses
    for day, dose in enumerate(plan.daily_doses, start=1):
        reference = old_days[day - 1] if same_length else old_mean
        if reference <= 0:
            continue
        if math.isclose(dose, new_mean, rel_tol=1e-9) and math.isclose(reference, old_mean, rel_tol=1e-9):
            continue  # the same comparison as the mean's
        against = (f"day {day} of the current {old_plan.cycle_days}-day cycle" if same_length
                   else "the current mean daily dose")
        percent = (dose / reference - 1) * 100
        text = (f"day {day} dose changes by {percent:+.1f} % ({_fmt(reference)} -> {_fmt(dose)} {unit}, against "
                f"{against})")
        _limit_change("DAY_CHANGE", percent, text, rule, report)


def _check_change_24h(plan: Plan, current: Program, baseline: DoseBaseline, rule: DrugRule,
                      report: CheckReport) -> None:
    """The new daily dose against the one that ran 24 h ago (pump clock): titration is limited per 24 h,
    not per write, so a series of writes each within the step must not add up past it."""
    new = plan.program
    if isinstance(new.therapy, Stopped) or baseline.activations == 0 or baseline.daily_dose <= 0:
        return
    if baseline.dose_unit != new.drug.dose_unit or current.drug.dose_unit != new.drug.dose_unit:
        return
    current_dose = Plan(current, plan.reservoir, plan.start).mean_daily_dose
    if math.isclose(baseline.daily_dose, current_dose, rel_tol=1e-9):
        return  # the same comparison as the change from the current program
    new_dose = plan.mean_daily_dose
    percent = (new_dose / baseline.daily_dose - 1) * 100
    unit = f"{new.drug.dose_unit}/day"
    window = "24 h" if baseline.whole_window else "the pump's retained event log (less than 24 h)"
    text = (f"daily dose changes by {percent:+.1f} % within {window}: {_fmt(baseline.daily_dose)} {unit} ran at "
            f"{baseline.since.isoformat(timespec='minutes')} (pump clock), {baseline.activations} program(s) "
            f"activated since, now {_fmt(current_dose)} -> {_fmt(new_dose)} {unit}")
    _limit_change("CHANGE_24H", percent, text, rule, report)


def _check_peak_rate(plan: Plan, rule: DrugRule, report: CheckReport) -> None:
    """Each flex step's dose per hour against the mean dose per hour of each day it runs on: a day total
    and a cycle mean in range can still hide most of a day's dose in one hour."""
    if not isinstance(plan.program.therapy, Flex):
        return
    limits = rule.peak_to_mean_rate
    unit = plan.program.drug.dose_unit
    daily = plan.daily_doses
    for index, segment in enumerate(plan.segments):
        worst: tuple[float, int, float] | None = None  # ratio, day, minutes of the step on that day
        start = segment.start_min
        while start < segment.end_min:
            day = start // MINUTES_PER_DAY
            end = min(segment.end_min, (day + 1) * MINUTES_PER_DAY)
            mean_per_hour = daily[day] / 24
            if mean_per_hour > 0:
                ratio = segment.dose_per_hour / mean_per_hour
                if worst is None or ratio > worst[0]:
                    worst = (ratio, day, end - start)
            start = end
        if worst is None or not _above(worst[0], limits.soft):
            continue
        ratio, day, minutes = worst
        share = segment.dose_per_hour * minutes / 60 / daily[day] * 100
        text = (f"therapy.steps[{index}] runs at {_fmt(segment.dose_per_hour)} {unit}/h, {ratio:.3g}x the mean "
                f"{daily[day] / 24:.3g} {unit}/h of day {day + 1} ({_fmt(daily[day])} {unit}/day): "
                f"{share:.1f} % of that day's dose in {_fmt(minutes / 60)} h")
        where = f"therapy.steps[{index}]"
        if _above(ratio, limits.hard):
            report.error("PEAK_RATE_ABOVE_HARD_LIMIT", f"{text}, beyond the hard limit of {_fmt(limits.hard)}x for "
                         f"{rule.name}", where)
        else:
            report.warn("PEAK_RATE_ABOVE_SOFT_LIMIT", f"{text}, beyond the soft limit of {_fmt(limits.soft)}x for "
                        f"{rule.name}", where)


def looks_like_slip(ratio: float, factors: tuple[float, ...] = SLIP_FACTORS) -> bool:
    """True when ``ratio`` is close to one of ``factors`` (10 and 1000) or its inverse (in log terms, within
    SLIP_TOLERANCE)."""
    if ratio <= 0:
        return False
    for factor in factors:
        for target in (factor, 1 / factor):
            if abs(math.log(ratio / target)) <= math.log(1 + SLIP_TOLERANCE):
                return True
    return False


def _dose_slip(ratio: float) -> str | None:
    """What a daily dose ``ratio`` times the one it is compared with probably is, in words; None: not a slip."""
    if looks_like_slip(ratio):
        return "a misplaced decimal point or mg/mcg mix-up"
    if looks_like_slip(ratio, (HOURS_PER_DAY_SLIP,)):
        return ("a dose per hour entered as a dose per day" if ratio > 1
                else "a dose per day entered as a dose per hour")
    return None


def _check_reservoir(plan: Plan, report: CheckReport) -> None:
    minutes = plan.minutes_to_low_alarm
    if minutes is None:
        return
    days = minutes / (24 * 60)
    reservoir = plan.reservoir
    if minutes == 0:
        report.warn("RESERVOIR_AT_LOW_ALARM", f"the reservoir holds {_fmt(reservoir.volume_ml)} mL, at or below the "
                    f"low-alarm threshold of {_fmt(reservoir.low_alarm_ml)} mL: refill now", "reservoir")
    elif days < LOW_ALARM_SOON_DAYS:
        report.warn("LOW_ALARM_SOON", f"the low-reservoir alarm ({_fmt(reservoir.low_alarm_ml)} mL) is reached in "
                    f"{days:.1f} days, within {LOW_ALARM_SOON_DAYS:g} days: plan a refill", "reservoir")
