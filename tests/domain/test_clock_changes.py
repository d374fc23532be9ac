"""Clock changes ahead (programmer.clock_changes): the DST changes of a fixed zone, and what each does to a flex
program, with figures worked out by hand. Zones are given, never this machine's.

The program: baclofen, 5 mcg/h from 00:00, 10 mcg/h from 02:30, 6 mcg/h from 08:00 (a one-day cycle), so the
02:00-03:00 hour of the cycle gives 30 min x 5 + 30 min x 10 = 7.5 mcg, and 03:00-04:00 gives 10 mcg.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from programmer.clock_changes import ClockChange, Move, clock_change_json, clock_changes, move_clock_changes, \
    move_zone, plan_move
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


def moving(zone: str, pump_noon: datetime, now: datetime, on: date, until: datetime) -> list[ClockChange]:
    """The changes of a pump reading ``pump_noon`` (cycle minute 720) in Berlin, moving to ``zone`` on ``on`` at
    12:00 Berlin time."""
    move = plan_move(move_zone(zone), on, BERLIN, now.astimezone(BERLIN).replace(tzinfo=None))
    return move_clock_changes(PROGRAM, pump_noon, 720, BERLIN, now, move, until=until)


def test_a_move_from_berlin_to_new_york_puts_clocks_back_6_hours():
    # 2027-06-15 12:00 CEST (UTC+2) is 10:00 UTC, 06:00 EDT (UTC-4): the wall clock goes back 6 h while the pump
    # reads 12:00. Its 08:00 step then starts at 02:00 by the new wall clock; set back, it runs its 06:00-12:00
    # again: 2 h x 10 mcg/h + 4 h x 6 mcg/h = 44 mcg more, and the 08:00 step starts twice. NY's next DST change
    # (2027-11-07) is after the refill-by date given.
    [change] = moving("America/New_York", datetime(2027, 6, 10, 12, 0), utc(2027, 6, 10, 10, 0), date(2027, 6, 15),
                      datetime(2027, 7, 1, 0, 0))
    assert change.instant == utc(2027, 6, 15, 10, 0) and change.wall_before == datetime(2027, 6, 15, 12, 0)
    assert (change.shift, change.lag, change.pump_time) == (-6 * HOUR, -6 * HOUR, datetime(2027, 6, 15, 12, 0))
    assert datetime(2027, 6, 16, 8, 0) + change.lag == datetime(2027, 6, 16, 2, 0)
    assert (change.window_start, change.cycle_minute, change.window_dose) == (datetime(2027, 6, 15, 6, 0), 360, 44.0)
    assert change.steps_in_window == ("day 1 08:00",) and change.cause == "move to America/New_York"
    assert change.message() == (
        "On 2027-06-15 at 12:00 the move to America/New_York puts clocks back 6 h: until the pump clock is set "
        "again, every step of the program starts 6 h early by the wall clock. Setting the pump clock right after the "
        "change runs twice the 06:00-12:00 of its program (pump clock): 44 mcg more that day; the step starting in "
        "it (day 1 08:00) starts twice that day.")
    assert (clock_change_json(change)["cause"], clock_change_json(change)["shift_min"]) == (
        "move to America/New_York", -360)


def test_a_move_to_a_half_hour_zone_skips_three_and_a_half_hours():
    # Asia/Kolkata is UTC+5:30 all year: from CEST (UTC+2) that is 3 h 30 min = 210 min forward. Set forward at
    # 12:00, the pump skips its 12:00-15:30 at 6 mcg/h: 21 mcg less, no step starting in it.
    [change] = moving("Asia/Kolkata", datetime(2027, 6, 10, 12, 0), utc(2027, 6, 10, 10, 0), date(2027, 6, 15),
                      datetime(2027, 12, 1, 0, 0))
    assert (change.shift, change.lag, change.window_dose, change.steps_in_window) == (
        timedelta(minutes=210), timedelta(minutes=210), 21.0, ())
    assert change.message().startswith("On 2027-06-15 at 12:00 the move to Asia/Kolkata puts clocks forward 210 min: "
                                       "until the pump clock is set again, every step of the program starts 210 min "
                                       "late by the wall clock. Setting the pump clock right after the change skips "
                                       "the 12:00-15:30 of its program (pump clock): 21 mcg less that day.")


def test_a_move_to_the_same_offset_changes_nothing():
    # Paris keeps Berlin's offsets and DST dates: the move shifts nothing, and the next change (2027-10-31) is
    # after the refill-by date.
    [change] = moving("Europe/Paris", datetime(2027, 6, 10, 12, 0), utc(2027, 6, 10, 10, 0), date(2027, 6, 15),
                      datetime(2027, 7, 1, 0, 0))
    assert (change.shift, change.lag, change.window_dose) == (timedelta(0), timedelta(0), None)
    assert change.message() == ("On 2027-06-15 at 12:00 the move to Europe/Paris leaves clocks as they are: the "
                                "program's steps keep their wall-clock times, and the pump clock needs no setting.")


def test_berlin_dst_before_the_move_and_new_york_dst_after_it():
    # Now 2027-03-20 12:00 CET. Berlin springs forward 2027-03-28 (pump on CET: lag 1 h). The move on 2027-10-20
    # 12:00 CEST (10:00 UTC, 06:00 EDT) finds the pump still on CET, reading 11:00: lag 06:00 - 11:00 = -5 h.
    # Berlin's 2027-10-31 change no longer counts; New York falls back 2027-11-07 06:00 UTC (02:00 EDT -> 01:00
    # EST) with the pump on CET reading 07:00: lag 01:00 - 07:00 = -6 h, set back it runs its 01:00-07:00 again:
    # 1.5 h x 5 + 4.5 h x 10 = 52.5 mcg, with the 02:30 step.
    changes = moving("America/New_York", datetime(2027, 3, 20, 12, 0), utc(2027, 3, 20, 11, 0), date(2027, 10, 20),
                     datetime(2027, 12, 1, 0, 0))
    assert [(c.date, c.zone, c.cause) for c in changes] == [
        ("2027-03-28", "Europe/Berlin", "dst"), ("2027-10-20", "America/New_York", "move to America/New_York"),
        ("2027-11-07", "America/New_York", "dst")]
    assert [c.lag for c in changes] == [HOUR, -5 * HOUR, -6 * HOUR] and changes[1].shift == -6 * HOUR
    assert (changes[2].wall_before, changes[2].shift, changes[2].pump_time) == (
        datetime(2027, 11, 7, 2, 0), -HOUR, datetime(2027, 11, 7, 7, 0))
    assert (changes[2].window_dose, changes[2].steps_in_window) == (52.5, ("day 1 02:30",))


def test_a_move_is_checked_for_its_zone_and_its_day():
    now = datetime(2027, 3, 20, 12, 0)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus': names come from the IANA time zone"):
        move_zone("Mars/Olympus")
    with pytest.raises(ValueError, match=r"2027-03-19 is in the past \(today is 2027-03-20\)"):
        plan_move(NEW_YORK, date(2027, 3, 19), BERLIN, now)
    # 400 days from 2027-03-20 is 2028-04-23 (2028 is a leap year: 11 + 30 + ... + 23).
    with pytest.raises(ValueError, match="2028-04-24 is beyond the 400-day horizon \\(the last day is 2028-04-23\\)"):
        plan_move(NEW_YORK, date(2028, 4, 24), BERLIN, now)
    assert plan_move(NEW_YORK, date(2028, 4, 23), BERLIN, now) == Move(NEW_YORK, utc(2028, 4, 23, 10, 0))
