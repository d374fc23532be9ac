"""What the planner needs to know about the pump: its model's limits and its reservoir.

Pumps declare their limits and the checks read them (never hard-coded in a check), so a new model is a
new entry here, or the figures a pump reports when it is interrogated.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from programmer.errors import InputError, from_validation_error


MIN_LOW_ALARM_ML = 1.0
"""The lowest low-reservoir alarm threshold on every model, mL: below it the alarm would leave too little drug to
get the patient to a refill before the reservoir empties. The highest is half the reservoir, so that a full pump
is never in alarm (``PumpLimits.low_alarm_range_ml``)."""


class PumpLimits(BaseModel):
    """A pump model's delivery limits, in mL/day, and the flex schedule it can hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str
    capacity_ml: Annotated[float, Field(gt=0)]
    min_rate_ml_per_day: Annotated[float, Field(ge=0)]
    max_rate_ml_per_day: Annotated[float, Field(gt=0)]
    max_steps_per_day: Annotated[int, Field(ge=1)]
    max_cycle_days: Annotated[int, Field(ge=1)]
    tubing_ml: Annotated[float, Field(gt=0)] | None = None
    """The pump's internal tubing volume, mL: the part of the dead volume inside the pump (the catheter is the rest,
    ``programmer.dead_volume``). None for a pump that does not declare it: no prime, bridge or demand dose for it."""
    priming_ml_per_hour: Annotated[float, Field(gt=0)] | None = None
    """The rate the pump primes the line at, mL/h (the basal program suspended meanwhile)."""
    max_bolus_ml_per_hour: Annotated[float, Field(gt=0)] | None = None
    """The fastest bolus the pump gives (volume / duration), mL/h, on top of the basal rate."""

    @model_validator(mode="after")
    def _range_ordered(self) -> "PumpLimits":
        if self.min_rate_ml_per_day >= self.max_rate_ml_per_day:
            raise ValueError("min_rate_ml_per_day must be below max_rate_ml_per_day")
        return self

    @property
    def low_alarm_range_ml(self) -> tuple[float, float]:
        """The lowest and highest low-reservoir alarm thresholds the pump takes (SET_LOW_ALARM), mL.

        IDENTIFY does not report them, so they are the models' own rule, written here beside the other model
        limits (a test checks it against the emulator's): ``MIN_LOW_ALARM_ML`` to half the reservoir. The
        application uses it to refuse a value before anything is sent and to show the range; a pump that
        takes less still has the last word (OUT_OF_RANGE, ``field`` ``low_alarm_ml``)."""
        return MIN_LOW_ALARM_ML, self.capacity_ml / 2


# The emulator's own pump models (docs/emulator.md: the emulator is not a copy of a real pump).
# Their figures are chosen to sit near field pumps of the same sizes: 20 and 40 mL reservoirs, a flow
# range of 0.048 to 24 mL/day (0.002 to 1 mL/h), flex schedules of up to 13 steps a day over up to 7 days, tubing of
# 0.15 and 0.18 mL (a SynchroMed II shows 0.140 mL), priming at 1.0 mL/h and boluses of up to 6.0 mL/h.
PUMP_MODELS: dict[str, PumpLimits] = {
    name: PumpLimits(
        model=name,
        capacity_ml=capacity,
        min_rate_ml_per_day=0.048,
        max_rate_ml_per_day=24.0,
        max_steps_per_day=13,
        max_cycle_days=7,
        tubing_ml=tubing,
        priming_ml_per_hour=1.0,
        max_bolus_ml_per_hour=6.0,
    )
    for name, capacity, tubing in (("ITB-20", 20.0, 0.15), ("ITB-40", 40.0, 0.18))
}


def pump_model(name: str) -> PumpLimits:
    """The limits of a known pump model, or an InputError listing the models there are."""
    try:
        return PUMP_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(PUMP_MODELS))
        raise InputError([("pump_model", f"unknown pump model {name!r}; known models: {known}")])


def smallest_model_holding(volume_ml: float) -> PumpLimits:
    """The smallest known pump whose reservoir holds ``volume_ml`` (for offline plans without a pump)."""
    for limits in sorted(PUMP_MODELS.values(), key=lambda item: item.capacity_ml):
        if volume_ml <= limits.capacity_ml:
            return limits
    largest = max(item.capacity_ml for item in PUMP_MODELS.values())
    raise InputError([("reservoir_ml", f"{volume_ml:g} mL is more than the largest reservoir ({largest:g} mL)")])


class Reservoir(BaseModel):
    """The reservoir as the pump calculates it: capacity, current volume and the low-alarm threshold (mL)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    capacity_ml: Annotated[float, Field(gt=0)]
    volume_ml: Annotated[float, Field(ge=0)]
    low_alarm_ml: Annotated[float, Field(ge=0)] = 2.0

    @model_validator(mode="after")
    def _fits(self) -> "Reservoir":
        if self.volume_ml > self.capacity_ml:
            raise ValueError(
                f"volume_ml {self.volume_ml:g} mL is more than the reservoir capacity {self.capacity_ml:g} mL"
            )
        if self.low_alarm_ml >= self.capacity_ml:
            raise ValueError(
                f"low_alarm_ml {self.low_alarm_ml:g} mL must be below the capacity {self.capacity_ml:g} mL"
            )
        return self


def same_threshold(asked_ml: float, read_back_ml: float) -> bool:
    """Whether a low-reservoir alarm threshold read back from the pump is the one sent: equal but for the last
    bits a number loses on its way through the wire's JSON."""
    return abs(read_back_ml - asked_ml) <= 1e-9 * max(1.0, asked_ml)


def make_reservoir(capacity_ml: float, volume_ml: float, low_alarm_ml: float) -> Reservoir:
    """Build a Reservoir, turning validation failures into an InputError that names the field."""
    try:
        return Reservoir(capacity_ml=capacity_ml, volume_ml=volume_ml, low_alarm_ml=low_alarm_ml)
    except ValidationError as exc:
        raise from_validation_error(exc)
