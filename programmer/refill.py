"""The bedside refill as one staged workflow, pure (no I/O), shared by the command line and the GUI wizard.

A refill is done in steps at the bedside, and each step can go wrong in a way that hurts: the needle may not
be in the reservoir (drug injected then goes into the pocket under the skin, a pocket fill), the syringe may
hold another concentration than the pump, a full reservoir may be topped up beyond what it holds. So the
programmer checks each step before the next one is done, in the order they happen:

1. Expectation (``expect``): the volume the pump calculated, to expect back, and ``REFILL_GUIDANCE``, the
   needle-placement and pocket-fill guidance both front ends show word for word.
2. Withdrawal (``check_withdrawal``), checked before anything is injected. Tolerance: a difference of more than
   ``max(0.5 mL, 10 % of the calculated volume)`` between the volume withdrawn and the calculated one stops the
   refill (``REFILL_DISCREPANCY``) with what it may mean and what to do; going on needs a reason for the
   discrepancy, which the audit record keeps. 0.5 mL is about what a withdrawal through the septum can miss,
   10 % scales it for full reservoirs; these are this programmer's own choices, not a manufacturer's. More
   withdrawn than the reservoir holds cannot have come from it and is refused whatever the reason
   (``WITHDRAWN_ABOVE_CAPACITY``).
3. Syringe (``Syringe``): the drug, its dose unit and concentration are always stated (never assumed to be
   the pump's), with the lot and its expiry; an expired lot is refused (``SYRINGE_EXPIRED``), compared with
   this computer's date. A new concentration of the drug the pump delivers would push the old drug left in
   the pump's tubing and catheter at the new mL rate: it needs a bridge bolus, sent with the refill in one action
   (``RefillRequest.bridge``; ``programmer.bolus.bridge_of`` computes it from the line the pump reports), and
   without one it is refused (``CONCENTRATION_CHANGE_NEEDS_BRIDGE``) with the new mL rate.
4. Inject: the volume added plus what may still be in the reservoir (calculated less withdrawn) never exceeds
   its capacity (``ADDED_ABOVE_CAPACITY``).
5. The review (``review_refill``) gathers the steps with the program checks (and, for a pump that ran empty
   longer than the drug's restart window, the restart rule on the program it resumes: ``check_resumption``);
   ``programmer.commit.commit_refill``
   sends it and verifies it by read-back; the review's plan gives the new low-alarm and empty dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import ClassVar

from programmer.baseline import emptied_at
from programmer.bolus import BridgeReview, bridge_of
from programmer.checks import CheckReport, Finding, Stop, check_program, check_resumption
from programmer.errors import InputError
from programmer.library import LoadedLibrary
from programmer.planner import Plan
from programmer.port import ActiveProgram
from programmer.program import FORMAT, Drug, Program, Stopped
from programmer.pump import Reservoir
from programmer.review import Review, clean_override_reason, pump_state_findings, same_substance
from programmer.snapshot import PumpSnapshot

REFILL_TOLERANCE_MIN_ML = 0.5
REFILL_TOLERANCE_FRACTION = 0.10
VOLUME_EPSILON_ML = 1e-9
"""Below the pump's precision: a volume exactly at a limit is within it, whatever binary floats make of it."""

REFILL_GUIDANCE = (
    "Before you inject anything: find the septum with the template and put the needle straight in until it "
    "rests on the needle stop. Withdraw everything in the reservoir and read the volume. Expect about the "
    "volume shown here. If much less comes back, or nothing, or blood, the needle may not be in the "
    "reservoir: drug injected then goes into the pocket under the skin (a pocket fill), which can be a fatal "
    "overdose. Do not inject: place the needle again and check. While injecting, push slowly and stop at "
    "resistance, swelling or pain.")
"""The needle-placement and pocket-fill guidance of step 1, the same words in the GUI and on the command line."""


def refill_tolerance_ml(calculated_ml: float) -> float:
    """The largest withdrawn-vs-calculated difference accepted without a reason (module docstring, step 2)."""
    return max(REFILL_TOLERANCE_MIN_ML, REFILL_TOLERANCE_FRACTION * calculated_ml)


