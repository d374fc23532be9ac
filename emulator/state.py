"""The pump's persistent memory: one JSON document, rewritten atomically on every change.

Everything that must survive a power loss is in ``PumpState`` and in one file, so a crash at any instant
leaves either the previous document or the next one on disk (temp file, fsync, rename, fsync of the
directory), never a mix. The program (drug + therapy) is therefore always whole. A staged program is
deliberately *not* part of this memory: after a restart a COMMIT finds nothing staged, so nothing can be
activated without the commit that named it in the same power-on.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from emulator.clock import local_midnight
from emulator.spec import (CATHETER_CM_MAX, CATHETER_CM_MIN, DEMAND_DURATION_MIN, DEMAND_LOCKOUT_MIN,
                           DEMAND_MAX_PER_DAY, FACTORY_LOW_ALARM_ML, MODELS, ModelSpec)
from programmer.program import FORMAT, NO_PROGRAM_CHECKSUM, Drug, Program, Stopped, Therapy, write_text_atomically

STATE_FORMAT: Final = "itb-emulator-state/1"

AlarmCode = Literal["low_reservoir", "reservoir_empty", "eri", "eos", "motor_stall"]
BolusState = Literal["delivering", "done", "cancelled"]
BolusKind = Literal["therapeutic", "prime", "bridge", "demand"]
PrimeReason = Literal["implant", "pump_replacement", "catheter_revision"]
PRIME_REASONS: Final = get_args(PrimeReason)
LINE_SUM_TOLERANCE_ML = 1e-9
"""How far a state file's line contents may sum from the line's volume (rounding of many small moves)."""


class _Record(BaseModel):
    """Base for the parts of the state: no unknown keys, no NaN; mutable, because the pump runs on it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class AlarmRecord(_Record):
    code: AlarmCode
    since: datetime
    acknowledged: bool = False


class EventRecord(_Record):
    index: Annotated[int, Field(ge=0)]
    """Numbered from 0 when the pump was made; an index always names the same event."""
    time: datetime
    kind: str
    detail: dict = Field(default_factory=dict)


class HeldEvent(_Record):
    """Noisy events of one kind merged outside the log while their run is over its places (emulator/events.py):
    kept here so a restart neither loses nor duplicates them, and given an index only when they are flushed."""

    kind: str
    time: datetime
    """The newest merged event's time."""
    first_time: datetime
    coalesced: Annotated[int, Field(ge=1)]
    """How many events it stands for."""
    detail: dict = Field(default_factory=dict)


class LineContent(_Record):
    """One stretch of fluid in the tubing and catheter: ``concentration_per_ml`` in the dose unit of the drug the
    pump holds, 0 for spinal fluid (no drug)."""

    volume_ml: Annotated[float, Field(gt=0)]
    concentration_per_ml: Annotated[float, Field(ge=0)]


class DemandRecord(_Record):
    """The patient's demand dose while it is enabled: per activation ``dose`` (the drug's dose units) over
    ``duration_min``, ``lockout_min`` from one granted start to the next, at most ``max_per_day`` in any 24 h."""

    dose: Annotated[float, Field(gt=0)]
    duration_min: Annotated[float, Field(ge=DEMAND_DURATION_MIN[0], le=DEMAND_DURATION_MIN[1])]
    lockout_min: Annotated[float, Field(ge=DEMAND_LOCKOUT_MIN[0], le=DEMAND_LOCKOUT_MIN[1])]
    max_per_day: Annotated[int, Field(ge=DEMAND_MAX_PER_DAY[0], le=DEMAND_MAX_PER_DAY[1])]


class BolusRecord(_Record):
    """A bolus the pump accepted; kept after it ends so a repeated id gets the same answer.

    ``volume_ml`` is what the motor moves for it and ``delivered_ml`` what it has moved. A therapeutic or demand
    bolus runs on top of the basal rate at volume / duration; a prime replaces the basal rate with the priming rate;
    a bridge replaces it with the program's dose rate at the old concentration ``concentration_per_ml``."""

    bolus_id: str
    kind: BolusKind = "therapeutic"
    dose: Annotated[float, Field(gt=0)]
    volume_ml: Annotated[float, Field(gt=0)]
    duration_min: Annotated[float, Field(gt=0)]
    delivered_ml: Annotated[float, Field(ge=0)] = 0.0
    state: BolusState = "delivering"
    action_number: Optional[int] = None
    """The pump's own number of this action (``PumpState.actions``); None in a memory from before version 2."""
    reason: Optional[PrimeReason] = None
    """A prime's reason."""
    catheter_cm: Optional[float] = None
    catheter_segments_cm: list[float] = Field(default_factory=list)
    """A prime's catheter as recorded by it."""
    concentration_per_ml: Optional[float] = None
    """A bridge's old concentration: the one it pushes out of the line at the programmed dose."""
    requested_volume_ml: Optional[float] = None
    """A bridge's ``volume_ml`` as its request gave it (the pump runs its own figure, ``volume_ml``): a repeat of the
    id is judged against it. None when the pump kept no other figure (it is then ``volume_ml``)."""

    @property
    def delivered_dose(self) -> float:
        """Delivered so far in dose units (the drug cannot change while a bolus runs)."""
        return self.dose * self.delivered_ml / self.volume_ml


