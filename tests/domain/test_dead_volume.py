"""The dead volume and what reaches the patient through a transition, on cases computed by hand.

The line of an ITB-20 with a 60 cm catheter: 0.15 mL of tubing + 60 cm x 0.0026 mL/cm = 0.306 mL. Baclofen at
150 mcg/day is 0.3 mL/day at 500 mcg/mL and 0.15 mL/day at 1000 mcg/mL.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from emulator.spec import MODELS
from programmer.dead_volume import (CATHETER_CM_RANGE, CATHETER_ML_PER_CM, PRIMING_ML_PER_HOUR, Bolus, Bridge, Prime, RateStep, Transit, check_catheter_cm,
                                    full_line, line_volume_ml)
from programmer.errors import InputError
from programmer.planner import Plan
from programmer.port import LineContent
from programmer.program import program_from_data
from programmer.pump import PUMP_MODELS, Reservoir

DAY = 1440
START = datetime(2026, 11, 28, 0, 0)  # local midnight: cycle phase 0
LINE_ML = 0.306


def baclofen(concentration: float, therapy: dict | None = None):
    return program_from_data({"format": "itb-program/1",
                              "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration},
                              "therapy": therapy or {"mode": "simple_continuous", "daily_dose": 150}})


def plan(concentration: float, volume_ml: float = 18.0, therapy: dict | None = None, start: datetime = START) -> Plan:
    return Plan(baclofen(concentration, therapy), Reservoir(capacity_ml=20.0, volume_ml=volume_ml, low_alarm_ml=2.0),
                start)


def per_day(steps: list[RateStep]) -> list[tuple[float, float, float, float]]:
    """Steps in days, mL/day and mcg/day, rounded to what the hand computations carry."""
    return [(round(s.start_min / DAY, 9), round(s.end_min / DAY, 9), round(s.pump_ml_per_hour * 24, 9),
             round(s.patient_dose_per_hour * 24, 9)) for s in steps]


# --- the line's volume ----------------------------------------------------------------------------------------


def test_the_programmers_own_figures_are_the_ones_the_emulated_pumps_declare():
    """Written out on both sides on purpose (each side is the other's check); IDENTIFY is where they must agree."""
    for name, spec in MODELS.items():
        declared, own = spec.identify(), PUMP_MODELS[name]
        assert (own.tubing_ml, own.priming_ml_per_hour, own.max_bolus_ml_per_hour) == (
            declared["tubing_ml"], declared["priming_ml_per_hour"], declared["max_bolus_ml_per_hour"])
        assert (CATHETER_ML_PER_CM, CATHETER_CM_RANGE, PRIMING_ML_PER_HOUR) == (
            declared["catheter_ml_per_cm"], (declared["catheter_cm_min"], declared["catheter_cm_max"]),
            declared["priming_ml_per_hour"])
    assert (PUMP_MODELS["ITB-20"].tubing_ml, PUMP_MODELS["ITB-40"].tubing_ml) == (0.15, 0.18)


def test_the_line_is_the_tubing_and_the_catheter():
    assert line_volume_ml(0.15, 60) == pytest.approx(LINE_ML)        # 0.15 + 60 x 0.0026
    assert line_volume_ml(0.18, 110) == pytest.approx(0.466)         # ITB-40: 0.18 + 110 x 0.0026
    assert line_volume_ml(0.15, 10) == pytest.approx(0.176)          # the shortest: 0.15 + 0.026
    assert line_volume_ml(0.15, None) == 0.15                        # not recorded: the catheter counts 0 mL


@pytest.mark.parametrize("length", [9.9, 110.5, 0.0, -60.0])
def test_a_catheter_outside_the_range_is_refused_naming_the_field_and_the_range(length):
    with pytest.raises(InputError) as raised:
        line_volume_ml(0.15, length)
    assert raised.value.problems[0][0] == "catheter_cm"
    assert f"{length:g} cm is outside the catheter lengths 10 to 110 cm" in str(raised.value)
    assert CATHETER_CM_RANGE == (10.0, 110.0)


def test_a_revised_catheters_segments_must_sum_to_its_length():
    check_catheter_cm(60.0, (35.0, 25.0))
    with pytest.raises(InputError, match="the segments sum to 59.5 cm, not the catheter's 60 cm") as raised:
        check_catheter_cm(60.0, (35.0, 24.5))
    assert raised.value.problems[0][0] == "segments_cm"


# --- a concentration change: 500 -> 1000 mcg/mL at 150 mcg/day -------------------------------------------------


def test_without_a_bridge_the_old_drug_reaches_the_patient_at_half_the_dose_for_two_days():
    transit = Transit(plan(1000), full_line(LINE_ML, 500.0))
    # 0.15 mL/day pushes 500 mcg/mL: 75 mcg/day until 0.306 mL / 0.15 mL/day = 2.04 days, then 150 mcg/day.
    assert per_day(transit.patient_rate_steps(5 * DAY)) == [(0.0, 2.04, 0.15, 75.0), (2.04, 5.0, 0.15, 150.0)]
    assert transit.flushed_at == pytest.approx(2.04 * DAY)
    # Day 3: 0.45 mL pumped, 0.306 of them at 500 (153 mcg) and 0.144 at 1000 (144 mcg).
    assert transit.to_patient_dose(3 * DAY) == pytest.approx(297.0)


def test_with_a_bridge_the_patient_gets_the_programmed_dose_throughout():
    transit = Transit(plan(1000), full_line(LINE_ML, 500.0), Bridge(LINE_ML, 500.0))
    # The bridge pumps 150 mcg/day / 500 mcg/mL = 0.3 mL/day until 0.306 mL have moved: 1.02 days.
    assert transit.flow_end_min == pytest.approx(1.02 * DAY)
    assert transit.flushed_at == pytest.approx(1.02 * DAY)
    assert per_day(transit.patient_rate_steps(5 * DAY)) == [(0.0, 1.02, 0.3, 150.0), (1.02, 5.0, 0.15, 150.0)]
    assert transit.to_patient_dose(1.02 * DAY) == pytest.approx(153.0)   # 0.306 mL x 500 mcg/mL
    assert transit.to_patient_dose(3 * DAY) == pytest.approx(450.0)      # 3 days x 150 mcg/day


def test_the_other_way_without_a_bridge_the_old_drug_doubles_the_dose():
    transit = Transit(plan(500), full_line(LINE_ML, 1000.0))
    # 0.3 mL/day pushes 1000 mcg/mL: 300 mcg/day for 0.306 / 0.3 = 1.02 days.
    assert per_day(transit.patient_rate_steps(3 * DAY)) == [(0.0, 1.02, 0.3, 300.0), (1.02, 3.0, 0.3, 150.0)]
    bridged = Transit(plan(500), full_line(LINE_ML, 1000.0), Bridge(LINE_ML, 1000.0))
    # The bridge pumps 0.15 mL/day: 2.04 days at 150 mcg/day.
    assert per_day(bridged.patient_rate_steps(3 * DAY)) == [(0.0, 2.04, 0.15, 150.0), (2.04, 3.0, 0.3, 150.0)]


def test_a_bridge_follows_the_flex_steps_so_every_step_reaches_the_patient_as_programmed():
    therapy = {"mode": "flex", "cycle_days": 1, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 4.0},
                                                         {"day": 1, "start": "08:00", "dose_per_hour": 10.0},
                                                         {"day": 1, "start": "20:00", "dose_per_hour": 4.0}]}
    projection = plan(1000, therapy=therapy, start=datetime(2026, 11, 28, 6, 0))  # starts 2 h into the first step
    transit = Transit(projection, full_line(LINE_ML, 500.0), Bridge(LINE_ML, 500.0))
    for minutes in (60, 120, 600, 1000, 2000, 4000):
        assert transit.to_patient_dose(minutes) == pytest.approx(projection.pumped_ml(minutes) * 1000)
    # The bridge at 500 mcg/mL: 4 mcg/h is 0.008 mL/h and 10 mcg/h 0.02 mL/h. From 06:00: 2 h x 0.008 + 12 h x 0.02
    # + 4 h x 0.008 = 0.288 mL at 00:00; the last 0.018 mL at 0.008 mL/h take 2.25 h: the bridge ends at 02:15.
    assert transit.flow_end_min == pytest.approx(18 * 60 + 2.25 * 60)
    rates = [(step.start_min, round(step.pump_ml_per_hour, 9), round(step.patient_dose_per_hour, 9))
             for step in transit.patient_rate_steps(24 * 60)]
    # After it the program's own 4 mcg/h at 1000 mcg/mL, 0.004 mL/h; the midnight step (4 mcg/h again) merges.
    assert rates == [(0.0, 0.008, 4.0), (120.0, 0.02, 10.0), (840.0, 0.008, 4.0), (pytest.approx(1215.0), 0.004, 4.0)]