def check_volumes(**volumes: float) -> None:
    """Every volume given must be one: a finite number of mL, 0 or more (all the faults in one error)."""
    problems = [(name, f"{value!r} mL is not a volume (a finite number, 0 or more)") for name, value in volumes.items()
                if not (math.isfinite(value) and value >= 0)]
    if problems:
        raise InputError(problems)


@dataclass(frozen=True)
class Expectation:
    """Step 1: what to expect back from the reservoir, and how to get it out safely."""

    calculated_ml: float
    capacity_ml: float
    tolerance_ml: float
    guidance: str = REFILL_GUIDANCE


def expect(snapshot: PumpSnapshot) -> Expectation:
    calculated = snapshot.status.volume_ml
    return Expectation(calculated, snapshot.status.capacity_ml, refill_tolerance_ml(calculated))


@dataclass(frozen=True)
class Withdrawal:
    """Step 2: the volume withdrawn, compared with the pump's calculation before anything is injected."""

    withdrawn_ml: float
    calculated_ml: float
    capacity_ml: float
    model: str

    @property
    def tolerance_ml(self) -> float:
        return refill_tolerance_ml(self.calculated_ml)

    @property
    def discrepancy_ml(self) -> float:
        """Withdrawn minus calculated: negative means less came out than the pump expected."""
        return self.withdrawn_ml - self.calculated_ml

    @property
    def possible(self) -> bool:
        """Whether that much can have been in the reservoir at all."""
        return self.withdrawn_ml <= self.capacity_ml + VOLUME_EPSILON_ML

    @property
    def within_tolerance(self) -> bool:
        return self.possible and abs(self.discrepancy_ml) <= self.tolerance_ml + VOLUME_EPSILON_ML

    @property
    def left_ml(self) -> float:
        """What may still be in the reservoir: the calculated volume not withdrawn (0 when more came out)."""
        return max(0.0, -self.discrepancy_ml)

    def meaning(self) -> str:
        """What the volume withdrawn may mean, in plain words (empty within tolerance)."""
        if not self.possible:
            return (f"withdrawn_ml {self.withdrawn_ml:g} mL is more than the {self.model} reservoir holds "
                    f"({self.capacity_ml:g} mL): it cannot all have come from the reservoir (a misread syringe, "
                    "or fluid drawn from outside the reservoir)")
        if self.within_tolerance:
            return ""
        gap = (f"withdrawn_ml {self.withdrawn_ml:g} mL is {abs(self.discrepancy_ml):.3g} mL "
               f"{'less' if self.discrepancy_ml < 0 else 'more'} than the {self.calculated_ml:.4g} mL the pump "
               f"calculated, beyond the tolerance of {self.tolerance_ml:.3g} mL")
        if self.discrepancy_ml < 0:
            return (f"{gap}. It may mean: the needle is outside the reservoir, so injecting now would be a pocket "
                    "fill; over-infusion (the pump delivered more than programmed); or a pocket fill at the "
                    "previous refill (less went into the reservoir than was recorded)")
        return (f"{gap}. It may mean under-infusion: the pump delivered less than programmed (a stalled rotor, a "
                "blocked catheter), so the patient may have had too little drug; or more was put in at the "
                "previous refill than was recorded")

    def what_to_do(self) -> str:
        """What the clinician should do about it (empty within tolerance)."""
        if not self.possible:
            return "read the syringe again and enter the volume withdrawn from the reservoir"
        if self.within_tolerance:
            return ""
        if self.discrepancy_ml < 0:
            return ("do not inject: check the needle's placement (template, needle stop, fluid comes back freely) "
                    "and withdraw again; if the volume stays low, examine the pocket and watch the patient for "
                    "an overdose. Going on needs a reason, recorded in the audit log")
        return ("check the patient for withdrawal symptoms and have the pump and catheter examined (a rotor "
                "study, an X-ray) before relying on it. Going on needs a reason, recorded in the audit log")

    def findings(self, reason: str | None) -> list[Finding]:
        """The refusals of step 2: none within tolerance, or beyond it with a reason given."""
        if not self.possible:
            return [Finding("WITHDRAWN_ABOVE_CAPACITY", "error", f"{self.meaning()}; {self.what_to_do()}",
                            "withdrawn_ml")]
        if self.within_tolerance or reason is not None:
            return []
        return [Finding("REFILL_DISCREPANCY", "error", f"{self.meaning()}; {self.what_to_do()}", "withdrawn_ml")]

    def as_dict(self, reason: str | None = None) -> dict:
        """The ``withdrawal`` object of ``refill --json``, ``refill --check --json`` and the audit record."""
        return {
            "withdrawn_ml": self.withdrawn_ml,
            "calculated_ml": self.calculated_ml,
            "discrepancy_ml": self.discrepancy_ml,
            "tolerance_ml": self.tolerance_ml,
            "possible": self.possible,
            "within_tolerance": self.within_tolerance,
            "left_ml": self.left_ml,
            "meaning": self.meaning() or None,
            "what_to_do": self.what_to_do() or None,
            "reason": reason,
        }


