"""The simulated firmware: the pump's rules for every command, on top of its state, engine and memory.

Methods take already-typed arguments (service.py parses the wire payloads) and return the OK answer's
payload, or raise ``PumpError`` with the protocol status and a message naming the field. Every change
is written to the state file before the answer leaves (``flush``), so an acknowledged change survives a
crash; the continuous drain of reservoir and battery is written at least every SAVE_INTERVAL_S.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Protocol, cast

from emulator import engine
from emulator.alarms import SEVERITY, alarm_list, battery_status, reconcile_alarms
from emulator.clock import CLOCK_END, SimClock, local_midnight, wire_time
from emulator.demand import demand_answer, demand_settings, granted_in_last_day, limit_reason, next_allowed
from emulator.events import event_page, events_total, log_event
from emulator.line import line_answer
from emulator.spec import (
    CATHETER_CM_MAX,
    CATHETER_CM_MIN,
    CATHETER_ML_PER_CM,
    DEMAND_DURATION_MIN,
    DEMAND_LOCKOUT_MIN,
    DEMAND_MAX_PER_DAY,
    LINE_MATCH_ML,
    PRIMING_ML_PER_HOUR,
    MAX_BOLUS_MINUTES,
    MAX_BOLUS_ML_PER_HOUR,
    MIN_BOLUS_MINUTES,
    MIN_BOLUS_ML,
    MIN_LOW_ALARM_ML,
    REMEMBERED_IDS,
)
from emulator.state import (
    PRIME_REASONS,
    BolusRecord,
    PrimeReason,
    DemandRecord,
    LineContent,
    PairedProgrammer,
    PumpState,
    RefillRecord,
    StateFileError,
    factory_new,
    load_state,
    remove_stale_temp_files,
    save_state,
)
from protocol.codes import (BRIDGE_VOLUME_TOLERANCE_ML, DEMAND_BOLUS_ID_PREFIX, MAX_EVENTS_PER_READ,
                            MAX_PAIRED_PROGRAMMERS, Status)
from programmer.program import Drug, Flex, Program, SimpleContinuous, Stopped

SAVE_INTERVAL_S = 2.0
"""Real seconds between saves of the continuous drain when nothing else changed."""
MAX_ADVANCE_HOURS = 10 * 366 * 24
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""Idempotency ids (bolus_id, refill_id), as docs/protocol.md section 10 defines them."""
_CHECKSUM = re.compile(r"[0-9a-f]{16}")
_RATE_TOLERANCE = 1e-9
"""Relative slack on the flow-range bounds, so a rate exactly on a bound is not lost to float rounding."""


class Timeline(Protocol):
    """What the pump asks of a scenario being played: to run ``seconds`` forward, its steps at their times."""

    def run(self, pump: "Pump", seconds: float) -> None: ...


