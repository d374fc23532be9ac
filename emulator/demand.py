"""The patient's demand dose: what READ_DEMAND answers, its checksum, and whether a press of the button is granted.

Why its own module: the lockout and the rolling 24-hour maximum are the whole safety of a dose the patient gives
himself, so they are computed in one place from the granted presses the pump remembers (``demand_presses``), on the
pump's clock, and the pump (emulator/pump.py) only acts on the verdict.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from emulator.state import DemandRecord, PumpState
from protocol.frame import canonical_json

DAY = timedelta(hours=24)


def demand_settings(state: PumpState) -> dict:
    """The demand dose as READ_DEMAND shows it, without its checksum: off is ``{"enabled": false}``."""
    demand = state.demand
    if demand is None:
        return {"enabled": False}
    unit = None if state.drug is None else state.drug.dose_unit
    return {"enabled": True, "dose": float(demand.dose), "dose_unit": unit,
            "duration_min": float(demand.duration_min), "lockout_min": float(demand.lockout_min),
            "max_per_day": demand.max_per_day}


def demand_checksum(settings: dict) -> str:
    """First 16 hex digits of the SHA-256 of the settings' canonical JSON (docs/protocol.md, READ_DEMAND)."""
    return hashlib.sha256(canonical_json(settings)).hexdigest()[:16]


def demand_answer(state: PumpState) -> dict:
    """READ_DEMAND's answer: the settings and their checksum."""
    settings = demand_settings(state)
    return {**settings, "checksum": demand_checksum(settings)}


def granted_in_last_day(state: PumpState, now: datetime) -> list[datetime]:
    """The starts of the granted activations in the 24 h before ``now`` (a start exactly 24 h ago no longer counts).
    A start after ``now`` (the clock was set back) still counts: setting the clock back never frees a press."""
    return [moment for moment in state.demand_presses if moment > now - DAY]


def next_allowed(demand: DemandRecord, granted: list[datetime], now: datetime) -> datetime:
    """The earliest time from ``now`` on that the lockout and the daily maximum let a press through, given the
    granted starts of the last 24 h."""
    moment = now
    if granted:
        moment = max(moment, granted[-1] + timedelta(minutes=demand.lockout_min))
    if len(granted) >= demand.max_per_day:
        moment = max(moment, granted[-demand.max_per_day] + DAY)
    return moment


def limit_reason(demand: DemandRecord, granted: list[datetime], now: datetime) -> str | None:
    """``lockout`` or ``daily_max`` when that holds a press at ``now`` back, else None."""
    if granted and now < granted[-1] + timedelta(minutes=demand.lockout_min):
        return "lockout"
    if len(granted) >= demand.max_per_day:
        return "daily_max"
    return None