def check_withdrawal(snapshot: PumpSnapshot, withdrawn_ml: float) -> Withdrawal:
    check_volumes(withdrawn_ml=withdrawn_ml)
    status = snapshot.status
    return Withdrawal(withdrawn_ml, status.volume_ml, status.capacity_ml, snapshot.identity.model)


@dataclass(frozen=True)
class Syringe:
    """Step 3: what the syringe holds, as its label says, stated every time."""

    drug: Drug
    lot: str
    expiry: date

    def __post_init__(self) -> None:
        if not self.lot.strip():
            raise InputError([("lot", "the syringe's lot number is required (it is recorded in the audit log)")])
        object.__setattr__(self, "lot", self.lot.strip())

    def as_dict(self, today: date) -> dict:
        return {"drug": self.drug.model_dump(mode="json"), "lot": self.lot, "expiry": self.expiry.isoformat(),
                "expired": self.expiry < today, "compared_with": today.isoformat()}


@dataclass(frozen=True)
class ConcentrationChange:
    """The drug the pump delivers, at a new concentration: the same dose at another mL rate."""

    old: Drug
    new: Drug
    daily_dose: float
    """The kept mean daily dose, in the drug's dose unit per day."""

    @property
    def ml_per_day_before(self) -> float:
        return self.daily_dose / self.old.concentration_per_ml

    @property
    def ml_per_day_after(self) -> float:
        return self.daily_dose / self.new.concentration_per_ml

    @property
    def dose_while_clearing(self) -> float:
        """The daily dose while the old drug left in the tubing and catheter is pushed at the new mL rate."""
        return self.ml_per_day_after * self.old.concentration_per_ml

    def finding(self) -> Finding:
        unit = self.new.dose_unit
        return Finding("CONCENTRATION_CHANGE_NEEDS_BRIDGE", "error", f"drug.concentration_per_ml "
                       f"{self.new.concentration_per_ml:g} {unit}/mL differs from the pump's "
                       f"{self.old.concentration_per_ml:g} {unit}/mL: the kept {self.daily_dose:.4g} {unit}/day would "
                       f"run at {self.ml_per_day_after:.4g} mL/day instead of {self.ml_per_day_before:.4g} mL/day, "
                       f"and the old drug still in the pump's tubing and catheter would reach the patient at "
                       f"{self.dose_while_clearing:.4g} {unit}/day until it is cleared. Refill with the bridge "
                       f"bolus, which pushes the old drug out at its own mL rate so the patient gets the programmed "
                       f"dose, or refill with {self.old.concentration_per_ml:g} {unit}/mL",
                       "drug.concentration_per_ml")

    def as_dict(self) -> dict:
        return {"from": self.old.concentration_per_ml, "to": self.new.concentration_per_ml,
                "daily_dose": self.daily_dose, "ml_per_day_before": self.ml_per_day_before,
                "ml_per_day_after": self.ml_per_day_after}


@dataclass(frozen=True)
class RefillRequest:
    withdrawn_ml: float
    added_ml: float
    syringe: Syringe
    withdrawal_reason: str | None = None
    """Why the refill goes on although the withdrawal is beyond tolerance (step 2); None when none was given."""
    bridge: bool = False
    """Send a bridge bolus with the refill (step 3): what a new concentration of the delivered drug needs."""

    def __post_init__(self) -> None:
        check_volumes(withdrawn_ml=self.withdrawn_ml, added_ml=self.added_ml)
        try:
            reason = clean_override_reason(self.withdrawal_reason)
        except InputError as exc:  # the same rules as any override's reason, said of this field
            raise InputError([("withdrawal_reason", message) for _, message in exc.problems]) from None
        object.__setattr__(self, "withdrawal_reason", reason)


