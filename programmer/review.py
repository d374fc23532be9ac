"""The review of a write or a refill: pure, no I/O, shared by the command line and the GUI.

A change goes: interrogate (a ``PumpSnapshot``) -> review (checks against the pump's current program and the
pump's own declared limits) -> decision (refuse / needs an override reason / proceed) -> commit
(``programmer.commit``) -> outcome, as read back from the pump. The review sends nothing, so the GUI can
show it before anything is sent, and tests can hand-compute it.

Refill tolerance (documented here, used by ``review_refill``): the volume withdrawn at a refill is compared
with the pump's calculated volume. A difference of more than ``max(0.5 mL, 10 % of the calculated volume)``
is a warning that refuses unless overridden with a reason. Less than calculated suggests over-infusion or a
pocket fill at the previous refill; more suggests under-infusion (a stalled or blocked pump). 0.5 mL is about
what a syringe withdrawal through the septum can miss; 10 % scales it for full reservoirs. These are this
programmer's own choices, not a manufacturer's figures.

Two findings come from the pump's state rather than the program, in write and refill reviews alike:
``PUMP_NOT_DELIVERING`` (warning) while a critical alarm stops delivery (EOS, motor stall, an empty
reservoir; at a refill that adds drug the empty reservoir is what the refill resolves, so it does not
count there): the program will not run until the cause is resolved, and the dates shown assume it does.
``CLOCK_DRIFT`` (warning) when the pump's clock is more than ``CLOCK_DRIFT_LIMIT_S`` from this computer's:
flex steps start by the pump's clock and every date shown is on it, so the clock is set first. A write
review also compares the new daily dose with the one that ran 24 h ago on the pump's clock
(``CHANGE_24H_ABOVE_*``, from the event log the interrogation read), and, when the pump runs nothing, learns
from that log how it came to stop, so that a first program is never written unchecked: it needs what the
clinician says the patient had before (``PriorTherapy``, ``programmer.checks``, first programs), which the
audit record keeps (``prior_therapy``). A stop, or a drop beyond the hard change limit, needs the clinical
context as well as a reason (``programmer.overrides``); the audit record keeps it (``clinical_context``).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import ClassVar

from programmer.checks import NO_ANSWER, CheckReport, Finding, PriorTherapy, check_program
from programmer.clock import duration, iso
from programmer.errors import InputError
from programmer.library import LoadedLibrary
from programmer.overrides import ClinicalContext, clean_reason
from programmer.planner import Plan
from programmer.port import ActiveProgram
from programmer.program import FORMAT, Drug, Program, Stopped
from programmer.pump import Reservoir
from programmer.snapshot import CLOCK_DRIFT_LIMIT_S, STOPPING_ALARMS, PumpSnapshot

REFILL_TOLERANCE_MIN_ML = 0.5
REFILL_TOLERANCE_FRACTION = 0.10


class Decision(enum.Enum):
    REFUSE = "refused"                # an error finding: no override exists
    NEEDS_OVERRIDE = "needs_override"  # warnings, and no reason was given to override them
    PROCEED = "proceed"



def clean_clinician(name: str | None) -> str:
    """The clinician's name as recorded; every write and refill needs one."""
    if name is None or not name.strip():
        raise InputError([("clinician", "the clinician's name is required (it is recorded in the audit log)")])
    return name.strip()


def clean_override_reason(reason: str | None) -> str | None:
    """An override reason as recorded; one that says nothing ("", "x", "..........") is an error naming the rule
    (``programmer.overrides.reason_problem``)."""
    return clean_reason(reason, "override_reason")


def decide(report: CheckReport, override_reason: str | None) -> Decision:
    if report.errors:
        return Decision.REFUSE
    if report.warnings and override_reason is None:
        return Decision.NEEDS_OVERRIDE
    return Decision.PROCEED


@dataclass(frozen=True)
class Review:
    """A proposed change checked against one snapshot of the pump. Pure data: nothing has been sent."""

    action: ClassVar[str]
    snapshot: PumpSnapshot
    report: CheckReport
    override_reason: str | None
    program: Program | None
    """The program the pump should run afterwards (None when none can be built)."""
    plan: Plan | None
    """The projection of ``program`` from the pump's clock and the reservoir after the change."""

    @property
    def decision(self) -> Decision:
        return decide(self.report, self.override_reason)

    def audit_details(self) -> dict:
        return {}