# --- a prime ----------------------------------------------------------------------------------------------------


def test_a_prime_fills_the_line_at_one_ml_per_hour_and_gives_the_patient_no_drug():
    transit = Transit(plan(500), full_line(LINE_ML, 0.0), Prime(LINE_ML))
    # 0.306 mL at 1.0 mL/h = 18.36 min, the basal program suspended; then 150 mcg/day (0.0125 mL/h) from drug that
    # filled the line.
    assert Prime(LINE_ML).duration_min == pytest.approx(18.36)
    assert transit.flushed_at == pytest.approx(18.36)
    assert transit.to_patient_dose(18.36) == 0.0
    steps = transit.patient_rate_steps(60)
    assert [(round(s.start_min, 6), round(s.end_min, 6), round(s.pump_ml_per_hour, 9),
             round(s.patient_dose_per_hour, 9)) for s in steps] == [(0.0, 18.36, 1.0, 0.0), (18.36, 60.0, 0.0125, 6.25)]
    assert transit.pumped_ml(60) == pytest.approx(0.306 + 0.0125 * (60 - 18.36) / 60)
    assert transit.to_patient_dose(60) == pytest.approx(6.25 * (60 - 18.36) / 60)


# --- a bolus on top of the basal program ------------------------------------------------------------------------