class PumpError(Exception):
    """The pump says no: a protocol status, a human message and the request field at fault (or None)."""

    def __init__(self, status: Status, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class Pump:
    """One simulated pump. Not thread-safe: the server runs everything on one thread."""

    def __init__(self, state: PumpState, clock: SimClock, path: Path | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.state = state
        self.clock = clock
        self.path = path
        self.staged: Program | None = None
        self.staged_by: str | None = None
        """The session that staged ``staged`` (None on a link without sessions): only it may commit it."""
        self._monotonic = monotonic
        self.timeline: Timeline | None = None
        """A scenario being played (``emulator/timeline.py``), which time passes through."""
        self._changed = False
        self._saved_at = monotonic()

    @classmethod
    def power_on(cls, path: Path, model: str, clock: SimClock, catheter_cm: float | None = None) -> "Pump":
        """Load the pump from ``path`` (a factory-new ``model`` if absent), log power_on and save.

        The clock resumes from the last saved pump time: the pump was off while the emulator was not
        running. The file's model wins over ``model`` for an existing pump. ``catheter_cm`` records a catheter on a
        new pump, implanted and primed long ago (its first fill fills the line with the drug; without one a first
        fill leaves the line empty of drug); an existing pump must already have that catheter recorded
        (StateFileError otherwise: only a prime records one).
        """
        remove_stale_temp_files(path)
        is_new = not path.exists()
        state = factory_new(model, datetime.now()) if is_new else load_state(path)
        if catheter_cm is not None and is_new:
            state.catheter_cm = catheter_cm
            state.line = [LineContent(volume_ml=state.line_volume_ml, concentration_per_ml=0.0)]
        elif catheter_cm is not None and state.catheter_cm != catheter_cm:
            recorded = "no catheter" if state.catheter_cm is None else f"a {state.catheter_cm:g} cm catheter"
            raise StateFileError(f"{path}: the pump has {recorded} recorded, not {catheter_cm:g} cm; --catheter-cm "
                                 "only sets up a new pump (a prime records the catheter of an existing one)")
        pump = cls(state, clock, path)
        log_event(state, state.pump_time, "power_on", factory_new=is_new)
        pump._settle()
        pump._changed = True
        pump.flush()
        return pump

    def swap_state(self, state: PumpState) -> None:
        """Run from ``state`` from now on (a factory reset, a named state loaded): nothing staged survives, and the
        new memory is in the state file before this returns."""
        self.state = state
        self.staged = self.staged_by = None
        self._settle()
        self._changed = True
        self.flush()

    # -- time and memory -------------------------------------------------------------------------

    def sync(self) -> None:
        """Run the engine up to now on the simulated clock."""
        self.advance(self.clock.elapsed())

    def advance(self, seconds: float) -> None:
        """Run the pump ``seconds`` simulated seconds forward: through a scenario's timeline when one is played (its
        steps happen at their times on the way), else the engine alone."""
        if self.timeline is None:
            self.run_engine(seconds)
        else:
            self.timeline.run(self, seconds)

    def run_engine(self, seconds: float) -> None:
        """Run the delivery engine ``seconds`` simulated seconds forward, nothing else happening meanwhile."""
        logged = events_total(self.state)
        engine.advance(self.state, seconds, self._settle)
        if events_total(self.state) != logged:
            self._changed = True  # a line_flushed, say: saved before the next answer leaves

    def flush(self) -> None:
        """Write the state file if anything discrete changed since the last write."""
        if self._changed:
            self.save()

    def save_if_due(self) -> None:
        """Write if something changed, or the drain has not been written for SAVE_INTERVAL_S."""
        if self._changed or self._monotonic() - self._saved_at >= SAVE_INTERVAL_S:
            self.save()

    def save(self) -> None:
        if self.path is not None:
            save_state(self.state, self.path)
        self._changed = False
        self._saved_at = self._monotonic()

    def _settle(self) -> None:
        """Apply the consequences of the state as it now is: end the bolus if due, then the alarms."""
        state = self.state
        bolus = state.active_bolus
        if bolus is not None and bolus.delivered_ml >= bolus.volume_ml:
            bolus.state = "done"
            log_event(state, state.pump_time, "bolus_done", bolus_id=bolus.bolus_id, kind=bolus.kind,
                      delivered=bolus.dose, volume_ml=bolus.volume_ml)
            self._changed = True
        elif bolus is not None and not engine.can_deliver(state):
            self._end_bolus(bolus, reason=self._stop_reason())
        elif bolus is not None and bolus.kind == "bridge" and isinstance(state.therapy, Stopped):
            self._end_bolus(bolus, reason="therapy_stopped")  # nothing would move the line again
        if reconcile_alarms(state):
            self._changed = True

    def _stop_reason(self) -> str:
        state = self.state
        if state.stalled:
            return "motor_stall"
        if battery_status(state.battery_percent) == "eos":
            return "battery_eos"
        return "reservoir_empty"

    def _end_bolus(self, bolus: BolusRecord, reason: str) -> None:
        bolus.state = "cancelled"
        log_event(self.state, self.state.pump_time, "bolus_cancelled", bolus_id=bolus.bolus_id, kind=bolus.kind,
                  delivered=bolus.delivered_dose, volume_ml=bolus.delivered_ml, reason=reason)
        self._changed = True

    def _next_action(self) -> int:
        """The next ``action_number``: one more than the last, saved with the action it numbers."""
        self.state.actions += 1
        return self.state.actions

    def _log(self, kind: str, /, **detail: object) -> None:
        log_event(self.state, self.state.pump_time, kind, **detail)
        self._changed = True

    # -- reading -----------------------------------------------------------------------------------

    def hello(self) -> dict:
        return {"model": self.state.model, "serial": self.state.serial}

    def identify(self) -> dict:
        return {**self.state.spec.identify(), "serial": self.state.serial}

    def status(self) -> dict:
        state = self.state
        bolus = state.active_bolus
        return {
            "pump_time": wire_time(state.pump_time),
            "battery": {"status": battery_status(state.battery_percent), "percent": state.battery_percent},
            "reservoir": {
                "volume_ml": state.volume_ml,
                "low_alarm_ml": state.low_alarm_ml,
                "capacity_ml": state.spec.capacity_ml,
            },
            "alarms": alarm_list(state),
            "program_checksum": state.program_checksum,
            "cycle_phase_min": engine.cycle_phase_s(state) / 60.0,
            "bolus": None if bolus is None else {
                "bolus_id": bolus.bolus_id,
                "kind": bolus.kind,
                "dose": bolus.dose,
                "delivered": bolus.delivered_dose,
                "remaining_s": self._remaining_s(bolus),
            },
            "line": line_answer(state),
        }

    def _remaining_s(self, bolus: BolusRecord) -> float:
        """Seconds until the running bolus is complete at the rate it runs now (its nominal rate while the motor
        stands still)."""
        _rate, bolus_rate, _holds = engine.motor_piece(self.state, engine.since_anchor_s(self.state))
        left = bolus.volume_ml - bolus.delivered_ml
        return left / bolus_rate if bolus_rate > 0 else left / bolus.volume_ml * bolus.duration_min * 60.0

    def read_program(self) -> dict:
        state = self.state
        return {
            "drug": None if state.drug is None else state.drug.model_dump(mode="json"),
            "therapy": state.therapy.model_dump(mode="json"),
            "checksum": state.program_checksum,
        }

    def read_events(self, start: int, count: int, limit: int = MAX_EVENTS_PER_READ) -> dict:
        """A page of at most ``limit`` events (the session's encoding sets it: docs/protocol.md, READ_EVENTS)."""
        if start < 0:
            raise PumpError(Status.OUT_OF_RANGE, f"start {start} is negative", "start")
        if not 0 <= count <= limit:
            raise PumpError(Status.OUT_OF_RANGE, f"count {count} is outside 0..{limit}", "count")
        return event_page(self.state, start, count)

    # -- programming -------------------------------------------------------------------------------

    def stage(self, program: Program, session: str | None = None) -> dict:
        """Keep ``program`` as the staged one of ``session`` (in memory only) and return its checksum. Nothing runs
        yet."""
        state = self.state
        if state.drug is None:
            raise PumpError(Status.REFUSED, "the pump holds no drug: refill it before programming", "program.drug")
        if program.drug != state.drug:
            raise PumpError(
                Status.REFUSED,
                f"the program's drug ({_describe(program.drug)}) differs from the pump's "
                f"({_describe(state.drug)}): a change of drug or concentration is a refill",
                "program.drug",
            )
        self._check_program_fits(program.drug, program.therapy)
        self.staged, self.staged_by = program, session
        checksum = program.checksum()
        self._log("program_staged", checksum=checksum)
        return {"checksum": checksum}

    def discard_staged(self, session: str | None) -> None:
        """Forget the program ``session`` staged, if it staged the one held (its session has ended)."""
        if self.staged is not None and self.staged_by == session:
            self.staged = self.staged_by = None

    def commit(self, checksum: str, session: str | None = None) -> dict:
        """Activate the program ``session`` staged, atomically, if ``checksum`` names it; a repeat is already_active.
        Another session's staged program is not this session's to commit: NOT_STAGED."""
        state = self.state
        if not _CHECKSUM.fullmatch(checksum):
            raise PumpError(Status.BAD_ARGUMENT, f"checksum {checksum!r} is not 16 lowercase hex digits", "checksum")
        if checksum == state.program_checksum:
            if self.staged is not None and self.staged_by == session and self.staged.checksum() == checksum:
                self.staged = self.staged_by = None
            return {"checksum": checksum, "already_active": True}
        if self.staged is None or self.staged_by != session:
            raise PumpError(Status.NOT_STAGED, "no program is staged in this session (the old program is still "
                                               "running)", "checksum")
        staged_checksum = self.staged.checksum()
        if checksum != staged_checksum:
            raise PumpError(
                Status.CHECKSUM_MISMATCH,
                f"checksum {checksum} is not the staged program's ({staged_checksum}); the old program is still running",
                "checksum",
            )
        previous = state.program_checksum
        previous_dose = engine.mean_daily_dose(state.therapy)
        previous_unit = None if state.drug is None else state.drug.dose_unit
        drug = self.staged.drug
        state.set_program(drug, self.staged.therapy)
        state.cycle_anchor = local_midnight(state.pump_time)
        self.staged = self.staged_by = None
        self._log("program_activated", checksum=checksum, previous=previous,
                  daily_dose=engine.mean_daily_dose(state.therapy), dose_unit=drug.dose_unit,
                  previous_daily_dose=previous_dose, previous_dose_unit=previous_unit)
        self._settle()  # a bridge cannot outlive its program
        return {"checksum": checksum, "already_active": False}

    def _check_program_fits(self, drug: Drug, therapy) -> None:
        """OUT_OF_RANGE unless every rate is in the model's flow range and the schedule fits its memory."""
        spec = self.state.spec
        rates: list[tuple[str, float]] = []
        if isinstance(therapy, SimpleContinuous):
            rates.append(("program.therapy.daily_dose", therapy.daily_dose / drug.concentration_per_ml))
        elif isinstance(therapy, Flex):
            if therapy.cycle_days > spec.max_cycle_days:
                raise PumpError(Status.OUT_OF_RANGE,
                                f"cycle_days {therapy.cycle_days} is more than this pump's {spec.max_cycle_days}",
                                "program.therapy.cycle_days")
            day, steps = max(Counter(step.day for step in therapy.steps).items(), key=lambda item: item[1])
            if steps > spec.max_steps_per_day:
                raise PumpError(Status.OUT_OF_RANGE,
                                f"day {day} has {steps} steps; this pump holds at most {spec.max_steps_per_day} a day",
                                "program.therapy.steps")
            rates += [(f"program.therapy.steps[{index}].dose_per_hour", step.dose_per_hour * 24 / drug.concentration_per_ml)
                      for index, step in enumerate(therapy.steps)]
        low, high = spec.min_rate_ml_per_day, spec.max_rate_ml_per_day
        for field, rate in rates:
            if not low * (1 - _RATE_TOLERANCE) <= rate <= high * (1 + _RATE_TOLERANCE):
                raise PumpError(Status.OUT_OF_RANGE,
                                f"{rate:.6g} mL/day at {drug.concentration_per_ml:g} {drug.dose_unit}/mL is outside "
                                f"this pump's flow range {low:g} to {high:g} mL/day", field)

    # -- delivery ----------------------------------------------------------------------------------

    def bolus(self, bolus_id: str, dose: float, duration_min: float) -> dict:
        """Start a therapeutic bolus once per id: a repeated id answers the first bolus (now) and delivers nothing."""
        state = self.state
        _check_client_bolus_id(bolus_id, "bolus_id")
        known = self._known_bolus(bolus_id, "therapeutic",
                                  lambda first: (first.dose, first.duration_min) == (dose, duration_min))
        if known is not None:
            return known
        if not dose > 0:
            raise PumpError(Status.OUT_OF_RANGE, f"dose {dose:g} must be more than 0", "dose")
        if not MIN_BOLUS_MINUTES <= duration_min <= MAX_BOLUS_MINUTES:
            raise PumpError(Status.OUT_OF_RANGE,
                            f"duration_min {duration_min:g} is outside {MIN_BOLUS_MINUTES:g}..{MAX_BOLUS_MINUTES:g}",
                            "duration_min")
        drug = self._check_can_start("bolus_id")
        volume_ml = dose / drug.concentration_per_ml
        self._check_bolus_volume(volume_ml, duration_min, "dose")
        record = BolusRecord(bolus_id=bolus_id, dose=dose, volume_ml=volume_ml, duration_min=duration_min,
                             action_number=self._next_action())
        return self._start(record)

    def prime(self, bolus_id: str, reason: str, catheter_cm: float, volume_ml: float,
              segments_cm: tuple[float, ...] = ()) -> dict:
        """Record the catheter, take the line as full of spinal fluid and push it out at the priming rate, the basal
        program suspended (docs/protocol.md, BOLUS ``prime``). Once per id."""
        state = self.state
        _check_client_bolus_id(bolus_id, "bolus_id")
        known = self._known_bolus(bolus_id, "prime", lambda first: (
            (first.reason, first.catheter_cm, first.catheter_segments_cm) == (reason, catheter_cm, list(segments_cm))
            and abs(first.volume_ml - volume_ml) <= LINE_MATCH_ML))
        if known is not None:
            return known
        if reason not in PRIME_REASONS:
            raise PumpError(Status.BAD_ARGUMENT, f"reason {reason!r} is not one of {', '.join(PRIME_REASONS)}",
                            "reason")
        if not CATHETER_CM_MIN <= catheter_cm <= CATHETER_CM_MAX:
            raise PumpError(Status.OUT_OF_RANGE, f"catheter_cm {catheter_cm:g} cm is outside this pump's catheter's "
                            f"{CATHETER_CM_MIN:g} to {CATHETER_CM_MAX:g} cm", "catheter_cm")
        if segments_cm and (min(segments_cm) <= 0 or abs(sum(segments_cm) - catheter_cm) > LINE_MATCH_ML):
            raise PumpError(Status.BAD_ARGUMENT, f"catheter_segments_cm {list(segments_cm)} must each be above 0 cm "
                            f"and add up to catheter_cm {catheter_cm:g} cm", "catheter_segments_cm")
        own = state.spec.line_volume_ml(catheter_cm)
        if abs(volume_ml - own) > LINE_MATCH_ML:
            raise PumpError(Status.BAD_ARGUMENT, f"volume_ml {volume_ml:g} mL is not this pump's priming volume "
                            f"{own:.6g} mL (tubing {state.spec.tubing_ml:g} mL + {catheter_cm:g} cm x "
                            f"{CATHETER_ML_PER_CM:g} mL/cm)", "volume_ml")
        drug = self._check_can_start("bolus_id")
        if own > state.volume_ml:
            raise PumpError(Status.REFUSED, f"the prime needs {own:.4g} mL but the reservoir holds "
                            f"{state.volume_ml:.4g} mL", "volume_ml")
        state.catheter_cm, state.catheter_segments_cm = catheter_cm, list(segments_cm)
        state.line = [LineContent(volume_ml=own, concentration_per_ml=0.0)]
        record = BolusRecord(bolus_id=bolus_id, kind="prime", dose=own * drug.concentration_per_ml, volume_ml=own,
                             duration_min=own / PRIMING_ML_PER_HOUR * 60.0, action_number=self._next_action(),
                             reason=cast(PrimeReason, reason), catheter_cm=catheter_cm,
                             catheter_segments_cm=list(segments_cm))
        return self._start(record, reason=reason, catheter_cm=catheter_cm)

    def bridge(self, bolus_id: str, volume_ml: float, concentration_per_ml: float) -> dict:
        """Run the program at the old concentration's mL rates until the old drug has left the line (docs/protocol.md,
        BOLUS ``bridge``). Once per id."""
        _check_client_bolus_id(bolus_id, "bolus_id")
        known = self._known_bolus(bolus_id, "bridge", lambda first: (
            _same_concentration(first.concentration_per_ml, concentration_per_ml)
            and _same_volume(first.requested_volume_ml, first.volume_ml, volume_ml)))
        if known is not None:
            return known
        state = self.state
        drug = self._check_can_start("bolus_id")
        record = self._bridge_record(bolus_id, drug, state.therapy, state.volume_ml, volume_ml, concentration_per_ml)
        return self._start(record, concentration_per_ml=record.concentration_per_ml)

    def bolus_status(self, bolus_id: str) -> dict:
        """What the pump knows of ``bolus_id``, acting on nothing."""
        _check_id(bolus_id, "bolus_id")
        bolus = _find(self.state.boluses, "bolus_id", bolus_id)
        if bolus is None:
            return {"known": False}
        return {"known": True, **_bolus_answer(bolus, repeated=True), "delivered": bolus.delivered_dose}

    def _known_bolus(self, bolus_id: str, kind: str, same: Callable[[BolusRecord], bool]) -> dict | None:
        """The answer to a repeat of a known id asked with the same kind and values (nothing is done); BAD_ARGUMENT
        for a known id asked for anything else; None for a new id."""
        known = _find(self.state.boluses, "bolus_id", bolus_id)
        if known is None:
            return None
        if known.kind != kind or not same(known):
            raise PumpError(Status.BAD_ARGUMENT, f"bolus_id {bolus_id!r} was already used for another request",
                            "bolus_id")
        return _bolus_answer(known, repeated=True)

    def _check_can_start(self, field: str) -> Drug:
        """REFUSED unless the pump holds a drug, runs no bolus and can deliver; returns the drug."""
        state = self.state
        if state.drug is None:
            raise PumpError(Status.REFUSED, "the pump holds no drug", field)
        if state.active_bolus is not None:
            raise PumpError(Status.REFUSED, f"bolus {state.active_bolus.bolus_id} is still delivering", field)
        if not engine.can_deliver(state):
            raise PumpError(Status.REFUSED, f"the pump cannot deliver now ({self._stop_reason()})", field)
        return state.drug

    def _check_bolus_volume(self, volume_ml: float, duration_min: float, field: str, in_reservoir: bool = True) -> None:
        """A bolus on top of the basal rate (``field`` its dose): at least one stroke, in the reservoir (unless
        ``in_reservoir`` is False: a demand dose's setting), no faster than the motor."""
        state = self.state
        assert state.drug is not None, "the pump holds a drug: checked before"
        if volume_ml < MIN_BOLUS_ML:
            raise PumpError(Status.OUT_OF_RANGE, f"{field} {volume_ml * state.drug.concentration_per_ml:.4g} "
                            f"{state.drug.dose_unit} is {volume_ml:.3g} mL, below the smallest bolus of "
                            f"{MIN_BOLUS_ML:g} mL", field)
        if in_reservoir and volume_ml > state.volume_ml:
            raise PumpError(Status.REFUSED, f"the bolus needs {volume_ml:.4g} mL but the reservoir holds "
                            f"{state.volume_ml:.4g} mL", field)
        rate = volume_ml / (duration_min / 60)
        if rate > MAX_BOLUS_ML_PER_HOUR:
            raise PumpError(Status.OUT_OF_RANGE,
                            f"{volume_ml:.4g} mL in {duration_min:g} min is {rate:.4g} mL/h; the fastest bolus is "
                            f"{MAX_BOLUS_ML_PER_HOUR:g} mL/h", "duration_min")

    def _bridge_record(self, bolus_id: str, drug: Drug, therapy, reservoir_ml: float, volume_ml: float,
                       concentration_per_ml: float | None, prefix: str = "") -> BolusRecord:
        """The bridge bolus the line allows with ``drug`` in the reservoir and ``therapy`` running, checked as
        docs/protocol.md BOLUS says; ``concentration_per_ml`` None takes the old drug's (a refill's bridge). Fields
        named under ``prefix``. Changes nothing."""
        state = self.state
        if isinstance(therapy, Stopped):
            raise PumpError(Status.REFUSED, "the therapy is stopped: nothing would move the line", prefix + "bolus_id")
        others = [part for part in state.line if part.concentration_per_ml != drug.concentration_per_ml]
        if not others:
            raise PumpError(Status.REFUSED, f"nothing to bridge: the line holds only {_describe(drug)}",
                            prefix + "bolus_id")
        old = others[0]
        if old.concentration_per_ml == 0 or len(others) > 1 or state.line[0] is not old:
            what = ("spinal fluid" if any(part.concentration_per_ml == 0 for part in others)
                    else "more than one other concentration" if len(others) > 1 else "the old drug behind the new")
            raise PumpError(Status.REFUSED, f"the line holds {what}: prime it instead of a bridge", prefix + "bolus_id")
        if abs(volume_ml - old.volume_ml) > BRIDGE_VOLUME_TOLERANCE_ML:
            raise PumpError(Status.BAD_ARGUMENT, f"volume_ml {volume_ml:g} mL is not the old drug's volume in the "
                            f"line, {old.volume_ml:.6g} mL (within {BRIDGE_VOLUME_TOLERANCE_ML:g} mL)",
                            prefix + "volume_ml")
        if concentration_per_ml is not None and not _same_concentration(concentration_per_ml, old.concentration_per_ml):
            raise PumpError(Status.BAD_ARGUMENT, f"concentration_per_ml {concentration_per_ml:g} is not the old drug's "
                            f"in the line, {old.concentration_per_ml:g} {drug.dose_unit}/mL",
                            prefix + "concentration_per_ml")
        if old.volume_ml > reservoir_ml:
            raise PumpError(Status.REFUSED, f"the bridge needs {old.volume_ml:.4g} mL but the reservoir holds "
                            f"{reservoir_ml:.4g} mL", prefix + "volume_ml")
        fastest = engine.highest_dose_per_day(therapy) / old.concentration_per_ml
        limit = state.spec.max_rate_ml_per_day
        if fastest > limit * (1 + _RATE_TOLERANCE):
            raise PumpError(Status.OUT_OF_RANGE, f"the program at {old.concentration_per_ml:g} {drug.dose_unit}/mL "
                            f"needs {fastest:.6g} mL/day, more than this pump's {limit:g} mL/day", prefix + "volume_ml")
        ml_per_day = engine.mean_daily_dose(therapy) / old.concentration_per_ml
        return BolusRecord(bolus_id=bolus_id, kind="bridge", dose=old.volume_ml * old.concentration_per_ml,
                           volume_ml=old.volume_ml, duration_min=old.volume_ml / ml_per_day * 1440.0,
                           concentration_per_ml=old.concentration_per_ml, requested_volume_ml=volume_ml)

    def _start(self, record: BolusRecord, **detail: object) -> dict:
        """Run ``record`` from now: remembered with its id, numbered, logged ``bolus_started``."""
        state = self.state
        assert state.drug is not None, "a bolus starts only with a drug"
        if record.action_number is None:
            record.action_number = self._next_action()
        _remember(state.boluses, record)
        self._log("bolus_started", bolus_id=record.bolus_id, kind=record.kind, dose=record.dose,
                  dose_unit=state.drug.dose_unit, volume_ml=record.volume_ml, duration_min=record.duration_min,
                  action_number=record.action_number, **detail)
        return _bolus_answer(record, repeated=False)

    def cancel_bolus(self, bolus_id: str) -> dict:
        """Stop a running bolus; cancelling one that already ended answers how it ended."""
        bolus = _find(self.state.boluses, "bolus_id", bolus_id)
        if bolus is None:
            raise PumpError(Status.BAD_ARGUMENT, f"no bolus with id {bolus_id!r} is known", "bolus_id")
        if bolus.state == "delivering":
            self._end_bolus(bolus, reason="request")
        return {"bolus_id": bolus_id, "kind": bolus.kind, "delivered": bolus.delivered_dose,
                "volume_ml": bolus.delivered_ml, "state": bolus.state}

    def refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug: Drug | None,
               bridge: tuple[str, float] | None = None) -> dict:
        """Empty the reservoir and fill ``added_ml``; a new drug (name or unit) stops therapy. ``bridge`` (its
        bolus_id and volume_ml) starts a bridge bolus at the old concentration in the same action.

        A concentration-only change keeps the program in dose units, so its mL rates change and must
        still fit the flow range. Any refill discards a staged program. The line keeps what it holds: a
        factory-new pump's tubing holds no drug until a prime or the program fills it. The one exception is the
        first fill of a new pump given a catheter implanted and primed long ago (``--catheter-cm``): it fills the
        line with the drug.
        """
        state = self.state
        _check_id(refill_id, "refill_id")
        known = _find(state.refills, "refill_id", refill_id)
        bridge_id, bridge_ml = bridge if bridge is not None else (None, None)
        if known is not None:
            _check_same("refill_id", refill_id, (known.withdrawn_ml, known.added_ml, known.drug, known.bridge_id),
                        (withdrawn_ml, added_ml, drug, bridge_id))
            if (known.bridge_volume_ml is None) != (bridge_ml is None) or (
                    known.bridge_volume_ml is not None and bridge_ml is not None
                    and abs(known.bridge_volume_ml - bridge_ml) > LINE_MATCH_ML):
                raise PumpError(Status.BAD_ARGUMENT, f"refill_id {refill_id!r} was already used for another request",
                                "refill_id")
            return self._refill_answer(known, repeated=True)
        capacity = state.spec.capacity_ml
        for field, value in (("withdrawn_ml", withdrawn_ml), ("added_ml", added_ml)):
            if not 0 <= value <= capacity:
                raise PumpError(Status.OUT_OF_RANGE, f"{field} {value:g} mL is outside 0..{capacity:g} mL", field)
        if state.active_bolus is not None:
            raise PumpError(Status.REFUSED, "a bolus is delivering: cancel it or let it finish first", "refill_id")
        new_drug = drug or state.drug
        if new_drug is None:
            raise PumpError(Status.REFUSED, "a factory-new pump must be filled with a named drug", "drug")
        new_drug_kind = state.drug is None or (new_drug.name, new_drug.dose_unit) != (state.drug.name, state.drug.dose_unit)
        therapy = Stopped(mode="stopped") if new_drug_kind else state.therapy
        try:
            self._check_program_fits(new_drug, therapy)
        except PumpError as error:
            raise PumpError(error.status, f"the running program at the new concentration: {error.message}",
                            "drug.concentration_per_ml") from error
        bridge_record = None
        if bridge_id is not None and bridge_ml is not None:
            _check_client_bolus_id(bridge_id, "bridge.bolus_id")
            if _find(state.boluses, "bolus_id", bridge_id) is not None:
                raise PumpError(Status.BAD_ARGUMENT, f"bridge.bolus_id {bridge_id!r} was already used",
                                "bridge.bolus_id")
            if state.stalled or battery_status(state.battery_percent) == "eos":  # the reservoir is refilled now
                raise PumpError(Status.REFUSED, f"the pump cannot deliver now ({self._stop_reason()})",
                                "bridge.bolus_id")
            bridge_record = self._bridge_record(bridge_id, new_drug, therapy, added_ml, bridge_ml, None, "bridge.")

        calculated = state.volume_ml
        primed_long_ago = state.drug is None and state.catheter_cm is not None  # --catheter-cm: the demo pump
        self.staged = self.staged_by = None
        state.volume_ml = added_ml
        therapy_stopped = new_drug_kind and not isinstance(state.therapy, Stopped)
        state.set_program(new_drug, therapy)
        if primed_long_ago:
            state.line = [LineContent(volume_ml=state.line_volume_ml,
                                      concentration_per_ml=new_drug.concentration_per_ml)]
        if new_drug_kind:
            state.to_patient_dose = 0.0
        demand_off = (not new_drug_kind and state.demand is not None
                      and not _demand_fits(state.demand, new_drug.concentration_per_ml))
        record = RefillRecord(refill_id=refill_id, withdrawn_ml=withdrawn_ml, added_ml=added_ml, drug=drug,
                              volume_ml=added_ml, calculated_ml=calculated, action_number=self._next_action(),
                              bridge_id=bridge_id, bridge_volume_ml=bridge_ml, demand_switched_off=demand_off)
        _remember(state.refills, record)
        self._log("refill", refill_id=refill_id, withdrawn_ml=withdrawn_ml, added_ml=added_ml,
                  calculated_ml=calculated, drug=new_drug.model_dump(mode="json"), therapy_stopped=therapy_stopped,
                  checksum=state.program_checksum, action_number=record.action_number, pumped_ml=state.pumped_ml,
                  to_patient_ml=state.to_patient_ml, **({} if bridge_id is None else {"bridge_id": bridge_id}))
        if (new_drug_kind or demand_off) and state.demand is not None:
            state.demand = None
            self._log("demand_set", **demand_settings(state),
                      reason="drug_changed" if new_drug_kind else "concentration_changed")
        if bridge_record is not None:
            self._start(bridge_record, concentration_per_ml=bridge_record.concentration_per_ml)
        self._settle()
        return self._refill_answer(record, repeated=False)

    def _refill_answer(self, refill: RefillRecord, repeated: bool) -> dict:
        answer = _numbered({"refill_id": refill.refill_id, "volume_ml": refill.volume_ml,
                            "calculated_ml": refill.calculated_ml, "repeated": repeated}, refill.action_number)
        if refill.demand_switched_off:
            answer["demand_switched_off"] = True
        bridge = None if refill.bridge_id is None else _find(self.state.boluses, "bolus_id", refill.bridge_id)
        return answer if bridge is None else {**answer, "bridge": _bolus_answer(bridge, repeated)}

    # -- the patient's demand dose -----------------------------------------------------------------

    def read_demand(self) -> dict:
        return demand_answer(self.state)

    def set_demand(self, enabled: bool, dose: float = 0.0, duration_min: float = 0.0, lockout_min: float = 0.0,
                   max_per_day: int = 0) -> dict:
        """Switch the demand dose off, or set it, checked as docs/protocol.md SET_DEMAND says; READ_DEMAND's answer."""
        state = self.state
        demand = None
        if enabled:
            if state.drug is None:
                raise PumpError(Status.REFUSED, "the pump holds no drug", "enabled")
            if not dose > 0:
                raise PumpError(Status.OUT_OF_RANGE, f"dose {dose:g} must be more than 0", "dose")
            for name, value, (low, high), unit in (("duration_min", duration_min, DEMAND_DURATION_MIN, " min"),
                                                   ("lockout_min", lockout_min, DEMAND_LOCKOUT_MIN, " min"),
                                                   ("max_per_day", max_per_day, DEMAND_MAX_PER_DAY, "")):
                if not low <= value <= high:
                    raise PumpError(Status.OUT_OF_RANGE, f"{name} {value:g}{unit} is outside {low:g} to {high:g}{unit}",
                                    name)
            self._check_bolus_volume(dose / state.drug.concentration_per_ml, duration_min, "dose", in_reservoir=False)
            demand = DemandRecord(dose=dose, duration_min=duration_min, lockout_min=lockout_min,
                                  max_per_day=max_per_day)
        if demand != state.demand:
            state.demand = demand
            self._log("demand_set", **demand_settings(state))
        return demand_answer(state)

    def press_button(self) -> dict:
        """The patient presses the demand button: a demand bolus when the settings and the pump allow it."""
        state = self.state
        now = state.pump_time
        granted = state.demand_presses = granted_in_last_day(state, now)
        demand = state.demand
        if demand is None:
            return self._refuse_press("off", granted, None)
        reason = limit_reason(demand, granted, now) or self._press_blocker(demand)
        if reason is not None:
            return self._refuse_press(reason, granted, next_allowed(demand, granted, now))
        assert state.drug is not None, "_press_blocker: the pump can deliver"
        action = self._next_action()
        record = BolusRecord(bolus_id=f"demand-{action}", kind="demand", dose=demand.dose,
                             volume_ml=demand.dose / state.drug.concentration_per_ml, duration_min=demand.duration_min,
                             action_number=action)
        granted = state.demand_presses = [*granted, now]
        self._log("demand_granted", bolus_id=record.bolus_id, dose=record.dose, dose_unit=state.drug.dose_unit,
                  volume_ml=record.volume_ml, count_24h=len(granted))
        self._start(record)
        return {"granted": True, "reason": None, "bolus_id": record.bolus_id,
                "next_allowed": wire_time(next_allowed(demand, granted, now))}

    def _press_blocker(self, demand: DemandRecord) -> str | None:
        """Why the pump itself cannot give a demand dose now (``bolus_running``, ``cannot_deliver``, ``reservoir``)."""
        state = self.state
        if state.active_bolus is not None:
            return "bolus_running"
        if state.drug is None or not engine.can_deliver(state):
            return "cannot_deliver"
        return "reservoir" if demand.dose / state.drug.concentration_per_ml > state.volume_ml else None

    def _refuse_press(self, reason: str, granted: list[datetime], allowed: datetime | None) -> dict:
        self._log("demand_refused", reason=reason, count_24h=len(granted))
        return {"granted": False, "reason": reason, "bolus_id": None,
                "next_allowed": None if allowed is None else wire_time(allowed)}

    # -- clock and alarms --------------------------------------------------------------------------

    def set_clock(self, moment: datetime) -> dict:
        if not 2000 <= moment.year <= 2099:
            raise PumpError(Status.OUT_OF_RANGE, f"year {moment.year} is outside 2000..2099", "time")
        old = self.state.pump_time
        self.state.pump_time = moment
        self._log("clock_set", old=wire_time(old), new=wire_time(moment))
        return {"pump_time": wire_time(moment)}

    def acknowledge_alarm(self, code: str) -> dict:
        if code not in SEVERITY:
            raise PumpError(Status.BAD_ARGUMENT, f"{code!r} is not an alarm code ({', '.join(SEVERITY)})", "code")
        alarm = next((alarm for alarm in self.state.alarms if alarm.code == code), None)
        if alarm is not None and not alarm.acknowledged:
            alarm.acknowledged = True
            self._log("alarm_acknowledged", code=code)
        return {"alarms": alarm_list(self.state)}

    def set_low_alarm(self, low_alarm_ml: float) -> dict:
        """Set the low-reservoir threshold, within MIN_LOW_ALARM_ML to the model's ``max_low_alarm_ml``; the
        alarm is raised or cleared at once if the volume is now on the other side of it."""
        state = self.state
        low, high = MIN_LOW_ALARM_ML, state.spec.max_low_alarm_ml
        if not low <= low_alarm_ml <= high:
            raise PumpError(Status.OUT_OF_RANGE, f"low_alarm_ml {low_alarm_ml:g} mL is outside this {state.model}'s "
                            f"{low:g} to {high:g} mL", "low_alarm_ml")
        old = state.low_alarm_ml
        if low_alarm_ml != old:
            state.low_alarm_ml = low_alarm_ml
            self._log("low_alarm_set", old_ml=old, new_ml=low_alarm_ml)
            self._settle()
        return {"low_alarm_ml": state.low_alarm_ml}

    # -- paired programmers (protocol version 2) ---------------------------------------------------

    def pair_key(self, programmer_id: str) -> bytes | None:
        """The key shared with ``programmer_id``, or None when this pump is not paired with it."""
        entry = _find(self.state.paired, "programmer_id", programmer_id)
        return None if entry is None else bytes.fromhex(entry.key)

    def add_paired(self, programmer_id: str, key: bytes) -> None:
        """Pair with ``programmer_id`` (replacing an older key of its), forgetting the least recently used
        programmer when the list is full."""
        paired = [entry for entry in self.state.paired if entry.programmer_id != programmer_id]
        paired.append(PairedProgrammer(programmer_id=programmer_id, key=key.hex()))
        self.state.paired = paired[-MAX_PAIRED_PROGRAMMERS:]
        self._changed = True

    def forget_paired(self, programmer_id: str) -> None:
        self.state.paired = [entry for entry in self.state.paired if entry.programmer_id != programmer_id]
        self._changed = True

    def used_paired(self, programmer_id: str) -> None:
        """``programmer_id`` started a session: it becomes the most recently used (the last forgotten)."""
        entry = _find(self.state.paired, "programmer_id", programmer_id)
        if entry is not None and self.state.paired[-1] is not entry:
            self.state.paired.remove(entry)
            self.state.paired.append(entry)
            self._changed = True

    # -- emulator-only service actions -------------------------------------------------------------

    def set_stalled(self, stalled: bool) -> dict:
        self.state.stalled = stalled
        self._changed = True
        self._settle()
        return self.status()

    def set_battery(self, percent: float) -> dict:
        if not 0 <= percent <= 100:
            raise PumpError(Status.OUT_OF_RANGE, f"percent {percent:g} is outside 0..100", "percent")
        self.state.battery_percent = percent
        self._changed = True
        self._settle()
        return self.status()

    def advance_hours(self, hours: float) -> dict:
        if not 0 < hours <= MAX_ADVANCE_HOURS:
            raise PumpError(Status.OUT_OF_RANGE, f"hours {hours:g} is outside (0, {MAX_ADVANCE_HOURS}]", "hours")
        if self.state.pump_time + timedelta(hours=hours) > CLOCK_END:
            raise PumpError(Status.OUT_OF_RANGE, f"hours {hours:g} would run the pump clock past its end, "
                                                 f"{wire_time(CLOCK_END)}", "hours")
        self.advance(hours * 3600.0)
        self._changed = True
        return self.status()


def _describe(drug: Drug) -> str:
    return f"{drug.name} {drug.concentration_per_ml:g} {drug.dose_unit}/mL"


def _same_concentration(first: float | None, again: float) -> bool:
    return first is not None and math.isclose(first, again, rel_tol=_RATE_TOLERANCE)


def _check_id(value: str, field: str) -> None:
    if not _ID.fullmatch(value):
        raise PumpError(Status.BAD_ARGUMENT, f"{field} {value!r} must be 1 to 64 characters from A-Z a-z 0-9 . _ -",
                        field)


def _check_client_bolus_id(value: str, field: str) -> None:
    """A bolus id a client may choose: an id, and not one of the pump's own demand-bolus ids (``demand-<n>``), which a
    client's id could otherwise collide with (two boluses of one id: CANCEL_BOLUS would find the wrong one)."""
    _check_id(value, field)
    if value.startswith(DEMAND_BOLUS_ID_PREFIX):
        raise PumpError(Status.BAD_ARGUMENT, f"{field} {value!r}: ids starting {DEMAND_BOLUS_ID_PREFIX!r} are the "
                        "pump's own (its demand boluses)", field)


def _same_volume(requested: float | None, own: float, again: float) -> bool:
    """A repeat's ``volume_ml`` against the first request's (the pump's own figure when that was not kept)."""
    return abs((own if requested is None else requested) - again) <= LINE_MATCH_ML


def _demand_fits(demand: DemandRecord, concentration_per_ml: float) -> bool:
    """Whether the demand dose is still a bolus the pump gives at ``concentration_per_ml`` (as SET_DEMAND checks it:
    at least the smallest bolus, no faster than the fastest)."""
    volume_ml = demand.dose / concentration_per_ml
    return volume_ml >= MIN_BOLUS_ML and volume_ml / (demand.duration_min / 60) <= MAX_BOLUS_ML_PER_HOUR


def _check_same(field: str, value: str, first: tuple, again: tuple) -> None:
    """A known id must come back with the values it was first used with: a reused id is refused."""
    if first != again:
        raise PumpError(Status.BAD_ARGUMENT, f"{field} {value!r} was already used for another request", field)


def _find(records: list, key: str, value: str):
    return next((record for record in records if getattr(record, key) == value), None)


def _remember(records: list, record) -> None:
    """Append and keep the last REMEMBERED_IDS; never forget a running bolus (it is the newest anyway)."""
    records.append(record)
    del records[: max(0, len(records) - REMEMBERED_IDS)]


def _numbered(answer: dict, action_number: int | None) -> dict:
    """The answer with its ``action_number`` (absent for an action remembered from before version 2)."""
    return answer if action_number is None else {**answer, "action_number": action_number}


def _bolus_answer(bolus: BolusRecord, repeated: bool) -> dict:
    return _numbered({"bolus_id": bolus.bolus_id, "kind": bolus.kind, "dose": bolus.dose, "volume_ml": bolus.volume_ml,
                      "duration_min": bolus.duration_min, "state": bolus.state, "repeated": repeated},
                     bolus.action_number)

