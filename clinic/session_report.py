"""The session report: what one visit did to one patient's pump, gathered from the audit trail, for the chart.

Why it is built from the audit records and nothing else the visit held: the PDF filed in the chart
(``ui.report_pdf``) and the FHIR bundle sent to the hospital (``clinic.fhir_bundle``) must state the same figures,
and those must be the ones the trail proves were recorded, not what a screen showed. So ``report_from_records``
is pure (records and a few facts in, a frozen ``SessionReport`` out, no I/O, no Qt), and ``build_session_report``
only reads the store for it: the session, its records, the patient, the chain's head.

What the records give: each attempt has an ``attempt`` record and an ``outcome`` record with the same
``attempt_id`` (a refused attempt only the outcome); the outcome record is the one read, as it holds what
happened. A write carries its ``program`` and the one the pump ran before (``old_program``); a refill its volumes,
withdrawal and syringe (and its bridge); a bolus, prime or bridge its ``bolus``. The report's reservoir is the one
the visit's last verified refill left (its read-back volume, on the pump's clock), else the dose history's last
reading for the session: the projection and the refill-by date start there, with the program the visit left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from programmer.library import LoadedLibrary, load_library
from programmer.planner import Plan, mean_daily_dose
from programmer.program import FORMAT, Drug, Program, Stopped, program_from_data
from programmer.pump import PUMP_MODELS, Reservoir
from programmer.refill_by import RefillBy, refill_by, stability_days
from programmer.review import same_substance

if TYPE_CHECKING:
    from clinic.patients import DoseEntry
    from clinic.store import Store

def ml_words(value: float) -> str:
    """A refill's discrepancy or tolerance in mL as the PDF and the FHIR bundle both state it: three significant
    decimals (a thousandth of a mL: float noise below it is 0), so -0.9999 is -1 in both."""
    return f"{round(value, 3) + 0.0:g}"


NO_OUTCOME = "no outcome recorded"
"""The outcome of an attempt whose outcome record is missing (the program stopped between the two records)."""


@dataclass(frozen=True)
class SessionFacts:
    """Who held the session, where and when (the store's session, the user's name and role)."""

    session_id: str
    started_at: datetime
    ended_at: datetime | None
    workstation: str
    username: str
    display_name: str
    role: str


@dataclass(frozen=True)
class PatientFacts:
    identifier: str
    name: str
    birth_date: date
    catheter_cm: float | None = None
    """The implant's catheter length as the clinic recorded it (None: not recorded)."""


@dataclass(frozen=True)
class ChainAnchor:
    """The audit chain's head when the report was made: printed on paper, it ties the page to the trail."""

    head_hash: str
    records: int
    intact: bool


@dataclass(frozen=True)
class ReservoirReading:
    """A reservoir volume the pump reported, and when (pump clock, naive like every pump time)."""

    volume_ml: float
    at: datetime


@dataclass(frozen=True)
class ActionLine:
    """One attempt, in the order made: what was asked and what came of it."""

    time: datetime
    action: str
    summary: str
    outcome: str
    message: str


@dataclass(frozen=True)
class ProgramChange:
    time: datetime
    outcome: str
    before: Program | None
    after: Program
    override_reason: str | None

    @property
    def daily_before(self) -> float | None:
        return None if self.before is None else mean_daily_dose(self.before)

    @property
    def daily_after(self) -> float:
        return mean_daily_dose(self.after)


@dataclass(frozen=True)
class RefillLine:
    time: datetime
    outcome: str
    withdrawn_ml: float
    calculated_ml: float
    discrepancy_ml: float
    tolerance_ml: float
    added_ml: float
    volume_ml: float | None
    """The reservoir as the pump read it back after the refill (None: not read back)."""
    drug: Drug | None
    lot: str | None
    expiry: str | None
    withdrawal_reason: str | None

    @property
    def within_tolerance(self) -> bool:
        return abs(self.discrepancy_ml) <= self.tolerance_ml


