"""A fake pump behind the driver port, for the pure session and interrogation tests.

It is a true edge (the abstract ``PumpDriver``), not the subject. It keeps a drug, a program, a reservoir,
alarms, boluses and an event log, on a clock that stands still, and acts on each command the way
docs/protocol.md says a pump does: a write is staged only for the pump's own drug and within its declared
limits, a refill or bolus id is never acted on twice, the reservoir alarms follow the volume, and each action
is logged with the detail a pump gives it. The driver contract (tests/drivers/test_contract.py) holds it to
the same rules as the serial driver over the emulator, so a test using it tests what a pump would do.

Issue 13's part: it declares the ITB-20's dead volume (0.15 mL of tubing, 0.0026 mL per cm of catheter) and
reports the line, patient end first. As its clock stands still, the line moves only when a prime fills it with
spinal fluid (0); a refill leaves the old drug in it, as a pump's does, so a bridge finds it there. Boluses of every
kind are remembered by id (``bolus_status``), a bridge and a refill with a bridge are refused as a pump refuses
them, and the demand dose is kept with the pump's ranges.

A test can also put any events in its log (``log``), set its clock, battery and alarms, record a catheter implanted
long ago (``implanted``), and tell it to answer a write or a refill with a given outcome or exception instead
(``write_answer``, ``refill_answer``, ``refill_volume_error_ml``). It records the port's calls (``calls``) and each
page of its log asked for (``pages``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from emulator.alarms import SEVERITY
from programmer.clock import pump_clock_reading
from programmer.outcome import Outcome
from programmer.planner import mean_daily_dose
from programmer.errors import PumpRefused
from programmer.port import (ActiveProgram, Alarm, BolusOutcome, BolusState, DemandDose,
                             DemandSettings, LineContent, LineState, PumpDriver, PumpEvent, PumpIdentity, PumpStatus,
                             RefillOutcome, WriteOutcome)
from protocol.frame import canonical_json
from programmer.program import (FORMAT, NO_PROGRAM_CHECKSUM, Drug, Flex, Program, SimpleContinuous, Stopped, Therapy,
                                program_from_data)

PUMP_TIME = datetime(2026, 11, 28, 9, 0, 0)
BACLOFEN_500 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)
RATE_TOLERANCE = 1e-9
"""A rate exactly on a bound of the flow range fits: the relative allowance for float rounding (docs/protocol.md)."""
DEAD_VOLUME = dict(tubing_ml=0.15, catheter_ml_per_cm=0.0026, catheter_cm_min=10.0, catheter_cm_max=110.0,
                   priming_ml_per_hour=1.0, max_bolus_ml_per_hour=6.0)
"""The emulated ITB-20's tubing and catheter figures and bolus rates, as IDENTIFY declares them (docs/protocol.md)."""
VOLUME_TOLERANCE_ML = 1e-6
"""How near a prime's or a bridge's volume must be to the pump's own figure (docs/protocol.md, BOLUS)."""
MIN_BOLUS_ML = 0.0005
DEMAND_RANGES = {"duration_min": (1.0, 60.0), "lockout_min": (15.0, 1440.0), "max_per_day": (1, 24)}
"""The demand dose's ranges a pump keeps (docs/protocol.md, SET_DEMAND)."""


def baclofen(daily_dose: float = 150, concentration: float = 500) -> Program:
    return program_from_data({
        "format": FORMAT,
        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration},
        "therapy": {"mode": "simple_continuous", "daily_dose": daily_dose},
    })


