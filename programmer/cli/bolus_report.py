"""The bolus family's reports: the documented JSON objects (docs/cli.md) and the text a clinician reads before and
after a bolus, a prime, a bridge or a demand dose.

Every figure is said with its unit and the way a slip would show: a bolus as its total and per hour, in dose units
and in mL, with what the patient gets in the next 24 h; a prime's volume from the catheter and the tubing; a bridge's
old concentration and how long it runs. The reviews (``programmer.bolus``) decide; this module only words them.
"""

from __future__ import annotations

import shlex
import sys

from programmer.audit import AuditLog
from programmer.bolus import BolusReview, BridgeReview, DemandReview, PrimeReview
from programmer.bolus_commit import describe_demand
from programmer.cli.plan_report import findings_text
from programmer.cli.support import PROG, status_command
from programmer.clock import iso
from programmer.commit import SessionResult
from programmer.dead_volume import CATHETER_ML_PER_CM
from programmer.outcome import Outcome
from programmer.port import BolusOutcome, DemandSettings


def cancel_command(port: str, bolus_id: str, clinician: str | None = None) -> str:
    """The command that stops the bolus (audited as the signed-in user's; ``--clinician`` as the command that gave it
    was given it, when it was)."""
    named = "" if clinician is None else f" --clinician {shlex.quote(clinician)}"
    return f"{PROG} cancel-bolus {port} --bolus-id {bolus_id} --yes{named}"


def ask_about_uncertain_bolus(result: SessionResult, port: str) -> None:
    """After an outcome that leaves a bolus's fate unknown (or not as asked), the line on standard error that names
    its id and the command that asks the pump about it, never one that gives it again."""
    if result.bolus_id is not None and result.outcome in (Outcome.UNCERTAIN, Outcome.MISMATCH):
        print(f"{PROG}: bolus id {result.bolus_id}: do NOT give it again; ask the pump what it did with it: "
              f"{status_command(port, result.bolus_id)}", file=sys.stderr)


def bolus_outcome_json(bolus: BolusOutcome | None) -> dict | None:
    """A bolus as the pump reported it (``pump_reported`` of the bolus family's JSON, ``bolus-status --json``)."""
    if bolus is None:
        return None
    return {"bolus_id": bolus.bolus_id, "kind": bolus.kind, "dose": bolus.dose, "volume_ml": bolus.volume_ml,
            "duration_min": bolus.duration_min, "state": bolus.state, "repeated": bolus.repeated,
            "action_number": bolus.action_number, "delivered": bolus.delivered}


def demand_settings_json(settings: DemandSettings | None) -> dict | None:
    if settings is None:
        return None
    demand = settings.demand
    return {"enabled": demand.enabled, "dose": demand.dose, "dose_unit": settings.dose_unit,
            "duration_min": demand.duration_min, "lockout_min": demand.lockout_min,
            "max_per_day": demand.max_per_day, "checksum": settings.checksum}


def result_json(result: SessionResult, audit: AuditLog, message: str, port: str, session_id: str | None) -> dict:
    """The keys every command of the bolus family prints, then its own (``bolus``, ``prime``, ``bridge``,
    ``demand``)."""
    review = result.review
    data = {
        "action": review.action,
        "outcome": result.outcome.value,
        "message": message,
        "pump": {"model": review.snapshot.identity.model, "serial": review.snapshot.identity.serial},
        "bolus_id": result.bolus_id,
        "status_command": None if result.bolus_id is None else status_command(port, result.bolus_id),
        "pump_reported": (demand_settings_json(result.demand) if isinstance(review, DemandReview)
                          else bolus_outcome_json(result.bolus)),
        "warnings": [finding.as_dict() for finding in review.report.warnings],
        "errors": [finding.as_dict() for finding in review.report.errors],
        "override_reason": review.override_reason,
        "library": review.report.library.model_dump(),
        "audit_log": str(audit.path),
        "session_id": session_id,
    }
    if isinstance(review, BolusReview):
        data["bolus"] = {"dose": review.dose, "dose_unit": review.dose_unit, "duration_min": review.duration_min,
                         "volume_ml": review.volume_ml, "dose_per_hour": review.dose_per_hour,
                         "ml_per_hour": review.ml_per_hour, "basal_24h_dose": review.basal_24h_dose,
                         "recent_bolus_dose": review.recent_bolus_dose, "demand_24h_dose": review.demand_24h_dose,
                         "next_24h_dose": review.next_24h_dose}
    elif isinstance(review, PrimeReview):
        data["prime"] = {"reason": review.reason, "catheter_cm": review.catheter_cm,
                         "segments_cm": list(review.segments_cm), "tubing_ml": review.tubing_ml,
                         "volume_ml": review.volume_ml, "ml_per_hour": review.ml_per_hour,
                         "duration_min": review.duration_min, "dose": review.dose, "dose_unit": _unit(review),
                         "pushed_dose": review.pushed_dose}
    elif isinstance(review, BridgeReview):
        data["bridge"] = {"volume_ml": review.volume_ml, "concentration_per_ml": review.old_concentration_per_ml,
                          "dose": review.dose, "dose_unit": _unit(review), "duration_min": review.duration_min}
    elif isinstance(review, DemandReview):
        demand = review.demand
        data["demand"] = {"enabled": demand.enabled, "dose": demand.dose, "dose_unit": review.dose_unit,
                          "duration_min": demand.duration_min, "lockout_min": demand.lockout_min,
                          "max_per_day": demand.max_per_day, "volume_ml": review.volume_ml,
                          "max_daily_dose": review.max_daily_dose, "low_alarm_at": iso(review.low_alarm_at),
                          "low_alarm_at_full_use": iso(review.low_alarm_at_full_use)}
    return data