@dataclass(frozen=True)
class BolusLine:
    time: datetime
    kind: str
    """``therapeutic``, ``prime``, ``bridge`` (one sent with a refill too)."""
    dose: float | None
    """What reaches the patient, in the drug's dose unit (a prime: what it pushes out of the line ahead of the drug)."""
    dose_unit: str | None
    volume_ml: float | None
    duration_min: float | None
    outcome: str
    bolus_id: str | None
    line_dose: float | None = None
    """A prime's drug moved into the line (the dose history's ``dose`` for it), which stays there: not given."""

    def dose_words(self, unit: str | None = None) -> str:
        """The dose in words, the same in the PDF and the FHIR bundle: a prime's says what reaches the patient and
        what it moves into the line (the figure the dose history records)."""
        unit = self.dose_unit or unit or ""
        if self.dose is None:
            return "not recorded"
        given = f"{self.dose:.4g} {unit}".strip()
        if self.kind != "prime" or self.line_dose is None:
            return given
        return f"{given} to the patient; {self.line_dose:.4g} {unit} into the line".replace("  ", " ")


@dataclass(frozen=True)
class FindingLine:
    time: datetime
    action: str
    code: str
    severity: str
    message: str
    override_reason: str | None
    outcome: str


@dataclass(frozen=True)
class SessionReport:
    session: SessionFacts
    patient: PatientFacts | None
    pump_serial: str | None
    pump_model: str | None
    drug: Drug | None
    library: Mapping[str, Any] | None
    """The drug library's identity the changes were checked against (name, version, sha256, approval)."""
    program_before: Program | None
    program_after: Program | None
    actions: tuple[ActionLine, ...]
    changes: tuple[ProgramChange, ...]
    refills: tuple[RefillLine, ...]
    boluses: tuple[BolusLine, ...]
    findings: tuple[FindingLine, ...]
    reservoir: Reservoir | None
    reservoir_at: datetime | None
    """When ``reservoir`` was read (pump clock): the projection's start."""
    refill_by: RefillBy | None
    anchor: ChainAnchor
    made_at: datetime
    low_alarm_ml: float | None = None
    """The pump's low-reservoir alarm threshold as the visit's records last read it (``low_alarm_threshold``). None:
    not recorded (records made before the programmer recorded it): ``reservoir`` then projects to empty, with no
    alarm line and no refill-by date, rather than assume a threshold the pump may not have."""

    def plan(self, program: Program | None) -> Plan | None:
        """``program`` projected from the report's reservoir (None without a program or a reservoir)."""
        if program is None or self.reservoir is None or self.reservoir_at is None:
            return None
        return Plan(program, self.reservoir, self.reservoir_at)

    @property
    def overrides(self) -> tuple[FindingLine, ...]:
        """The warnings a reason overrode (the ones an attempt went on past)."""
        return tuple(finding for finding in self.findings
                     if finding.severity == "warning" and finding.override_reason is not None)


def build_session_report(store: Store, session_id: str, library: LoadedLibrary | None = None,
                         made_at: datetime | None = None) -> SessionReport:
    """The report of session ``session_id`` (``UnknownSession`` when there is none) from the store: its records,
    its user, its patient and pump, the dose history's reservoir and last fill, and the audit chain's head now.
    ``library``: the approved library to take the drug's stability limit from (the shipped one when None)."""
    info = store.sessions.get(session_id)
    records = [entry.record for entry in store.audit.query(session_id=session_id)]
    users = {user.username: user for user in store.users.list()}
    user = users.get(info.username)
    session = SessionFacts(info.id, info.started_at, info.ended_at, info.workstation, info.username,
                           info.username if user is None else user.display_name,
                           "unknown" if user is None else user.role.value)
    patient, doses = None, []
    pump = info.pump_serial
    if info.patient_identifier is not None:
        found = store.patients.get(info.patient_identifier)
        implants = store.patients.implants(found.identifier)
        if implants and pump not in {implant.pump_serial for implant in implants}:
            # the session names a pump that is not this patient's: their own pump (a refused attempt never counts)
            current = [implant for implant in implants if implant.explanted_on is None] or implants
            pump = current[-1].pump_serial
        verified = next((record.get("pump_serial") for record in records
                         if record.get("outcome") == "verified" and record.get("pump_serial")), None)
        pump = verified or pump
        implant = next((implant for implant in implants if implant.pump_serial == pump), None)
        catheter = None if implant is None else (implant.revisions[-1].catheter_cm if implant.revisions
                                                 else implant.catheter_cm)
        patient = PatientFacts(found.identifier, found.name, found.birth_date, catheter)
        doses = store.patients.dose_history(found.identifier)
    check = store.audit.verify()
    return report_from_records(records, session, patient, ChainAnchor(check.head_hash, check.records, check.intact),
                               made_at or datetime.now(timezone.utc), library or load_library(),
                               _last_fill(doses, info.started_at), _reading(doses, session_id, records), pump)