@dataclass(frozen=True)
class WriteReview(Review):
    action: ClassVar[str] = "write"
    program: Program  # a write always has a program and its plan (the fields keep their places)
    plan: Plan
    current_plan: Plan | None
    """The pump's current program projected the same way, for a side-by-side view."""
    prior: PriorTherapy = NO_ANSWER
    """What the clinician said the patient had before (asked when the pump has no program to compare with)."""

    def audit_details(self) -> dict:
        return {"program": self.program.model_dump(mode="json"), "prior_therapy": self.prior_therapy(),
                "clinical_context": self.clinical_context()}

    def clinical_context(self) -> dict:
        """Whether the change needed a clinical context, why, and the one stated: the audit key ``clinical_context``
        and ``write --json``'s (docs/cli.md)."""
        report, stated = self.report, self.report.clinical_context
        return {
            "needed": bool(report.context_needed),
            "why": "; ".join(report.context_needed) or None,
            "key": None if stated is None else stated.key,
            "label": None if stated is None else stated.label,
        }

    def prior_therapy(self) -> dict:
        """The first-program answer and what the new dose was compared with: the audit key ``prior_therapy`` and
        ``write --json``'s (docs/cli.md)."""
        report = self.report
        return {
            "answer_needed": report.answer_needed is not None,
            "why": report.answer_needed,
            "previous_daily_dose": self.prior.previous_daily_dose,
            "new_to_itb": self.prior.new_to_itb,
            "dose_unit": self.program.drug.dose_unit,
            "compared_with": list(report.compared_with),
        }


@dataclass(frozen=True)
class RefillRequest:
    withdrawn_ml: float
    added_ml: float
    drug: Drug | None = None
    """A new drug or concentration; None keeps the drug the pump holds."""

    def __post_init__(self) -> None:
        problems = [(name, f"{value!r} mL is not a volume (a finite number, 0 or more)")
                    for name, value in (("withdrawn_ml", self.withdrawn_ml), ("added_ml", self.added_ml))
                    if not (math.isfinite(value) and value >= 0)]
        if problems:
            raise InputError(problems)


@dataclass(frozen=True)
class RefillReview(Review):
    action: ClassVar[str] = "refill"
    request: RefillRequest
    new_drug: Drug | None
    """The drug sent with the refill: None when the pump's drug stays (the request named none, or the same)."""
    calculated_ml: float
    discrepancy_ml: float
    """Withdrawn minus the pump's calculated volume: negative means less came out than the pump expected."""
    tolerance_ml: float

    def audit_details(self) -> dict:
        return {"refill": {
            "withdrawn_ml": self.request.withdrawn_ml,
            "added_ml": self.request.added_ml,
            "calculated_ml": self.calculated_ml,
            "discrepancy_ml": self.discrepancy_ml,
            "tolerance_ml": self.tolerance_ml,
            "new_drug": None if self.new_drug is None else self.new_drug.model_dump(mode="json"),
        }}




def review_write(snapshot: PumpSnapshot, program: Program, library: LoadedLibrary,
                 override_reason: str | None = None, prior: PriorTherapy = NO_ANSWER,
                 context: ClinicalContext | None = None) -> WriteReview:
    """Check a program before it is written: the drug must be the pump's, then every dose-error check, against
    the pump's program, its event log and, when it runs nothing to compare with, what the clinician said the
    patient had before (``prior``; ``programmer.checks``, first programs); ``context``: the clinical context
    stated for a stop or a large drop."""
    pump_drug = snapshot.active.drug
    refusals = _drug_refusals(program.drug, pump_drug)
    plan = Plan(program, snapshot.reservoir, snapshot.status.pump_time)
    current_plan = None if refusals else snapshot.forecast()
    if refusals:
        report = check_program(plan, library, snapshot.limits, prior=prior, context=context)
    else:
        report = check_program(plan, library, snapshot.limits, snapshot.active.program, snapshot.dose_24h_ago(),
                               stop=snapshot.stop(), prior=prior, last_increase=snapshot.last_increase(),
                               context=context)
    report.findings[:0] = refusals
    report.findings += pump_state_findings(snapshot)
    return WriteReview(snapshot, report, clean_override_reason(override_reason), program, plan, current_plan, prior)


