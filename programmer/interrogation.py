"""Interrogation: read everything a pump reports, and say what it means.

A ``PumpSnapshot`` is one consistent reading (identity, status, active program, and this computer's clock
at the moment the status was read). Every later decision (checks, refill tolerances, forecasts) starts from
a snapshot, and the pump's own figures win over anything the programmer assumes: its declared limits
(not a hard-coded model table), its clock, its calculated reservoir volume and its cycle phase.

The reservoir forecast uses the planner from the pump's own time and cycle phase, so the dates shown agree
with what the pump will do, not with this computer's idea of the time. Dates are in the pump's clock.
While a critical alarm stops delivery (``STOPPING_ALARMS``) the pump counts nothing down: the report then
says the pump is not delivering, and why, instead of dates.

The snapshot also holds the newest part of the pump's event log (``recent_events``), back past 24 h of
pump time: ``dose_24h_ago`` derives from it which daily dose ran 24 h ago (``program_activated`` events
carry the activated and the previous program's mean daily dose), for the 24-hour change check. Reading it
costs one READ_EVENTS exchange per 16 events of the window, newest first, plus one for the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Sequence, TypeGuard

from pydantic import ValidationError

from programmer.checks import DoseBaseline
from programmer.plan_report import iso
from programmer.planner import Plan, mean_daily_dose, minutes_to_days
from programmer.port import ActiveProgram, LinkError, PumpDriver, PumpEvent, PumpIdentity, PumpStatus
from programmer.program import Drug, Flex, Program, SimpleContinuous
from programmer.pump import PumpLimits, Reservoir

INTERROGATION_FORMAT = "itb-interrogation/1"

CLOCK_DRIFT_LIMIT_S = 5 * 60
"""Largest difference between the pump's clock and this computer's that passes without a word. Beyond it
the Overview says to set the clock and a write or refill review warns (CLOCK_DRIFT): flex steps start
by the pump's clock and every date shown is on it. Five minutes is this programmer's own choice: more
than a clock set by hand a minute out, less than anything that moves a flex step noticeably, and far
less than a daylight-saving change (one hour), which it catches."""

BASELINE_WINDOW = timedelta(hours=24)
"""Titration limits are per 24 h (5-30 % a day in the literature): the change check looks this far back."""


STOPPING_ALARMS = {
    "eos": "battery at end of service (EOS): the pump must be replaced",
    "motor_stall": "motor stall: the pump needs checking",
    "reservoir_empty": "reservoir empty: refill it",
}
"""The critical alarms under which the pump delivers nothing (docs/protocol.md, READ_STATUS), in words."""


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
    recent_events: tuple[PumpEvent, ...] | None = None
    """The newest events of the pump's log, oldest first, from the last one logged at least 24 h of pump
    time ago (or the oldest retained) to the newest; None when the log was not read."""

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
    """Identify the pump and read its status, active program and the last 24 h of its event log.

    Figures the pump reports that cannot be true (limits out of order, more in the reservoir than it
    holds) are treated like a garbled link: a ``LinkError``, since nothing can be decided on them.
    """
    identity = driver.identify()
    before = clock()
    status = driver.read_status()
    after = clock()
    active = driver.read_program()
    events = read_recent_events(driver, status.pump_time)
    snapshot = PumpSnapshot(identity, status, active, before + (after - before) / 2, events)
    try:
        pump_limits(identity)
        snapshot.reservoir
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise LinkError(f"the pump reported figures that cannot be true ({first['msg']}); nothing was changed")
    return snapshot


# --- the last 24 hours of the event log ---------------------------------------------------------------


def read_recent_events(driver: PumpDriver, pump_time: datetime,
                       window: timedelta = BASELINE_WINDOW) -> tuple[PumpEvent, ...]:
    """The newest events, back to the last one logged at least ``window`` of pump time before
    ``pump_time`` (or the oldest retained), oldest first.

    Pages of ``driver.events_per_read`` (16 on the serial protocol) are read from the newest back until one
    reaches that far: 1 + ceil(n / 16) exchanges for the n events of the window (usually two), not the
    whole log (up to 512 events, a minute at 9600 baud).
    """
    total, _ = driver.read_event_page(0, 0)
    events: list[PumpEvent] = []
    end = total
    while end > 0:
        start = max(0, end - driver.events_per_read)
        _, page = driver.read_event_page(start, end - start)
        events[:0] = [event for event in page if event.index < end]
        if not page or page[0].index > start or _reaches_back(events, pump_time, window):
            break  # the window is covered, or older events were overwritten
        end = start
    return _window_tail(events, pump_time, window)


def _local(moment: datetime) -> datetime:
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo is not None else moment


def _times_on_todays_clock(events: Sequence[PumpEvent]) -> list[datetime | None]:
    """Each event's time moved onto the pump clock as it reads now: a ``clock_set`` moved the clock by
    ``new - old``, so every event logged before it moves by as much. None: a clock_set it cannot read."""
    shift = timedelta(0)
    times: list[datetime | None] = [None] * len(events)
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        times[position] = _local(event.time) + shift
        if event.kind == "clock_set":
            try:
                shift += (_local(datetime.fromisoformat(event.detail["new"]))
                          - _local(datetime.fromisoformat(event.detail["old"])))
            except (KeyError, TypeError, ValueError):
                return times  # earlier times cannot be placed: leave them None
    return times


def _reaches_back(events: Sequence[PumpEvent], pump_time: datetime, window: timedelta) -> bool:
    since = _local(pump_time) - window
    return any(time is None or time <= since for time in _times_on_todays_clock(events))


def _window_tail(events: list[PumpEvent], pump_time: datetime, window: timedelta) -> tuple[PumpEvent, ...]:
    """The events from the newest one logged at or before the window's start (or from the oldest) on."""
    since = _local(pump_time) - window
    times = _times_on_todays_clock(events)
    first = 0
    for position in range(len(events) - 1, -1, -1):
        time = times[position]
        if time is None or time <= since:
            first = position
            break
    return tuple(events[first:])


