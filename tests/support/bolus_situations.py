"""Pumps for the bolus, prime, bridge and demand-dose reviews, and a situation for each of their findings.

The pump: an ITB-20 that declares its dead volume (0.15 mL tubing, priming at 1 mL/h, boluses up to 6 mL/h), with a
60 cm catheter (line 0.306 mL) full of its drug, running baclofen 500 mcg/mL at 150 mcg/day, 10 mL in the
reservoir, interrogated from a computer whose clock agrees with it. The domain tests compute their cases from it by
hand; the wording tests take ``every_bolus_finding`` to word every code ``programmer/bolus.py`` can emit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from programmer.bolus import review_bolus, review_bridge, review_demand, review_prime
from programmer.checks import Finding
from programmer.library import load_library
from programmer.port import BolusState, DemandDose, LineContent, LineState
from programmer.program import Program, program_from_data
from programmer.interrogation import read_pump
from programmer.review import review_write
from programmer.snapshot import PumpSnapshot
from tests.support.fake_pump import PUMP_TIME, FakePump, baclofen

LINE_ML = 0.306
"""0.15 mL of tubing + 60 cm x 0.0026 mL/cm."""


def line(*contents: tuple[float, float], catheter_cm: float | None = 60.0) -> LineState:
    """The line as READ_STATUS reports it: (volume mL, concentration) parts, the catheter tip's first."""
    parts = tuple(LineContent(volume, concentration) for volume, concentration in contents)
    return LineState(0.15, catheter_cm, sum(part.volume_ml for part in parts), parts, 100.0, 100.0, 5e4, "mcg")


def pump(program: Program | None = None, volume_ml: float = 10.0) -> FakePump:
    """The pump, running ``program`` (default baclofen 150 mcg/day at 500 mcg/mL), its 60 cm catheter primed long
    ago (the line full of the drug)."""
    return FakePump(baclofen() if program is None else program, volume_ml=volume_ml).implanted(60.0)


def snapshot(source: FakePump | None = None, line_state: LineState | None = None, **status_changes) -> PumpSnapshot:
    """The pump interrogated; ``line_state`` and ``status_changes`` replace what it reports."""
    taken = read_pump(source or pump(), clock=lambda: PUMP_TIME)
    if line_state is not None:
        status_changes["line"] = line_state
    return replace(taken, status=replace(taken.status, **status_changes))


def started(source: FakePump, hours_ago: float, kind: str, dose: float) -> None:
    """Log a ``bolus_started`` of ``kind`` ``hours_ago``."""
    source.log("bolus_started", PUMP_TIME - timedelta(hours=hours_ago), bolus_id=f"{kind}-{hours_ago}", dose=dose,
               dose_unit="mcg", kind=kind)


def ziconotide() -> Program:
    return program_from_data({"format": "itb-program/1",
                              "drug": {"name": "ziconotide", "dose_unit": "mcg", "concentration_per_ml": 25},
                              "therapy": {"mode": "simple_continuous", "daily_dose": 2.4}})


def demand(dose: float = 25.0, duration_min: float = 10.0, lockout_min: float = 240.0,
           max_per_day: int = 6) -> DemandDose:
    return DemandDose(True, dose, duration_min, lockout_min, max_per_day)


def every_bolus_finding() -> list[Finding]:
    """At least one real finding of every code the bolus, prime, bridge and demand-dose reviews emit, and the write
    review's about the line (``LINE_HOLDS_OLD_CONCENTRATION``)."""
    library = load_library()
    stopped = program_from_data({"format": "itb-program/1", "drug": {"name": "baclofen", "dose_unit": "mcg",
                                                                      "concentration_per_ml": 1000},
                                 "therapy": {"mode": "stopped"}})
    logged = pump(baclofen(1900, 2000))
    started(logged, 3, "therapeutic", 40.0)
    reviews = [
        review_bolus(snapshot(), 150, 30, library), review_bolus(snapshot(), 80, 30, library),
        review_bolus(snapshot(), 250, 30, library), review_bolus(snapshot(), 50, 180, library),
        review_bolus(snapshot(pump(baclofen(150, 50))), 100, 10, library),
        review_bolus(snapshot(pump(volume_ml=0.1)), 50, 30, library),
        review_bolus(snapshot(pump(volume_ml=2.1)), 50, 30, library),
        review_bolus(snapshot(pump(baclofen(950))), 60, 30, library), review_bolus(snapshot(logged), 90, 30, library),
        review_bolus(snapshot(pump(ziconotide())), 1, 30, library),
        review_bolus(snapshot(bolus=BolusState("b-1", 50.0, 20.0, 600.0)), 20, 30, library),
        review_prime(snapshot(), 111, "implant", library),
        review_prime(snapshot(pump(ziconotide())), 60, "implant", library),
        review_bolus(snapshot(pump(stopped)), 50, 30, library), review_bolus(snapshot(logged), 4, 30, library),
        review_bridge(snapshot(line_state=line((LINE_ML, 1000.0), catheter_cm=None)), library),
        review_bridge(snapshot(), library),
        review_bridge(snapshot(line_state=line((0.1, 0.0), (0.206, 1000.0))), library),
        review_bridge(snapshot(pump(stopped), line((LINE_ML, 500.0))), library),
        review_demand(snapshot(pump(ziconotide())), demand(dose=0.5), library),
        review_demand(snapshot(), demand(dose=250, max_per_day=1), library),
        review_demand(snapshot(), demand(dose=150, max_per_day=2), library),
        review_demand(snapshot(), demand(dose=100, lockout_min=60, max_per_day=9), library),
        review_demand(snapshot(), demand(dose=100, lockout_min=60, max_per_day=19), library),
        review_demand(snapshot(), demand(lockout_min=30), library),
        review_demand(snapshot(), demand(lockout_min=300), library),
    ]
    old_line = snapshot(line_state=line((LINE_ML, 2000.0)))  # refilled at 500 without its bridge: a write pushes it
    reviews.append(review_write(old_line, baclofen(160), library))
    return [finding for review in reviews for finding in review.report.findings]
