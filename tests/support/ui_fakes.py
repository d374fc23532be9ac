"""A pump snapshot made by hand, for GUI tests that need no emulator (the numbers are easy to check)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from programmer.port import ActiveProgram, LineContent, LineState, PumpIdentity, PumpStatus
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


def dead_volume_snapshot() -> PumpSnapshot:
    """``snapshot()`` on a pump that reports its dead volume: 0.15 mL of tubing and a 60 cm catheter (0.306 mL of line
    in all, full of the 500 mcg/mL baclofen), a priming rate of 1 mL/h and boluses up to 6 mL/h."""
    base = snapshot()
    identity = replace(base.identity, tubing_ml=0.15, catheter_ml_per_cm=0.0026, catheter_cm_min=10.0,
                       catheter_cm_max=110.0, priming_ml_per_hour=1.0, max_bolus_ml_per_hour=6.0)
    line = LineState(0.15, 60.0, 0.306, (LineContent(0.306, 500.0),), 10.0, 10.0, 5000.0, "mcg")
    return replace(base, identity=identity, status=replace(base.status, line=line))


def implant_snapshot() -> PumpSnapshot:
    """``dead_volume_snapshot()`` just after an implant: a new pump's first fill left its 0.15 mL tubing empty of drug
    (concentration 0) and no catheter is recorded yet, so a prime of the new catheter pushes no drug."""
    base = dead_volume_snapshot()
    line = LineState(0.15, None, 0.15, (LineContent(0.15, 0.0),), 0.0, 0.0, 0.0, "mcg")
    return replace(base, status=replace(base.status, line=line))
