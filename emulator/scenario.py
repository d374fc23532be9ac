"""The scenario file (``itb-scenario/1``): a pump to start and a timeline of what happens to it, with expectations.

Why a file: a field situation (a weekend with a low reservoir, a battery running down to its end, a link that drops
as a program is committed) takes hours or weeks of pump time and a dozen actions to build; written down once, a
tester replays it against the application at any speed, and the tests replay it in process in milliseconds. Why
strict: a scenario that misspells a key would silently test nothing, so unknown keys are refused and every error
names the step and the field. docs/emulator.md, "Scenarios", is the specification; ``emulator/timeline.py`` plays it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from emulator.events import EVENT_KINDS
from emulator.faults import FaultSpec
from emulator.spec import CATHETER_CM_MAX, CATHETER_CM_MIN, MIN_LOW_ALARM_ML, MODELS
from emulator.state import (AlarmCode, LineContent, PrimeReason, PumpState, StateFileError, factory_new,
                            load_state)
from programmer.program import Drug, Program, program_from_data
from programmer.errors import InputError

SCENARIO_FORMAT = "itb-scenario/1"
MAX_SCENARIO_HOURS = 10 * 366 * 24
"""The longest timeline, simulated hours: ten years, as SERVICE ``advance`` allows at once."""
DEFAULT_TOLERANCE_ML = 0.001
"""How far the reservoir may be from an expectation's ``reservoir_ml`` unless the expectation says."""