def _unit(review: PrimeReview | BridgeReview | BolusReview | DemandReview) -> str:
    drug = review.snapshot.active.drug
    return "" if drug is None else drug.dose_unit


def bolus_text(review: BolusReview) -> str:
    unit = review.dose_unit or "dose units"
    lines = [f"Bolus         {review.dose:.4g} {unit} in total over {review.duration_min:g} min = "
             f"{review.dose_per_hour:.4g} {unit}/h; {review.volume_ml:.4g} mL at {review.ml_per_hour:.4g} mL/h, on top "
             "of the program",
             f"Next 24 h     {review.next_24h_dose:.4g} {unit}: the program {review.basal_24h_dose:.4g}, this bolus "
             f"{review.dose:.4g}, boluses of the last 24 h {review.recent_bolus_dose:.4g}"
             + (f", the demand dose at most {review.demand_24h_dose:.4g}" if review.demand_24h_dose else ""),
             "", findings_text(review.report)]
    return "\n".join(lines)


def prime_text(review: PrimeReview) -> str:
    unit = _unit(review)
    lines = [f"Prime         after {review.reason.replace('_', ' ')}: {review.volume_ml:.4g} mL = tubing "
             f"{review.tubing_ml:g} mL + catheter {review.catheter_cm:g} cm x {CATHETER_ML_PER_CM:g} mL/cm"
             + (f" (segments {' + '.join(f'{s:g}' for s in review.segments_cm)} cm)" if review.segments_cm else ""),
             f"Delivery      at {review.ml_per_hour:g} mL/h: {review.duration_min:.4g} min with the program paused; "
             f"{review.dose:.4g} {unit} of drug fill the line",
             f"Patient       {review.patient_words}",
             "", findings_text(review.report)]
    return "\n".join(lines)


def bridge_line(review: BridgeReview) -> str:
    """The bridge in one line: the old drug's volume and concentration, and how long it reaches the patient; or, when
    there is no old drug to bridge or it cannot run, only what the line holds (never an old drug of 0 per mL or a
    duration of 'unknown')."""
    unit = _unit(review) or "dose units"
    if not review.old_concentration_per_ml > 0:
        return (f"Bridge        nothing to bridge: the line's {review.volume_ml:.4g} mL hold no old concentration of "
                "the drug (see the findings below)")
    old = f"{review.volume_ml:.4g} mL of the old {review.old_concentration_per_ml:g} {unit}/mL in the line"
    if review.duration_min is None:
        return (f"Bridge        {old} ({review.dose:.4g} {unit}): it cannot run now (see the findings below)")
    return (f"Bridge        {old}, pumped at its own mL rate: {review.dose:.4g} {unit} reach the patient at the "
            f"programmed dose over {review.duration_min:.4g} min; then the new concentration takes over")


def bridge_text(review: BridgeReview) -> str:
    return "\n".join([bridge_line(review), "", findings_text(review.report)])


def demand_text(review: DemandReview) -> str:
    demand, unit = review.demand, review.dose_unit or "dose units"
    if not demand.enabled:
        return "Demand dose   off: the patient's button gives nothing\n\n" + findings_text(review.report)
    words = describe_demand(DemandSettings(demand, review.dose_unit, ""))
    lines = [f"Demand dose   {words} ({review.volume_ml:.4g} mL a press)",
             f"Most a day    {review.max_daily_dose:.4g} {unit}: the program {review.basal_daily_dose:.4g} and "
             f"{demand.max_per_day} x {demand.dose:g}",
             f"Low alarm     {iso(review.low_alarm_at) or 'never'} on the program alone; "
             f"{iso(review.low_alarm_at_full_use) or 'never'} if every allowed press is used (pump clock)",
             "", findings_text(review.report)]
    return "\n".join(lines)