def dose_baseline(events: Sequence[PumpEvent], pump_time: datetime, current: Program | None,
                  window: timedelta = BASELINE_WINDOW) -> DoseBaseline | None:
    """The daily dose that ran ``window`` before ``pump_time`` (pump clock), from the event log's tail.

    ``events`` are the newest events, oldest first (``read_recent_events``). Walking back from the newest,
    each ``program_activated`` says which daily dose ran before it (``previous_daily_dose``), so the oldest
    activation inside the window names the dose that ran at its start. Event times are moved across
    ``clock_set`` events onto the clock as it reads now.

    - No activation inside the window: the current program ran throughout (``activations`` 0).
    - Nothing ran at the window's start (stopped, or no drug yet): the baseline is the first dose above 0
      activated inside the window, from its activation, since a titration is limited from the dose
      therapy (re)started at. The same from a refill inside the window that may have changed the drug
      (one that stopped therapy, one into a pump running nothing, or one of another drug): earlier doses
      do not compare.
    - The log does not reach back the whole window (overwritten): the dose at the oldest retained event,
      with ``whole_window`` False.
    - None when it cannot be told: no program now, an activation without its doses (older pump firmware),
      a dose in another unit, or a clock_set whose times cannot be read.
    """
    if current is None:
        return None
    since = _local(pump_time) - window
    times = _times_on_todays_clock(events)
    drug = current.drug
    chain: list[tuple[datetime, float, float]] = []  # (time, dose before, dose after), newest first
    reached, new_drug_at, oldest = False, None, _local(pump_time)
    running = mean_daily_dose(current)  # the dose running at the point the walk has reached
    for position in range(len(events) - 1, -1, -1):
        event, time = events[position], times[position]
        if time is None:
            return None
        if time <= since:
            reached = True
            break
        oldest = time
        if event.kind == "refill" and (event.detail.get("therapy_stopped") is not False or running == 0
                                       or not _same_substance(event.detail.get("drug"), drug)):
            # Another drug may have been filled here (a new drug stops a running program, and a stopped
            # pump may take any drug): nothing earlier compares.
            new_drug_at = time
            break
        if event.kind == "program_activated":
            detail = event.detail
            before, after = detail.get("previous_daily_dose"), detail.get("daily_dose")
            if not (_is_dose(before) and _is_dose(after)):
                return None
            if (detail.get("previous_dose_unit") not in (None, drug.dose_unit)
                    or detail.get("dose_unit") != drug.dose_unit):
                return None
            chain.append((time, float(before), float(after)))
            running = float(before)
    chain.reverse()
    whole = reached or new_drug_at is not None or (bool(events) and events[0].index == 0)
    start = new_drug_at or (since if whole else oldest)
    if not chain:
        return DoseBaseline(mean_daily_dose(current), drug.dose_unit, start, 0, whole)
    first = 0.0 if new_drug_at is not None else chain[0][1]
    if first > 0:
        return DoseBaseline(first, drug.dose_unit, start, len(chain), whole)
    for position, (time, _, after) in enumerate(chain):
        if after > 0:
            return DoseBaseline(after, drug.dose_unit, time, len(chain) - position - 1, whole)
    return DoseBaseline(0.0, drug.dose_unit, start, len(chain), whole)


def _is_dose(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _same_substance(filled: object, drug: Drug) -> bool:
    """A refill event's drug is the same substance (name and dose unit) as ``drug``; a concentration may differ."""
    return (isinstance(filled, dict) and filled.get("name") == drug.name
            and filled.get("dose_unit") == drug.dose_unit)


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
    """The ``interrogate --json`` object (keys are a contract: docs/cli.md)."""
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
            "dose": status.bolus.dose,
            "delivered": status.bolus.delivered,
            "remaining_s": status.bolus.remaining_s,
        },
    }


def interrogation_to_text(snapshot: PumpSnapshot) -> str:
    """A readable summary for a technician at the bedside."""
    identity, status, active = snapshot.identity, snapshot.status, snapshot.active
    plan = snapshot.forecast()
    clock_note = (f"; more than {CLOCK_DRIFT_LIMIT_S // 60} min off: set the pump clock" if snapshot.clock_drifts
                  else "")
    lines = [
        f"Pump          {identity.model} serial {identity.serial}, firmware {identity.firmware}, "
        f"{identity.capacity_ml:g} mL reservoir",
        f"Clock         {iso(status.pump_time)} (pump), {round(snapshot.drift_s):+d} s from this computer{clock_note}",
        f"Battery       {status.battery_status} ({status.battery_percent:g} %)",
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