class ScenarioError(Exception):
    """The scenario file cannot be used: the message names the file, the step and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class StartingPump(_Strict):
    """The pump as the scenario starts it: a factory-new ``model`` set up by the other keys, or a ``state_file``
    (relative to the scenario's folder) as it is."""

    model: Literal["ITB-20", "ITB-40"] = "ITB-20"
    clock: datetime
    """Pump time at the start: naive local time, as the pump's clock is."""
    catheter_cm: Optional[Annotated[float, Field(ge=CATHETER_CM_MIN, le=CATHETER_CM_MAX)]] = None
    program: Optional[dict] = None
    """An ``itb-program/1`` document the pump runs from the start, its line full of its drug (primed long ago)."""
    volume_ml: Annotated[float, Field(ge=0)] = 0.0
    battery_percent: Annotated[float, Field(ge=0, le=100)] = 100.0
    low_alarm_ml: Optional[Annotated[float, Field(gt=0)]] = None
    state_file: Optional[str] = None

    @field_validator("clock")
    @classmethod
    def _naive(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("the pump clock is local time without an offset")
        return value

    @field_validator("program")
    @classmethod
    def _program(cls, value: Optional[dict]) -> Optional[dict]:
        if value is not None:
            parse_program(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "StartingPump":
        if self.volume_ml > MODELS[self.model].capacity_ml:
            raise ValueError(f"volume_ml {self.volume_ml:g} mL is more than the {self.model}'s "
                             f"{MODELS[self.model].capacity_ml:g} mL")
        if self.volume_ml and self.program is None:
            raise ValueError("volume_ml needs a program (a pump without a drug holds none)")
        highest = MODELS[self.model].max_low_alarm_ml
        if self.low_alarm_ml is not None and not MIN_LOW_ALARM_ML <= self.low_alarm_ml <= highest:
            raise ValueError(f"low_alarm_ml {self.low_alarm_ml:g} mL is outside the {self.model}'s "
                             f"{MIN_LOW_ALARM_ML:g} to {highest:g} mL")
        return self


class _Step(_Strict):
    at_hours: Annotated[float, Field(ge=0, le=MAX_SCENARIO_HOURS)]
    """Simulated hours from the scenario's start (the pump clock may be moved; this time is not)."""


class Advance(_Step):
    do: Literal["advance"]
    hours: Annotated[float, Field(gt=0, le=MAX_SCENARIO_HOURS)]


class Battery(_Step):
    do: Literal["battery"]
    percent: Annotated[float, Field(ge=0, le=100)]


class Stall(_Step):
    do: Literal["stall", "clear-stall"]


class PressButton(_Step):
    do: Literal["press-button"]


class Faults(_Step):
    do: Literal["faults"]
    spec: str
    """``--faults`` syntax; "" clears them."""

    @field_validator("spec")
    @classmethod
    def _parses(cls, value: str) -> str:
        FaultSpec.parse(value)
        return value


class MoveClock(_Step):
    do: Literal["move-clock"]
    hours: Annotated[float, Field(ge=-24, le=24)]
    """Moves the pump clock as a programmer's SET_CLOCK would (a DST change: +1 in spring, -1 in autumn)."""

    @field_validator("hours")
    @classmethod
    def _moves(cls, value: float) -> float:
        if value == 0:
            raise ValueError("a clock move of 0 h moves nothing")
        return value


class Refill(_Step):
    do: Literal["refill"]
    withdrawn_ml: Annotated[float, Field(ge=0)]
    added_ml: Annotated[float, Field(ge=0)]
    drug: Optional[Drug] = None
    """A new drug (a first fill must give one); null keeps the pump's."""
    pocket_ml: Annotated[float, Field(ge=0)] = 0.0
    """Of ``added_ml``, what went into the subcutaneous pocket instead of the reservoir (a pocket fill)."""

    @model_validator(mode="after")
    def _pocket(self) -> "Refill":
        if self.pocket_ml > self.added_ml:
            raise ValueError(f"pocket_ml {self.pocket_ml:g} mL is more than added_ml {self.added_ml:g} mL")
        return self


class Write(_Step):
    do: Literal["write"]
    program: dict
    """An ``itb-program/1`` document, staged and committed as a programmer would."""

    @field_validator("program")
    @classmethod
    def _program(cls, value: dict) -> dict:
        parse_program(value)
        return value


class Prime(_Step):
    do: Literal["prime"]
    catheter_cm: Annotated[float, Field(ge=CATHETER_CM_MIN, le=CATHETER_CM_MAX)]
    reason: PrimeReason = "implant"


class EventWanted(_Strict):
    kind: str
    detail: dict = Field(default_factory=dict)
    """Keys the event's detail must hold with these values (others may be there too)."""

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {value!r}")
        return value


class Expect(_Step):
    do: Literal["expect"]
    alarms: Optional[list[AlarmCode]] = None
    """Exactly these alarms are listed (in any order)."""
    reservoir_ml: Optional[Annotated[float, Field(ge=0)]] = None
    tolerance_ml: Annotated[float, Field(gt=0)] = DEFAULT_TOLERANCE_ML
    battery_status: Optional[Literal["ok", "eri", "eos"]] = None
    pump_time: Optional[datetime] = None
    """The pump clock reads this, to the second."""
    events: list[EventWanted] = Field(default_factory=list)
    """Each is in the log, logged since the scenario started."""
    faults: Optional[str] = None
    """The link faults in force, in ``--faults`` syntax as ``state`` shows them ("" for none)."""

    @model_validator(mode="after")
    def _something(self) -> "Expect":
        if (self.alarms is None and self.reservoir_ml is None and self.battery_status is None
                and self.pump_time is None and not self.events and self.faults is None):
            raise ValueError("an expectation must expect something: alarms, reservoir_ml, battery_status, pump_time, "
                             "events or faults")
        return self


Step = Annotated[Union[Advance, Battery, Stall, PressButton, Faults, MoveClock, Refill, Write, Prime, Expect],
                 Field(discriminator="do")]


class Scenario(_Strict):
    format: Literal["itb-scenario/1"]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: str = ""
    pump: StartingPump
    timeline: list[Step]

    @model_validator(mode="after")
    def _in_order(self) -> "Scenario":
        for index, (before, step) in enumerate(zip(self.timeline, self.timeline[1:]), start=1):
            if step.at_hours < before.at_hours:
                raise ValueError(f"timeline[{index}] at_hours {step.at_hours:g} comes before the step ahead of it "
                                 f"({before.at_hours:g}): steps are in time order")
        return self


def parse_program(document: dict) -> Program:
    """The program document, or ValueError naming its field (pydantic reports it at the step's ``program``)."""
    try:
        return program_from_data(document)
    except InputError as error:
        field, message = error.problems[0]
        raise ValueError(f"program{'.' + field if field else ''}: {message}") from None


def load_scenario(path: Path) -> Scenario:
    """The scenario in ``path``; ScenarioError naming the file, the step (``timeline[N]``) and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror or exc}") from None
    try:
        return Scenario.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = _where(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ScenarioError(f"{path}: not a valid {SCENARIO_FORMAT} scenario: "
                            f"{where + ': ' if where else ''}{message}") from None


def _where(location: tuple) -> str:
    """``timeline[3].percent`` for pydantic's ('timeline', 3, 'battery', 'percent'): the step's tag left out ("" for
    the whole document)."""
    parts: list[str] = []
    for index, part in enumerate(location):
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        elif index >= 2 and location[0] == "timeline" and isinstance(location[index - 1], int):
            continue  # the discriminator's tag (the step's "do"), which the step index already names
        else:
            parts.append(str(part))
    return ".".join(parts)


def starting_state(scenario: Scenario, folder: Path) -> PumpState:
    """The pump's memory at the scenario's start: its ``state_file`` (relative to ``folder``), clock set to ``clock``,
    or a factory-new pump set up as the scenario says."""
    start = scenario.pump
    if start.state_file is not None:
        try:
            state = load_state(folder / start.state_file)
        except StateFileError as exc:
            raise ScenarioError(f"pump.state_file: {exc}") from None
        state.pump_time = start.clock
        return state
    state = factory_new(start.model, start.clock)
    state.battery_percent = start.battery_percent
    if start.low_alarm_ml is not None:
        state.low_alarm_ml = start.low_alarm_ml
    state.catheter_cm = start.catheter_cm
    state.line = [LineContent(volume_ml=state.line_volume_ml, concentration_per_ml=0.0)]
    if start.program is not None:
        program = parse_program(start.program)
        state.set_program(program.drug, program.therapy)
        state.volume_ml = start.volume_ml
        state.line = [LineContent(volume_ml=state.line_volume_ml,
                                  concentration_per_ml=program.drug.concentration_per_ml)]
    return state

