"""A fake pump behind the driver port, for the pure session and interrogation tests.

It is a true edge (the abstract ``PumpDriver``), not the subject. It keeps a drug, a program, a reservoir,
alarms, boluses and an event log, on a clock that stands still, and acts on each command the way
docs/protocol.md says a pump does: a write is staged only for the pump's own drug and within its declared
limits, a refill or bolus id is never acted on twice, the reservoir alarms follow the volume, and each action
is logged with the detail a pump gives it. The driver contract (tests/drivers/test_contract.py) holds it to
the same rules as the serial driver over the emulator, so a test using it tests what a pump would do.

A test can also put any events in its log (``log``), set its clock, battery and alarms, and tell it to answer
a write or a refill with a given outcome or exception instead (``write_answer``, ``refill_answer``,
``refill_volume_error_ml``). It records the port's calls (``calls``) and each page of its log asked for
(``pages``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from emulator.alarms import SEVERITY
from programmer.clock import pump_clock_reading
from programmer.outcome import Outcome
from programmer.planner import mean_daily_dose
from programmer.errors import PumpRefused
from programmer.port import (ActiveProgram, Alarm, BolusOutcome, BolusState, PumpDriver, PumpEvent, PumpIdentity,
                             PumpStatus, RefillOutcome, WriteOutcome)
from programmer.program import (FORMAT, NO_PROGRAM_CHECKSUM, Drug, Flex, Program, SimpleContinuous, Stopped, Therapy,
                                program_from_data)

PUMP_TIME = datetime(2026, 11, 28, 9, 0, 0)
BACLOFEN_500 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)
RATE_TOLERANCE = 1e-9
"""A rate exactly on a bound of the flow range fits: the relative allowance for float rounding (docs/protocol.md)."""


def baclofen(daily_dose: float = 150, concentration: float = 500) -> Program:
    return program_from_data({
        "format": FORMAT,
        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration},
        "therapy": {"mode": "simple_continuous", "daily_dose": daily_dose},
    })


def identity(**changes: object) -> PumpIdentity:
    figures = dict(model="ITB-20", serial="EMU-0001", firmware="1.0.0", capacity_ml=20.0, min_rate_ml_per_day=0.048,
                   max_rate_ml_per_day=24.0, max_steps_per_day=13, max_cycle_days=7, event_log_size=512)
    return PumpIdentity(**(figures | changes))


def active_for(program: Program | None) -> ActiveProgram:
    if program is None:
        return ActiveProgram(drug=None, therapy={"mode": "stopped"}, checksum=NO_PROGRAM_CHECKSUM, program=None)
    return ActiveProgram(drug=program.drug, therapy=program.therapy.model_dump(mode="json"),
                         checksum=program.checksum(), program=program)


def status(volume_ml: float = 10.0, program: Program | None = None, **changes: object) -> PumpStatus:
    figures = dict(pump_time=PUMP_TIME, battery_status="ok", battery_percent=90.0, volume_ml=volume_ml,
                   low_alarm_ml=2.0, capacity_ml=20.0, alarms=(), cycle_phase_min=540.0,
                   program_checksum=active_for(program).checksum)
    return PumpStatus(**(figures | changes))


@dataclass
class _Bolus:
    dose: float
    duration_min: float
    volume_ml: float
    state: str = "delivering"


def refused(status: str, step: str, message: str, field: str | None = None) -> PumpRefused:
    """A refusal worded as the serial driver words one ("STEP: message"), with its step and field."""
    return PumpRefused(status, f"{step}: {message}", step=step, field=field)


class FakePump(PumpDriver):
    """A pump in memory. ``write_answer`` / ``refill_answer``: an outcome or exception to give instead."""

    events_per_read = 16  # the serial protocol's page (protocol.codes.MAX_EVENTS_PER_READ)

    def __init__(self, program: Program | None = None, volume_ml: float = 10.0, **identity_changes: object):
        self.identity_figures = identity(**identity_changes)
        self.active = active_for(program)
        self.volume_ml = volume_ml
        self.low_alarm_ml = 2.0
        self.calls: list[str] = []
        self.pages: list[tuple[int, int]] = []
        self.write_answer: WriteOutcome | Exception | None = None
        self.refill_answer: Exception | None = None
        self.refill_volume_error_ml = 0.0
        self.alarms: tuple[Alarm, ...] = ()
        self.acknowledged: set[str] = set()
        self.pump_time = PUMP_TIME
        self.battery_status = "ok"
        self.events: list[PumpEvent] = []
        self.refills: dict[str, tuple[tuple, RefillOutcome]] = {}
        self.boluses: dict[str, _Bolus] = {}
        self.actions = 0
        """Boluses and refills carried out, as the pump numbers them (``action_number`` in their events)."""

    @classmethod
    def factory_new(cls) -> "FakePump":
        """A pump as it leaves the factory: no drug, an empty reservoir, and its first ``power_on`` logged."""
        pump = cls(volume_ml=0.0)
        pump.log("power_on", factory_new=True)
        return pump

    def log(self, kind: str, time=None, **detail: object) -> None:
        """Append an event to the pump's log, at ``time`` (default: the pump's clock)."""
        index = self.events[-1].index + 1 if self.events else 0
        self.events.append(PumpEvent(index, time or self.pump_time, kind, detail))

    # -- reads -----------------------------------------------------------------------------------

    def identify(self) -> PumpIdentity:
        self.calls.append("identify")
        return self.identity_figures

    def read_status(self) -> PumpStatus:
        self.calls.append("read_status")
        running = self._running_bolus()
        bolus = None if running is None else BolusState(running[0], running[1].dose, 0.0, running[1].duration_min * 60)
        return status(self.volume_ml, self.active.program, capacity_ml=self.identity_figures.capacity_ml,
                      low_alarm_ml=self.low_alarm_ml, alarms=self.alarms, pump_time=self.pump_time,
                      battery_status=self.battery_status, bolus=bolus)

    def read_program(self) -> ActiveProgram:
        self.calls.append("read_program")
        return self.active

    def read_events(self, progress=None) -> list[PumpEvent]:
        self.calls.append("read_events")
        return super().read_events(progress)

    def read_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        self.pages.append((start, count))
        if start < 0:
            raise refused("OUT_OF_RANGE", "read events", f"start {start} is negative", "start")
        if not 0 <= count <= self.events_per_read:
            raise refused("OUT_OF_RANGE", "read events", f"count {count} is outside 0..{self.events_per_read}", "count")
        total = self.events[-1].index + 1 if self.events else 0
        retained = self.events[-self.identity_figures.event_log_size:]
        return total, [event for event in retained if start <= event.index < start + count]

    # -- writes ----------------------------------------------------------------------------------

    def write_program(self, program, progress=None) -> WriteOutcome:
        """Stage with the pump's checks, then commit at once; the active program again activates nothing."""
        self.calls.append("write_program")
        if isinstance(self.write_answer, Exception):
            raise self.write_answer
        if self.write_answer is not None:
            return self.write_answer
        if progress is not None:
            progress("write", 0.0)
        self._check_stage(program)
        self.log("program_staged", checksum=program.checksum())
        previous = self.active
        if program.checksum() != previous.checksum:
            self.active = active_for(program)
            self.log("program_activated", checksum=program.checksum(), previous=previous.checksum,
                     daily_dose=daily_dose_of(program), dose_unit=program.drug.dose_unit,
                     previous_daily_dose=daily_dose_of(previous.program),
                     previous_dose_unit=None if previous.drug is None else previous.drug.dose_unit)
        if progress is not None:
            progress("write", 1.0)
        return WriteOutcome(Outcome.VERIFIED, "verified", self.active, program.checksum())

    def _check_stage(self, program: Program) -> None:
        """STAGE_PROGRAM's checks after the document's: the pump's own drug, and a program that fits it."""
        held = self.active.drug
        if held is None:
            raise refused("REFUSED", "stage program", "the pump holds no drug: refill it before programming",
                          "program.drug")
        if program.drug != held:
            raise refused("REFUSED", "stage program", "the program's drug differs from the pump's: a change of drug "
                              "or concentration is a refill", "program.drug")
        misfit = self._misfit(program.drug, program.therapy)
        if misfit is not None:
            raise refused("OUT_OF_RANGE", "stage program", misfit[1], f"program.therapy.{misfit[0]}")

    def _misfit(self, drug: Drug, therapy: Therapy) -> tuple[str, str] | None:
        """The first field of ``therapy`` this pump cannot run at ``drug``'s concentration, and why; None if it fits."""
        limits = self.identity_figures
        rates: list[tuple[str, float]] = []
        if isinstance(therapy, SimpleContinuous):
            rates.append(("daily_dose", therapy.daily_dose / drug.concentration_per_ml))
        elif isinstance(therapy, Flex):
            if therapy.cycle_days > limits.max_cycle_days:
                return "cycle_days", f"{therapy.cycle_days} days is a longer cycle than {limits.max_cycle_days}"
            day, steps = Counter(step.day for step in therapy.steps).most_common(1)[0]
            if steps > limits.max_steps_per_day:
                return "steps", f"day {day} has {steps} steps, more than {limits.max_steps_per_day}"
            rates += [(f"steps[{index}].dose_per_hour", step.dose_per_hour * 24 / drug.concentration_per_ml)
                      for index, step in enumerate(therapy.steps)]
        low, high = limits.min_rate_ml_per_day, limits.max_rate_ml_per_day
        for field, rate in rates:
            if not low * (1 - RATE_TOLERANCE) <= rate <= high * (1 + RATE_TOLERANCE):
                return field, f"{rate:g} mL/day is outside the flow range {low:g} to {high:g} mL/day"
        return None

    def refill(self, refill_id, withdrawn_ml, added_ml, drug, bridge=None) -> RefillOutcome:
        """Empty and fill the reservoir once per ``refill_id``: a repeat with the same values answers the first
        refill, ``repeated``; with other values it is refused. A new drug (name or unit) stops the therapy."""
        self.calls.append("refill")
        if bridge is not None:
            raise refused("UNKNOWN_COMMAND", "refill", "this fake pump has no tubing or catheter to bridge")
        if self.refill_answer is not None:
            raise self.refill_answer
        request = (withdrawn_ml, added_ml, drug)
        if refill_id in self.refills:
            first_request, first = self.refills[refill_id]
            if request != first_request:
                raise refused("BAD_ARGUMENT", "refill", f"refill_id {refill_id!r} was already used for another "
                                  "refill", "refill_id")
            return replace(first, repeated=True)
        capacity = self.identity_figures.capacity_ml
        for field, value in (("withdrawn_ml", withdrawn_ml), ("added_ml", added_ml)):
            if not 0 <= value <= capacity:
                raise refused("OUT_OF_RANGE", "refill", f"{field} {value:g} mL is outside 0..{capacity:g} mL", field)
        if self._running_bolus() is not None:
            raise refused("REFUSED", "refill", "a bolus is delivering", "refill_id")
        held = self.active.drug
        new_drug = drug or held
        if new_drug is None:
            raise refused("REFUSED", "refill", "a factory-new pump must be filled with a named drug", "drug")
        same_kind = held is not None and (new_drug.name, new_drug.dose_unit) == (held.name, held.dose_unit)
        therapy = self.active.program.therapy if same_kind else Stopped(mode="stopped")
        misfit = self._misfit(new_drug, therapy)
        if misfit is not None:
            raise refused("OUT_OF_RANGE", "refill", f"the running program at the new concentration: {misfit[1]}",
                          "drug.concentration_per_ml")
        calculated = self.volume_ml
        therapy_stopped = not same_kind and self.active.therapy["mode"] != "stopped"
        self.active = active_for(Program(format=FORMAT, drug=new_drug, therapy=therapy))
        self.volume_ml = added_ml + self.refill_volume_error_ml
        outcome = RefillOutcome(refill_id, self.volume_ml, calculated, repeated=False)
        self.refills[refill_id] = (request, outcome)
        self.actions += 1
        self.log("refill", refill_id=refill_id, withdrawn_ml=withdrawn_ml, added_ml=added_ml, calculated_ml=calculated,
                 drug=new_drug.model_dump(mode="json"), therapy_stopped=therapy_stopped, checksum=self.active.checksum,
                 action_number=self.actions)
        self._reconcile_reservoir_alarms()
        return outcome

    def set_clock(self, time: datetime) -> datetime:
        moment = pump_clock_reading(time)
        if not 2000 <= moment.year <= 2099:
            raise refused("OUT_OF_RANGE", "set clock", f"year {moment.year} is outside 2000..2099", "time")
        old, self.pump_time = self.pump_time, moment
        self.log("clock_set", old=old.isoformat(timespec="seconds"), new=moment.isoformat())
        return self.read_status().pump_time

    # -- boluses: on a clock that stands still, a bolus delivers nothing until it is cancelled ----

    def bolus(self, bolus_id, dose, duration_min) -> BolusOutcome:
        known = self.boluses.get(bolus_id)
        if known is not None:
            if (dose, duration_min) != (known.dose, known.duration_min):
                raise refused("BAD_ARGUMENT", "bolus", f"bolus_id {bolus_id!r} was already used for another bolus",
                              "bolus_id")
            return BolusOutcome(bolus_id, known.dose, known.volume_ml, known.state, repeated=True)
        if not dose > 0:
            raise refused("OUT_OF_RANGE", "bolus", f"dose {dose:g} must be more than 0", "dose")
        drug = self.active.drug
        if drug is None:
            raise refused("REFUSED", "bolus", "the pump holds no drug", "bolus_id")
        if self._running_bolus() is not None or any(alarm.severity == "critical" for alarm in self.alarms):
            raise refused("REFUSED", "bolus", "the pump cannot give one now", "bolus_id")
        volume_ml = dose / drug.concentration_per_ml
        if volume_ml > self.volume_ml:
            raise refused("REFUSED", "bolus", f"it needs {volume_ml:g} mL, the reservoir holds {self.volume_ml:g} mL",
                          "dose")
        self.boluses[bolus_id] = _Bolus(dose, duration_min, volume_ml)
        self.actions += 1
        self.log("bolus_started", bolus_id=bolus_id, dose=dose, dose_unit=drug.dose_unit, volume_ml=volume_ml,
                 duration_min=duration_min, action_number=self.actions)
        return BolusOutcome(bolus_id, dose, volume_ml, "delivering", repeated=False)

    def cancel_bolus(self, bolus_id) -> BolusOutcome:
        known = self.boluses.get(bolus_id)
        if known is None:
            raise refused("BAD_ARGUMENT", "cancel bolus", f"no bolus with id {bolus_id!r} is known", "bolus_id")
        if known.state == "delivering":
            known.state = "cancelled"
            self.log("bolus_cancelled", bolus_id=bolus_id, delivered=0.0, reason="request")
        return BolusOutcome(bolus_id, 0.0, 0.0, known.state, repeated=False)

    def _running_bolus(self) -> tuple[str, _Bolus] | None:
        return next(((bolus_id, bolus) for bolus_id, bolus in self.boluses.items() if bolus.state == "delivering"),
                    None)

    # -- alarms ----------------------------------------------------------------------------------

    def acknowledge_alarm(self, code) -> tuple[Alarm, ...]:
        if code not in SEVERITY:
            raise refused("BAD_ARGUMENT", "acknowledge alarm", f"{code!r} is not an alarm code "
                              f"({', '.join(SEVERITY)})", "code")
        if code in {alarm.code for alarm in self.alarms} and code not in self.acknowledged:
            self.acknowledged.add(code)
            self.log("alarm_acknowledged", code=code)
        return self.alarms

    def set_low_alarm(self, low_alarm_ml) -> float:
        low, high = 1.0, self.identity_figures.capacity_ml / 2  # the emulator's range (docs/emulator.md)
        if not low <= low_alarm_ml <= high:
            raise refused("OUT_OF_RANGE", "set low alarm", f"low_alarm_ml {low_alarm_ml:g} mL is outside this "
                          f"{self.identity_figures.model}'s {low:g} to {high:g} mL", "low_alarm_ml")
        if low_alarm_ml != self.low_alarm_ml:
            self.log("low_alarm_set", old_ml=self.low_alarm_ml, new_ml=low_alarm_ml)
            self.low_alarm_ml = low_alarm_ml
            self._reconcile_reservoir_alarms()
        return self.read_status().low_alarm_ml

    def _reconcile_reservoir_alarms(self) -> None:
        """Clear the reservoir alarms whose cause went and raise those whose cause came, logging each."""
        held = self.active.drug is not None
        causes = {"low_reservoir": held and self.volume_ml <= self.low_alarm_ml,
                  "reservoir_empty": held and self.volume_ml <= 0}
        kept = []
        for alarm in self.alarms:
            if causes.get(alarm.code, True):
                kept.append(alarm)
            else:
                self.acknowledged.discard(alarm.code)  # one that comes back is a new alarm
                self.log("alarm_cleared", code=alarm.code)
        for code, present in causes.items():
            if present and code not in {alarm.code for alarm in kept}:
                kept.append(Alarm(code, SEVERITY[code], self.pump_time))
                self.log("alarm_raised", code=code, severity=SEVERITY[code])
        self.alarms = tuple(kept)

    def close(self) -> None:
        self.calls.append("close")


def daily_dose_of(program: Program | None) -> float:
    """A program's mean daily dose over its cycle as a pump logs it (docs/protocol.md, program_activated): 0
    for a pump without a drug or a stopped program."""
    return 0.0 if program is None else mean_daily_dose(program)