def identity(**changes: object) -> PumpIdentity:
    figures = dict(model="ITB-20", serial="EMU-0001", firmware="1.0.0", capacity_ml=20.0, min_rate_ml_per_day=0.048,
                   max_rate_ml_per_day=24.0, max_steps_per_day=13, max_cycle_days=7, event_log_size=512,
                   **DEAD_VOLUME)
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
    kind: str = "therapeutic"
    request: tuple = ()
    """What the request asked besides the id: a repeat with other values is refused."""
    action_number: int = 0

    def outcome(self, bolus_id: str, repeated: bool, delivered: float | None = None) -> BolusOutcome:
        return BolusOutcome(bolus_id, self.dose, self.volume_ml, self.state, repeated, self.kind, self.duration_min,
                            self.action_number, delivered)


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
        self.catheter_cm: float | None = None
        self.line = [LineContent(self.identity_figures.tubing_ml or 0.0, self._concentration())]
        """The tubing and catheter, patient end first: at first the tubing full of the pump's drug (0 without one)."""
        self.demand: DemandDose = DemandDose(enabled=False)

    @classmethod
    def factory_new(cls) -> "FakePump":
        """A pump as it leaves the factory: no drug, an empty reservoir, and its first ``power_on`` logged."""
        pump = cls(volume_ml=0.0)
        pump.log("power_on", factory_new=True)
        return pump

    def implanted(self, catheter_cm: float) -> "FakePump":
        """Record a catheter implanted and primed long ago: the line full of the pump's drug (``--catheter-cm``)."""
        self.catheter_cm = catheter_cm
        self.line = [LineContent(self._line_volume(catheter_cm), self._concentration())]
        return self

    def _concentration(self) -> float:
        drug = self.active.drug
        return 0.0 if drug is None else drug.concentration_per_ml

    def _line_volume(self, catheter_cm: float | None) -> float:
        figures = self.identity_figures
        return (figures.tubing_ml or 0.0) + (catheter_cm or 0.0) * (figures.catheter_ml_per_cm or 0.0)

    def log(self, event_kind: str, /, time=None, **detail: object) -> None:
        """Append an event to the pump's log, at ``time`` (default: the pump's clock)."""
        index = self.events[-1].index + 1 if self.events else 0
        self.events.append(PumpEvent(index, time or self.pump_time, event_kind, detail))

    # -- reads -----------------------------------------------------------------------------------

    def identify(self) -> PumpIdentity:
        self.calls.append("identify")
        return self.identity_figures

    def read_status(self) -> PumpStatus:
        self.calls.append("read_status")
        running = self._running_bolus()
        bolus = None if running is None else BolusState(running[0], running[1].dose, 0.0, running[1].duration_min * 60,
                                                        running[1].kind)
        drug = self.active.drug
        line = LineState(self.identity_figures.tubing_ml or 0.0, self.catheter_cm, sum(p.volume_ml for p in self.line),
                         tuple(self.line), 0.0, 0.0, 0.0, None if drug is None else drug.dose_unit)
        return status(self.volume_ml, self.active.program, capacity_ml=self.identity_figures.capacity_ml,
                      low_alarm_ml=self.low_alarm_ml, alarms=self.alarms, pump_time=self.pump_time,
                      battery_status=self.battery_status, bolus=bolus, line=line)

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
        if self.refill_answer is not None:
            raise self.refill_answer
        request = (withdrawn_ml, added_ml, drug, bridge)
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
        if bridge is not None:
            self._check_bridge("refill", new_drug, therapy, bridge.volume_ml, None)
        if held is None and self.catheter_cm is not None:  # a first fill leaves a new pump's tubing empty of drug,
            # but fills the line of one whose catheter was implanted and primed long ago (``implanted``, --catheter-cm)
            self.line = [LineContent(sum(part.volume_ml for part in self.line), new_drug.concentration_per_ml)]
        calculated = self.volume_ml
        therapy_stopped = not same_kind and self.active.therapy["mode"] != "stopped"
        self.active = active_for(Program(format=FORMAT, drug=new_drug, therapy=therapy))
        self.volume_ml = added_ml + self.refill_volume_error_ml
        self.actions += 1
        self.log("refill", refill_id=refill_id, withdrawn_ml=withdrawn_ml, added_ml=added_ml, calculated_ml=calculated,
                 drug=new_drug.model_dump(mode="json"), therapy_stopped=therapy_stopped, checksum=self.active.checksum,
                 action_number=self.actions, pumped_ml=0.0, to_patient_ml=0.0,
                 **({} if bridge is None else {"bridge_id": bridge.bolus_id}))
        if not same_kind and self.demand.enabled:
            self.demand = DemandDose(enabled=False)
            self.log("demand_set", **self._demand_detail(), reason="drug_changed")
        self._reconcile_reservoir_alarms()
        started = None if bridge is None else self.bridge(bridge.bolus_id, bridge.volume_ml, self._other_content()[1])
        outcome = RefillOutcome(refill_id, self.volume_ml, calculated, repeated=False, bridge=started)
        self.refills[refill_id] = (request, outcome)
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
        repeated = self._repeated(bolus_id, "therapeutic", (dose, duration_min))
        if repeated is not None:
            return repeated
        if not dose > 0:
            raise refused("OUT_OF_RANGE", "bolus", f"dose {dose:g} must be more than 0", "dose")
        drug = self._can_start("bolus")
        volume_ml = dose / drug.concentration_per_ml
        if volume_ml > self.volume_ml:
            raise refused("REFUSED", "bolus", f"it needs {volume_ml:g} mL, the reservoir holds {self.volume_ml:g} mL",
                          "dose")
        return self._start(bolus_id, _Bolus(dose, duration_min, volume_ml, request=(dose, duration_min)))

    def prime(self, bolus_id, catheter_cm, volume_ml, reason, segments_cm=()) -> BolusOutcome:
        """Fill the tubing and the catheter with the pump's drug at its priming rate: the pump's own volume only."""
        repeated = self._repeated(bolus_id, "prime", (catheter_cm, volume_ml, reason, tuple(segments_cm)))
        if repeated is not None:
            return repeated
        figures = self.identity_figures
        low, high = figures.catheter_cm_min or 0.0, figures.catheter_cm_max or 0.0
        if not low <= catheter_cm <= high:
            raise refused("OUT_OF_RANGE", "prime", f"catheter_cm {catheter_cm:g} cm is outside {low:g} to {high:g} cm",
                          "catheter_cm")
        if segments_cm and abs(sum(segments_cm) - catheter_cm) > VOLUME_TOLERANCE_ML:
            raise refused("BAD_ARGUMENT", "prime", f"catheter_segments_cm sum to {sum(segments_cm):g} cm, not "
                          f"{catheter_cm:g} cm", "catheter_segments_cm")
        own = self._line_volume(catheter_cm)
        if abs(volume_ml - own) > VOLUME_TOLERANCE_ML:
            raise refused("BAD_ARGUMENT", "prime", f"volume_ml {volume_ml:g} mL is not this pump's {own:g} mL of "
                          "tubing and catheter", "volume_ml")
        drug = self._can_start("prime")
        if own > self.volume_ml:
            raise refused("REFUSED", "prime", f"it needs {own:g} mL, the reservoir holds {self.volume_ml:g} mL",
                          "bolus_id")
        self.catheter_cm, self.line = catheter_cm, [LineContent(own, 0.0)]
        duration_min = own / (figures.priming_ml_per_hour or 1.0) * 60
        bolus = _Bolus(own * drug.concentration_per_ml, duration_min, own, kind="prime",
                       request=(catheter_cm, volume_ml, reason, tuple(segments_cm)))
        return self._start(bolus_id, bolus, reason=reason, catheter_cm=catheter_cm)

    def bridge(self, bolus_id, volume_ml, concentration_per_ml) -> BolusOutcome:
        """Run the program at the old concentration's mL rates until the old drug has left the line."""
        repeated = self._repeated(bolus_id, "bridge", (volume_ml, concentration_per_ml))
        if repeated is not None:
            return repeated
        drug = self._can_start("bridge")
        assert self.active.program is not None, "a pump holding a drug has its program"
        duration_min = self._check_bridge("bridge", drug, self.active.program.therapy, volume_ml, concentration_per_ml)
        bolus = _Bolus(volume_ml * concentration_per_ml, duration_min, volume_ml, kind="bridge",
                       request=(volume_ml, concentration_per_ml))
        return self._start(bolus_id, bolus, concentration_per_ml=concentration_per_ml)

    def _other_content(self) -> tuple[float, float]:
        """The volume of the line whose concentration is not the reservoir's, and that concentration (0, 0: none)."""
        held = self._concentration()
        other = [part for part in self.line if part.concentration_per_ml != held]
        return sum(part.volume_ml for part in other), other[0].concentration_per_ml if other else 0.0

    def _check_bridge(self, step: str, drug: Drug, therapy: Therapy, volume_ml: float,
                      concentration_per_ml: float | None) -> float:
        """Refuse a bridge as the pump does, in its order (``concentration_per_ml`` None: the old content's, as a refill
        asks it, whose refusals name the field under ``bridge.``); returns its duration at the program's mean rate,
        minutes."""
        prefix = "" if step == "bridge" else "bridge."
        daily = mean_daily_dose(Program(format=FORMAT, drug=drug, therapy=therapy))
        if daily <= 0:
            raise refused("REFUSED", step, "the therapy is stopped: nothing moves the line", f"{prefix}bolus_id")
        held = drug.concentration_per_ml
        others = {part.concentration_per_ml for part in self.line if part.concentration_per_ml != held}
        if not others:
            raise refused("REFUSED", step, "nothing to bridge: the line holds the reservoir's drug",
                          f"{prefix}bolus_id")
        if 0.0 in others or len(others) > 1:
            raise refused("REFUSED", step, "the line holds spinal fluid or more than one other concentration: prime "
                          "instead", f"{prefix}bolus_id")
        old = others.pop()
        volume = sum(part.volume_ml for part in self.line if part.concentration_per_ml == old)
        if abs(volume_ml - volume) > VOLUME_TOLERANCE_ML:
            raise refused("BAD_ARGUMENT", step, f"volume_ml {volume_ml:g} mL is not the {volume:g} mL of the old drug "
                          "in the line", f"{prefix}volume_ml")
        if concentration_per_ml is not None and concentration_per_ml != old:
            raise refused("BAD_ARGUMENT", step, f"concentration_per_ml {concentration_per_ml:g} is not the line's "
                          f"{old:g}", "concentration_per_ml")
        highest = max([therapy.daily_dose / 24] if isinstance(therapy, SimpleContinuous) else
                      [each.dose_per_hour for each in therapy.steps] if isinstance(therapy, Flex) else [0.0])
        if highest * 24 / old > self.identity_figures.max_rate_ml_per_day:
            raise refused("OUT_OF_RANGE", step, "the program at the old concentration is faster than this pump runs",
                          f"{prefix}volume_ml")
        return volume_ml / (daily / old) * 24 * 60

    def bolus_status(self, bolus_id) -> BolusOutcome | None:
        known = self.boluses.get(bolus_id)
        return None if known is None else known.outcome(bolus_id, repeated=False, delivered=0.0)

    def _repeated(self, bolus_id: str, kind: str, request: tuple) -> BolusOutcome | None:
        """The first answer to a known id asked again with the same values; another request under it is refused."""
        known = self.boluses.get(bolus_id)
        if known is None:
            return None
        if (kind, request) != (known.kind, known.request):
            raise refused("BAD_ARGUMENT", kind if kind != "therapeutic" else "bolus",
                          f"bolus_id {bolus_id!r} was already used for another bolus", "bolus_id")
        return known.outcome(bolus_id, repeated=True)

    def _can_start(self, step: str) -> Drug:
        drug = self.active.drug
        if drug is None:
            raise refused("REFUSED", step, "the pump holds no drug", "bolus_id")
        if self._running_bolus() is not None or any(alarm.severity == "critical" for alarm in self.alarms):
            raise refused("REFUSED", step, "the pump cannot give one now", "bolus_id")
        return drug

    def _start(self, bolus_id: str, bolus: _Bolus, **detail: object) -> BolusOutcome:
        drug = self.active.drug
        assert drug is not None, "a bolus starts only on a pump holding a drug"
        self.actions += 1
        bolus.action_number = self.actions
        self.boluses[bolus_id] = bolus
        self.log("bolus_started", bolus_id=bolus_id, dose=bolus.dose, dose_unit=drug.dose_unit,
                 volume_ml=bolus.volume_ml, duration_min=bolus.duration_min, action_number=self.actions,
                 kind=bolus.kind, **detail)
        return bolus.outcome(bolus_id, repeated=False)

    def cancel_bolus(self, bolus_id) -> BolusOutcome:
        known = self.boluses.get(bolus_id)
        if known is None:
            raise refused("BAD_ARGUMENT", "cancel bolus", f"no bolus with id {bolus_id!r} is known", "bolus_id")
        if known.state == "delivering":
            known.state = "cancelled"
            self.log("bolus_cancelled", bolus_id=bolus_id, delivered=0.0, reason="request", kind=known.kind,
                     volume_ml=0.0)
        return BolusOutcome(bolus_id, 0.0, 0.0, known.state, repeated=False, kind=known.kind, delivered=0.0)

    # -- the demand dose -------------------------------------------------------------------------

    def read_demand(self) -> DemandSettings:
        drug = self.active.drug
        unit = None if drug is None or not self.demand.enabled else drug.dose_unit
        return DemandSettings(self.demand, unit, demand_checksum(self._demand_detail()))

    def write_demand(self, demand: DemandDose) -> DemandSettings:
        if demand.enabled:
            drug = self.active.drug
            if drug is None:
                raise refused("REFUSED", "write demand dose", "the pump holds no drug", "enabled")
            if not demand.dose > 0:
                raise refused("OUT_OF_RANGE", "write demand dose", f"dose {demand.dose:g} must be more than 0", "dose")
            for field, (low, high) in DEMAND_RANGES.items():
                value = getattr(demand, field)
                if not low <= value <= high:
                    raise refused("OUT_OF_RANGE", "write demand dose", f"{field} {value:g} is outside {low:g} to "
                                  f"{high:g}", field)
            volume_ml = demand.dose / drug.concentration_per_ml
            if volume_ml < MIN_BOLUS_ML:
                raise refused("OUT_OF_RANGE", "write demand dose", f"dose {demand.dose:g} {drug.dose_unit} is less "
                              f"than the smallest bolus, {MIN_BOLUS_ML:g} mL", "dose")
            if volume_ml / demand.duration_min * 60 > (self.identity_figures.max_bolus_ml_per_hour or 0.0):
                raise refused("OUT_OF_RANGE", "write demand dose", f"{volume_ml:g} mL over {demand.duration_min:g} min "
                              "is faster than this pump's boluses", "duration_min")
        if demand != self.demand:
            self.demand = demand
            self.log("demand_set", **self._demand_detail())
        return self.read_demand()

    def _demand_detail(self) -> dict:
        """READ_DEMAND's keys but the checksum."""
        if not self.demand.enabled:
            return {"enabled": False}
        drug = self.active.drug
        return {"enabled": True, "dose": float(self.demand.dose), "dose_unit": None if drug is None else drug.dose_unit,
                "duration_min": float(self.demand.duration_min), "lockout_min": float(self.demand.lockout_min),
                "max_per_day": self.demand.max_per_day}

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


def demand_checksum(settings: dict) -> str:
    """READ_DEMAND's ``checksum``: 16 hex digits of SHA-256 over the other keys as canonical JSON (docs/protocol.md)."""
    return hashlib.sha256(canonical_json(settings)).hexdigest()[:16]


def daily_dose_of(program: Program | None) -> float:
    """A program's mean daily dose over its cycle as a pump logs it (docs/protocol.md, program_activated): 0
    for a pump without a drug or a stopped program."""
    return 0.0 if program is None else mean_daily_dose(program)