def _last_fill(doses: list[DoseEntry], before: datetime) -> datetime | None:
    """The pump's last refill before the session, from the dose history, on the pump's clock (this computer's local
    time, which the pump's clock is kept to)."""
    fills = [entry.time for entry in doses if entry.kind == "refill" and entry.time < before]
    return None if not fills else fills[-1].astimezone().replace(tzinfo=None)


def _reading(doses: list[DoseEntry], session_id: str, records: list[dict]) -> ReservoirReading | None:
    """The session's last reservoir reading in the dose history, at the pump time of its audit record."""
    pump_times = {record.get("record_id"): record.get("pump_time") for record in records}
    for entry in reversed(doses):
        at = pump_times.get(entry.audit_record_id)
        if entry.session_id == session_id and entry.reservoir_ml is not None and at:
            return ReservoirReading(entry.reservoir_ml, datetime.fromisoformat(at))
    return None


def report_from_records(records: Iterable[Mapping[str, Any]], session: SessionFacts, patient: PatientFacts | None,
                        anchor: ChainAnchor, made_at: datetime, library: LoadedLibrary | None = None,
                        last_fill: datetime | None = None, reading: ReservoirReading | None = None,
                        pump_serial: str | None = None) -> SessionReport:
    """The report of one session's ``records`` (oldest first). ``library``: the loaded library whose identity the
    records name, for the drug's stability limit in the refill-by date (None: that bound is left out);
    ``last_fill``: the pump's last fill before the session (pump clock), when the session has none;
    ``reading``: a reservoir reading to project from when the session has no verified refill;
    ``pump_serial``: the visit's pump as the session and the patient's implant have it.

    The visit's pump is the one its verified actions changed, else ``pump_serial``, else the one its attempts that
    were not refused named: never a refused attempt's. An attempt on another pump (refused by the hard stop) is
    listed among the actions as refused, with that pump's serial, and nothing else of it is reported (no refill,
    bolus or warning of this patient). The program after the visit is what the pump runs after its last verified
    change: a write's program, or a refill's new drug or concentration (the same therapy in dose units, or stopped
    for a new drug, as the pump does)."""
    attempts = _attempts(records)
    serial = _visit_pump(attempts, pump_serial)
    actions: list[ActionLine] = []
    changes: list[ProgramChange] = []
    refills: list[RefillLine] = []
    boluses: list[BolusLine] = []
    findings: list[FindingLine] = []
    model = None
    first_old: Mapping | None = None
    running: Program | None = None
    started = False
    library_identity = None
    threshold: float | None = None
    for record in attempts:
        time = datetime.fromisoformat(record["time"])
        action, outcome = record["action"], record.get("outcome") or NO_OUTCOME
        other = record.get("pump_serial")
        if other and serial and other != serial:
            actions.append(ActionLine(time, action, f"{action} on pump {other}, not this visit's pump {serial}: "
                                      "nothing of it is this patient's", outcome, record.get("message", "")))
            continue
        model = record.get("pump_model") or model
        threshold = low_alarm_threshold(record, threshold)
        library_identity = record.get("library") or library_identity
        if not started and record.get("pump_serial") and "old_program" in record:
            first_old = record.get("old_program") or {}
            running = _program(first_old)
            started = True
        for finding in record.get("findings", []):
            findings.append(FindingLine(time, action, finding["code"], finding["severity"], finding["message"],
                                        record.get("override_reason"), outcome))
        if action == "write" and record.get("program"):
            changes.append(ProgramChange(time, outcome, _before(record, changes), program_from_data(record["program"]),
                                         record.get("override_reason")))
            if outcome == "verified":
                running = changes[-1].after
        if action == "refill" and record.get("refill"):
            refills.append(_refill(record, time, outcome))
            new_drug = record["refill"].get("new_drug")
            if outcome == "verified" and new_drug is not None:
                running = _after_refill(running, Drug.model_validate(new_drug))
        unit = None if running is None else running.drug.dose_unit
        if record.get("bolus"):
            boluses.append(_bolus(record["bolus"], time, outcome, unit))
        if action == "refill" and record.get("bridge"):
            boluses.append(_bolus(record["bridge"], time, outcome, unit))  # sent with the refill, in one action
        if action == "refill" and outcome == "verified" and record.get("refill", {}).get("volume_ml") is not None:
            reading = ReservoirReading(record["refill"]["volume_ml"], datetime.fromisoformat(record["pump_time"]))
            last_fill = reading.at
        actions.append(ActionLine(time, action, _summary(record, changes, refills, boluses), outcome,
                                  record.get("message", "")))
    before = _program(first_old)
    after = running
    drug = _drug(after, before, refills)
    capacity = PUMP_MODELS[model].capacity_ml if model in PUMP_MODELS else None
    reservoir = None if reading is None or capacity is None else Reservoir(
        capacity_ml=capacity, volume_ml=reading.volume_ml, low_alarm_ml=0.0 if threshold is None else threshold)
    report = SessionReport(session, patient, serial, model, drug, library_identity, before, after, tuple(actions),
                           tuple(changes), tuple(refills), tuple(boluses), tuple(findings), reservoir,
                           None if reservoir is None or reading is None else reading.at, None, anchor, made_at,
                           threshold)
    return _with_refill_by(report, library, last_fill)


