"""The ``interrogate`` report: the snapshot as the documented JSON object (docs/cli.md) and as text."""

from __future__ import annotations


from programmer.cli.plan_report import refill_by_json, refill_by_line
from programmer.clock import iso
from programmer.clock_changes import CODE, ClockChange, Move, clock_change_json, snapshot_clock_changes
from programmer.library import LoadedLibrary
from programmer.planner import minutes_to_days
from programmer.port import LineState
from programmer.refill_by import replace_by, snapshot_refill_by
from programmer.snapshot import CLOCK_DRIFT_LIMIT_S, PumpSnapshot, describe_program

INTERROGATION_FORMAT = "itb-interrogation/1"



def interrogation_to_json(snapshot: PumpSnapshot, library: LoadedLibrary, move: Move | None = None) -> dict:
    """The ``interrogate --json`` object (keys are a contract: docs/cli.md); the library gives the drug's
    stability limit for ``refill_by``; ``move`` a move of the patient to foresee with the DST changes."""
    identity, status, active = snapshot.identity, snapshot.status, snapshot.active
    plan = snapshot.forecast()
    dates = None if snapshot.stopped_by else plan  # a pump that delivers nothing reaches no date
    baseline = snapshot.dose_24h_ago()
    return {
        "format": INTERROGATION_FORMAT,
        "pump": {
            "model": identity.model,
            "serial": identity.serial,
            "firmware": identity.firmware,
            "capacity_ml": identity.capacity_ml,
            "limits": {
                "min_rate_ml_per_day": identity.min_rate_ml_per_day,
                "max_rate_ml_per_day": identity.max_rate_ml_per_day,
                "max_steps_per_day": identity.max_steps_per_day,
                "max_cycle_days": identity.max_cycle_days,
                "event_log_size": identity.event_log_size,
            },
        },
        "clock": {
            "pump_time": iso(status.pump_time),
            "computer_time": iso(snapshot.computer_time),
            "drift_s": round(snapshot.drift_s, 3),
            "drift_limit_s": CLOCK_DRIFT_LIMIT_S,
        },
        "battery": {"status": status.battery_status, "percent": status.battery_percent,
                    "replace_by": iso(replace_by(status))},
        "drug": None if active.drug is None else active.drug.model_dump(mode="json"),
        "therapy": active.therapy,
        "program": {
            "checksum": active.checksum,
            "status_checksum": status.program_checksum,
            "daily_dose": None if plan is None else plan.mean_daily_dose,
            "dose_unit": None if active.drug is None else active.drug.dose_unit,
            "rate_ml_per_day": None if plan is None else plan.ml_per_day,
            "cycle_phase_min": status.cycle_phase_min,
        },
        "delivering": snapshot.not_delivering_reason is None,
        "not_delivering_reason": snapshot.not_delivering_reason,
        "dose_24h_ago": None if baseline is None else {
            "daily_dose": baseline.daily_dose,
            "dose_unit": baseline.dose_unit,
            "since": iso(baseline.since),
            "programs_activated": baseline.activations,
            "whole_window": baseline.whole_window,
        },
        "reservoir": {
            "volume_ml": status.volume_ml,
            "capacity_ml": status.capacity_ml,
            "low_alarm_ml": status.low_alarm_ml,
            "low_alarm_at": None if dates is None else iso(dates.low_alarm_at),
            "empty_at": None if dates is None else iso(dates.empty_at),
            "days_to_low_alarm": None if dates is None else minutes_to_days(dates.minutes_to_low_alarm),
            "days_to_empty": None if dates is None else minutes_to_days(dates.minutes_to_empty),
        },
        "alarms": [{"code": a.code, "severity": a.severity, "since": iso(a.since)} for a in status.alarms],
        "bolus": None if status.bolus is None else {
            "bolus_id": status.bolus.bolus_id,
            "kind": status.bolus.kind,
            "dose": status.bolus.dose,
            "delivered": status.bolus.delivered,
            "remaining_s": status.bolus.remaining_s,
        },
        "line": None if status.line is None else _line_json(status.line),
        "demand": _demand_json(snapshot),
        "clock_changes": [clock_change_json(change) for change in _clock_changes(snapshot, library, move)],
    } | refill_by_json(snapshot_refill_by(snapshot, library))


def _clock_changes(snapshot: PumpSnapshot, library: LoadedLibrary, move: Move | None) -> list[ClockChange]:
    """The DST changes in this computer's zone before the refill-by date (at most 400 days ahead), with ``move``
    and the new zone's changes after it."""
    refill = snapshot_refill_by(snapshot, library)
    return snapshot_clock_changes(snapshot, None if refill is None else refill.at, move=move)


def _demand_json(snapshot: PumpSnapshot) -> dict | None:
    """The patient's demand dose as the pump holds it; None from a pump that has none."""
    settings = snapshot.demand
    if settings is None:
        return None
    demand = settings.demand
    return {"enabled": demand.enabled, "dose": demand.dose if demand.enabled else None,
            "dose_unit": settings.dose_unit, "duration_min": demand.duration_min if demand.enabled else None,
            "lockout_min": demand.lockout_min if demand.enabled else None,
            "max_per_day": demand.max_per_day if demand.enabled else None,
            "max_daily_dose": snapshot.demand_daily_max, "checksum": settings.checksum}


