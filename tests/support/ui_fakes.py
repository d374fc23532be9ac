"""A pump snapshot made by hand, for GUI tests that need no emulator (the numbers are easy to check)."""

from __future__ import annotations

from datetime import datetime

from programmer.port import ActiveProgram, PumpIdentity, PumpStatus
from programmer.snapshot import PumpSnapshot
from programmer.program import Program, program_from_data

PUMP_TIME = datetime(2026, 3, 2, 0, 0)
BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}


def program(therapy: dict, drug: dict = BACLOFEN) -> Program:
    return program_from_data({"format": "itb-program/1", "drug": drug, "therapy": therapy})


def snapshot(current: Program | None = None, volume_ml: float = 14.0) -> PumpSnapshot:
    """An ITB-20 at midnight holding ``volume_ml`` and running ``current`` (default 150 mcg/day baclofen)."""
    current = current or program({"mode": "simple_continuous", "daily_dose": 150})
    identity = PumpIdentity("ITB-20", "E20-000123", "emu-1.0", 20.0, 0.048, 24.0, 13, 7, 256)
    status = PumpStatus(PUMP_TIME, "ok", 87.0, volume_ml, 2.0, 20.0, (), current.checksum(), 0.0)
    active = ActiveProgram(current.drug, current.therapy.model_dump(mode="json"), current.checksum(), current)
    return PumpSnapshot(identity, status, active, PUMP_TIME)
