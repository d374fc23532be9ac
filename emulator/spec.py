"""The emulator's pump models, ITB-20 and ITB-40: every number the simulated firmware obeys.

These are the emulator's own choices (it copies no real pump); docs/emulator.md
lists them with the reasons. They sit near field pumps of the same sizes. The figures the programmer
must know are reported by IDENTIFY, so nobody needs to import this module to talk to the pump.

The flow range, steps and cycle length agree with ``programmer.pump.PUMP_MODELS`` (a test checks it);
they are written out here again on purpose, because the emulator is the independent check on the
programmer and must not take its rules from it.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRMWARE = "emu-1.0"

BATTERY_DRAIN_PERCENT_PER_DAY = 0.04
"""Battery falls linearly with simulated time, whatever the pump does: 100 % lasts 2500 days (~6.8 years)."""
ERI_PERCENT = 3.6
"""Elective replacement indicator at or below this: 90 simulated days before end of service."""
EOS_PERCENT = 0.0
"""End of service at this level: the pump stops delivering."""

FACTORY_LOW_ALARM_ML = 2.0
"""Low-reservoir alarm threshold of a new pump (the manufacturers' usual 2 mL residual)."""
MIN_LOW_ALARM_ML = 1.0
"""The lowest threshold SET_LOW_ALARM takes, on every model: below it the alarm would leave too little drug to
get the patient to a refill before the reservoir empties."""

MAX_BOLUS_ML_PER_HOUR = 6.0
"""Fastest bolus the simulated motor gives (volume / duration), on top of the basal rate."""
MIN_BOLUS_MINUTES = 1.0
MIN_BOLUS_ML = 0.0005
"""The smallest bolus the emulated pump meters (its own choice: about one pump stroke); a smaller dose is
refused as OUT_OF_RANGE, never run as a bolus that delivers nothing and blocks refills for its duration."""
MAX_BOLUS_MINUTES = 24 * 60.0

PRIMING_ML_PER_HOUR = 1.0
"""The rate of a priming bolus (own choice, slow enough for a freshly implanted catheter): tubing and catheter are
filled at it with the basal program suspended."""

CATHETER_ML_PER_CM = 0.0026
"""Dead volume of the emulated catheter per cm of length: the figure published for the Prometra catheter. It is
this emulated catheter's, not every catheter's."""
CATHETER_CM_MIN = 10.0
CATHETER_CM_MAX = 110.0
"""The emulated catheter is supplied 110 cm long and trimmed at implant; shorter than 10 cm cannot reach the
intrathecal space from an abdominal pocket (own choice)."""
LINE_MATCH_ML = 1e-6
"""How far a prime's or bridge's requested volume may be from the pump's own figure (float rounding and
decimal entry, nothing more)."""
LINE_PART_MIN_ML = 1e-12
"""A part of the line smaller than this is rounding left over at a boundary: it is dropped, never reported."""

DEMAND_DURATION_MIN = (1.0, 60.0)
"""A demand dose's delivery time per activation, minutes, inclusive (own choice)."""
DEMAND_LOCKOUT_MIN = (15.0, 1440.0)
"""From one granted activation to the next, minutes, inclusive (own choice; the programmer warns below 60)."""
DEMAND_MAX_PER_DAY = (1, 24)
"""Granted activations in any rolling 24 h, inclusive (own choice)."""

REMEMBERED_IDS = 64
"""How many bolus ids and refill ids the pump remembers to answer a repeat without acting again."""


@dataclass(frozen=True)
class ModelSpec:
    """One pump model: what IDENTIFY reports and what STAGE_PROGRAM enforces."""

    model: str
    serial_prefix: str
    capacity_ml: float
    min_rate_ml_per_day: float
    max_rate_ml_per_day: float
    max_steps_per_day: int
    max_cycle_days: int
    event_log_size: int
    tubing_ml: float
    """The pump's internal tubing, reservoir to catheter port, mL (own choice)."""

    @property
    def max_low_alarm_ml(self) -> float:
        """The highest threshold SET_LOW_ALARM takes: half the reservoir, so that a full pump is never in alarm."""
        return self.capacity_ml / 2

    def identify(self) -> dict:
        """IDENTIFY's answer, minus the serial number which belongs to one pump, not the model."""
        return {
            "model": self.model,
            "firmware": FIRMWARE,
            "capacity_ml": self.capacity_ml,
            "min_rate_ml_per_day": self.min_rate_ml_per_day,
            "max_rate_ml_per_day": self.max_rate_ml_per_day,
            "max_steps_per_day": self.max_steps_per_day,
            "max_cycle_days": self.max_cycle_days,
            "event_log_size": self.event_log_size,
            "tubing_ml": self.tubing_ml,
            "catheter_ml_per_cm": CATHETER_ML_PER_CM,
            "catheter_cm_min": CATHETER_CM_MIN,
            "catheter_cm_max": CATHETER_CM_MAX,
            "priming_ml_per_hour": PRIMING_ML_PER_HOUR,
            "max_bolus_ml_per_hour": MAX_BOLUS_ML_PER_HOUR,
        }

    def line_volume_ml(self, catheter_cm: float | None) -> float:
        """Tubing and catheter, mL: what lies between the reservoir and the patient (an unrecorded catheter counts
        0 mL)."""
        return self.tubing_ml + (catheter_cm or 0.0) * CATHETER_ML_PER_CM


MODELS: dict[str, ModelSpec] = {
    spec.model: spec
    for spec in (
        ModelSpec("ITB-20", "E20", 20.0, 0.048, 24.0, 13, 7, 256, 0.15),
        ModelSpec("ITB-40", "E40", 40.0, 0.048, 24.0, 13, 7, 512, 0.18),
    )
}