def _demand_text(snapshot: PumpSnapshot) -> str:
    settings = snapshot.demand
    if settings is None:
        return "Demand dose   none: this pump has no demand dose"
    demand = settings.demand
    if not demand.enabled:
        return "Demand dose   off: the patient's button gives nothing"
    unit = settings.dose_unit or "dose units"
    return (f"Demand dose   {demand.dose:g} {unit} a press over {demand.duration_min:g} min, lockout "
            f"{demand.lockout_min:g} min, at most {demand.max_per_day} a day: up to {snapshot.demand_daily_max:.4g} "
            f"{unit}/day on top of the program")


def _line_json(line: LineState) -> dict:
    return {"tubing_ml": line.tubing_ml, "catheter_cm": line.catheter_cm, "volume_ml": line.volume_ml,
            "contents": [{"volume_ml": part.volume_ml, "concentration_per_ml": part.concentration_per_ml}
                         for part in line.contents],
            "pumped_ml": line.pumped_ml, "to_patient_ml": line.to_patient_ml,
            "to_patient_dose": line.to_patient_dose, "dose_unit": line.dose_unit}


def _line_text(line: LineState) -> str:
    """The tubing and catheter, and what fills them from the catheter tip back: the drug the patient gets next."""
    unit = line.dose_unit or "dose units"
    catheter = ("no catheter recorded (prime records it)" if line.catheter_cm is None
                else f"catheter {line.catheter_cm:g} cm")
    held = [f"{part.concentration_per_ml:g} {unit}/mL" if part.concentration_per_ml else "spinal fluid"
            for part in line.contents]
    parts = ", then ".join(f"{part.volume_ml:.4g} mL of {what}" for part, what in zip(line.contents, held))
    return (f"Line          {line.volume_ml:.4g} mL (tubing {line.tubing_ml:g} mL, {catheter}); at the tip first: "
            f"{parts}")


def interrogation_to_text(snapshot: PumpSnapshot, library: LoadedLibrary, move: Move | None = None) -> str:
    """A readable summary for a technician at the bedside (``move``: as for ``interrogation_to_json``)."""
    identity, status, active = snapshot.identity, snapshot.status, snapshot.active
    plan = snapshot.forecast()
    clock_note = (f"; more than {CLOCK_DRIFT_LIMIT_S // 60} min off: set the pump clock" if snapshot.clock_drifts
                  else "")
    lines = [
        f"Pump          {identity.model} serial {identity.serial}, firmware {identity.firmware}, "
        f"{identity.capacity_ml:g} mL reservoir",
        f"Clock         {iso(status.pump_time)} (pump), {round(snapshot.drift_s):+d} s from this computer{clock_note}",
        f"Battery       {status.battery_status} ({status.battery_percent:g} %)" + (
            "" if replace_by(status) is None else f", replace by {iso(replace_by(status))} (pump clock)"),
        f"Program       {describe_program(active)}",
    ]
    programmed = ("" if plan is None else
                  f"{plan.mean_daily_dose:.4g} {plan.program.drug.dose_unit}/day, {plan.ml_per_day:.4g} mL/day")
    if snapshot.stopped_by:
        lines.append(f"Delivery      NOT DELIVERING: {snapshot.not_delivering_reason}. The program"
                     f"{f' ({programmed})' if programmed else ''} will not run until that is resolved")
    elif plan is not None and plan.ml_per_day > 0:
        lines.append(f"Delivery      {programmed}")
    baseline = snapshot.dose_24h_ago()
    if baseline is not None and baseline.activations:
        lines.append(f"24 h ago      {baseline.daily_dose:.4g} {baseline.dose_unit}/day at {iso(baseline.since)} "
                     f"(pump clock{'' if baseline.whole_window else ', as far back as the event log goes'}); "
                     f"{baseline.activations} program(s) activated since")
    lines.append(f"Reservoir     {status.volume_ml:.4g} of {status.capacity_ml:g} mL, low alarm at "
                 f"{status.low_alarm_ml:g} mL")
    if plan is not None and snapshot.stopped_by:
        lines.append("Low alarm     none while the pump is not delivering")
        lines.append("Empty         none while the pump is not delivering")
    elif plan is not None:
        lines.append(f"Low alarm     {iso(plan.low_alarm_at) or 'never at this program'} (pump clock)")
        lines.append(f"Empty         {iso(plan.empty_at) or 'never at this program'} (pump clock)")
    refill = snapshot_refill_by(snapshot, library)
    if refill is not None:
        lines.append(refill_by_line(refill, " (pump clock)"))
    if status.alarms:
        for alarm in status.alarms:
            lines.append(f"Alarm         {alarm.code} ({alarm.severity}) since {iso(alarm.since)}")
    else:
        lines.append("Alarms        none")
    if status.bolus is not None:
        bolus = status.bolus
        unit = active.drug.dose_unit if active.drug is not None else "dose units"
        lines.append(f"Bolus         {bolus.bolus_id} ({bolus.kind}): {bolus.delivered:.4g} of {bolus.dose:.4g} {unit} "
                     f"delivered, {bolus.remaining_s / 60:.1f} min left")
    lines.append(_demand_text(snapshot))
    if status.line is not None:
        lines.append(_line_text(status.line))
    for change in _clock_changes(snapshot, library, move):
        lines.append(f"Warning       {CODE}: {change.message()}")
    lines.append(f"Limits        flow {identity.min_rate_ml_per_day:g}-{identity.max_rate_ml_per_day:g} mL/day, "
                 f"{identity.max_steps_per_day} steps a day, cycles up to {identity.max_cycle_days} days")
    return "\n".join(lines)