class RefillRecord(_Record):
    """A refill the pump carried out, with its request values to tell a repeat from a reused id."""

    refill_id: str
    withdrawn_ml: float
    added_ml: float
    drug: Optional[Drug]
    volume_ml: float
    calculated_ml: float
    action_number: Optional[int] = None
    """The pump's own number of this action (``PumpState.actions``); None in a memory from before version 2."""
    bridge_id: Optional[str] = None
    """The bridge bolus started with this refill, in the same action (its request's ``bridge.bolus_id``)."""
    bridge_volume_ml: Optional[float] = None
    """The bridge's volume as requested (to tell a repeat from a reused id)."""
    demand_switched_off: bool = False
    """The refill changed the concentration so that the demand dose no longer fitted the bolus limits: the pump
    switched it off in the same action (answered ``demand_switched_off``)."""


class PairedProgrammer(_Record):
    """A programmer this pump was paired with: whoever proves the key may open a session (protocol version 2).
    The key is kept in hex in the state file, which only its owner may read (0600)."""

    programmer_id: str
    key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class PumpState(_Record):
    """Everything the pump remembers. Times are naive pump-local times."""

    format: Literal["itb-emulator-state/1"] = STATE_FORMAT
    model: str
    serial: str
    pump_time: datetime
    battery_percent: Annotated[float, Field(ge=0, le=100)]
    volume_ml: Annotated[float, Field(ge=0)]
    low_alarm_ml: Annotated[float, Field(ge=0)]
    drug: Optional[Drug]
    therapy: Therapy
    program_checksum: str
    cycle_anchor: datetime
    """Local midnight (pump clock) of the day the running program was activated: day 1 00:00 of its cycle."""
    stalled: bool = False
    alarms: list[AlarmRecord] = Field(default_factory=list)
    events: list[EventRecord] = Field(default_factory=list)
    """The retained events, oldest first, consecutive indices, at most the model's event_log_size."""
    held_events: list[HeldEvent] = Field(default_factory=list)
    """Noisy events coalesced after the log, not yet given an index, in the order they last happened."""
    boluses: list[BolusRecord] = Field(default_factory=list)
    """The last REMEMBERED_IDS boluses, oldest first; at most one is delivering."""
    refills: list[RefillRecord] = Field(default_factory=list)
    actions: Annotated[int, Field(ge=0)] = 0
    """Boluses and refills carried out since the pump was made: the last ``action_number`` given (never reused,
    so an action can be named in a report whatever its client-chosen id)."""
    paired: list[PairedProgrammer] = Field(default_factory=list)
    """The paired programmers, least recently used (last session start) first; at most MAX_PAIRED_PROGRAMMERS."""
    catheter_cm: Optional[Annotated[float, Field(ge=CATHETER_CM_MIN, le=CATHETER_CM_MAX)]] = None
    """The catheter's length as the last prime recorded it (None: not recorded, and it counts 0 mL)."""
    catheter_segments_cm: list[Annotated[float, Field(gt=0)]] = Field(default_factory=list)
    """Its segments after a revision, as recorded (empty: one piece, or not said)."""
    line: list[LineContent] = Field(default_factory=list)
    """What fills tubing and catheter, the catheter tip (what the patient gets next) first; empty in a memory from
    before the line was modelled, which loads as full of the drug the pump holds (0 without one). A refill leaves
    it: a factory-new pump's line holds no drug (0) until a prime or the program fills it. The one exception: the
    first fill of a new pump given a catheter implanted and primed long ago (``--catheter-cm``) fills it with that
    drug."""
    pumped_ml: Annotated[float, Field(ge=0)] = 0.0
    """What the motor moved since the pump was made, mL."""
    to_patient_ml: Annotated[float, Field(ge=0)] = 0.0
    """What left the catheter tip since the pump was made, mL."""
    to_patient_dose: Annotated[float, Field(ge=0)] = 0.0
    """Drug that left the tip since the drug kind (name or unit) last changed, in the drug's dose unit."""
    demand: Optional[DemandRecord] = None
    """The patient's demand dose; None: off."""
    demand_presses: list[datetime] = Field(default_factory=list)
    """When granted activations started, oldest first, those of the last 24 h (older ones are dropped)."""

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError(f"unknown model {value!r}; known: {', '.join(sorted(MODELS))}")
        return value

    @field_validator("pump_time", "cycle_anchor")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("pump times are local times without an offset")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "PumpState":
        if self.drug is None and not isinstance(self.therapy, Stopped):
            raise ValueError("a pump without a drug can only be stopped")
        if self.program_checksum != program_checksum(self.drug, self.therapy):
            raise ValueError("program_checksum does not match the stored drug and therapy")
        if self.volume_ml > self.spec.capacity_ml:
            raise ValueError(f"volume_ml {self.volume_ml} is more than the capacity {self.spec.capacity_ml}")
        first = self.events[0].index if self.events else 0
        if [event.index for event in self.events] != list(range(first, first + len(self.events))):
            raise ValueError("event indices are not consecutive")
        if len({held.kind for held in self.held_events}) != len(self.held_events):
            raise ValueError("held_events holds two events of one kind")
        if sum(bolus.state == "delivering" for bolus in self.boluses) > 1:
            raise ValueError("more than one bolus is delivering")
        if sum(self.catheter_segments_cm) and abs(sum(self.catheter_segments_cm) - (self.catheter_cm or 0)) > 1e-6:
            raise ValueError("catheter_segments_cm do not add up to catheter_cm")
        volume = self.line_volume_ml
        if not self.line:
            self.line = [LineContent(volume_ml=volume,
                                     concentration_per_ml=self.drug.concentration_per_ml if self.drug else 0.0)]
        elif abs(sum(part.volume_ml for part in self.line) - volume) > LINE_SUM_TOLERANCE_ML:
            raise ValueError(f"the line contents do not add up to the line's volume, {volume} mL")
        return self

    @property
    def line_volume_ml(self) -> float:
        """Tubing and recorded catheter, mL."""
        return self.spec.line_volume_ml(self.catheter_cm)

    @property
    def spec(self) -> ModelSpec:
        return MODELS[self.model]

    @property
    def active_bolus(self) -> BolusRecord | None:
        return next((bolus for bolus in self.boluses if bolus.state == "delivering"), None)

    def set_program(self, drug: Drug | None, therapy) -> None:
        """Replace drug and therapy together, keeping the checksum in step."""
        self.drug = drug
        self.therapy = therapy
        self.program_checksum = program_checksum(drug, therapy)


