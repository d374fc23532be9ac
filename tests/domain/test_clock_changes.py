"""Clock changes ahead (programmer.clock_changes): the DST changes of a fixed zone, and what each does to a flex
program, with figures worked out by hand. Zones are given, never this machine's.

The program: baclofen, 5 mcg/h from 00:00, 10 mcg/h from 02:30, 6 mcg/h from 08:00 (a one-day cycle), so the
02:00-03:00 hour of the cycle gives 30 min x 5 + 30 min x 10 = 7.5 mcg, and 03:00-04:00 gives 10 mcg.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from programmer.clock_changes import ClockChange, clock_changes
from programmer.program import program_from_data

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
PROGRAM = program_from_data({
    "format": "itb-program/1", "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
    "therapy": {"mode": "flex", "cycle_days": 1, "steps": [{"start": "00:00", "dose_per_hour": 5},
                                                          {"start": "02:30", "dose_per_hour": 10},
                                                          {"start": "08:00", "dose_per_hour": 6}]}})
HOUR = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def only_change(zone: ZoneInfo, pump_noon: datetime, now: datetime, until: datetime) -> ClockChange:
    """The one change before ``until`` of a pump reading ``pump_noon`` (12:00, so its cycle is at minute 720)."""
    [change] = clock_changes(PROGRAM, pump_noon, 720, zone, now, until=until)
    return change


def test_spring_forward_in_berlin_with_the_pump_on_the_wall_clock():
    # 2027-03-20 11:00 UTC is 12:00 CET; the change is 2027-03-28 01:00 UTC, 02:00 CET -> 03:00 CEST.
    change = only_change(BERLIN, datetime(2027, 3, 20, 12, 0), utc(2027, 3, 20, 11, 0), datetime(2027, 4, 30, 0, 0))
    assert change.instant == utc(2027, 3, 28, 1, 0) and change.wall_before == datetime(2027, 3, 28, 2, 0)
    assert (change.shift, change.lag, change.pump_time) == (HOUR, HOUR, datetime(2027, 3, 28, 2, 0))
    assert change.cycle_minute == 120 and change.window_dose == 7.5 and change.steps_in_window == ("day 1 02:30",)
    assert change.message() == (
        "On 2027-03-28 at 02:00 clocks go forward 1 h (Europe/Berlin): until the pump clock is set again, every step "
        "of the program starts 1 h late by the wall clock. Setting the pump clock right after the change skips the "
        "02:00-03:00 of its program (pump clock): 7.5 mcg less that day; the step starting in it (day 1 02:30) never "
        "starts that day.")


def test_fall_back_in_berlin_with_the_pump_on_summer_time():
    # 2027-10-20 10:00 UTC is 12:00 CEST; the change is 2027-10-31 01:00 UTC, 03:00 CEST -> 02:00 CET. The pump then
    # reads 03:00 while the wall clock reads 02:00: set back, it runs its 02:00-03:00 (7.5 mcg) again.
    change = only_change(BERLIN, datetime(2027, 10, 20, 12, 0), utc(2027, 10, 20, 10, 0), datetime(2027, 11, 30, 0, 0))
    assert change.wall_before == datetime(2027, 10, 31, 3, 0) and change.shift == -HOUR and change.lag == -HOUR
    assert change.pump_time == datetime(2027, 10, 31, 3, 0) and change.window_start == datetime(2027, 10, 31, 2, 0)
    assert change.cycle_minute == 120 and change.window_dose == 7.5 and change.steps_in_window == ("day 1 02:30",)
    assert change.message().endswith("every step of the program starts 1 h early by the wall clock. Setting the pump "
                                     "clock right after the change runs twice the 02:00-03:00 of its program (pump "
                                     "clock): 7.5 mcg more that day; the step starting in it (day 1 02:30) starts "
                                     "twice that day.")


def test_both_edges_in_new_york():
    # Spring: 2027-03-14 07:00 UTC, 02:00 EST -> 03:00 EDT; the pump on EST reads 02:00.
    spring = only_change(NEW_YORK, datetime(2027, 3, 10, 12, 0), utc(2027, 3, 10, 17, 0), datetime(2027, 4, 1, 0, 0))
    assert (spring.wall_before, spring.lag, spring.window_dose) == (datetime(2027, 3, 14, 2, 0), HOUR, 7.5)
    # Autumn: 2027-11-07 06:00 UTC, 02:00 EDT -> 01:00 EST; the pump on EDT reads 02:00 and, set back, would run
    # its 01:00-02:00 (5 mcg/h) twice.
    autumn = only_change(NEW_YORK, datetime(2027, 11, 1, 12, 0), utc(2027, 11, 1, 16, 0), datetime(2027, 12, 1, 0, 0))
    assert (autumn.wall_before, autumn.shift, autumn.lag) == (datetime(2027, 11, 7, 2, 0), -HOUR, -HOUR)
    assert autumn.window_dose == 5.0 and autumn.message().endswith(
        "runs twice the 01:00-02:00 of its program (pump clock): 5 mcg more that day.")


def test_without_a_limit_it_looks_400_days_ahead_and_a_pump_left_unset_comes_back_in_line():
    changes = clock_changes(PROGRAM, datetime(2027, 3, 20, 12, 0), 720, BERLIN, utc(2027, 3, 20, 11, 0))
    assert [change.date for change in changes] == ["2027-03-28", "2027-10-31", "2028-03-26"]  # 400 days: to 2028-04-23
    assert [change.lag for change in changes] == [HOUR, timedelta(0), HOUR]
    assert changes[1].window_dose is None and "then agrees with the wall clock again" in changes[1].message()


def test_no_zone_or_a_zone_without_dst_foresees_nothing():
    assert clock_changes(PROGRAM, datetime(2027, 3, 20, 12, 0), 720, None, utc(2027, 3, 20, 11, 0)) == []
    assert clock_changes(PROGRAM, datetime(2027, 3, 20, 12, 0), 720, ZoneInfo("UTC"), utc(2027, 3, 20, 11, 0)) == []


def test_the_day_of_a_two_day_cycle_is_the_one_running_then():
    # Day 1 10 mcg/h, day 2 from 00:00 2 mcg/h and from 02:30 4 mcg/h. At 12:00 on day 2 (phase 2160), the change
    # 7 days 14 h later (10,920 min) falls at phase (2160 + 10,920) mod 2880 = 1560, day 2 02:00: its hour gives
    # 30 min x 2 + 30 min x 4 = 3 mcg.
    program = program_from_data({**PROGRAM.model_dump(mode="json"), "therapy": {
        "mode": "flex", "cycle_days": 2, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 10},
                                                   {"day": 2, "start": "00:00", "dose_per_hour": 2},
                                                   {"day": 2, "start": "02:30", "dose_per_hour": 4}]}})
    [change] = clock_changes(program, datetime(2027, 3, 20, 12, 0), 2160, BERLIN, utc(2027, 3, 20, 11, 0),
                             until=datetime(2027, 4, 1, 0, 0))
    assert (change.cycle_minute, change.window_dose, change.steps_in_window) == (1560, 3.0, ("day 2 02:30",))
