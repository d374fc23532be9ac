"""The write and refill workflows, shared by the command line and the GUI.

Both go the same way: interrogate (a ``PumpSnapshot``) -> review (checks against the pump's current
program and the pump's own declared limits) -> decision (refuse / needs an override reason / proceed) ->
commit through the driver -> outcome, as read back from the pump. The review is pure (no I/O), so the GUI
can show it before anything is sent, and tests can hand-compute it. Every commit is audited: the attempt is
on disk before anything is sent, and the outcome after; a refused attempt is one outcome record.

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
(``CHANGE_24H_ABOVE_*``, from the event log the interrogation read).
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from programmer.audit import AuditError, AuditLog
from programmer.checks import CheckReport, Finding, check_program
from programmer.errors import InputError
from programmer.interrogation import CLOCK_DRIFT_LIMIT_S, STOPPING_ALARMS, PumpSnapshot, describe_program
from programmer.library import LoadedLibrary
from programmer.plan_report import iso
from programmer.planner import Plan
from programmer.port import (ActiveProgram, LinkError, PumpDriver, PumpRefused, RefillOutcome, WriteOutcome,
                             WriteStatus)
from programmer.program import FORMAT, Drug, Flex, Program, Stopped
from programmer.pump import Reservoir

REFILL_TOLERANCE_MIN_ML = 0.5
REFILL_TOLERANCE_FRACTION = 0.10
VOLUME_READBACK_TOLERANCE_ML = 0.001
"""The pump's reservoir right after a refill must equal the volume added, to the pump's precision."""


class Decision(enum.Enum):
    REFUSE = "refused"                # an error finding: no override exists
    NEEDS_OVERRIDE = "needs_override"  # warnings, and no reason was given to override them
    PROCEED = "proceed"


class Outcome(enum.Enum):
    """What happened, as far as the pump was read back. Only VERIFIED means the pump does what was asked."""

    VERIFIED = "verified"
    UNCHANGED = "unchanged"            # nothing changed on the pump (read back, or nothing was sent)
    UNCERTAIN = "uncertain"            # the link failed and the pump could not be read back
    MISMATCH = "mismatch"              # the pump reports something other than what was asked
    REFUSED = "refused"                # errors: nothing was sent
    NEEDS_OVERRIDE = "needs_override"  # warnings without an override reason: nothing was sent
    PUMP_REFUSED = "pump_refused"      # the pump itself said no: nothing was changed


def clean_clinician(name: str | None) -> str:
    """The clinician's name as recorded; every write and refill needs one."""
    if name is None or not name.strip():
        raise InputError([("clinician", "the clinician's name is required (it is recorded in the audit log)")])
    return name.strip()


def clean_override_reason(reason: str | None) -> str | None:
    """An override reason as recorded; given but blank is an error, since a blank reason explains nothing."""
    if reason is None:
        return None
    if not reason.strip():
        raise InputError([("override_reason", "an override of soft limits needs a reason (got an empty one)")])
    return reason.strip()


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

    def audit_details(self) -> dict:
        return {"program": self.program.model_dump(mode="json")}


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


@dataclass(frozen=True)
class SessionResult:
    review: Review
    outcome: Outcome
    message: str
    active: ActiveProgram | None
    """The pump's program as last known: read back after the commit, or the snapshot's when nothing was sent."""
    refill: RefillOutcome | None = None
    audit_error: str | None = None
    """Set when the outcome could not be added to the audit log (the pump outcome above still holds)."""


# --- review ------------------------------------------------------------------------------------------


def review_write(snapshot: PumpSnapshot, program: Program, library: LoadedLibrary,
                 override_reason: str | None = None) -> WriteReview:
    """Check a program before it is written: the drug must be the pump's, then every dose-error check."""
    pump_drug = snapshot.active.drug
    refusals = _drug_refusals(program.drug, pump_drug)
    plan = Plan(program, snapshot.reservoir, snapshot.status.pump_time)
    current_plan = None if refusals else snapshot.forecast()
    report = check_program(plan, library, snapshot.limits, None if refusals else snapshot.active.program,
                           None if refusals else snapshot.dose_24h_ago())
    report.findings[:0] = refusals
    report.findings += pump_state_findings(snapshot)
    return WriteReview(snapshot, report, clean_override_reason(override_reason), program, plan, current_plan)


