"""A fake pump behind the driver port, for the pure session and interrogation tests.

It is a true edge (the abstract ``PumpDriver``), not the subject: it keeps a drug, a program and a
reservoir, applies writes and refills the way docs/protocol.md says a pump does, and can be told
to answer a write or a refill with a given outcome or exception instead. Its event log (``events``) is
whatever a test puts there, plus a ``program_activated`` for every write it applies (at ``pump_time``,
with the doses docs/protocol.md documents). It reads its log a page at a time too, recording each page asked for in ``pages``.
"""

from __future__ import annotations

from datetime import datetime

from programmer.outcome import Outcome
from programmer.port import (ActiveProgram, Alarm, PumpDriver, PumpEvent, PumpIdentity, PumpStatus, RefillOutcome, WriteOutcome)
from programmer.program import FORMAT, NO_PROGRAM_CHECKSUM, Drug, Program, Stopped, program_from_data

PUMP_TIME = datetime(2026, 11, 28, 9, 0, 0)
BACLOFEN_500 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)


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


class FakePump(PumpDriver):
    """A pump in memory. ``write_answer`` / ``refill_answer``: an outcome or exception to give instead."""

    events_per_read = 16  # the serial protocol's page (protocol.codes.MAX_EVENTS_PER_READ)

    def __init__(self, program: Program | None = None, volume_ml: float = 10.0, **identity_changes: object):
        self.identity_figures = identity(**identity_changes)
        self.active = active_for(program)
        self.volume_ml = volume_ml
        self.calls: list[str] = []
        self.pages: list[tuple[int, int]] = []
        self.write_answer: WriteOutcome | Exception | None = None
        self.refill_answer: Exception | None = None
        self.refill_volume_error_ml = 0.0
        self.alarms: tuple[Alarm, ...] = ()
        self.pump_time = PUMP_TIME
        self.battery_status = "ok"
        self.events: list[PumpEvent] = []

    def identify(self) -> PumpIdentity:
        self.calls.append("identify")
        return self.identity_figures

    def read_status(self) -> PumpStatus:
        self.calls.append("read_status")
        return status(self.volume_ml, self.active.program, capacity_ml=self.identity_figures.capacity_ml,
                      alarms=self.alarms, pump_time=self.pump_time, battery_status=self.battery_status)

    def read_program(self) -> ActiveProgram:
        self.calls.append("read_program")
        return self.active

    def write_program(self, program, progress=None) -> WriteOutcome:
        self.calls.append("write_program")
        if isinstance(self.write_answer, Exception):
            raise self.write_answer
        if self.write_answer is not None:
            return self.write_answer
        previous = self.active
        self.active = active_for(program)
        self.log("program_activated", checksum=program.checksum(), previous=previous.checksum,
                 daily_dose=daily_dose_of(program), dose_unit=program.drug.dose_unit,
                 previous_daily_dose=daily_dose_of(previous.program),
                 previous_dose_unit=None if previous.drug is None else previous.drug.dose_unit)
        return WriteOutcome(Outcome.VERIFIED, "verified", self.active, program.checksum())

    def log(self, kind: str, time=None, **detail: object) -> None:
        """Append an event to the pump's log, at ``time`` (default: the pump's clock)."""
        index = self.events[-1].index + 1 if self.events else 0
        self.events.append(PumpEvent(index, time or self.pump_time, kind, detail))

    def refill(self, refill_id, withdrawn_ml, added_ml, drug) -> RefillOutcome:
        self.calls.append("refill")
        if self.refill_answer is not None:
            raise self.refill_answer
        calculated = self.volume_ml
        if drug is not None:
            old = self.active.drug
            if old is not None and (old.name, old.dose_unit) == (drug.name, drug.dose_unit):
                therapy = self.active.program.therapy
            else:
                therapy = Stopped(mode="stopped")
            self.active = active_for(Program(format=FORMAT, drug=drug, therapy=therapy))
        self.volume_ml = added_ml + self.refill_volume_error_ml
        return RefillOutcome(refill_id, self.volume_ml, calculated, repeated=False)

    def read_events(self, progress=None):
        self.calls.append("read_events")
        return list(self.events)

    def read_event_page(self, start: int, count: int) -> tuple[int, list[PumpEvent]]:
        self.pages.append((start, count))
        total = self.events[-1].index + 1 if self.events else 0
        return total, [event for event in self.events if start <= event.index < start + count]

    def set_clock(self, time):
        raise NotImplementedError

    def bolus(self, bolus_id, dose, duration_min):
        raise NotImplementedError

    def cancel_bolus(self, bolus_id):
        raise NotImplementedError

    def acknowledge_alarm(self, code):
        raise NotImplementedError

    def close(self) -> None:
        self.calls.append("close")



def daily_dose_of(program: Program | None) -> float:
    """A test program's mean daily dose as a pump logs it: simple programs' daily_dose, 0 when stopped.
    (Flex programs are written to this fake only by tests that do not read the doses back.)"""
    if program is None or program.therapy.mode != "simple_continuous":
        return 0.0
    return program.therapy.daily_dose
