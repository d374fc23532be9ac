"""Cross-check: the emulator delivers for 30 simulated days; the planner must predict its reservoir.

The emulator's delivery engine is written apart from the planner on purpose (docs/architecture.md), so
agreement here checks both. The emulator runs at --speed so 30 days pass in under a second of real
time (the engine integrates exactly, so the speed changes nothing delivered); the comparison uses the
pump's own clock and cycle phase from READ_STATUS, not the test's wall clock.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from programmer.planner import Plan
from programmer.port import open_driver
from programmer.program import load_program
from programmer.pump import Reservoir

SPEED = 5_000_000  # simulated seconds per real second: 30 days take about 0.5 s
DAYS = 30
TOLERANCE = 0.001  # 0.1 % of the volume delivered (the figure)
EXAMPLES = ["examples/baclofen-flex-day.json", "examples/baclofen-flex-week.json"]


def wait_for_pump_time(pump, moment, timeout_s: float):
    """Read status until the pump clock has passed ``moment``, each time first waiting the real time the
    pump clock needs to get there at SPEED (bounded; the status read, not the wait, decides)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = pump.read_status()
        if status.pump_time >= moment:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"pump clock reached only {status.pump_time}, wanted {moment}")
        time.sleep((moment - status.pump_time).total_seconds() / SPEED)


@pytest.mark.parametrize("example", EXAMPLES)
def test_emulator_reservoir_matches_the_planner_over_30_days(start_emulator, example):
    program = load_program(Path(__file__).resolve().parents[2] / example)
    emulator = start_emulator("--speed", str(SPEED), "--model", "ITB-40")
    with open_driver(emulator.url) as pump:
        pump.refill("fill-1", 0.0, 40.0, program.drug)
        outcome = pump.write_program(program)
        assert outcome.status.value == "verified", outcome.message
        first = pump.read_status()
        plan = Plan(program, Reservoir(capacity_ml=first.capacity_ml, volume_ml=first.volume_ml,
                                       low_alarm_ml=first.low_alarm_ml), first.pump_time,
                    cycle_phase_min=first.cycle_phase_min)
        last = wait_for_pump_time(pump, first.pump_time + timedelta(days=DAYS), timeout_s=DAYS * 86400 / SPEED * 4)
    elapsed_min = (last.pump_time - first.pump_time).total_seconds() / 60
    predicted = plan.volume_at(elapsed_min)
    delivered = first.volume_ml - last.volume_ml
    # Independent sanity figure: 30 days at the example's mean mL/day is roughly what left the reservoir.
    assert delivered == pytest.approx(plan.ml_per_day * elapsed_min / 1440, rel=0.05)
    assert abs(last.volume_ml - predicted) <= TOLERANCE * delivered, (
        f"emulator {last.volume_ml:.6f} mL vs planner {predicted:.6f} mL after {elapsed_min / 1440:.2f} days")