def low_alarm_threshold(record: Mapping[str, Any], known: float | None) -> float | None:
    """The pump's low-alarm threshold after ``record`` (one attempt of the visit's pump), given the one ``known``
    before it: a change's records hold the threshold read as it was reviewed (``low_alarm_ml``); a set-low-alarm
    holds the one read back (verified, or a mismatch: what the pump holds), the one read before it when nothing
    changed (refused, or refused by the pump), and none when it may or may not have been set (uncertain, no outcome).
    Records older than this rule hold none: the threshold stays as ``known``."""
    if record.get("action") != "set_low_alarm":
        value = record.get("low_alarm_ml")
        return float(value) if isinstance(value, (int, float)) else known
    outcome = record.get("outcome")
    value = (record.get("low_alarm_ml") if outcome in ("verified", "mismatch")
             else record.get("low_alarm_ml_before") if outcome in ("refused", "pump_refused") else None)
    return float(value) if isinstance(value, (int, float)) else None


def _visit_pump(attempts: list[Mapping[str, Any]], given: str | None) -> str | None:
    """The visit's pump: the one its verified actions changed, else the session's, else the first one an attempt
    that was not refused named (a refused attempt's pump never becomes the visit's)."""
    for record in attempts:
        if record.get("outcome") == "verified" and record.get("pump_serial"):
            return str(record["pump_serial"])
    if given:
        return given
    return next((str(record["pump_serial"]) for record in attempts
                 if record.get("pump_serial") and record.get("outcome") not in ("refused", "pump_refused")), None)


def _after_refill(running: Program | None, new_drug: Drug) -> Program:
    """What the pump runs after a verified refill with a new drug or concentration (docs/protocol.md, the pump's
    rule): the same therapy in dose units for the same substance, stopped for another drug (or a first fill)."""
    if running is not None and same_substance(new_drug, running.drug):
        return Program(format=FORMAT, drug=new_drug, therapy=running.therapy)
    return Program(format=FORMAT, drug=new_drug, therapy=Stopped(mode="stopped"))


def _with_refill_by(report: SessionReport, library: LoadedLibrary | None, last_fill: datetime | None) -> SessionReport:
    """The refill-by date of the program the visit left, from the report's reservoir (``programmer.refill_by``):
    the low alarm less a week, or the drug's stability limit from the last fill, whichever is first."""
    plan = report.plan(report.program_after)
    if plan is None or report.drug is None or report.low_alarm_ml is None:
        return report
    named = None if report.library is None else report.library.get("sha256")
    days = stability_days(library, report.drug) if library is not None and library.identity.sha256 == named else None
    due = refill_by(plan.start, plan.low_alarm_at, last_fill, days, None)
    return replace(report, refill_by=due)