def test_a_bolus_adds_its_rate_to_the_basal_one_for_its_duration():
    transit = Transit(plan(500), full_line(LINE_ML, 500.0), Bolus(0.1, 60))
    # 50 mcg = 0.1 mL over 60 min is 0.1 mL/h on top of 0.0125 mL/h.
    assert transit.pumped_ml(60) == pytest.approx(0.1125)
    assert transit.minutes_until_pumped(0.05) == pytest.approx(0.05 / 0.1125 * 60)
    assert transit.minutes_until_pumped(0.1125 + 0.0125) == pytest.approx(120)
    assert [(s.start_min, round(s.pump_ml_per_hour, 9), round(s.patient_dose_per_hour, 9))
            for s in transit.patient_rate_steps(120)] == [(0.0, 0.1125, 56.25), (60.0, 0.0125, 6.25)]
    assert transit.volume_at(60) == pytest.approx(18.0 - 0.1125)


def test_a_bolus_solved_across_a_flex_step():
    therapy = {"mode": "flex", "cycle_days": 1, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 5.0},
                                                         {"day": 1, "start": "00:30", "dose_per_hour": 25.0}]}
    transit = Transit(plan(500, therapy=therapy), full_line(LINE_ML, 500.0), Bolus(0.06, 60))
    # Basal 0.01 mL/h then 0.05 mL/h from 00:30; the bolus 0.06 mL/h: 0.07 mL/h for 30 min (0.035 mL), then 0.11.
    assert transit.pumped_ml(30) == pytest.approx(0.035)
    assert transit.minutes_until_pumped(0.046) == pytest.approx(30 + 0.011 / 0.11 * 60)


# --- the reservoir and the line's parts -------------------------------------------------------------------------


def test_delivery_stops_when_the_reservoir_is_empty():
    transit = Transit(plan(500, volume_ml=0.15), full_line(LINE_ML, 500.0))
    # 0.15 mL at 0.3 mL/day last half a day.
    assert transit.empty_min == pytest.approx(DAY / 2)
    assert per_day(transit.patient_rate_steps(DAY)) == [(0.0, 0.5, 0.3, 150.0), (0.5, 1.0, 0.0, 0.0)]
    assert transit.pumped_ml(DAY) == pytest.approx(0.15)
    assert transit.flushed_at == 0.0  # the line holds the reservoir's drug only
    assert Transit(plan(1000, volume_ml=0.15), full_line(LINE_ML, 500.0)).flushed_at is None  # empty first


def test_each_part_of_the_line_reaches_the_patient_in_turn():
    # At the tip 0.1 mL of spinal fluid, then 0.206 mL of 500 mcg/mL; the reservoir at 500 too.
    contents = (LineContent(0.1, 0.0), LineContent(0.206, 500.0))
    transit = Transit(plan(500), contents)
    # 0.1 mL at 0.3 mL/day is 1/3 day without drug; then 150 mcg/day.
    assert transit.flushed_at == pytest.approx(DAY / 3)
    assert per_day(transit.patient_rate_steps(DAY)) == [(0.0, round(1 / 3, 9), 0.3, 0.0),
                                                        (round(1 / 3, 9), 1.0, 0.3, 150.0)]
    assert transit.to_patient_dose(DAY) == pytest.approx(100.0)  # 2/3 day at 150 mcg/day


def test_a_bridge_of_a_stopped_program_is_an_input_error():
    with pytest.raises(InputError, match="the program pumps nothing"):
        Transit(plan(1000, therapy={"mode": "stopped"}), full_line(LINE_ML, 500.0), Bridge(LINE_ML, 500.0))