@dataclass(frozen=True)
class RefillReview(Review):
    action: ClassVar[str] = "refill"
    request: RefillRequest
    withdrawal: Withdrawal
    new_drug: Drug | None
    """The drug sent with the refill: None when the syringe holds exactly the pump's drug."""
    concentration_change: ConcentrationChange | None
    bridge: BridgeReview | None = None
    """The bridge bolus sent with the refill (``RefillRequest.bridge`` and a concentration change), its findings
    among the refill's."""

    @property
    def calculated_ml(self) -> float:
        return self.withdrawal.calculated_ml

    @property
    def discrepancy_ml(self) -> float:
        return self.withdrawal.discrepancy_ml

    @property
    def tolerance_ml(self) -> float:
        return self.withdrawal.tolerance_ml

    def syringe_dict(self) -> dict:
        """The ``syringe`` object of ``refill --json`` and the audit record."""
        change = self.concentration_change
        return self.request.syringe.as_dict(self.snapshot.computer_time.date()) | {
            "same_as_pump": self.new_drug is None and self.snapshot.active.drug is not None,
            "concentration_change": None if change is None else change.as_dict()}

    def audit_details(self) -> dict:
        return {
            "refill": {
                "withdrawn_ml": self.request.withdrawn_ml,
                "added_ml": self.request.added_ml,
                "calculated_ml": self.calculated_ml,
                "discrepancy_ml": self.discrepancy_ml,
                "tolerance_ml": self.tolerance_ml,
                "new_drug": None if self.new_drug is None else self.new_drug.model_dump(mode="json"),
            },
            "withdrawal": self.withdrawal.as_dict(self.request.withdrawal_reason),
            "syringe": self.syringe_dict(),
            "bridge": None if self.bridge is None else self.bridge.audit_details()["bolus"],
        }

    def with_bridge_id(self, bolus_id: str) -> "RefillReview":
        """The same review, its bridge carrying the id the commit sends (the audit record keeps it)."""
        assert self.bridge is not None, "only a refill with a bridge has a bridge id"
        return replace(self, bridge=self.bridge.with_id(bolus_id))


def review_refill(snapshot: PumpSnapshot, request: RefillRequest, library: LoadedLibrary,
                  override_reason: str | None = None) -> RefillReview:
    """Check every step of a refill against one snapshot: the withdrawal, the syringe, the volume added, then
    the program the pump will run against the library (and the pump's state)."""
    status, active = snapshot.status, snapshot.active
    withdrawal = check_withdrawal(snapshot, request.withdrawn_ml)
    syringe = request.syringe
    new_drug = _drug_to_send(syringe.drug, active.drug, library)
    keeps_therapy = active.drug is not None and (new_drug is None or same_substance(new_drug, active.drug))
    change = _concentration_change(snapshot, new_drug) if keeps_therapy else None

    findings = withdrawal.findings(request.withdrawal_reason)
    today = snapshot.computer_time.date()
    if syringe.expiry < today:
        findings.append(Finding("SYRINGE_EXPIRED", "error", f"expiry {syringe.expiry.isoformat()}: lot {syringe.lot} "
                                f"expired before today, {today.isoformat()} (this computer's date): do not use it",
                                "expiry"))
    bridge = None
    if change is not None and request.bridge:
        bridge = bridge_of(snapshot, library, new_drug, request.added_ml)
        findings += bridge.report.findings
    elif change is not None:
        findings.append(change.finding())
    elif request.bridge:
        findings.append(Finding("NOTHING_TO_BRIDGE", "error", "the refill keeps the concentration of the drug the "
                                "pump delivers (or delivers nothing): there is no old drug to bridge", "bridge"))
    total = request.added_ml + withdrawal.left_ml
    if total > status.capacity_ml + VOLUME_EPSILON_ML:
        left = (f" and the {withdrawal.left_ml:.3g} mL that may still be in it (calculated "
                f"{withdrawal.calculated_ml:.4g} mL less {withdrawal.withdrawn_ml:g} mL withdrawn) make {total:.6g} mL,"
                if withdrawal.left_ml else " is")
        findings.append(Finding("ADDED_ABOVE_CAPACITY", "error", f"added_ml {request.added_ml:g} mL{left} more than "
                                f"the {snapshot.identity.model} reservoir's capacity of {status.capacity_ml:g} mL",
                                "added_ml"))
    if new_drug is not None and not keeps_therapy and active.program is not None:
        old_plan = snapshot.forecast()
        assert old_plan is not None, "the pump runs a program: forecast() projects it"
        old_drug = old_plan.program.drug
        if old_plan.mean_daily_dose > 0:
            findings.append(Finding("THERAPY_STOPS_FOR_NEW_DRUG", "warning", f"a new drug stops delivery (now "
                                    f"{old_plan.mean_daily_dose:.4g} {old_drug.dose_unit}/day of {old_drug.name}) "
                                    "until a program for it is written: abrupt withdrawal can be life-threatening",
                                    "drug.name"))

    program = _program_after_refill(active, new_drug, keeps_therapy)
    plan = None
    if request.added_ml <= status.capacity_ml:
        reservoir = Reservoir(capacity_ml=status.capacity_ml, volume_ml=request.added_ml,
                              low_alarm_ml=status.low_alarm_ml)
        plan = Plan(program, reservoir, status.pump_time, status.cycle_phase_min)
        report = check_program(plan, library, snapshot.limits, active.program if keeps_therapy else None)
        emptied = _emptied(snapshot)
        if keeps_therapy and emptied is not None:
            check_resumption(plan, library, emptied, report)
    else:
        report = CheckReport(library.identity)
    report.findings[:0] = findings
    report.findings += pump_state_findings(snapshot, request.added_ml)
    return RefillReview(snapshot, report, clean_override_reason(override_reason), program, plan, request, withdrawal,
                        new_drug, change, bridge)


