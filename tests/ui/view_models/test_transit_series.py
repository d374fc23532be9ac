"""The Bolus page's plots as numbers, from the domain's exact transit, on the hand-made pump of test_bolus.py:
baclofen 500 mcg/mL at 150 mcg/day (6.25 mcg/h, 0.0125 mL/h) and a 0.306 mL line."""

from __future__ import annotations

from dataclasses import replace

from programmer.library import load_library
from programmer.port import BolusState
from tests.support.ui_fakes import dead_volume_snapshot, implant_snapshot
from ui.view_models.bolus import BolusEntry
from ui.view_models.transit_series import span_min, transit_series, transits

SNAPSHOT = dead_volume_snapshot()
ENTRY = BolusEntry(SNAPSHOT, load_library())


def test_a_prime_reaches_the_patient_as_spinal_fluid_first_then_the_program():
    # After an implant: 0.306 mL at 1 mL/h takes 18.36 min, all of it spinal fluid and the new pump's empty tubing:
    # nothing reaches the patient until the line is flushed, then the 6.25 mcg/h of the program at its 0.0125 mL/h.
    implant = implant_snapshot()
    without, prime = transits(implant, BolusEntry(implant, load_library()).prime("60", "", "implant", "").review)
    assert without is not None and prime is not None
    minutes = span_min(without, prime)
    assert minutes == 24 * 60  # a day: the transition is over well inside it
    series = transit_series(prime, minutes)
    assert series.hours[:2] == [0.0, 18.36 / 60]
    assert (series.pump_ml_per_hour[0], series.patient_dose_per_hour[0]) == (1.0, 0.0)
    assert abs(series.patient_dose_per_hour[1] - 6.25) < 1e-9 and abs(series.pump_ml_per_hour[1] - 0.0125) < 1e-12
    assert abs(series.flushed_at_h - 18.36 / 60) < 1e-9


def test_without_the_change_the_line_of_the_same_drug_marks_nothing():
    without, bolus = transits(SNAPSHOT, ENTRY.therapeutic("50", "30", "").review)
    series = transit_series(without, span_min(without))
    assert series.flushed_at_h is None and set(series.patient_dose_per_hour) == {6.25}
    # 50 mcg over 30 min on top: 0.2 + 0.0125 mL/h for the first half hour; the reservoir 14 mL less 0.1 mL of bolus.
    with_bolus = transit_series(bolus, span_min(bolus))
    assert with_bolus.hours[1] == 0.5 and abs(with_bolus.pump_ml_per_hour[0] - 0.2125) < 1e-12
    assert abs(with_bolus.reservoir_ml[-1] - (14.0 - 0.1 - 0.3)) < 1e-9


def test_without_the_change_a_running_bolus_runs_on():
    # 12.5 of 50 mcg given, 30 min left: 37.5 mcg is 0.075 mL more, at 0.15 mL/h on top of the 0.0125 mL/h.
    status = replace(SNAPSHOT.status, bolus=BolusState("b-1", 50.0, 12.5, 1800.0))
    without, _ = transits(replace(SNAPSHOT, status=status), None)
    series = transit_series(without, span_min(without))
    assert series.hours[1] == 0.5 and abs(series.pump_ml_per_hour[0] - 0.1625) < 1e-12