def pump_state_findings(snapshot: PumpSnapshot, refill_added_ml: float = 0.0) -> list[Finding]:
    """PUMP_NOT_DELIVERING and CLOCK_DRIFT (module docstring): what the pump's state means for any change.
    ``refill_added_ml`` > 0: the review is of a refill adding drug, which resolves an empty reservoir."""
    findings = []
    stopped_by = _stopping(snapshot, refill_added_ml)
    if stopped_by:
        alarms = ", ".join(stopped_by)
        reasons = "; ".join(STOPPING_ALARMS[code] for code in stopped_by)
        findings.append(Finding("PUMP_NOT_DELIVERING", "warning", f"the pump is not delivering (critical alarm "
                                f"{alarms}: {reasons}): the program will not run until that is resolved, and the "
                                "reservoir dates shown assume it delivers from now", "alarms"))
    if snapshot.clock_drifts:
        drift = snapshot.drift_s
        side = "ahead of" if drift > 0 else "behind"
        findings.append(Finding("CLOCK_DRIFT", "warning", f"the pump clock is {_duration(abs(drift))} {side} this "
                                f"computer's (pump {iso(snapshot.status.pump_time)}, this computer "
                                f"{iso(snapshot.computer_time)}), more than {CLOCK_DRIFT_LIMIT_S // 60} min: flex "
                                "steps start by the pump's clock and every date shown is on it. Set the pump clock "
                                "first (`pump-programmer set-clock PORT --yes`, or the application's \"Set the pump "
                                "clock to this computer's time\"), then interrogate again", "clock"))
    return findings


def _stopping(snapshot: PumpSnapshot, refill_added_ml: float = 0.0) -> list[str]:
    """The alarms that keep the pump from delivering after the change (a refill adding drug ends
    ``reservoir_empty``)."""
    return [code for code in snapshot.stopped_by if not (code == "reservoir_empty" and refill_added_ml > 0)]


