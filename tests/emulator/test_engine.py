"""The emulator's delivery engine against volumes worked out by hand, and its independence of speed.

Baclofen at 500 mcg/mL throughout unless stated: 1 mcg is 0.002 mL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from emulator.engine import advance, basal_piece
from emulator.spec import (CATHETER_CM_MAX, CATHETER_CM_MIN, CATHETER_ML_PER_CM, MIN_LOW_ALARM_ML, MODELS,
                           PRIMING_ML_PER_HOUR)
from programmer import dead_volume
from programmer.program import program_from_data
from programmer.pump import PUMP_MODELS
from tests.support.emulator_support import START, flex, make_pump, simple

FLEX_DAY = flex([(1, "00:00", 5.0), (1, "06:00", 8.0), (1, "14:00", 6.0), (1, "22:00", 7.0)])


def run(pump, hours: float) -> None:
    pump.advance(hours * 3600.0)


def test_simple_continuous_volume():
    # 150 mcg/day / 500 mcg/mL = 0.3 mL/day; 10 days = 3 mL; 20 - 3 = 17 mL.
    pump, _ = make_pump(program=simple(150), volume_ml=20.0)
    run(pump, 240)
    assert pump.state.volume_ml == pytest.approx(17.0, abs=1e-9)
    assert pump.state.pump_time == START + timedelta(days=10)


def test_flex_day_volume_from_mid_morning():
    # Activated 08:00, cycle day 1 begins at that day's 00:00. Over 24 h from 08:00:
    #   08-14  6 h x 8 = 48 mcg      14-22  8 h x 6 = 48 mcg     22-24  2 h x 7 = 14 mcg
    #   00-06  6 h x 5 = 30 mcg      06-08  2 h x 8 = 16 mcg     total 156 mcg = 0.312 mL
    # The first 5 h (08-13) alone: 5 h x 8 = 40 mcg = 0.08 mL.
    pump, _ = make_pump(program=FLEX_DAY, volume_ml=20.0)
    run(pump, 5)
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.08, abs=1e-9)
    run(pump, 19)
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.312, abs=1e-9)
    run(pump, 24 * 9)  # nine more whole days of 156 mcg: 10 x 0.312 = 3.12 mL in all
    assert pump.state.volume_ml == pytest.approx(20.0 - 3.12, abs=1e-9)


def test_flex_two_day_cycle_is_anchored_at_activation_midnight():
    # Day 1: 10 mcg/h all day; day 2: 2 mcg/h, at 1000 mcg/mL. Started day 1 at 08:00; 40 h later:
    #   day 1 08-24  16 h x 10 = 160 mcg;  day 2 00-24  24 h x 2 = 48 mcg;  total 208 mcg = 0.208 mL.
    # Then day 3 is day 1 of the next cycle: 12 more hours x 10 = 120 mcg = 0.12 mL.
    drug = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 1000}
    program = flex([(1, "00:00", 10.0), (2, "00:00", 2.0)], cycle_days=2, drug=drug)
    pump, _ = make_pump(program=program, volume_ml=10.0)
    run(pump, 40)
    assert pump.state.volume_ml == pytest.approx(10.0 - 0.208, abs=1e-9)
    run(pump, 12)
    assert pump.state.volume_ml == pytest.approx(10.0 - 0.328, abs=1e-9)


def test_bolus_runs_on_top_of_the_basal_rate():
    # Basal 240 mcg/day = 10 mcg/h = 0.02 mL/h. Bolus 50 mcg (0.1 mL) over 30 min.
    # After 1 h: basal 0.02 + bolus 0.1 = 0.12 mL; the bolus ended at 08:30.
    pump, _ = make_pump(program=simple(240), volume_ml=20.0)
    pump.bolus("b1", 50.0, 30.0)
    run(pump, 0.25)  # a quarter hour in: half the bolus (25 mcg) delivered
    assert pump.status()["bolus"]["delivered"] == pytest.approx(25.0)
    run(pump, 0.75)
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.12, abs=1e-9)
    assert pump.state.boluses[0].state == "done"
    done = [event for event in pump.state.events if event.kind == "bolus_done"]
    assert done[0].time == START + timedelta(minutes=30)


def test_low_and_empty_alarms_are_raised_at_the_exact_crossing():
    # 0.3 mL/day from 2.6 mL: low (2 mL) after 0.6 / 0.3 = 2 days; empty after 2.6 / 0.3 = 8 2/3 days = 208 h.
    pump, _ = make_pump(program=simple(150), volume_ml=2.6)
    run(pump, 24 * 20)
    assert pump.state.volume_ml == 0.0
    since = {alarm.code: alarm.since for alarm in pump.state.alarms}
    assert since["low_reservoir"] == START + timedelta(days=2)
    assert abs(since["reservoir_empty"] - (START + timedelta(hours=208))) < timedelta(milliseconds=1)


def test_battery_reaches_eri_then_eos_and_delivery_stops():
    # Battery drains 0.04 %/day. From 3.7 %: ERI (3.6 %) after 2.5 days, EOS (0 %) 90 days later, at 92.5 days.
    # 24 mcg/day = 0.048 mL/day is delivered until EOS only: 92.5 x 0.048 = 4.44 mL of the 20 mL.
    pump, _ = make_pump(program=simple(24), volume_ml=20.0)
    pump.state.battery_percent = 3.7
    run(pump, 24 * 3)
    assert [alarm.code for alarm in pump.state.alarms] == ["eri"]
    assert abs(pump.state.alarms[0].since - (START + timedelta(days=2.5))) < timedelta(milliseconds=1)
    run(pump, 24 * 197)
    since = {alarm.code: alarm.since for alarm in pump.state.alarms}
    assert set(since) == {"eri", "eos"}
    assert abs(since["eos"] - (START + timedelta(days=92.5))) < timedelta(milliseconds=1)
    assert pump.state.volume_ml == pytest.approx(20.0 - 4.44, abs=1e-9)
    assert pump.status()["battery"] == {"status": "eos", "percent": 0.0}


def test_delivery_never_goes_below_zero_and_stops_when_empty():
    pump, _ = make_pump(program=simple(2000), volume_ml=0.5)  # 4 mL/day: empty after 3 h
    pump.bolus("b1", 100.0, 60.0)  # 0.2 mL over an hour on top
    run(pump, 48)
    assert pump.state.volume_ml == 0.0
    assert pump.state.boluses[0].state == "done"


@pytest.mark.parametrize("speed", [1.0, 60.0, 3600.0, 86400.0])
def test_volumes_do_not_depend_on_speed_or_on_how_time_is_sliced(speed):
    # The same 3 simulated days, run in one piece and in uneven real-time slices at each speed.
    reference, _ = make_pump(program=FLEX_DAY, volume_ml=5.0)
    reference.bolus("b1", 100.0, 45.0)
    reference.advance(3 * 86400.0)

    pump, monotonic = make_pump(program=FLEX_DAY, volume_ml=5.0, speed=speed)
    pump.bolus("b1", 100.0, 45.0)
    real_seconds = 3 * 86400.0 / speed
    slices = [0.013, 0.25, 1.7, 0.004, 3.3]
    elapsed, index = 0.0, 0
    while elapsed < real_seconds:
        step = min(slices[index % len(slices)] * real_seconds / 50, real_seconds - elapsed)
        monotonic.now += step
        elapsed += step
        index += 1
        pump.sync()
    assert pump.state.volume_ml == pytest.approx(reference.state.volume_ml, abs=1e-9)
    kinds = [(event.kind, round((event.time - START).total_seconds(), 3)) for event in pump.state.events]
    reference_kinds = [(event.kind, round((event.time - START).total_seconds(), 3)) for event in reference.state.events]
    assert kinds == reference_kinds


def test_basal_piece_at_step_boundaries():
    program = program_from_data(FLEX_DAY)
    concentration = program.drug.concentration_per_ml
    rate, holds = basal_piece(concentration, program.therapy, 6 * 3600.0 - 1e-9)  # a hair before 06:00
    assert rate == pytest.approx(8.0 / 3600 / 500)
    assert holds == pytest.approx(8 * 3600.0)
    rate, holds = basal_piece(concentration, program.therapy, 86400.0 - 1e-9)  # a hair before midnight
    assert rate == pytest.approx(5.0 / 3600 / 500)


def test_model_specs_agree_with_the_programmers_pump_models():
    for name, spec in MODELS.items():
        limits = PUMP_MODELS[name]
        assert (spec.capacity_ml, spec.min_rate_ml_per_day, spec.max_rate_ml_per_day, spec.max_steps_per_day,
                spec.max_cycle_days) == (limits.capacity_ml, limits.min_rate_ml_per_day, limits.max_rate_ml_per_day,
                                         limits.max_steps_per_day, limits.max_cycle_days)


def test_the_dead_volume_figures_agree_with_the_programmers_own_copies():
    """Written twice on purpose (the emulator is the independent check); a difference would be a bug on one side."""
    assert {name: spec.tubing_ml for name, spec in MODELS.items()} == {
        name: limits.tubing_ml for name, limits in PUMP_MODELS.items()} == {"ITB-20": 0.15, "ITB-40": 0.18}
    assert (CATHETER_ML_PER_CM, (CATHETER_CM_MIN, CATHETER_CM_MAX), PRIMING_ML_PER_HOUR) == (
        dead_volume.CATHETER_ML_PER_CM, dead_volume.CATHETER_CM_RANGE, dead_volume.PRIMING_ML_PER_HOUR)


def test_the_low_alarm_range_agrees_with_the_programmers_copy():
    """IDENTIFY does not report it, so the application keeps its own copy to refuse a value before sending it."""
    assert {name: (MIN_LOW_ALARM_ML, spec.max_low_alarm_ml) for name, spec in MODELS.items()} == {
        name: limits.low_alarm_range_ml for name, limits in PUMP_MODELS.items()}
    assert PUMP_MODELS["ITB-20"].low_alarm_range_ml == (1.0, 10.0)  # 1 mL to half of 20 mL, by hand


def test_advance_with_nothing_to_deliver_only_moves_clock_and_battery():
    pump, _ = make_pump()
    advance(pump.state, 86400.0, lambda: None)
    assert pump.state.volume_ml == 0.0
    assert pump.state.battery_percent == pytest.approx(100 - 0.04)
    assert pump.state.pump_time == START + timedelta(days=1)
