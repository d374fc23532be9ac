"""The reviews of a bolus, a prime, a bridge and a patient's demand dose: pure, no I/O, shared by the CLI and the GUI.

A bolus is the riskiest thing a clinician types: a whole dose at once, where a slip is not spread over a day. The
slips on record are a daily dose typed as the bolus, a dose per hour typed as the total (ISMP), a decimal point
(10x), and a priming volume typed by hand (the 2013 priming-bolus recall). So:

- **Therapeutic bolus** (``review_bolus``): the library's per-drug bolus limits (``bolus.hard_max`` 0: never a
  bolus, ziconotide); a bolus at or above the program's mean daily dose is an error (a per-day figure typed as the
  total: ``BOLUS_DAILY_DOSE_FRACTION_ERROR``), above half of it a warning; a long bolus (``LONG_BOLUS_MIN``) says what
  its total is per hour and what the total would be if that figure had been meant per hour; what the patient gets in
  the next 24 h (basal, the bolus, and the boluses the pump logged in the last 24 h but primes) against the daily
  limits; the pump's fastest bolus; and the reservoir (a bolus it cannot hold is refused, one that takes it under
  the low-alarm threshold warns).
- **Prime** (``review_prime``): the volume is computed from the catheter's length and the pump's tubing, never
  typed, and delivered at the priming rate with the basal program suspended, and the program's first dose reaches the
  patient as soon as it ends. Whatever the line holds is pushed to the patient during the prime: the review uses the
  line the pump reports (``status.line``), and drug in it is a bolus of its dose in the prime's minutes, checked
  against the library's bolus limits (``PRIME_PUSHES_DRUG``, ``PRIME_PUSHES_DRUG_ABOVE_HARD_MAX``).
- **Bridge** (``review_bridge``): after a concentration change the line still holds the old drug. Pumped at the new
  mL rate it would reach the patient at the wrong dose for days; the bridge pumps the line's volume at the mL rate
  of the old concentration, so the patient gets the programmed dose throughout. The review shows the patient's dose
  through the transition with and without it (``programmer.dead_volume.Transit``).
- **Demand dose** (``review_demand``): a patient's button, so every activation is a bolus the clinician is not there
  for: the dose per activation against the bolus limits, the most the patient can take in a day (basal and every
  allowed activation) against the daily limits, and a lockout under ``DEMAND_LOCKOUT_WARN_MIN`` (minutes typed for
  hours: the 2004 Class I recall). Switching it off is always allowed.

The figures here are the programmer's own choices (docs/cli.md, check codes); the ranges of the demand dose are the
pump's (docs/protocol.md, SET_DEMAND), copied so that a value is refused before anything is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import ClassVar

from programmer.baseline import BASELINE_WINDOW, bolus_doses_given, boluses_within
from programmer.checks import SLIP_FACTORS, CheckReport, looks_like_slip
from programmer.dead_volume import (CATHETER_ML_PER_CM, PRIMING_ML_PER_HOUR, Bolus, Bridge,
                                    Prime, Transit, catheter_problem, check_catheter_cm, full_line)
from programmer.errors import InputError
from programmer.library import DrugRule, LoadedLibrary
from programmer.planner import Plan
from programmer.port import DemandDose, LineContent
from programmer.program import MINUTES_PER_DAY, Drug, Program
from programmer.pump import Reservoir
from programmer.review import Review, clean_override_reason, pump_state_findings
from programmer.snapshot import PumpSnapshot

BOLUS_DAILY_DOSE_FRACTION_ERROR = 1.0
"""A single bolus at or above this fraction of the program's mean daily dose is an error: a per-day figure typed as
the bolus (own choice)."""
BOLUS_DAILY_DOSE_FRACTION_WARN = 0.5
"""Above this fraction of the mean daily dose a bolus warns (own choice)."""
LONG_BOLUS_MIN = 120.0
"""A bolus this long or longer warns, saying its dose per hour: a total typed as a per-hour figure (own choice)."""
BOLUS_MINUTES_RANGE = (1.0, 1440.0)
"""The bolus durations the programmer takes, min (the pump's own range; it checks it again)."""
PRIME_REASONS = ("implant", "pump_replacement", "catheter_revision")
"""Why a line is primed: it holds spinal fluid after each (docs/protocol.md, BOLUS)."""

DEMAND_DURATION_RANGE = (1.0, 60.0)
"""Minutes one demand activation is delivered over (the pump's range)."""
DEMAND_LOCKOUT_RANGE = (15.0, 1440.0)
"""Minutes from one granted activation to the next (the pump's range)."""
DEMAND_MAX_PER_DAY_RANGE = (1, 24)
"""Granted activations in any 24 h (the pump's range)."""
DEMAND_LOCKOUT_WARN_MIN = 60.0
"""A lockout under an hour warns: minutes typed for hours (own choice, after the 2004 Class I recall)."""

BOLUS_SLIP_FACTORS = (*SLIP_FACTORS, 100.0)
"""A bolus about 10x, 100x or 1000x (or a tenth, a hundredth, a thousandth) of one of the same drug in the pump's log
looks like a slip (``BOLUS_PROBABLE_SLIP``): the write check's factors (``checks.SLIP_FACTORS``, within its
``SLIP_TOLERANCE``) and 100x, two decimal places, which a bolus typed by hand can take."""

VOLUME_EPSILON_ML = 1e-9
"""Below the pump's precision: a volume exactly at a limit is within it."""

PRIME_PUSH_NEGLIGIBLE_ML = 0.0005
"""Less drug than this in the line (mL, all concentrations together) is not checked as a bolus a prime pushes
(``PRIME_PUSHES_DRUG``): the smallest bolus a pump gives (docs/protocol.md ``MIN_BOLUS_ML``). A new pump whose
program ran for seconds between its first fill and the implant's prime holds far less at the reservoir end."""


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _check_range(field_name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if not (math.isfinite(value) and low <= value <= high):
        raise InputError([(field_name, f"{value!r} {unit} is outside {low:g} to {high:g} {unit}")])


def _check_dose(value: float, unit: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InputError([("dose", f"{value!r} {unit} is not a dose (a finite number above 0)")])


def _pump_drug(snapshot: PumpSnapshot, library: LoadedLibrary, report: CheckReport) -> tuple[Drug, DrugRule] | None:
    """The pump's drug and its library rule, or None with the error found (no drug; not in the library)."""
    drug = snapshot.active.drug
    if drug is None:
        report.error("PUMP_HAS_NO_DRUG", "the pump holds no drug: refill the pump with a drug first", "drug")
        return None
    rule = library.rule_for(drug.name)
    if rule is None or rule.dose_unit != drug.dose_unit:
        report.error("DRUG_NOT_IN_LIBRARY", f"the pump's drug {drug.name!r} in {drug.dose_unit} is not in the drug "
                     f"library {library.identity.name!r} version {library.identity.version}", "drug.name")
        return None
    return drug, rule


def _bolus_running(snapshot: PumpSnapshot, report: CheckReport) -> None:
    running = snapshot.status.bolus
    if running is not None:
        unit = snapshot.active.drug.dose_unit if snapshot.active.drug is not None else "dose units"
        report.error("BOLUS_RUNNING", f"a {running.kind} bolus ({running.bolus_id}) is still delivering "
                     f"({_fmt(running.delivered)} of {_fmt(running.dose)} {unit} given, "
                     f"{running.remaining_s / 60:.1f} min left): wait for it to end or cancel it first", "bolus")


def _line_contents(snapshot: PumpSnapshot, concentration: float) -> tuple[LineContent, ...]:
    """The line as the pump reports it; a pump that does not report it: its tubing full of its drug."""
    line = snapshot.status.line
    if line is not None:
        return line.contents
    return full_line(snapshot.limits.tubing_ml or 0.0, concentration)


def _reservoir_findings(snapshot: PumpSnapshot, needed_ml: float, what: str, report: CheckReport,
                        holds_ml: float | None = None) -> None:
    """BOLUS_EMPTIES_RESERVOIR (more than it holds) / BOLUS_BELOW_LOW_ALARM (it ends under the threshold).
    ``holds_ml``: what the reservoir holds then (a refill's volume added); default: now."""
    status = snapshot.status
    holds = status.volume_ml if holds_ml is None else holds_ml
    after = holds - needed_ml
    if after < -VOLUME_EPSILON_ML:
        report.error("BOLUS_EMPTIES_RESERVOIR", f"{what} need {needed_ml:.4g} mL, but the reservoir holds "
                     f"{holds:.4g} mL: it would run empty", "reservoir")
    elif after < status.low_alarm_ml - VOLUME_EPSILON_ML:
        report.warn("BOLUS_BELOW_LOW_ALARM", f"{what} need {needed_ml:.4g} mL, leaving {after:.4g} mL in the "
                    f"reservoir, under the low-alarm threshold of {status.low_alarm_ml:.4g} mL: refill soon",
                    "reservoir")


def _bolus_limits(dose: float, rule: DrugRule, unit: str, what: str, report: CheckReport) -> None:
    """The library's per-drug bolus limits on one dose (``what``: "bolus", or "demand dose" for an activation)."""
    bolus = what == "bolus"
    not_allowed = "BOLUS_NOT_ALLOWED" if bolus else "DEMAND_NOT_ALLOWED"
    above_hard = "BOLUS_ABOVE_HARD_MAX" if bolus else "DEMAND_ABOVE_HARD_MAX"
    above_soft = "BOLUS_ABOVE_SOFT_MAX" if bolus else "DEMAND_ABOVE_SOFT_MAX"
    limits = rule.bolus
    if limits.hard_max == 0:
        report.error(not_allowed, f"{rule.name} is never given as a bolus (the drug library's bolus maximum is 0 "
                     f"{unit}): no {what}", "dose")
    elif dose > limits.hard_max * (1 + 1e-9):
        report.error(above_hard, f"a {what} of {_fmt(dose)} {unit} is above the hard maximum of "
                     f"{_fmt(limits.hard_max)} {unit} for {rule.name}", "dose")
    elif dose > limits.soft_max * (1 + 1e-9):
        report.warn(above_soft, f"a {what} of {_fmt(dose)} {unit} is above the soft maximum of "
                    f"{_fmt(limits.soft_max)} {unit} for {rule.name}", "dose")


# --- the therapeutic bolus ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BolusReview(Review):
    """A therapeutic bolus checked against one snapshot. ``program`` and ``plan`` are the pump's, unchanged."""

    action: ClassVar[str] = "bolus"
    dose: float
    duration_min: float
    dose_unit: str | None
    concentration_per_ml: float | None
    recent_boluses: tuple[tuple[datetime, float, str], ...] = ()
    """The boluses the pump logged in the last 24 h (time on its clock, dose counted, kind): as delivered
    (``baseline.boluses_within``: a cancelled one at what it gave, a bridge 0, a prime at its logged dose)."""
    bolus_id: str | None = field(default=None, compare=False)

    @property
    def volume_ml(self) -> float:
        return 0.0 if not self.concentration_per_ml else self.dose / self.concentration_per_ml

    @property
    def dose_per_hour(self) -> float:
        return self.dose / self.duration_min * 60

    @property
    def ml_per_hour(self) -> float:
        return self.volume_ml / self.duration_min * 60

    @property
    def basal_24h_dose(self) -> float:
        """What the program delivers in the next 24 h (dose units), as programmed (the reservoir aside)."""
        plan = self.plan
        return 0.0 if plan is None else plan.pumped_ml(MINUTES_PER_DAY) * plan.program.drug.concentration_per_ml

    @property
    def recent_bolus_dose(self) -> float:
        """Boluses the pump logged in the last 24 h (dose units), as delivered (``recent_boluses``)."""
        return sum(dose for _, dose, _ in self.recent_boluses)

    @property
    def demand_24h_dose(self) -> float:
        """The most the patient's enabled demand dose can give in the next 24 h (dose x max_per_day; 0 when it is off
        or the pump has none)."""
        return self.snapshot.demand_daily_max

    @property
    def next_24h_dose(self) -> float:
        """The basal program over the next 24 h, this bolus, the boluses of the last 24 h and the demand dose's daily
        maximum (dose units)."""
        return self.basal_24h_dose + self.dose + self.recent_bolus_dose + self.demand_24h_dose

    @property
    def basal_ml_during(self) -> float:
        """What the program pumps while the bolus runs, mL."""
        return 0.0 if self.plan is None else self.plan.pumped_ml(self.duration_min)

    @property
    def plan_with_bolus(self) -> Transit | None:
        """The pump with the bolus on top of its program, for the preview (rate, reservoir, dose to the patient)."""
        if self.plan is None or self.concentration_per_ml is None:
            return None
        contents = _line_contents(self.snapshot, self.concentration_per_ml)
        return Transit(self.plan, contents, Bolus(self.volume_ml, self.duration_min))

    def with_id(self, bolus_id: str) -> "BolusReview":
        """The same review carrying the id its commit sends (the audit record keeps it)."""
        return replace(self, bolus_id=bolus_id)

    def audit_details(self) -> dict:
        return {"bolus": {"kind": "therapeutic", "bolus_id": self.bolus_id, "dose": self.dose,
                          "dose_unit": self.dose_unit, "duration_min": self.duration_min, "volume_ml": self.volume_ml,
                          "dose_per_hour": self.dose_per_hour, "next_24h_dose": self.next_24h_dose,
                          "recent_bolus_dose": self.recent_bolus_dose, "demand_24h_dose": self.demand_24h_dose}}


def review_bolus(snapshot: PumpSnapshot, dose: float, duration_min: float, library: LoadedLibrary,
                 override_reason: str | None = None) -> BolusReview:
    """Check a therapeutic bolus of ``dose`` (the pump's drug's dose units, the total) over ``duration_min``.

    Raises InputError for a dose that is not one or a duration outside ``BOLUS_MINUTES_RANGE`` (nothing checked)."""
    unit = snapshot.active.drug.dose_unit if snapshot.active.drug is not None else "dose units"
    _check_dose(dose, unit)
    _check_range("duration_min", duration_min, BOLUS_MINUTES_RANGE, "min")
    report = CheckReport(library.identity)
    plan = snapshot.forecast()
    found = _pump_drug(snapshot, library, report)
    recent: tuple[tuple[datetime, float, str], ...] = ()
    drug = snapshot.active.drug
    if found is not None:
        drug, rule = found
        if snapshot.recent_events is not None:
            recent = tuple(boluses_within(snapshot.recent_events, snapshot.status.pump_time, BASELINE_WINDOW,
                                          drug.dose_unit))
    review = BolusReview(snapshot, report, clean_override_reason(override_reason), snapshot.active.program, plan,
                         dose, duration_min, None if drug is None else drug.dose_unit,
                         None if drug is None else drug.concentration_per_ml, recent)
    if found is not None:
        _check_bolus(review, rule, report)
        if snapshot.recent_events is not None:
            _check_bolus_slip(review, bolus_doses_given(snapshot.recent_events, rule.dose_unit, rule.name), report)
    _bolus_running(snapshot, report)
    report.findings += pump_state_findings(snapshot)
    return review


def _check_bolus(review: BolusReview, rule: DrugRule, report: CheckReport) -> None:
    unit = rule.dose_unit
    dose = review.dose
    _bolus_limits(dose, rule, unit, "bolus", report)
    daily = 0.0 if review.plan is None else review.plan.mean_daily_dose
    if daily <= 0:
        report.warn("BOLUS_NO_PROGRAM_TO_COMPARE", f"the pump runs no program (it delivers 0 {unit}/day), so "
                    f"the bolus of {_fmt(dose)} {unit} could not be compared with a daily dose (a daily figure typed as "
                    "the bolus, a bolus large for the daily dose): check the dose against the patient's therapy", "dose")
    else:
        share = dose / daily
        if share >= BOLUS_DAILY_DOSE_FRACTION_ERROR * (1 - 1e-9):
            report.error("BOLUS_LOOKS_LIKE_DAILY_DOSE", f"a bolus of {_fmt(dose)} {unit} is {share:.3g}x the "
                         f"program's mean daily dose of {_fmt(daily)} {unit}/day: a daily figure typed as the bolus?",
                         "dose")
        elif share > BOLUS_DAILY_DOSE_FRACTION_WARN:
            report.warn("BOLUS_LARGE_FOR_DAILY_DOSE", f"a bolus of {_fmt(dose)} {unit} is {share * 100:.0f} % of "
                        f"the program's mean daily dose of {_fmt(daily)} {unit}/day, more than "
                        f"{BOLUS_DAILY_DOSE_FRACTION_WARN * 100:.0f} %", "dose")
    if review.duration_min >= LONG_BOLUS_MIN:
        hours = review.duration_min / 60
        report.warn("BOLUS_LONG_DURATION", f"a bolus of {_fmt(dose)} {unit} in total over {_fmt(hours)} h is "
                    f"{_fmt(review.dose_per_hour)} {unit} per hour; if {_fmt(dose)} {unit} was meant per hour, the "
                    f"total would be {_fmt(dose * hours)} {unit}", "duration_min")
    fastest = review.snapshot.limits.max_bolus_ml_per_hour
    if fastest is not None and review.ml_per_hour > fastest * (1 + 1e-9):
        report.error("BOLUS_RATE_ABOVE_PUMP_MAX", f"the bolus is {review.volume_ml:.4g} mL in "
                     f"{_fmt(review.duration_min)} min, {review.ml_per_hour:.4g} mL/h; the "
                     f"{review.snapshot.identity.model} gives a bolus at most at {_fmt(fastest)} mL/h", "duration_min")
    _reservoir_findings(review.snapshot, review.volume_ml + review.basal_ml_during,
                        f"the bolus ({review.volume_ml:.4g} mL) and the program while it runs", report)
    limits = rule.daily_dose
    total = review.next_24h_dose
    demand = (f", the demand dose up to {_fmt(review.demand_24h_dose)}" if review.demand_24h_dose > 0 else "")
    words = (f"the next 24 h would give {_fmt(total)} {unit} (the program {_fmt(review.basal_24h_dose)}, this bolus "
             f"{_fmt(dose)}, boluses of the last 24 h {_fmt(review.recent_bolus_dose)}{demand})")
    if total > limits.hard_max * (1 + 1e-9):
        report.error("DOSE_24H_ABOVE_HARD_MAX", f"{words}, above the hard daily maximum of {_fmt(limits.hard_max)} "
                     f"{unit}/day for {rule.name}", "dose")
    elif total > limits.soft_max * (1 + 1e-9):
        report.warn("DOSE_24H_ABOVE_SOFT_MAX", f"{words}, above the soft daily maximum of {_fmt(limits.soft_max)} "
                    f"{unit}/day for {rule.name}", "dose")


def _check_bolus_slip(review: BolusReview, given: list[tuple[datetime, float]], report: CheckReport) -> None:
    """BOLUS_PROBABLE_SLIP: the dose is about 10x, 100x or 1000x (or a tenth, ...) of a bolus of the same drug in the
    pump's log (``BOLUS_SLIP_FACTORS``): a decimal point or a mg/mcg mix-up. One warning, naming the newest such."""
    for time, logged in reversed(given):
        ratio = review.dose / logged if logged > 0 else 0.0
        if looks_like_slip(ratio, BOLUS_SLIP_FACTORS):
            unit = review.dose_unit or "dose units"
            report.warn("BOLUS_PROBABLE_SLIP", f"a bolus of {_fmt(review.dose)} {unit} is {ratio:.3g}x the bolus of "
                        f"{_fmt(logged)} {unit} the pump logged at {time:%Y-%m-%d %H:%M}: a misplaced decimal point "
                        "or a mg/mcg mix-up?", "dose")
            return


# --- the prime --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrimeReview(Review):
    """A priming bolus checked against one snapshot: its volume computed from the catheter and the pump's tubing."""

    action: ClassVar[str] = "prime"
    catheter_cm: float
    segments_cm: tuple[float, ...]
    reason: str
    tubing_ml: float
    ml_per_hour: float
    concentration_per_ml: float | None
    line_before: tuple[LineContent, ...] = ()
    """What the line holds before the prime, patient end first, as the pump reports it (its tubing full of its drug
    from a pump that does not report its line), with the new catheter's spinal fluid at the tip when the prime's volume
    is more than the line the pump knows (a catheter not yet recorded): the prime pushes all of it to the patient."""
    bolus_id: str | None = field(default=None, compare=False)

    @property
    def volume_ml(self) -> float:
        """Tubing and catheter: what the prime fills (never typed)."""
        return self.tubing_ml + self.catheter_cm * CATHETER_ML_PER_CM

    @property
    def pushed_dose(self) -> float:
        """The drug in the line before the prime (dose units): the prime pushes it to the patient (sum of volume x
        concentration over what the pump reports in its line; 0 when it holds only spinal fluid)."""
        return sum(part.volume_ml * part.concentration_per_ml for part in self.line_before
                   if part.concentration_per_ml > 0)

    @property
    def patient_words(self) -> str:
        """What reaches the patient during the prime, in words (never "none" while the line holds drug)."""
        unit = self.snapshot.active.drug.dose_unit if self.snapshot.active.drug is not None else "dose units"
        if self.pushed_dose > 0:
            return (f"{_fmt(self.pushed_dose)} {unit} of drug already in the line reach the patient during the prime's "
                    f"{self.duration_min:.4g} min; the program's first dose follows as soon as it ends")
        return ("the line holds no drug (spinal fluid only): none reaches the patient during the prime; the program's "
                "first dose reaches the patient as soon as it ends")

    @property
    def duration_min(self) -> float:
        return self.volume_ml / self.ml_per_hour * 60

    @property
    def dose(self) -> float:
        """The reservoir drug moved into the line (dose units): it reaches the patient after the prime, as the
        program runs. What reaches the patient during the prime is ``pushed_dose``."""
        return self.volume_ml * (self.concentration_per_ml or 0.0)

    @property
    def transit(self) -> Transit | None:
        """The prime and then the program, from the line as the pump reports it (``line_before``), for the preview."""
        if self.plan is None:
            return None
        return Transit(self.plan, self.line_before or full_line(self.volume_ml, 0.0),
                       Prime(self.volume_ml, self.ml_per_hour))

    def with_id(self, bolus_id: str) -> "PrimeReview":
        return replace(self, bolus_id=bolus_id)

    def audit_details(self) -> dict:
        return {"bolus": {"kind": "prime", "bolus_id": self.bolus_id, "reason": self.reason,
                          "catheter_cm": self.catheter_cm, "segments_cm": list(self.segments_cm),
                          "tubing_ml": self.tubing_ml, "volume_ml": self.volume_ml, "ml_per_hour": self.ml_per_hour,
                          "duration_min": self.duration_min, "dose": self.dose, "pushed_dose": self.pushed_dose}}


def review_prime(snapshot: PumpSnapshot, catheter_cm: float, reason: str, library: LoadedLibrary,
                 segments_cm: tuple[float, ...] = (), override_reason: str | None = None) -> PrimeReview:
    """Check a prime after ``reason`` (``PRIME_REASONS``) of a catheter ``catheter_cm`` long (``segments_cm``: its
    pieces after a revision). A length outside ``CATHETER_CM_RANGE`` is ``CATHETER_OUT_OF_RANGE``.

    Raises InputError for an unknown reason, segments that do not sum to the length, or a pump that does not declare
    its tubing volume (it cannot be primed from this programmer)."""
    if reason not in PRIME_REASONS:
        raise InputError([("reason", f"{reason!r} is not a reason to prime; it is one of: {', '.join(PRIME_REASONS)}")])
    if not math.isfinite(catheter_cm):
        raise InputError([("catheter_cm", f"{catheter_cm!r} cm is not a length")])
    tubing = snapshot.limits.tubing_ml
    if tubing is None:
        raise InputError([("tubing_ml", f"the {snapshot.identity.model} does not declare its tubing volume: it cannot "
                                        "be primed from this programmer")])
    report = CheckReport(library.identity)
    problem = catheter_problem(catheter_cm)
    if problem is not None:
        report.error("CATHETER_OUT_OF_RANGE", f"a catheter of {problem}: measure it again", "catheter_cm")
    else:
        check_catheter_cm(catheter_cm, segments_cm)
    drug = snapshot.active.drug
    rate = snapshot.limits.priming_ml_per_hour or PRIMING_ML_PER_HOUR
    volume = tubing + float(catheter_cm) * CATHETER_ML_PER_CM
    review = PrimeReview(snapshot, report, clean_override_reason(override_reason), snapshot.active.program,
                         snapshot.forecast(), float(catheter_cm), tuple(segments_cm), reason, tubing, rate,
                         None if drug is None else drug.concentration_per_ml,
                         _line_before_prime(snapshot, volume, 0.0 if drug is None else drug.concentration_per_ml))
    if drug is None:
        report.error("PUMP_HAS_NO_DRUG", "the pump holds no drug: refill the pump with a drug first", "drug")
    else:
        _check_prime_push(review, library, report)
        _reservoir_findings(snapshot, review.volume_ml, f"the prime ({review.volume_ml:.4g} mL)", report)
    _bolus_running(snapshot, report)
    report.findings += pump_state_findings(snapshot)
    return review


def _line_before_prime(snapshot: PumpSnapshot, volume_ml: float, concentration: float) -> tuple[LineContent, ...]:
    """``PrimeReview.line_before``: the pump's line (its tubing full of its drug when it does not report one), with
    spinal fluid at the tip for the part of the prime's volume beyond it (a new catheter the pump does not know)."""
    contents = tuple(part for part in _line_contents(snapshot, concentration) if part.volume_ml > 0)
    known = sum(part.volume_ml for part in contents)
    if volume_ml > known + VOLUME_EPSILON_ML:
        contents = (LineContent(volume_ml - known, 0.0), *contents)
    return contents


def _check_prime_push(review: PrimeReview, library: LoadedLibrary, report: CheckReport) -> None:
    """PRIME_PUSHES_DRUG_ABOVE_HARD_MAX / PRIME_PUSHES_DRUG: drug in the line (as the pump reports it) is pushed to
    the patient during the prime, at the priming rate: checked like a bolus of that dose against the library."""
    pushed = review.pushed_dose
    drug_ml = sum(part.volume_ml for part in review.line_before if part.concentration_per_ml > 0)
    if pushed <= 0 or drug_ml < PRIME_PUSH_NEGLIGIBLE_ML:
        return
    found = _pump_drug(review.snapshot, library, report)
    if found is None:
        return
    drug, rule = found
    unit = drug.dose_unit
    drug_parts = [part for part in review.line_before if part.concentration_per_ml > 0]
    held = ", ".join(f"{part.volume_ml:.4g} mL of {_fmt(part.concentration_per_ml)} {unit}/mL" for part in drug_parts)
    words = (f"the pump reports drug in the line ({held}): the prime pushes {_fmt(pushed)} {unit} to the patient in "
             f"{review.duration_min:.4g} min at {_fmt(review.ml_per_hour)} mL/h, like a bolus")
    limits = rule.bolus
    if limits.hard_max == 0 or pushed > limits.hard_max * (1 + 1e-9):
        limit = ("is never given as a bolus (the drug library's bolus maximum is 0)" if limits.hard_max == 0 else
                 f"has a bolus hard maximum of {_fmt(limits.hard_max)} {unit}")
        report.error("PRIME_PUSHES_DRUG_ABOVE_HARD_MAX", f"{words}; {rule.name} {limit}: do not prime a line that "
                     "holds drug (a prime is for a line opened at implant, pump replacement or catheter revision)",
                     "catheter_cm")
        return
    above_soft = (f", above the bolus soft maximum of {_fmt(limits.soft_max)} {unit}"
                  if pushed > limits.soft_max * (1 + 1e-9) else "")
    report.warn("PRIME_PUSHES_DRUG", f"{words}{above_soft}: prime only a line that was opened (implant, pump "
                "replacement, catheter revision); a line full of drug needs no prime", "catheter_cm")


# --- the bridge -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeReview(Review):
    """A bridge bolus checked against one snapshot (or a refill's new drug): the old drug in the line pushed out at
    its own mL rate so that the patient gets the programmed dose throughout."""

    action: ClassVar[str] = "bridge"
    volume_ml: float
    old_concentration_per_ml: float
    new_drug: Drug | None
    """The refill's new drug; None for a bridge of the pump's reported line."""
    contents: tuple[LineContent, ...]
    bolus_id: str | None = field(default=None, compare=False)

    @property
    def transit(self) -> Transit | None:
        """The patient's dose through the transition with the bridge (None when it cannot run)."""
        if self.plan is None or self.report.errors:
            return None
        return Transit(self.plan, self.contents, Bridge(self.volume_ml, self.old_concentration_per_ml))

    @property
    def transit_without(self) -> Transit | None:
        """The same without the bridge: the old drug pushed at the new mL rate."""
        return None if self.plan is None else Transit(self.plan, self.contents)

    @property
    def duration_min(self) -> float | None:
        """How long the bridge runs, min (None when it cannot run)."""
        transit = self.transit
        return None if transit is None else transit.flow_end_min

    @property
    def dose(self) -> float:
        """The old drug the bridge delivers to the patient (dose units)."""
        return self.volume_ml * self.old_concentration_per_ml

    def with_id(self, bolus_id: str) -> "BridgeReview":
        return replace(self, bolus_id=bolus_id)

    def audit_details(self) -> dict:
        return {"bolus": {"kind": "bridge", "bolus_id": self.bolus_id, "volume_ml": self.volume_ml,
                          "concentration_per_ml": self.old_concentration_per_ml, "duration_min": self.duration_min,
                          "dose": self.dose,
                          "new_drug": None if self.new_drug is None else self.new_drug.model_dump(mode="json")}}


def review_bridge(snapshot: PumpSnapshot, library: LoadedLibrary, new_drug: Drug | None = None,
                  override_reason: str | None = None, added_ml: float | None = None) -> BridgeReview:
    """Check a bridge of the line the pump reports (``new_drug`` None: the reservoir already holds the new
    concentration), or of a refill with ``new_drug`` (a new concentration of the pump's drug; ``added_ml`` the
    volume the refill puts in): then the whole line holds the old concentration.

    Raises InputError for a pump that does not report its line (no bridge can be computed for it)."""
    review = bridge_of(snapshot, library, new_drug, added_ml)
    review.report.findings += pump_state_findings(snapshot)
    return replace(review, override_reason=clean_override_reason(override_reason))


def bridge_of(snapshot: PumpSnapshot, library: LoadedLibrary, new_drug: Drug | None = None,
              added_ml: float | None = None) -> BridgeReview:
    """``review_bridge`` with the bridge's own findings only (not the pump's state): what a refill review that
    sends the bridge with the refill adds to its own findings (``programmer.refill``)."""
    report = CheckReport(library.identity)
    found = _pump_drug(snapshot, library, report)
    line = snapshot.status.line
    program = snapshot.active.program
    plan = snapshot.forecast()
    volume, old = 0.0, 0.0
    contents: tuple[LineContent, ...] = ()
    if found is not None and program is not None and line is not None:
        drug = found[0]
        if new_drug is not None:
            program = Program(format=program.format, drug=new_drug, therapy=program.therapy)
            volume_ml = snapshot.status.volume_ml if added_ml is None else added_ml
            reservoir = Reservoir(capacity_ml=snapshot.status.capacity_ml, volume_ml=volume_ml,
                                  low_alarm_ml=snapshot.status.low_alarm_ml)
            plan = Plan(program, reservoir, snapshot.status.pump_time, snapshot.status.cycle_phase_min)
        contents = line.contents
        new_concentration = program.drug.concentration_per_ml
        others = [part for part in contents if part.concentration_per_ml != new_concentration]
        volume = sum(part.volume_ml for part in others)
        kinds = {part.concentration_per_ml for part in others}
        if line.catheter_cm is None:
            report.error("CATHETER_NOT_RECORDED", "the pump has no catheter length recorded, so the old drug in the "
                         "catheter cannot be counted: record the catheter with a prime", "catheter_cm")
        elif volume <= VOLUME_EPSILON_ML:
            report.error("NOTHING_TO_BRIDGE", f"the line ({line.volume_ml:.4g} mL) holds only "
                         f"{_fmt(new_concentration)} {drug.dose_unit}/mL already: nothing to bridge", "bridge")
        elif 0.0 in kinds or len(kinds) > 1:
            held = ", ".join(f"{_fmt(c)} {drug.dose_unit}/mL" if c else "spinal fluid" for c in sorted(kinds))
            pushed = sum(part.volume_ml * part.concentration_per_ml for part in contents)
            rate = snapshot.limits.priming_ml_per_hour or PRIMING_ML_PER_HOUR
            push = (f" (a prime pushes the {_fmt(pushed)} {drug.dose_unit} of drug in the line to the patient in "
                    f"{line.volume_ml / rate * 60:.4g} min at {_fmt(rate)} mL/h: its review checks that dose like a "
                    "bolus)" if pushed > 0 else "")
            report.error("LINE_NEEDS_PRIME", f"the line holds {held} besides the reservoir's drug: a bridge pushes "
                         f"out one other concentration; prime the line instead{push}", "bridge")
        else:
            old = kinds.pop()
            _check_bridge_delivery(snapshot, plan, old, drug, report)
            if not report.errors:
                _reservoir_findings(snapshot, volume, f"the bridge ({volume:.4g} mL)", report, added_ml)
    elif found is not None and line is None:
        raise InputError([("line", f"the {snapshot.identity.model} does not report its tubing and catheter: no bridge "
                                   "can be computed for it")])
    elif found is not None:
        report.error("BRIDGE_NEEDS_DELIVERY", "the pump runs no program: nothing moves the line", "bridge")
    _bolus_running(snapshot, report)
    return BridgeReview(snapshot, report, None, program, plan, volume, old, new_drug, contents)


def _check_bridge_delivery(snapshot: PumpSnapshot, plan: Plan | None, old: float, drug: Drug,
                           report: CheckReport) -> None:
    """BRIDGE_NEEDS_DELIVERY when the therapy is stopped; FLOW_ABOVE_PUMP_MAX when the highest step at the old
    concentration needs more than the pump's flow range."""
    if plan is None or plan.cycle_ml <= 0:
        report.error("BRIDGE_NEEDS_DELIVERY", "the therapy is stopped: nothing moves the line, so a bridge cannot "
                     "run (start the program first)", "bridge")
        return
    highest = max(segment.dose_per_hour for segment in plan.segments) * 24 / old
    limits = snapshot.limits
    if highest > limits.max_rate_ml_per_day * (1 + 1e-9):
        report.error("FLOW_ABOVE_PUMP_MAX", f"the bridge runs the highest step at {_fmt(old)} {drug.dose_unit}/mL: "
                     f"{_fmt(highest)} mL/day, above the {limits.model} maximum of "
                     f"{_fmt(limits.max_rate_ml_per_day)} mL/day", "bridge")


# --- the demand dose --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandReview(Review):
    """A patient's demand dose checked against one snapshot (``demand.enabled`` False: switching it off)."""

    action: ClassVar[str] = "demand"
    demand: DemandDose
    dose_unit: str | None
    concentration_per_ml: float | None
    recent_boluses: tuple[tuple[datetime, float, str], ...] = ()
    """The boluses the pump logged in the last 24 h, as delivered (``BolusReview.recent_boluses``)."""

    @property
    def recent_bolus_dose(self) -> float:
        """Boluses the pump logged in the last 24 h (dose units), as delivered."""
        return sum(dose for _, dose, _ in self.recent_boluses)

    @property
    def basal_daily_dose(self) -> float:
        """The program's largest day (dose units/day)."""
        return 0.0 if self.plan is None else max(self.plan.daily_doses)

    @property
    def max_demand_daily_dose(self) -> float:
        """Every allowed activation of a day (dose units/day)."""
        return self.demand.dose * self.demand.max_per_day if self.demand.enabled else 0.0

    @property
    def max_daily_dose(self) -> float:
        """The most a patient can get in a day: the program's largest day, every allowed activation and the boluses
        of the last 24 h (the demand's own activations among them: counted twice rather than left out)."""
        return self.basal_daily_dose + self.max_demand_daily_dose + self.recent_bolus_dose

    @property
    def volume_ml(self) -> float:
        """One activation, mL."""
        return 0.0 if not self.concentration_per_ml else self.demand.dose / self.concentration_per_ml

    @property
    def low_alarm_at(self) -> datetime | None:
        """When the reservoir reaches the low alarm on the program alone."""
        return None if self.plan is None else self.plan.low_alarm_at

    @property
    def low_alarm_at_full_use(self) -> datetime | None:
        """When it does if the patient takes every allowed activation every day."""
        plan = self.plan
        if plan is None or not self.demand.enabled or not self.concentration_per_ml:
            return self.low_alarm_at
        goal = plan.reservoir.volume_ml - plan.reservoir.low_alarm_ml
        extra_per_min = self.volume_ml * self.demand.max_per_day / MINUTES_PER_DAY
        if goal <= 0:
            return plan.start
        bound = goal / extra_per_min
        if plan.minutes_to_low_alarm is not None:
            bound = min(bound, plan.minutes_to_low_alarm)
        minutes = Transit(plan, (), Bolus(extra_per_min * bound, bound)).minutes_until_pumped(goal)
        return None if minutes is None else plan.start + timedelta(minutes=minutes)

    def audit_details(self) -> dict:
        demand = self.demand
        return {"demand": {"enabled": demand.enabled, "dose": demand.dose, "dose_unit": self.dose_unit,
                           "duration_min": demand.duration_min, "lockout_min": demand.lockout_min,
                           "max_per_day": demand.max_per_day, "max_daily_dose": self.max_daily_dose,
                           "recent_bolus_dose": self.recent_bolus_dose}}


def review_demand(snapshot: PumpSnapshot, demand: DemandDose, library: LoadedLibrary,
                  override_reason: str | None = None) -> DemandReview:
    """Check a demand dose before it is set; off is always allowed (no findings).

    Raises InputError for a value outside the pump's ranges (``DEMAND_*_RANGE``), naming the field."""
    drug = snapshot.active.drug
    unit = "dose units" if drug is None else drug.dose_unit
    report = CheckReport(library.identity)
    plan = snapshot.forecast()
    recent: tuple[tuple[datetime, float, str], ...] = ()
    if drug is not None and snapshot.recent_events is not None:
        recent = tuple(boluses_within(snapshot.recent_events, snapshot.status.pump_time, BASELINE_WINDOW,
                                      drug.dose_unit))
    review = DemandReview(snapshot, report, clean_override_reason(override_reason), snapshot.active.program, plan,
                          demand, None if drug is None else drug.dose_unit,
                          None if drug is None else drug.concentration_per_ml, recent)
    if not demand.enabled:
        return review
    _check_dose(demand.dose, unit)
    _check_range("duration_min", demand.duration_min, DEMAND_DURATION_RANGE, "min")
    _check_range("lockout_min", demand.lockout_min, DEMAND_LOCKOUT_RANGE, "min")
    low, high = DEMAND_MAX_PER_DAY_RANGE
    if not low <= demand.max_per_day <= high:
        raise InputError([("max_per_day", f"{demand.max_per_day!r} activations is outside {low} to {high} a day")])
    found = _pump_drug(snapshot, library, report)
    if found is not None:
        _check_demand(review, found[1], report)
    report.findings += pump_state_findings(snapshot)
    return review


def _check_demand(review: DemandReview, rule: DrugRule, report: CheckReport) -> None:
    demand, unit = review.demand, rule.dose_unit
    _bolus_limits(demand.dose, rule, unit, "demand dose", report)
    if rule.bolus.hard_max == 0:
        return
    limits = rule.daily_dose
    recent = (f", with the boluses of the last 24 h ({_fmt(review.recent_bolus_dose)} {unit})"
              if review.recent_bolus_dose > 0 else "")
    words = (f"the program ({_fmt(review.basal_daily_dose)} {unit}/day) and {demand.max_per_day} activations of "
             f"{_fmt(demand.dose)} {unit}{recent} give up to {_fmt(review.max_daily_dose)} {unit}/day")
    if review.max_daily_dose > limits.hard_max * (1 + 1e-9):
        report.error("DEMAND_DAILY_ABOVE_HARD_MAX", f"{words}, above the hard daily maximum of "
                     f"{_fmt(limits.hard_max)} {unit}/day for {rule.name}", "max_per_day")
    elif review.max_daily_dose > limits.soft_max * (1 + 1e-9):
        report.warn("DEMAND_DAILY_ABOVE_SOFT_MAX", f"{words}, above the soft daily maximum of "
                    f"{_fmt(limits.soft_max)} {unit}/day for {rule.name}", "max_per_day")
    if demand.lockout_min < DEMAND_LOCKOUT_WARN_MIN:
        report.warn("DEMAND_LOCKOUT_SHORT", f"a lockout of {_fmt(demand.lockout_min)} min is under "
                    f"{_fmt(DEMAND_LOCKOUT_WARN_MIN)} min: were hours meant?", "lockout_min")
    if demand.lockout_min * demand.max_per_day > MINUTES_PER_DAY:
        reachable = math.ceil(MINUTES_PER_DAY / demand.lockout_min)
        report.warn("DEMAND_LOCKOUT_EXCEEDS_DAY", f"a daily maximum of {demand.max_per_day} activations "
                    f"{_fmt(demand.lockout_min)} min apart takes {_fmt(demand.lockout_min * demand.max_per_day / 60)} "
                    f"h, more than a day: at most about {reachable} fit in 24 h", "lockout_min")
    fastest = review.snapshot.limits.max_bolus_ml_per_hour
    rate = review.volume_ml / demand.duration_min * 60
    if fastest is not None and rate > fastest * (1 + 1e-9):
        report.error("BOLUS_RATE_ABOVE_PUMP_MAX", f"one activation is {review.volume_ml:.4g} mL in "
                     f"{_fmt(demand.duration_min)} min, {rate:.4g} mL/h; the {review.snapshot.identity.model} gives a "
                     f"bolus at most at {_fmt(fastest)} mL/h", "duration_min")