def program_checksum(drug: Drug | None, therapy) -> str:
    """The wire identity of what the pump runs (NO_PROGRAM_CHECKSUM when it holds no drug)."""
    if drug is None:
        return NO_PROGRAM_CHECKSUM
    return Program(format=FORMAT, drug=drug, therapy=therapy).checksum()


def factory_new(model: str, now: datetime) -> PumpState:
    """A pump as shipped: no drug, therapy stopped, empty reservoir, battery full, clock at ``now``."""
    spec = MODELS[model]
    return PumpState(
        model=model,
        serial=f"{spec.serial_prefix}-{secrets.token_hex(3).upper()}",
        pump_time=now,
        battery_percent=100.0,
        volume_ml=0.0,
        low_alarm_ml=FACTORY_LOW_ALARM_ML,
        drug=None,
        therapy=Stopped(mode="stopped"),
        program_checksum=NO_PROGRAM_CHECKSUM,
        cycle_anchor=local_midnight(now),
    )


class StateFileError(Exception):
    """The state file exists but cannot be used; the emulator refuses to start rather than guess."""


def load_state(path: Path) -> PumpState:
    try:
        return PumpState.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read state file: {exc.strerror or exc}") from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "(document)"
        raise StateFileError(f"{path}: not a valid emulator state file: {where}: {first['msg']}") from exc


def remove_stale_temp_files(path: Path) -> None:
    """Delete temp files a killed emulator left beside ``path`` (their rename never happened, so they are junk)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def save_state(state: PumpState, path: Path) -> None:
    """Write the whole state atomically and make the rename itself durable (fsync of the directory).

    The temp file is named by ``programmer.program.write_text_atomically``: ``.NAME.*.tmp`` beside ``path``.
    """
    write_text_atomically(path, state.model_dump_json(indent=1) + "\n")
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
