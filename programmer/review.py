"""The review of a write, and what every change's review shares: pure, no I/O, shared by the CLI and the GUI.

A change goes: interrogate (a ``PumpSnapshot``) -> review (checks against the pump's current program and the
pump's own declared limits) -> decision (refuse / needs an override reason / proceed) -> commit
(``programmer.commit``) -> outcome, as read back from the pump. The review sends nothing, so the GUI can
show it before anything is sent, and tests can hand-compute it.

The refill's own steps and their review are in ``programmer.refill``.

Two findings come from the pump's state rather than the program, in write and refill reviews alike:
``PUMP_NOT_DELIVERING`` (warning) while a critical alarm stops delivery (EOS, motor stall, an empty
reservoir; at a refill that adds drug the empty reservoir is what the refill resolves, so it does not
count there): the program will not run until the cause is resolved, and the dates shown assume it does.
``CLOCK_DRIFT`` (warning) when the pump's clock is more than ``CLOCK_DRIFT_LIMIT_S`` from this computer's:
flex steps start by the pump's clock and every date shown is on it, so the clock is set first. A write
review also warns ``LINE_HOLDS_OLD_CONCENTRATION`` when the pump's line holds another concentration of the drug
(a refill of a stopped pump without its bridge, a bridge cancelled) and the new program delivers: the old drug
reaches the patient at the new mL rate until it has left the catheter, so the bridge is given right after. A write
review also compares the new daily dose with the one that ran 24 h ago on the pump's clock
(``CHANGE_24H_ABOVE_*``, from the event log the interrogation read), and, when the pump runs nothing, learns
from that log how it came to stop, so that a first program is never written unchecked: it needs what the
clinician says the patient had before (``PriorTherapy``, ``programmer.checks``, first programs), which the
audit record keeps (``prior_therapy``). A stop, or a drop beyond the hard change limit, needs the clinical
context as well as a reason (``programmer.overrides``); the audit record keeps it (``clinical_context``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from programmer.checks import NO_ANSWER, CheckReport, Finding, PriorTherapy, check_program
from programmer.clock import duration, iso
from programmer.dead_volume import old_drug_in_line
from programmer.errors import InputError
from programmer.library import LoadedLibrary
from programmer.overrides import ClinicalContext, clean_reason
from programmer.planner import Plan
from programmer.program import Drug, Program
from programmer.snapshot import CLOCK_DRIFT_LIMIT_S, STOPPING_ALARMS, PumpSnapshot


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

    def audit_library(self) -> dict | None:
        """The audit record's ``library``: the drug library the review was checked against (None: none was)."""
        return self.report.library.model_dump()


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
    if not refusals:
        _check_line(snapshot, plan, report)
    report.findings += pump_state_findings(snapshot)
    return WriteReview(snapshot, report, clean_override_reason(override_reason), program, plan, current_plan, prior)


def _check_line(snapshot: PumpSnapshot, plan: Plan, report: CheckReport) -> None:
    """LINE_HOLDS_OLD_CONCENTRATION: the pump reports old drug in its line (a concentration other than the
    reservoir's, after a refill without its bridge or a bridge cancelled) and the new program delivers: the program
    pushes the old drug to the patient at the reservoir drug's mL rate, so at the wrong dose until it has left the
    catheter (``programmer.dead_volume.old_drug_in_line``). The bridge, given right after the write, fixes it."""
    line = snapshot.status.line
    if line is None or plan.cycle_ml <= 0:
        return
    drug = plan.program.drug
    old = old_drug_in_line(plan, line.contents, drug.concentration_per_ml)
    if old is None or old.peak_dose_per_hour is None or old.program_dose_per_hour is None:
        return
    unit = drug.dose_unit
    held = ", ".join(f"{concentration:g} {unit}/mL" for concentration in old.concentrations)
    until = ("until the reservoir runs out" if old.flushed_min is None else
             f"for {duration(old.flushed_min * 60)} until it has left the catheter")
    report.warn("LINE_HOLDS_OLD_CONCENTRATION", f"the pump's line holds {old.volume_ml:.4g} mL of the old {held} "
                f"drug ({old.dose:.4g} {unit}) and this program pushes it at the mL rate of the reservoir's "
                f"{drug.concentration_per_ml:g} {unit}/mL: the patient gets up to {old.peak_dose_per_hour:.4g} {unit}/h instead of the "
                f"program's {old.program_dose_per_hour:.4g} {unit}/h {until}. Give the bridge bolus right after this "
                "write (pump-programmer bridge): it pushes the old drug out at its own mL rate", "line")


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
    if not same_substance(asked, held):
        return [Finding("DRUG_DIFFERS_FROM_PUMP", "error", f"drug {asked.name!r} in {asked.dose_unit} differs from "
                        f"the pump's {held.name!r} in {held.dose_unit}: a new drug is a refill, not a write", "drug.name")]
    if asked.concentration_per_ml != held.concentration_per_ml:
        return [Finding("CONCENTRATION_DIFFERS_FROM_PUMP", "error", f"drug.concentration_per_ml "
                        f"{asked.concentration_per_ml:g} {asked.dose_unit}/mL differs from the pump's "
                        f"{held.concentration_per_ml:g} {held.dose_unit}/mL: a new concentration is a refill, "
                        "not a write", "drug.concentration_per_ml")]
    return []


def same_substance(a: Drug, b: Drug) -> bool:
    """The same drug in the same dose unit, whatever the concentration."""
    return (a.name, a.dose_unit) == (b.name, b.dose_unit)
