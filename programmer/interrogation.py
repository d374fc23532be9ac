"""Interrogation: read everything a pump reports, and say what it means.

A ``PumpSnapshot`` is one consistent reading (identity, status, active program, and this computer's clock
at the moment the status was read). Every later decision (checks, refill tolerances, forecasts) starts from
a snapshot, and the pump's own figures win over anything the programmer assumes: its declared limits
(not a hard-coded model table), its clock, its calculated reservoir volume and its cycle phase.

The reservoir forecast uses the planner from the pump's own time and cycle phase, so the dates shown agree
with what the pump will do, not with this computer's idea of the time. Dates are in the pump's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from pydantic import ValidationError

from programmer.plan_report import iso
from programmer.planner import Plan, minutes_to_days
from programmer.port import ActiveProgram, LinkError, PumpDriver, PumpIdentity, PumpStatus
from programmer.program import Flex, SimpleContinuous
from programmer.pump import PumpLimits, Reservoir

INTERROGATION_FORMAT = "itb-interrogation/1"


def computer_now() -> datetime:
    """This computer's local wall-clock time without an offset, the form the pump keeps its clock in."""
    return datetime.now()


@dataclass(frozen=True)
class PumpSnapshot:
    identity: PumpIdentity
    status: PumpStatus
    active: ActiveProgram
    computer_time: datetime
    """This computer's local time (naive) halfway through the status read, for the clock drift."""

    @property
    def limits(self) -> PumpLimits:
        """The limits the pump declares about itself: the checks use these, never a model table."""
        return pump_limits(self.identity)

    @property
    def reservoir(self) -> Reservoir:
        """The reservoir as the pump calculates it now."""
        status = self.status
        return Reservoir(capacity_ml=status.capacity_ml, volume_ml=status.volume_ml, low_alarm_ml=status.low_alarm_ml)

    @property
    def drift_s(self) -> float:
        """Pump time minus this computer's time, in seconds (positive: the pump is ahead)."""
        pump_time = self.status.pump_time
        if pump_time.tzinfo is not None:
            pump_time = pump_time.astimezone().replace(tzinfo=None)
        return (pump_time - self.computer_time).total_seconds()

    def forecast(self) -> Plan | None:
        """The active program projected from the pump's time, volume and cycle phase (None without a drug)."""
        program = self.active.program
        if program is None:
            return None
        return Plan(program, self.reservoir, self.status.pump_time, self.status.cycle_phase_min)


def pump_limits(identity: PumpIdentity) -> PumpLimits:
    return PumpLimits(
        model=identity.model,
        capacity_ml=identity.capacity_ml,
        min_rate_ml_per_day=identity.min_rate_ml_per_day,
        max_rate_ml_per_day=identity.max_rate_ml_per_day,
        max_steps_per_day=identity.max_steps_per_day,
        max_cycle_days=identity.max_cycle_days,
    )


def read_pump(driver: PumpDriver, clock: Callable[[], datetime] = computer_now) -> PumpSnapshot:
    """Identify the pump and read its status and active program.

    Figures the pump reports that cannot be true (limits out of order, more in the reservoir than it
    holds) are treated like a garbled link: a ``LinkError``, since nothing can be decided on them.
    """
    identity = driver.identify()
    before = clock()
    status = driver.read_status()
    after = clock()
    active = driver.read_program()
    snapshot = PumpSnapshot(identity, status, active, before + (after - before) / 2)
    try:
        pump_limits(identity)
        snapshot.reservoir
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise LinkError(f"the pump reported figures that cannot be true ({first['msg']}); nothing was changed")
    return snapshot


def describe_program(active: ActiveProgram) -> str:
    """The program the pump runs in words, checksum first: 'c0ffee... (baclofen 500 mcg/mL, 150 mcg/day)'."""
    if active.program is None or active.drug is None:
        return f"{active.checksum} (no drug, stopped)"
    drug = active.drug
    therapy = active.program.therapy
    unit = drug.dose_unit
    if isinstance(therapy, SimpleContinuous):
        words = f"simple continuous {therapy.daily_dose:g} {unit}/day"
    elif isinstance(therapy, Flex):
        words = f"flex, {len(therapy.steps)} steps over {therapy.cycle_days} day(s)"
    else:
        words = "stopped"
    return f"{active.checksum} ({drug.name} {drug.concentration_per_ml:g} {unit}/mL, {words})"


def interrogation_to_json(snapshot: PumpSnapshot) -> dict:
    """The ``interrogate --json`` object (keys are a contract: DESIGN.md section 3)."""
    identity, status, active = snapshot.identity, snapshot.status, snapshot.active
    plan = snapshot.forecast()
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
        },
        "battery": {"status": status.battery_status, "percent": status.battery_percent},
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
        "reservoir": {
            "volume_ml": status.volume_ml,
            "capacity_ml": status.capacity_ml,
            "low_alarm_ml": status.low_alarm_ml,
            "low_alarm_at": None if plan is None else iso(plan.low_alarm_at),
            "empty_at": None if plan is None else iso(plan.empty_at),
            "days_to_low_alarm": None if plan is None else minutes_to_days(plan.minutes_to_low_alarm),
            "days_to_empty": None if plan is None else minutes_to_days(plan.minutes_to_empty),
        },
        "alarms": [{"code": a.code, "severity": a.severity, "since": iso(a.since)} for a in status.alarms],
        "bolus": None if status.bolus is None else {
            "bolus_id": status.bolus.bolus_id,
            "dose": status.bolus.dose,
            "delivered": status.bolus.delivered,
            "remaining_s": status.bolus.remaining_s,
        },
    }


def interrogation_to_text(snapshot: PumpSnapshot) -> str:
    """A readable summary for a technician at the bedside."""
    identity, status, active = snapshot.identity, snapshot.status, snapshot.active
    plan = snapshot.forecast()
    lines = [
        f"Pump          {identity.model} serial {identity.serial}, firmware {identity.firmware}, "
        f"{identity.capacity_ml:g} mL reservoir",
        f"Clock         {iso(status.pump_time)} (pump), {round(snapshot.drift_s):+d} s from this computer",
        f"Battery       {status.battery_status} ({status.battery_percent:g} %)",
        f"Program       {describe_program(active)}",
    ]
    if plan is not None and plan.ml_per_day > 0:
        lines.append(f"Delivery      {plan.mean_daily_dose:.4g} {active.drug.dose_unit}/day, "
                     f"{plan.ml_per_day:.4g} mL/day")
    lines.append(f"Reservoir     {status.volume_ml:.4g} of {status.capacity_ml:g} mL, low alarm at "
                 f"{status.low_alarm_ml:g} mL")
    if plan is not None:
        lines.append(f"Low alarm     {iso(plan.low_alarm_at) or 'never at this program'} (pump clock)")
        lines.append(f"Empty         {iso(plan.empty_at) or 'never at this program'} (pump clock)")
    if status.alarms:
        for alarm in status.alarms:
            lines.append(f"Alarm         {alarm.code} ({alarm.severity}) since {iso(alarm.since)}")
    else:
        lines.append("Alarms        none")
    if status.bolus is not None:
        bolus = status.bolus
        lines.append(f"Bolus         {bolus.bolus_id}: {bolus.delivered:g} of {bolus.dose:g} delivered, "
                     f"{bolus.remaining_s:.0f} s left")
    lines.append(f"Limits        flow {identity.min_rate_ml_per_day:g}-{identity.max_rate_ml_per_day:g} mL/day, "
                 f"{identity.max_steps_per_day} steps a day, cycles up to {identity.max_cycle_days} days")
    return "\n".join(lines)