def _attempts(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One record per attempt, in the order the attempts began: its outcome record, or its attempt record when
    the outcome is missing."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if record.get("event") not in ("attempt", "outcome", None) or "action" not in record:
            continue  # a record mirroring the clinic's tables (clinic.mirror): no attempt of the visit
        key = record.get("attempt_id") or record.get("record_id") or str(len(chosen))
        if key not in chosen or record.get("event") == "outcome":
            chosen[key] = record
    return list(chosen.values())


def _program(data: Mapping[str, Any] | None) -> Program | None:
    """A program as the records hold it (``program``, or ``old_program``: drug, therapy, checksum); None for a
    pump that held no drug, or a record that does not say."""
    if not data or data.get("drug") is None:
        return None
    return program_from_data({"format": FORMAT, "drug": data["drug"], "therapy": data["therapy"]})


def _before(record: Mapping[str, Any], changes: list[ProgramChange]) -> Program | None:
    """The program a write replaced: its record's ``old_program``; in a record written before the records kept it,
    the session's last verified write (None: not known)."""
    if "old_program" in record:
        return _program(record["old_program"])
    verified = [change for change in changes if change.outcome == "verified"]
    return verified[-1].after if verified else None


def _refill(record: Mapping[str, Any], time: datetime, outcome: str) -> RefillLine:
    refill, syringe = record["refill"], record.get("syringe") or {}
    drug = syringe.get("drug")
    return RefillLine(time, outcome, refill["withdrawn_ml"], refill["calculated_ml"], refill["discrepancy_ml"],
                      refill["tolerance_ml"], refill["added_ml"], refill.get("volume_ml"),
                      None if drug is None else Drug.model_validate(drug), syringe.get("lot"), syringe.get("expiry"),
                      (record.get("withdrawal") or {}).get("reason"))


def _bolus(bolus: Mapping[str, Any], time: datetime, outcome: str, pump_unit: str | None = None) -> BolusLine:
    """A bolus, prime or bridge as given: its dose is what reaches the patient (a prime's ``pushed_dose``: the drug it
    moves into the line stays there)."""
    unit = bolus.get("dose_unit") or (bolus.get("new_drug") or {}).get("dose_unit") or pump_unit
    dose = bolus.get("pushed_dose") if bolus["kind"] == "prime" else bolus.get("dose")
    line_dose = bolus.get("dose") if bolus["kind"] == "prime" else None
    return BolusLine(time, bolus["kind"], dose, unit, bolus.get("volume_ml"), bolus.get("duration_min"), outcome,
                     bolus.get("bolus_id"), line_dose)


def _drug(after: Program | None, before: Program | None, refills: list[RefillLine]) -> Drug | None:
    for program in (after, before):
        if program is not None:
            return program.drug
    return next((refill.drug for refill in reversed(refills)
                 if refill.drug is not None and refill.outcome == "verified"), None)


def _summary(record: Mapping[str, Any], changes: list[ProgramChange], refills: list[RefillLine],
             boluses: list[BolusLine]) -> str:
    """The attempt in a few words: the dose change, the volumes, the bolus."""
    action = record["action"]
    if action == "write" and record.get("program"):
        change = changes[-1]
        unit = change.after.drug.dose_unit
        before = "none" if change.daily_before is None else f"{change.daily_before:g}"
        return f"{before} -> {change.daily_after:g} {unit}/day"
    if action == "refill" and record.get("refill"):
        refill = refills[-1]
        return (f"withdrew {refill.withdrawn_ml:.4g} mL (expected {refill.calculated_ml:.4g}), added "
                f"{refill.added_ml:.4g} mL")
    if action == "demand" and record.get("demand"):
        demand = record["demand"]
        if not demand["enabled"]:
            return "demand dose off"
        return (f"demand dose {demand['dose']:.4g} {demand['dose_unit']} over {demand['duration_min']:.4g} min, "
                f"lockout {demand['lockout_min']:.4g} min, up to {demand['max_per_day']} a day")
    if record.get("bolus"):
        bolus = boluses[-1]
        dose = "" if bolus.dose is None else f"{bolus.dose_words()} "
        return f"{bolus.kind} {dose}({bolus.volume_ml or 0:.4g} mL)"
    return action
