"""Cross-check: the dose reaching the patient through a concentration change, planner against emulator, over 30 days.

The programmer's ``Transit`` (programmer/dead_volume.py) and the emulator's line (emulator/line.py, its engine) are
written apart on purpose (docs/architecture.md, the dead volume); here they must agree to 0.1 % (the issue's figure).
The pump: an emulated ITB-20 with a 60 cm catheter (line 0.306 mL), filled with baclofen 500 mcg/mL running a flex
day, refilled at 1000 mcg/mL with the bridge the domain reviews and commits (or, for the comparison, without one,
which the pump itself accepts), then 30 days of pump time pass at once (SERVICE advance). Compared: the dose that
left the catheter tip (READ_STATUS ``line.to_patient_dose``) and when the old drug had all left it (the pump's
``line_flushed`` event against ``Transit.flushed_at``), both from the pump's clock, not the test's.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from programmer.audit import AuditLog
from programmer.commit import commit_refill
from programmer.dead_volume import Bridge, Transit
from programmer.interrogation import read_pump
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.planner import Plan
from programmer.port import PumpDriver, PumpStatus, open_driver
from programmer.program import Drug, Program, program_from_data
from programmer.pump import Reservoir
from programmer.refill import RefillRequest, Syringe, review_refill
from tests.support.emulator_support import advance_pump_time
from tests.support.people import DR_NG

DAYS = 30
TOLERANCE = 0.001
OLD = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)
NEW = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)
FLEX_DAY = {"mode": "flex", "cycle_days": 1, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 4.0},
                                                      {"day": 1, "start": "08:00", "dose_per_hour": 8.0},
                                                      {"day": 1, "start": "20:00", "dose_per_hour": 5.0}]}
"""148 mcg/day: 0.192 to 0.384 mL/day at 500 mcg/mL, 0.096 to 0.192 at 1000."""


def program(drug: Drug) -> Program:
    return program_from_data({"format": "itb-program/1", "drug": drug.model_dump(mode="json"), "therapy": FLEX_DAY})


def concentration_change(pump: PumpDriver, audit: AuditLog, bridge: bool) -> None:
    """Refill at 1000 mcg/mL: with the bridge through the domain's review and commit, or without it straight to
    the pump (the programmer refuses that; the pump does not)."""
    if not bridge:
        pump.refill("r-2", pump.read_status().volume_ml, 20.0, NEW)
        return
    snapshot = read_pump(pump)
    request = RefillRequest(snapshot.status.volume_ml, 20.0, Syringe(NEW, "BX2291", date(2099, 12, 31)), bridge=True)
    review = review_refill(snapshot, request, load_library(), "the crosscheck refills on purpose")
    assert not review.report.errors, review.report.errors
    result = commit_refill(pump, review, DR_NG, audit)
    assert result.outcome is Outcome.VERIFIED, result.message


@pytest.mark.parametrize("bridge", [True, False], ids=["bridge", "no_bridge"])
def test_the_dose_reaching_the_patient_through_a_concentration_change_matches_the_emulator(start_emulator, tmp_path,
                                                                                          bridge):
    url = start_emulator("--service", "--catheter-cm", "60").url
    with open_driver(url) as pump:
        pump.refill("r-1", 0.0, 20.0, OLD)
        assert pump.write_program(program(OLD)).status is Outcome.VERIFIED
        before: PumpStatus = pump.read_status()
        concentration_change(pump, AuditLog(tmp_path / "audit.jsonl"), bridge)
        line = before.line
        assert line is not None and line.volume_ml == pytest.approx(0.306)
    advance_pump_time(url, DAYS * 24)
    with open_driver(url) as pump:
        after = pump.read_status()
        flushed = [event for event in pump.read_events() if event.kind == "line_flushed"]
    plan = Plan(program(NEW), Reservoir(capacity_ml=20.0, volume_ml=20.0, low_alarm_ml=before.low_alarm_ml),
                before.pump_time, before.cycle_phase_min)
    transit = Transit(plan, line.contents, Bridge(line.volume_ml, 500.0) if bridge else None)
    elapsed_min = (after.pump_time - before.pump_time).total_seconds() / 60
    assert after.line is not None
    delivered = after.line.to_patient_dose - line.to_patient_dose
    # By hand: 30 days of 148 mcg/day with the bridge; without it the 0.306 mL of 500 mcg/mL in the line reach the
    # patient where 1000 mcg/mL would have: 0.306 x 500 = 153 mcg less.
    assert delivered == pytest.approx(148.0 * DAYS - (0 if bridge else 153.0), rel=TOLERANCE)
    assert abs(transit.to_patient_dose(elapsed_min) - delivered) <= TOLERANCE * delivered, (
        f"planner {transit.to_patient_dose(elapsed_min):.4f} mcg, emulator {delivered:.4f} mcg")
    assert after.line.pumped_ml - line.pumped_ml == pytest.approx(transit.pumped_ml(elapsed_min), rel=TOLERANCE)
    assert len(flushed) == 1 and flushed[0].detail["concentration_per_ml"] == 500.0
    flushed_min = (flushed[0].time - before.pump_time).total_seconds() / 60
    assert transit.flushed_at is not None
    assert flushed_min == pytest.approx(transit.flushed_at, rel=TOLERANCE)
    # By hand: the bridge ends, and the old drug is out, when 0.306 mL have moved at the 500 mcg/mL rates; without
    # it the 1000 mcg/mL rates (half) take about twice as long: about 1 day against about 2.
    assert transit.flushed_at / 1440 == pytest.approx(1.0 if bridge else 2.0, rel=0.1)
    assert flushed[0].time - before.pump_time < timedelta(days=3)