def _duration(seconds: float) -> str:
    """'30 days 2 h', '3 h 5 min', '7 min 30 s': a clock difference in words, two units at most."""
    rounded = round(seconds)
    days, rest = divmod(rounded, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "days" if days != 1 else "day"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next((i for i, (value, _) in enumerate(parts) if value), len(parts) - 1)
    return " ".join(f"{value} {unit}" for value, unit in parts[first:first + 2] if value) or "0 s"


def _drug_refusals(asked: Drug, held: Drug | None) -> list[Finding]:
    """A write never changes the drug or its concentration: that happens at a refill, with the syringe."""
    if held is None:
        return [Finding("PUMP_HAS_NO_DRUG", "error", "the pump holds no drug: refill the pump with a drug first "
                        "(pump-programmer refill ... --drug NAME --dose-unit UNIT --concentration C)", "drug")]
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
        findings.append(Finding("PUMP_HAS_NO_DRUG", "error", "the pump holds no drug: name the one being filled with "
                                "--drug, --dose-unit and --concentration", "drug"))
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


# --- commit ------------------------------------------------------------------------------------------


def commit_write(driver: PumpDriver, review: WriteReview, clinician: str, audit: AuditLog) -> SessionResult:
    """Write the reviewed program (only if the decision is to proceed) and report what the pump now runs."""
    clinician = clean_clinician(clinician)
    attempt = _Attempt(audit, review, clinician)
    previous = review.snapshot.active
    if review.decision is not Decision.PROCEED:
        return attempt.refused()
    attempt.begin()
    try:
        stale = _review_gone_stale(driver, review)
        if stale:
            return attempt.finish(Outcome.REFUSED, f"{stale}: nothing was written; interrogate the pump and review "
                                  "the change again", previous)
        written = driver.write_program(review.program)
    except PumpRefused as exc:
        return attempt.finish(Outcome.PUMP_REFUSED, f"{exc}: nothing was written; the pump still runs the previous "
                              f"program {describe_program(previous)}", previous)
    except LinkError as exc:
        # The port's contract: write_program raises for link faults only before staging began.
        return attempt.finish(Outcome.UNCHANGED, f"the link failed before the program was sent ({exc}): the pump "
                              f"still runs the previous program {describe_program(previous)}", previous)
    outcome, message, active = _judge_write(written, review.program)
    if outcome is Outcome.VERIFIED:
        message += _not_delivering_note(review.snapshot)
    return attempt.finish(outcome, message, active)


def _not_delivering_note(snapshot: PumpSnapshot, refill_added_ml: float = 0.0) -> str:
    """What a verified change still does not do: run, while a critical alarm stops delivery."""
    stopped_by = _stopping(snapshot, refill_added_ml)
    if not stopped_by:
        return ""
    return (f"; but the pump is NOT DELIVERING (critical alarm {', '.join(stopped_by)}: "
            f"{'; '.join(STOPPING_ALARMS[code] for code in stopped_by)}): it will not run until that is resolved")


def _review_gone_stale(driver: PumpDriver, review: WriteReview) -> str | None:
    """Why the review no longer describes the pump (None when it still does), read just before writing.

    A review can stay open on a screen for a long time. If another programmer changed the pump meanwhile,
    the checks compared the change with a program that no longer runs; and the pump starts a new cycle's
    day 1 on the day it activates it, so a multi-day schedule reviewed yesterday would run a day late.
    """
    status = driver.read_status()
    then = review.snapshot.status
    if status.program_checksum != then.program_checksum:
        return (f"the pump's program changed since the review (it was {then.program_checksum}, it is now "
                f"{status.program_checksum})")
    program = review.program
    if (program is not None and isinstance(program.therapy, Flex) and program.therapy.cycle_days > 1
            and status.pump_time.date() != then.pump_time.date()):
        return (f"the pump's day changed since the review ({then.pump_time.date()} -> {status.pump_time.date()}): "
                f"day 1 of the {program.therapy.cycle_days}-day cycle starts on the day it is activated")
    return None


def _judge_write(outcome: WriteOutcome, asked: Program) -> tuple[Outcome, str, ActiveProgram | None]:
    """Map the driver's outcome to ours, trusting only what was read back (a VERIFIED whose read-back is not
    the asked program is a mismatch, whatever the driver says)."""
    active = outcome.active
    if active is None or outcome.status is WriteStatus.UNCERTAIN:
        return Outcome.UNCERTAIN, f"could not confirm which program the pump runs ({outcome.message}): interrogate it", None
    if outcome.status is WriteStatus.UNCHANGED:
        return Outcome.UNCHANGED, (f"the write failed ({outcome.message}): the pump still runs the previous program "
                                   f"{describe_program(active)}"), active
    if outcome.status is WriteStatus.VERIFIED and active.checksum == asked.checksum():
        return Outcome.VERIFIED, f"written and verified: the pump now runs {describe_program(active)}", active
    return Outcome.MISMATCH, (f"the pump reports {describe_program(active)}, not the requested {asked.checksum()} "
                              f"({outcome.message}): interrogate it and check the therapy"), active


def commit_refill(driver: PumpDriver, review: RefillReview, clinician: str, audit: AuditLog) -> SessionResult:
    """Record the refill on the pump (only if the decision is to proceed), then read it back and compare."""
    clinician = clean_clinician(clinician)
    attempt = _Attempt(audit, review, clinician)
    request, previous = review.request, review.snapshot.active
    if review.decision is not Decision.PROCEED:
        return attempt.refused()
    attempt.begin()
    try:
        done = driver.refill(attempt.attempt_id, request.withdrawn_ml, request.added_ml, review.new_drug)
    except PumpRefused as exc:
        return attempt.finish(Outcome.PUMP_REFUSED, f"{exc}: the refill was not recorded; the pump still runs "
                              f"{describe_program(previous)}", previous)
    except LinkError as exc:
        running = (f"; its program is unchanged either way: {describe_program(previous)}" if review.new_drug is None
                   else "; which program it runs depends on that")
        return attempt.finish(Outcome.UNCERTAIN, f"the link failed during the refill ({exc}): could not confirm "
                              f"whether the pump recorded it, interrogate it before refilling again{running}", None)
    try:
        active = driver.read_program()
        status = driver.read_status()
    except (LinkError, PumpRefused) as exc:
        return attempt.finish(Outcome.UNCERTAIN, f"the pump acknowledged the refill ({done.volume_ml:g} mL) but "
                              f"could not be read back ({exc}): interrogate it", None, done)
    assert review.program is not None, "no program after the refill is PUMP_HAS_NO_DRUG, refused above"
    expected = review.program.checksum()
    if (active.checksum == expected == status.program_checksum
            and abs(done.volume_ml - request.added_ml) <= VOLUME_READBACK_TOLERANCE_ML):
        return attempt.finish(Outcome.VERIFIED, f"refilled and verified: reservoir {done.volume_ml:.4g} mL (the pump "
                              f"had calculated {done.calculated_ml:.4g} mL, {request.withdrawn_ml:g} mL withdrawn); "
                              f"the pump runs {describe_program(active)}"
                              f"{_not_delivering_note(review.snapshot, request.added_ml)}", active, done)
    return attempt.finish(Outcome.MISMATCH, f"after the refill the pump reports reservoir {done.volume_ml:.4g} mL "
                          f"(asked {request.added_ml:g} mL) and program {describe_program(active)} (expected "
                          f"{expected}): interrogate it and check the therapy", active, done)


# --- audit -------------------------------------------------------------------------------------------


def record_unreachable(audit: AuditLog, action: str, clinician: str, message: str) -> None:
    """Audit an attempt that ended before the pump could be interrogated: nothing was sent to it."""
    audit.append({
        "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "attempt_id": uuid.uuid4().hex,
        "action": action,
        "event": "outcome",
        "clinician": clean_clinician(clinician),
        "pump_serial": None,
        "outcome": Outcome.UNCHANGED.value,
        "message": message,
    })


class _Attempt:
    """One audited attempt: an 'attempt' record before anything is sent, an 'outcome' record after."""

    def __init__(self, audit: AuditLog, review: Review, clinician: str):
        self.audit = audit
        self.review = review
        self.clinician = clinician
        self.attempt_id = uuid.uuid4().hex

    def begin(self) -> None:
        """Raises AuditError if the attempt cannot be recorded: then nothing may be sent."""
        self.audit.append(self._record("attempt"))

    def refused(self) -> SessionResult:
        review = self.review
        if review.decision is Decision.REFUSE:
            return self.finish(Outcome.REFUSED, f"refused by {len(review.report.errors)} error(s): nothing was sent "
                               "to the pump", review.snapshot.active)
        return self.finish(Outcome.NEEDS_OVERRIDE, f"{len(review.report.warnings)} warning(s) need an override with a "
                           "reason (--override-soft-limits REASON): nothing was sent to the pump", review.snapshot.active)

    def finish(self, outcome: Outcome, message: str, active: ActiveProgram | None,
               refill: RefillOutcome | None = None) -> SessionResult:
        record = self._record("outcome") | {
            "outcome": outcome.value,
            "message": message,
            "active_checksum": None if active is None else active.checksum,
        }
        if refill is not None:
            record["refill"] |= {"volume_ml": refill.volume_ml, "pump_calculated_ml": refill.calculated_ml,
                                 "repeated": refill.repeated}
        try:
            self.audit.append(record)
            audit_error = None
        except AuditError as exc:
            audit_error = str(exc)
        return SessionResult(self.review, outcome, message, active, refill, audit_error)

    def _record(self, event: str) -> dict:
        review = self.review
        snapshot = review.snapshot
        return {
            "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "attempt_id": self.attempt_id,
            "action": review.action,
            "event": event,
            "clinician": self.clinician,
            "pump_serial": snapshot.identity.serial,
            "pump_model": snapshot.identity.model,
            "pump_time": iso(snapshot.status.pump_time),
            "old_checksum": snapshot.active.checksum,
            "new_checksum": None if review.program is None else review.program.checksum(),
            "findings": [finding.as_dict() for finding in review.report.findings],
            "override_reason": review.override_reason,
            "library": review.report.library.model_dump(),
            "outcome": None,
        } | review.audit_details()
