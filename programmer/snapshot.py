"""A ``PumpSnapshot``: one consistent reading of a pump, and what its figures mean.

A snapshot holds identity, status, active program, this computer's clock at the moment the status was read,
and the newest part of the event log. Every later decision (checks, refill tolerances, forecasts) starts from
a snapshot, and the pump's own figures win over anything the programmer assumes: its declared limits (not a
hard-coded model table), its clock, its calculated reservoir volume and its cycle phase.

The reservoir forecast uses the planner from the pump's own time and cycle phase, so the dates shown agree
with what the pump will do, not with this computer's idea of the time. Dates are in the pump's clock.
While a critical alarm stops delivery (``STOPPING_ALARMS``) the pump counts nothing down: the reports then
say the pump is not delivering, and why, instead of dates. Reading a snapshot is ``interrogation.read_pump``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from programmer.baseline import dose_baseline, last_increase, therapy_stop
from programmer.checks import DoseBaseline, Increase, Stop
from programmer.planner import Plan
from programmer.port import ActiveProgram, DemandSettings, PumpEvent, PumpIdentity, PumpStatus
from programmer.program import Flex, SimpleContinuous
from programmer.pump import PumpLimits, Reservoir

CLOCK_DRIFT_LIMIT_S = 5 * 60
"""Largest difference between the pump's clock and this computer's that passes without a word. Beyond it
the Overview says to set the clock and a write or refill review warns (CLOCK_DRIFT): flex steps start
by the pump's clock and every date shown is on it. Five minutes is this programmer's own choice: more
than a clock set by hand a minute out, less than anything that moves a flex step noticeably, and far
less than a daylight-saving change (one hour), which it catches."""


STOPPING_ALARMS = {
    "eos": "battery at end of service (EOS): the pump must be replaced",
    "motor_stall": "motor stall: the pump needs checking",
    "reservoir_empty": "reservoir empty: refill it",
}
"""The critical alarms under which the pump delivers nothing (docs/protocol.md, READ_STATUS), in words."""



@dataclass(frozen=True)
class PumpSnapshot:
    identity: PumpIdentity
    status: PumpStatus
    active: ActiveProgram
    computer_time: datetime
    """This computer's local time (naive) halfway through the status read, for the clock drift."""
    recent_events: tuple[PumpEvent, ...] | None = None
    """The newest events of the pump's log, oldest first, from the last one logged at least 24 h of pump
    time ago (or the oldest retained), or from the one that stopped a pump that runs nothing if that is older,
    to the newest; None when the log was not read."""
    demand: DemandSettings | None = None
    """The patient's demand dose as the pump holds it (READ_DEMAND at interrogation); None from a pump that has no
    demand dose (it answers READ_DEMAND ``UNKNOWN_COMMAND``) or when it was not read. The bolus review counts an
    enabled one's daily maximum in the next 24 h (``programmer.bolus``)."""

    @property
    def demand_daily_max(self) -> float:
        """The most the enabled demand dose can give in a day (dose x max_per_day, dose units); 0 when it is off
        or unknown."""
        settings = self.demand
        if settings is None or not settings.demand.enabled:
            return 0.0
        return settings.demand.dose * settings.demand.max_per_day

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

    @property
    def clock_drifts(self) -> bool:
        """True when the pump's clock is more than CLOCK_DRIFT_LIMIT_S away from this computer's."""
        return abs(self.drift_s) > CLOCK_DRIFT_LIMIT_S

    @property
    def stopped_by(self) -> tuple[str, ...]:
        """The critical alarms (codes) that stop delivery now; empty while the pump can deliver."""
        codes = [alarm.code for alarm in self.status.alarms if alarm.code in STOPPING_ALARMS]
        if self.status.battery_status == "eos" and "eos" not in codes:
            codes.insert(0, "eos")  # the battery says so even if its alarm was not listed
        return tuple(dict.fromkeys(codes))

    @property
    def not_delivering_reason(self) -> str | None:
        """Why the pump delivers nothing now, in words; None while it runs its program (if any)."""
        if self.stopped_by:
            return "; ".join(STOPPING_ALARMS[code] for code in self.stopped_by)
        if self.active.program is None:
            return "the pump holds no drug"
        if self.active.program.therapy.mode == "stopped":
            return "the program is stopped"
        return None

    def forecast(self) -> Plan | None:
        """The active program projected from the pump's time, volume and cycle phase (None without a drug).

        It assumes the pump delivers: while ``stopped_by`` is not empty it does not (see the reports)."""
        program = self.active.program
        if program is None:
            return None
        return Plan(program, self.reservoir, self.status.pump_time, self.status.cycle_phase_min)

    def dose_24h_ago(self) -> DoseBaseline | None:
        """The daily dose that ran 24 h ago on the pump's clock (None when the log was not read or cannot
        tell): see ``dose_baseline``."""
        if self.recent_events is None:
            return None
        return dose_baseline(self.recent_events, self.status.pump_time, self.active.program)

    def stop(self) -> Stop | None:
        """How delivery came to stop, while the pump's program delivers nothing (None while it delivers, or
        without a drug): see ``therapy_stop``. A log that was not read cannot tell (``unknown``)."""
        if self.recent_events is None:
            return therapy_stop((), self.status.pump_time, self.active.program)
        return therapy_stop(self.recent_events, self.status.pump_time, self.active.program)

    def last_increase(self) -> Increase | None:
        """The newest activation that raised the daily dose (None when the log was not read or holds none)."""
        if self.recent_events is None:
            return None
        return last_increase(self.recent_events, self.status.pump_time, self.active.program)


def pump_limits(identity: PumpIdentity) -> PumpLimits:
    return PumpLimits(
        model=identity.model,
        capacity_ml=identity.capacity_ml,
        min_rate_ml_per_day=identity.min_rate_ml_per_day,
        max_rate_ml_per_day=identity.max_rate_ml_per_day,
        max_steps_per_day=identity.max_steps_per_day,
        max_cycle_days=identity.max_cycle_days,
        tubing_ml=identity.tubing_ml,
        priming_ml_per_hour=identity.priming_ml_per_hour,
        max_bolus_ml_per_hour=identity.max_bolus_ml_per_hour,
    )



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