def pump_state_findings(snapshot: PumpSnapshot, refill_added_ml: float = 0.0) -> list[Finding]:
    """PUMP_NOT_DELIVERING and CLOCK_DRIFT (module docstring): what the pump's state means for any change.
    ``refill_added_ml`` > 0: the review is of a refill adding drug, which resolves an empty reservoir."""
    findings = []
    stopped_by = stopping_alarms(snapshot, refill_added_ml)
    if stopped_by:
        alarms = ", ".join(stopped_by)
        reasons = "; ".join(STOPPING_ALARMS[code] for code in stopped_by)
        findings.append(Finding("PUMP_NOT_DELIVERING", "warning", f"the pump is not delivering (critical alarm "
                                f"{alarms}: {reasons}): the program will not run until that is resolved, and the "
                                "reservoir dates shown assume it delivers from now", "alarms"))
    if snapshot.clock_drifts:
        drift = snapshot.drift_s
        side = "ahead of" if drift > 0 else "behind"
        findings.append(Finding("CLOCK_DRIFT", "warning", f"the pump clock is {duration(abs(drift))} {side} this "
                                f"computer's (pump {iso(snapshot.status.pump_time)}, this computer "
                                f"{iso(snapshot.computer_time)}), more than {CLOCK_DRIFT_LIMIT_S // 60} min: flex "
                                "steps start by the pump's clock and every date shown is on it. Set the pump clock to "
                                "this computer's time first, then interrogate again", "clock"))
    return findings


def stopping_alarms(snapshot: PumpSnapshot, refill_added_ml: float = 0.0) -> list[str]:
    """The alarms that keep the pump from delivering after the change (a refill adding drug ends
    ``reservoir_empty``)."""
    return [code for code in snapshot.stopped_by if not (code == "reservoir_empty" and refill_added_ml > 0)]


def _drug_refusals(asked: Drug, held: Drug | None) -> list[Finding]:
    """A write never changes the drug or its concentration: that happens at a refill, with the syringe."""
    if held is None:
        return [Finding("PUMP_HAS_NO_DRUG", "error", "the pump holds no drug: refill the pump with a drug first",
                        "drug")]
    if not _same_substance(asked, held):
        return [Finding("DRUG_DIFFERS_FROM_PUMP", "error", f"drug {asked.name!r} in {asked.dose_unit} differs from "
                        f"the pump's {held.name!r} in {held.dose_unit}: a new drug is a refill, not a write", "drug.name")]
    if asked.concentration_per_ml != held.concentration_per_ml:
        return [Finding("CONCENTRATION_DIFFERS_FROM_PUMP", "error", f"drug.concentration_per_ml "
                        f"{asked.concentration_per_ml:g} {asked.dose_unit}/mL differs from the pump's "
                        f"{held.concentration_per_ml:g} {held.dose_unit}/mL: a new concentration is a refill, "
                        "not a write", "drug.concentration_per_ml")]
    return []


def refill_tolerance_ml(calculated_ml: float) -> float:
    """The largest withdrawn-vs-calculated difference accepted without an override (see module docstring)."""
    return max(REFILL_TOLERANCE_MIN_ML, REFILL_TOLERANCE_FRACTION * calculated_ml)


