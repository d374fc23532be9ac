"""The line between reservoir and patient (pump tubing, then catheter) against figures worked out by hand.

An ITB-20's tubing holds 0.15 mL and a 60 cm catheter 60 x 0.0026 = 0.156 mL: a 0.306 mL line. Baclofen
150 mcg/day is 0.3 mL/day at 500 mcg/mL and 0.15 mL/day at 1000 mcg/mL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.state import PumpState
from programmer.program import Drug, program_from_data
from tests.support.emulator_support import BACLOFEN_500, START, flex, make_pump, simple

DAY_S = 86400.0
BACLOFEN_1000 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)


def line_of(pump) -> dict:
    return pump.status()["line"]


def contents(pump) -> list[tuple[float, float]]:
    return [(part["volume_ml"], part["concentration_per_ml"]) for part in line_of(pump)["contents"]]


def logged(pump, kind: str) -> list:
    return [event for event in pump.state.events if event.kind == kind]


def at(moment: datetime, expected: datetime) -> bool:
    """The same pump time to a millisecond (pump times are kept to the microsecond)."""
    return abs((moment - expected).total_seconds()) < 1e-3


def primed_pump(**options):
    """An ITB-20 with a 60 cm catheter, 20 mL of baclofen 500 mcg/mL, running 150 mcg/day, line full of it."""
    return make_pump(program=simple(150), catheter_cm=60.0, **options)[0]


def test_the_line_of_a_pump_with_a_recorded_catheter():
    pump = primed_pump()
    assert line_of(pump) == {"tubing_ml": 0.15, "catheter_cm": 60.0, "volume_ml": pytest.approx(0.306),
                             "contents": [{"volume_ml": pytest.approx(0.306), "concentration_per_ml": 500.0}],
                             "pumped_ml": 0.0, "to_patient_ml": 0.0, "to_patient_dose": 0.0, "dose_unit": "mcg"}
    pump.advance(DAY_S)  # a day at 0.3 mL/day: 150 mcg leave the tip, the line is still all 500 mcg/mL
    assert (line_of(pump)["pumped_ml"], line_of(pump)["to_patient_ml"]) == (pytest.approx(0.3), pytest.approx(0.3))
    assert line_of(pump)["to_patient_dose"] == pytest.approx(150.0)
    assert contents(pump) == [(pytest.approx(0.306), 500.0)] and not logged(pump, "line_flushed")


def test_a_refill_to_a_higher_concentration_without_a_bridge_underdoses_while_the_old_drug_leaves():
    # 1000 mcg/mL: 0.15 mL/day, pushing out 0.306 mL of 500 mcg/mL at 0.15 x 500 = 75 mcg/day for 0.306 / 0.15 =
    # 2.04 days (153 mcg); then 150 mcg/day.
    pump = primed_pump()
    pump.refill("r1", 20.0, 20.0, BACLOFEN_1000)
    assert contents(pump) == [(pytest.approx(0.306), 500.0)]  # a refill leaves the line as it is
    pump.advance(DAY_S)
    assert line_of(pump)["to_patient_dose"] == pytest.approx(75.0)
    assert contents(pump) == [(pytest.approx(0.156), 500.0), (pytest.approx(0.15), 1000.0)]
    pump.advance(2 * DAY_S)
    [flushed] = logged(pump, "line_flushed")
    assert at(flushed.time, START + timedelta(days=2.04))
    assert flushed.detail == {"concentration_per_ml": 500.0, "pumped_ml": pytest.approx(0.306),
                              "to_patient_ml": pytest.approx(0.306)}
    # Day 3 ends 0.96 days after the flush: 153 + 0.96 x 150 = 297 mcg.
    assert line_of(pump)["to_patient_dose"] == pytest.approx(297.0)
    assert contents(pump) == [(pytest.approx(0.306), 1000.0)]


def test_a_refill_to_a_lower_concentration_without_a_bridge_overdoses_while_the_old_drug_leaves():
    # From 1000 to 500 mcg/mL: 0.3 mL/day pushes 1000 mcg/mL out at 300 mcg/day for 0.306 / 0.3 = 1.02 days.
    pump, _ = make_pump(program=simple(150, {**BACLOFEN_500, "concentration_per_ml": 1000}), catheter_cm=60.0)
    pump.refill("r1", 20.0, 20.0, Drug(**BACLOFEN_500))
    pump.advance(DAY_S)
    assert line_of(pump)["to_patient_dose"] == pytest.approx(300.0)
    pump.advance(DAY_S)
    assert at(logged(pump, "line_flushed")[0].time, START + timedelta(days=1.02))
    assert line_of(pump)["to_patient_dose"] == pytest.approx(306.0 + 0.98 * 150)


def test_a_refill_with_a_bridge_keeps_the_programmed_dose_through_the_change():
    # The bridge runs 150 mcg/day at 500 mcg/mL (0.3 mL/day) until 0.306 mL moved: 1.02 days, 153 mcg; then
    # 0.15 mL/day of 1000 mcg/mL, still 150 mcg/day.
    pump = primed_pump()
    answer = pump.refill("r1", 20.0, 20.0, BACLOFEN_1000, bridge=("b-bridge", 0.306))
    assert answer["bridge"] == {"bolus_id": "b-bridge", "kind": "bridge", "dose": pytest.approx(153.0),
                                "volume_ml": pytest.approx(0.306), "duration_min": pytest.approx(1468.8),
                                "state": "delivering", "repeated": False, "action_number": 2}
    pump.advance(DAY_S / 2)
    status = pump.status()
    assert status["bolus"]["kind"] == "bridge" and status["bolus"]["delivered"] == pytest.approx(75.0)
    assert status["bolus"]["remaining_s"] == pytest.approx(0.52 * DAY_S)  # 0.156 mL left at 0.3 mL/day
    pump.advance(DAY_S)
    [flushed] = logged(pump, "line_flushed")
    assert at(flushed.time, START + timedelta(days=1.02)) and flushed.time == logged(pump, "bolus_done")[0].time
    assert logged(pump, "bolus_done")[0].detail == {
        "bolus_id": "b-bridge", "kind": "bridge", "delivered": pytest.approx(153.0), "volume_ml": pytest.approx(0.306)}
    assert line_of(pump)["to_patient_dose"] == pytest.approx(225.0)  # 1.5 days at 150 mcg/day
    assert line_of(pump)["pumped_ml"] == pytest.approx(0.306 + 0.48 * 0.15)
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.306 - 0.48 * 0.15)
    kinds = [event.kind for event in pump.state.events]
    assert kinds[kinds.index("refill") + 1] == "bolus_started"  # started with the refill, in the same action
    assert logged(pump, "refill")[0].detail["bridge_id"] == "b-bridge"


def test_a_bridge_follows_the_flex_steps_at_the_old_concentration():
    # 5 mcg/h 00-06, 8 mcg/h 06-14, 6 mcg/h 14-22, 7 mcg/h 22-24 (156 mcg/day); no catheter recorded, so the line
    # is the tubing's 0.15 mL. From 08:00 the bridge moves 8 / 500 = 0.016 mL/h: 08-14 0.096 mL (48 mcg), then
    # 0.054 mL at 6 / 500 = 0.012 mL/h in 4.5 h. It ends at 18:30 having given exactly 48 + 27 = 75 mcg = 0.15 x 500.
    pump, _ = make_pump(program=flex([(1, "00:00", 5.0), (1, "06:00", 8.0), (1, "14:00", 6.0), (1, "22:00", 7.0)]))
    pump.refill("r1", 20.0, 20.0, BACLOFEN_1000, bridge=("b-flex", 0.15))
    pump.advance(DAY_S)
    assert at(logged(pump, "bolus_done")[0].time, START + timedelta(hours=10.5))
    # After it, 1000 mcg/mL: 18:30-22 3.5 h x 6 + 22-24 2 h x 7 + 00-08 (6 x 5 + 2 x 8) = 21 + 14 + 46 = 81 mcg.
    assert line_of(pump)["to_patient_dose"] == pytest.approx(75.0 + 81.0)
    assert line_of(pump)["pumped_ml"] == pytest.approx(0.15 + 81.0 / 1000)


def test_a_prime_pushes_out_spinal_fluid_at_the_priming_rate_with_the_basal_program_suspended():
    # 0.306 mL at 1.0 mL/h: 18.36 min, nothing of the drug reaches the patient, and nothing of the basal runs.
    pump = primed_pump()
    answer = pump.prime("b-prime", "catheter_revision", 60.0, 0.306, (45.0, 15.0))
    assert answer == {"bolus_id": "b-prime", "kind": "prime", "dose": pytest.approx(153.0),
                      "volume_ml": pytest.approx(0.306), "duration_min": pytest.approx(18.36), "state": "delivering",
                      "repeated": False, "action_number": 1}
    assert contents(pump) == [(pytest.approx(0.306), 0.0)]
    started = logged(pump, "bolus_started")[0].detail
    assert (started["kind"], started["reason"], started["catheter_cm"]) == ("prime", "catheter_revision", 60.0)
    pump.advance(9.18 * 60)  # half way
    status = pump.status()
    assert status["bolus"]["remaining_s"] == pytest.approx(9.18 * 60)
    assert contents(pump) == [(pytest.approx(0.153), 0.0), (pytest.approx(0.153), 500.0)]
    assert status["line"]["to_patient_dose"] == 0.0 and status["line"]["to_patient_ml"] == pytest.approx(0.153)
    pump.advance(9.18 * 60 + 60)
    end = START + timedelta(minutes=18.36)
    assert [event.kind for event in pump.state.events[-2:]] == ["line_flushed", "bolus_done"]
    assert all(at(event.time, end) for event in pump.state.events[-2:])
    assert logged(pump, "line_flushed")[0].detail["concentration_per_ml"] == 0.0
    # The program runs again from the prime's end: 60 s of 0.3 mL/day at 500 mcg/mL.
    assert line_of(pump)["to_patient_dose"] == pytest.approx(150.0 * 60 / DAY_S)
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.306 - 0.3 * 60 / DAY_S)
    assert pump.state.catheter_segments_cm == [45.0, 15.0]


def test_a_cancelled_prime_leaves_spinal_fluid_that_the_program_pushes_out_later():
    # Cancelled after 0.1 mL: 0.206 mL of spinal fluid stay at the tip, pushed out at 0.3 mL/day in 0.6867 days.
    pump = primed_pump()
    pump.prime("b-prime", "implant", 60.0, 0.306)
    pump.advance(6 * 60)
    assert pump.cancel_bolus("b-prime")["delivered"] == pytest.approx(50.0)
    assert logged(pump, "bolus_cancelled")[0].detail["volume_ml"] == pytest.approx(0.1)
    pump.advance(DAY_S)
    [flushed] = logged(pump, "line_flushed")
    assert at(flushed.time, START + timedelta(minutes=6, days=0.206 / 0.3))
    assert line_of(pump)["to_patient_dose"] == pytest.approx((0.3 - 0.206) * 500)


def test_thirty_days_through_a_concentration_change_by_hand():
    # Days 0-10 at 500 mcg/mL: 1500 mcg. Refill to 1000 at day 10 without a bridge: 0.306 mL of 500 mcg/mL leave
    # at 0.15 mL/day in 2.04 days (153 mcg), then 17.96 days at 150 mcg/day (2694 mcg). 4347 mcg in all; the motor
    # moved 10 x 0.3 + 20 x 0.15 = 6 mL.
    pump = primed_pump()
    pump.advance(10 * DAY_S)
    pump.refill("r1", 17.0, 20.0, BACLOFEN_1000)
    assert logged(pump, "refill")[0].detail["pumped_ml"] == pytest.approx(3.0)
    pump.advance(20 * DAY_S)
    assert line_of(pump)["to_patient_dose"] == pytest.approx(4347.0, rel=1e-9)
    assert line_of(pump)["pumped_ml"] == pytest.approx(6.0, rel=1e-9)


def test_a_new_drug_resets_the_dose_counter_but_not_the_line():
    pump = primed_pump()
    pump.advance(DAY_S)
    pump.refill("r1", 19.0, 20.0, Drug(name="morphine", dose_unit="mg", concentration_per_ml=10))
    line = line_of(pump)
    assert (line["to_patient_dose"], line["dose_unit"]) == (0.0, "mg")
    assert line["pumped_ml"] == pytest.approx(0.3) and contents(pump) == [(pytest.approx(0.306), 500.0)]


def test_the_first_fill_of_a_pump_with_a_catheter_primed_long_ago_fills_its_line():
    pump, _ = make_pump(catheter_cm=60.0)  # --catheter-cm 60: the demo pump
    assert contents(pump) == [(pytest.approx(0.306), 0.0)] and line_of(pump)["dose_unit"] is None
    pump.refill("r1", 0.0, 20.0, Drug(**BACLOFEN_500))
    assert contents(pump) == [(pytest.approx(0.306), 500.0)]


def test_a_factory_new_pumps_first_fill_leaves_its_line_empty_of_drug_so_a_program_delivers_nothing_until_it_fills():
    # No catheter recorded: the 0.15 mL tubing holds no drug and the first fill leaves it so. 150 mcg/day is
    # 0.3 mL/day, which fills the tubing in 0.5 day: nothing reaches the patient before, 75 mcg in the next half day.
    pump, _ = make_pump()
    pump.refill("r1", 0.0, 20.0, Drug(**BACLOFEN_500))
    assert contents(pump) == [(0.15, 0.0)]
    pump.commit(pump.stage(program_from_data(simple(150)))["checksum"])
    pump.advance(DAY_S / 4)
    assert (line_of(pump)["to_patient_ml"], line_of(pump)["to_patient_dose"]) == (pytest.approx(0.075), 0.0)
    assert contents(pump) == [(pytest.approx(0.075), 0.0), (pytest.approx(0.075), 500.0)]
    pump.advance(3 * DAY_S / 4)
    assert line_of(pump)["to_patient_dose"] == pytest.approx(75.0) and contents(pump) == [(pytest.approx(0.15), 500.0)]
    assert logged(pump, "line_flushed")[0].detail["concentration_per_ml"] == 0.0


def test_the_implant_prime_after_a_factory_new_pumps_first_fill_pushes_no_drug():
    # 60 cm catheter: 0.306 mL at 1.0 mL/h, 18.36 min; the line held spinal fluid and empty tubing only.
    pump, _ = make_pump()
    pump.refill("r1", 0.0, 20.0, Drug(**BACLOFEN_500))
    pump.prime("b-prime", "implant", 60.0, 0.306)
    pump.advance(18.36 * 60 + 1)
    assert line_of(pump)["to_patient_dose"] == 0.0 and contents(pump) == [(pytest.approx(0.306), 500.0)]


def test_a_state_file_from_before_the_line_loads_with_its_line_full_of_its_drug():
    pump = primed_pump()
    document = pump.state.model_dump(mode="json")
    for key in ("catheter_cm", "catheter_segments_cm", "line", "pumped_ml", "to_patient_ml", "to_patient_dose",
                "demand", "demand_presses"):
        del document[key]
    old = PumpState.model_validate(document)
    assert old.catheter_cm is None
    assert [(part.volume_ml, part.concentration_per_ml) for part in old.line] == [(0.15, 500)]
    pump.state = old
    pump.advance(DAY_S)
    assert line_of(pump)["to_patient_dose"] == pytest.approx(150.0) and not logged(pump, "line_flushed")
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.3)


def _run_story(pieces: list[float]):
    """A flex program, a bridged concentration change, a prime and a therapeutic bolus over 3 days, the time between
    the actions cut into ``pieces`` (fractions of each stretch)."""
    pump, _ = make_pump(program=flex([(1, "00:00", 5.0), (1, "06:00", 8.0), (1, "14:00", 6.0), (1, "22:00", 7.0)]),
                        catheter_cm=40.0)

    def run(hours: float) -> None:
        # Pieces of whole microseconds (the pump clock's resolution), the last one what is left: the same pump time.
        total_us = round(hours * 3600e6)
        cuts = [round(total_us * weight / sum(pieces)) for weight in pieces[:-1]]
        for piece_us in [*cuts, total_us - sum(cuts)]:
            pump.advance(piece_us / 1e6)

    run(5.3)
    pump.refill("r1", 19.0, 20.0, BACLOFEN_1000, bridge=("b-bridge", 0.254))
    run(24.1)  # the bridge ends within it: from 13:18, 156.8 mcg of 500 mcg/mL (0.3136 mL) by 13:24 the next day
    pump.refill("r2", 19.0, 20.0, Drug(**BACLOFEN_500))
    run(7.7)
    pump.prime("b-prime", "catheter_revision", 50.0, 0.28)
    run(0.2)
    run(10.0)
    pump.bolus("b-bolus", 40.0, 30.0)
    run(28.7)
    return pump


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(min_value=0.001, max_value=1.0), min_size=1, max_size=12))
def test_the_line_and_its_counters_do_not_depend_on_how_time_is_cut(pieces):
    reference, cut = _run_story([1.0]), _run_story(pieces)
    for key in ("pumped_ml", "to_patient_ml", "to_patient_dose"):
        assert getattr(cut.state, key) == pytest.approx(getattr(reference.state, key), abs=1e-9)
    assert len(cut.state.line) == len(reference.state.line)
    for part, expected in zip(cut.state.line, reference.state.line):
        assert part.concentration_per_ml == expected.concentration_per_ml
        assert part.volume_ml == pytest.approx(expected.volume_ml, abs=1e-9)
    assert [event.kind for event in cut.state.events] == [event.kind for event in reference.state.events]
    for event, expected in zip(cut.state.events, reference.state.events):
        assert abs((event.time - expected.time).total_seconds()) < 1e-3


def test_the_line_contents_always_add_up_to_the_line_volume():
    pump = _run_story([0.3, 0.01, 0.7])
    assert sum(part.volume_ml for part in pump.state.line) == pytest.approx(0.15 + 50 * 0.0026, abs=1e-12)
    # The old 500 mcg/mL after the bridge, then the spinal fluid after the prime (the 1000 mcg/mL the second refill
    # left behind had not all gone when the prime replaced it).
    assert [event.detail["concentration_per_ml"] for event in pump.state.events if event.kind == "line_flushed"] == [
        500.0, 0.0]