def _emptied(snapshot: PumpSnapshot) -> Stop | None:
    """While the reservoir is empty (its alarm is raised) and its program delivers a dose: when it ran empty, on
    the pump clock (the event log's ``alarm_raised``, which follows a clock set since; else the alarm's own
    ``since``), and that dose. None otherwise."""
    plan = snapshot.forecast()
    alarm = next((alarm for alarm in snapshot.status.alarms if alarm.code == "reservoir_empty"), None)
    if alarm is None or plan is None or plan.mean_daily_dose <= 0:
        return None
    logged = None if snapshot.recent_events is None else emptied_at(snapshot.recent_events)
    since = alarm.since if logged is None else logged
    return Stop("stopped", since, (snapshot.status.pump_time - since) / timedelta(hours=1), plan.mean_daily_dose)


def _drug_to_send(asked: Drug, held: Drug | None, library: LoadedLibrary) -> Drug | None:
    """The drug to send with a refill, spelled as the library spells it (so 'Baclofen' is not a new drug);
    None when it is exactly the drug the pump already holds."""
    rule = library.rule_for(asked.name)
    if rule is not None:
        asked = asked.model_copy(update={"name": rule.name})
    return None if asked == held else asked


def _concentration_change(snapshot: PumpSnapshot, new_drug: Drug | None) -> ConcentrationChange | None:
    """The same drug at a new concentration while the pump delivers it (None otherwise: nothing in the tubing
    and catheter is pushed at a new rate when nothing is delivered)."""
    plan = snapshot.forecast()
    if new_drug is None or plan is None or plan.mean_daily_dose <= 0:
        return None
    return ConcentrationChange(plan.program.drug, new_drug, plan.mean_daily_dose)


def _program_after_refill(active: ActiveProgram, new_drug: Drug | None, keeps_therapy: bool) -> Program:
    """What the pump runs after the refill (the pump's rule, docs/protocol.md): the same program; the same
    therapy in dose units at a new concentration; or stopped for a new drug, never the old numbers."""
    if new_drug is None:
        assert active.program is not None, "the syringe holds the pump's drug, so the pump runs a program"
        return active.program
    if keeps_therapy:
        assert active.program is not None, "keeps_therapy: the pump holds a drug, so it runs a program"
        return Program(format=FORMAT, drug=new_drug, therapy=active.program.therapy)
    return Program(format=FORMAT, drug=new_drug, therapy=Stopped(mode="stopped"))