def review_refill(snapshot: PumpSnapshot, request: RefillRequest, library: LoadedLibrary,
                  override_reason: str | None = None) -> RefillReview:
    """Check a refill: volumes against the reservoir and the pump's calculation, the drug against the library."""
    status, active = snapshot.status, snapshot.active
    new_drug = _drug_to_send(request.drug, active.drug, library)
    keeps_therapy = active.drug is not None and (new_drug is None or _same_substance(new_drug, active.drug))
    calculated = status.volume_ml
    discrepancy = request.withdrawn_ml - calculated
    tolerance = refill_tolerance_ml(calculated)

    findings: list[Finding] = []
    if request.added_ml > status.capacity_ml:
        findings.append(Finding("ADDED_ABOVE_CAPACITY", "error", f"added_ml {request.added_ml:g} mL is more than the "
                                f"{snapshot.identity.model} reservoir capacity of {status.capacity_ml:g} mL", "added_ml"))
    if request.withdrawn_ml > status.capacity_ml:
        findings.append(Finding("WITHDRAWN_ABOVE_CAPACITY", "error", f"withdrawn_ml {request.withdrawn_ml:g} mL is "
                                f"more than the reservoir can hold ({status.capacity_ml:g} mL)", "withdrawn_ml"))
    elif abs(discrepancy) > tolerance + 1e-9:
        meaning = ("less than calculated: over-infusion, or a pocket fill at the previous refill" if discrepancy < 0
                   else "more than calculated: under-infusion (a stalled or blocked pump)")
        findings.append(Finding("REFILL_DISCREPANCY", "warning", f"withdrawn_ml {request.withdrawn_ml:g} mL differs from "
                                f"the pump's calculated {calculated:.4g} mL by {discrepancy:+.3g} mL, beyond the "
                                f"tolerance of {tolerance:.3g} mL ({meaning}); investigate before refilling",
                                "withdrawn_ml"))
    if active.drug is None and new_drug is None:
        findings.append(Finding("PUMP_HAS_NO_DRUG", "error", "the pump holds no drug: name the drug, its dose unit "
                                "and its concentration being filled", "drug"))
    if new_drug is not None and not keeps_therapy and active.program is not None:
        old_plan = snapshot.forecast()
        assert old_plan is not None, "the pump runs a program: forecast() projects it"
        old_drug = old_plan.program.drug  # the pump's drug (active.drug)
        if old_plan.mean_daily_dose > 0:
            findings.append(Finding("THERAPY_STOPS_FOR_NEW_DRUG", "warning", f"a new drug stops delivery (now "
                                    f"{old_plan.mean_daily_dose:.4g} {old_drug.dose_unit}/day of {old_drug.name}) "
                                    "until a program for it is written: abrupt withdrawal can be life-threatening",
                                    "drug.name"))

    program = _program_after_refill(active, new_drug, keeps_therapy)
    plan = None
    if program is not None and request.added_ml <= status.capacity_ml:
        reservoir = Reservoir(capacity_ml=status.capacity_ml, volume_ml=request.added_ml,
                              low_alarm_ml=status.low_alarm_ml)
        plan = Plan(program, reservoir, status.pump_time, status.cycle_phase_min)
        report = check_program(plan, library, snapshot.limits, active.program if keeps_therapy else None)
    else:
        report = CheckReport(library.identity)
    report.findings[:0] = findings
    report.findings += pump_state_findings(snapshot, request.added_ml)
    return RefillReview(snapshot, report, clean_override_reason(override_reason), program, plan, request, new_drug,
                        calculated, discrepancy, tolerance)


def _same_substance(a: Drug, b: Drug) -> bool:
    return (a.name, a.dose_unit) == (b.name, b.dose_unit)


def _drug_to_send(asked: Drug | None, held: Drug | None, library: LoadedLibrary) -> Drug | None:
    """The drug to send with a refill, spelled as the library spells it (so 'Baclofen' is not a new drug);
    None when it is exactly the drug the pump already holds."""
    if asked is None:
        return None
    rule = library.rule_for(asked.name)
    if rule is not None:
        asked = asked.model_copy(update={"name": rule.name})
    return None if asked == held else asked


def _program_after_refill(active: ActiveProgram, new_drug: Drug | None, keeps_therapy: bool) -> Program | None:
    """What the pump runs after the refill (the pump's rule, docs/protocol.md): the same program; the same
    therapy in dose units at a new concentration; or stopped for a new drug, never the old numbers."""
    if new_drug is None:
        return active.program
    if keeps_therapy:
        assert active.program is not None, "keeps_therapy: the pump holds a drug, so it runs a program"
        therapy = active.program.therapy
    else:
        therapy = Stopped(mode="stopped")
    return Program(format=FORMAT, drug=new_drug, therapy=therapy)
