"""`set-clock` on the days the clocks change, in a fixed zone (``$TZ``, never this machine's): what the programmer
sends (``programmer.clock.pump_clock_reading``, the driver's conversion of a zoned time) and what the emulated pump
then delivers over the day, against ``programmer.clock_changes``' figure for the hour skipped or run twice.

The program is that of tests/domain/test_clock_changes.py: 5 mcg/h from 00:00, 10 mcg/h from 02:30, 6 mcg/h from
08:00, baclofen 500 mcg/mL (1 mcg is 0.002 mL). A whole day gives 2.5 x 5 + 5.5 x 10 + 16 x 6 = 163.5 mcg.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from programmer.clock import pump_clock_reading
from programmer.clock_changes import clock_changes, local_zone
from programmer.program import program_from_data
from tests.support.emulator_support import flex, make_pump

PROGRAM = flex([(1, "00:00", 5.0), (1, "02:30", 10.0), (1, "08:00", 6.0)])
DAYS = timedelta(days=4)


@pytest.fixture
def berlin(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def run_to(pump, moment: datetime) -> None:
    pump.advance((moment - pump.state.pump_time).total_seconds())


def pump_and_change(midnight: datetime, now: datetime):
    """A pump running PROGRAM from ``midnight`` (pump clock; ``now`` in UTC), and the clock change of that day."""
    pump, _ = make_pump(program=PROGRAM, volume_ml=20.0, now=midnight)
    [change] = clock_changes(program_from_data(PROGRAM), midnight, 0, local_zone(), now, until=midnight + DAYS)
    return pump, change


def test_spring_forward_setting_the_clock_skips_an_hour_of_the_program(berlin):
    # The pump runs on CET from 2027-03-28 00:00; at 01:00 UTC the wall clock goes 02:00 -> 03:00, the pump reads 02:00.
    pump, change = pump_and_change(datetime(2027, 3, 28, 0, 0), datetime(2027, 3, 27, 23, 0, tzinfo=timezone.utc))
    run_to(pump, datetime(2027, 3, 28, 2, 0))
    sent = pump_clock_reading(datetime(2027, 3, 28, 1, 0, tzinfo=timezone.utc))
    assert sent == datetime(2027, 3, 28, 3, 0)  # the wall clock's new reading; it never reads 02:30 that day
    assert pump_clock_reading(datetime(2027, 3, 28, 1, 30, tzinfo=timezone.utc)) == datetime(2027, 3, 28, 3, 30)
    pump.set_clock(sent)
    run_to(pump, datetime(2027, 3, 29, 0, 0))
    # Delivered 00:00-02:00 (10 mcg), then 03:00-24:00 (5 x 10 + 16 x 6 = 146 mcg): 156 mcg, 7.5 mcg short of 163.5.
    assert pump.state.volume_ml == pytest.approx(20.0 - 156 * 0.002, abs=1e-9)
    assert change.window_dose == 163.5 - 156


def test_fall_back_setting_the_clock_runs_an_hour_of_the_program_twice(berlin):
    # On CEST from 2027-10-31 00:00; at 01:00 UTC the wall clock goes 03:00 -> 02:00 while the pump reads 03:00.
    pump, change = pump_and_change(datetime(2027, 10, 31, 0, 0), datetime(2027, 10, 30, 22, 0, tzinfo=timezone.utc))
    run_to(pump, datetime(2027, 10, 31, 3, 0))
    sent = pump_clock_reading(datetime(2027, 10, 31, 1, 0, tzinfo=timezone.utc))
    assert sent == datetime(2027, 10, 31, 2, 0)
    # In the repeated hour the wall clock reads the same both times, and so does what is sent.
    first, second = (pump_clock_reading(datetime(2027, 10, 31, hour, 30, tzinfo=timezone.utc)) for hour in (0, 1))
    assert first == second == datetime(2027, 10, 31, 2, 30)
    pump.set_clock(sent)
    run_to(pump, datetime(2027, 11, 1, 0, 0))
    # 00:00-03:00 (2.5 x 5 + 0.5 x 10 = 17.5 mcg), then 02:00-24:00 again (2.5 + 5.5 x 10 + 96 = 153.5 mcg): 171 mcg,
    # the 02:00-03:00 hour (7.5 mcg) given twice. The pump logged the jump back.
    assert pump.state.volume_ml == pytest.approx(20.0 - 171 * 0.002, abs=1e-9)
    assert change.lag == -timedelta(hours=1) and change.window_dose == 171 - 163.5 and change.cycle_minute == 120
    assert pump.state.events[-1].kind == "clock_set"
