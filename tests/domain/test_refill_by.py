"""The refill-by date: each of its three bounds wins somewhere, dates computed by hand on the pump's clock."""

from datetime import datetime

import pytest

from tests.support.fake_pump import PUMP_TIME, active_for, baclofen, identity, status
from tests.support.library_data import shipped_data
from programmer.baseline import last_fill
from programmer.errors import InputError
from programmer.library import library_from_data, load_library
from programmer.planner import Plan
from programmer.port import Alarm, PumpEvent
from programmer.pump import Reservoir
from programmer.refill_by import RefillBy, plan_refill_by, refill_by, replace_by, snapshot_refill_by
from programmer.snapshot import PumpSnapshot

LIBRARY = load_library()


def pump(filled: datetime, volume_ml: float = 10.0, **status_changes) -> PumpSnapshot:
    """A pump at PUMP_TIME (2026-11-28 09:00) running baclofen 100 mcg/day at 500 mcg/mL (0.2 mL/day), low alarm
    at 2 mL, whose last refill is logged at ``filled``."""
    program = baclofen(100)
    events = (PumpEvent(7, filled, "refill", {"refill_id": "r-1"}),
              PumpEvent(8, datetime(2026, 11, 27, 9, 0), "alarm_acknowledged", {"code": "eri"}))
    return PumpSnapshot(identity(), status(volume_ml, program, **status_changes), active_for(program), PUMP_TIME,
                        events)


def test_low_alarm_less_a_week_wins_on_a_recent_fill():
    # 8 mL above the 2 mL alarm at 0.2 mL/day: 40 days, 2027-01-07 09:00; a week before: 2026-12-31 09:00.
    # The fill on 2026-11-20 plus baclofen's 180 days is 2027-05-19: later.
    assert snapshot_refill_by(pump(datetime(2026, 11, 20, 9, 0)), LIBRARY) == RefillBy(
        datetime(2026, 12, 31, 9, 0), "low_alarm")


def test_drug_stability_wins_on_an_old_fill():
    # Filled 2026-06-10 09:00 + 180 days = 2026-12-07 09:00, before the low alarm's 2026-12-31.
    assert snapshot_refill_by(pump(datetime(2026, 6, 10, 9, 0)), LIBRARY) == RefillBy(
        datetime(2026, 12, 7, 9, 0), "drug_stability")


def test_battery_end_of_service_wins_at_eri():
    # ERI raised 2026-09-01 12:00 + 90 days = 2026-11-30 12:00, before the stability limit's 2026-12-07.
    taken = pump(datetime(2026, 6, 10, 9, 0), battery_status="eri", battery_percent=3.0,
                 alarms=(Alarm("eri", "non_critical", datetime(2026, 9, 1, 12, 0)),))
    assert replace_by(taken.status) == datetime(2026, 11, 30, 12, 0)
    assert snapshot_refill_by(taken, LIBRARY) == RefillBy(datetime(2026, 11, 30, 12, 0), "battery")


def test_replace_by_is_none_while_the_battery_is_ok_and_the_moment_of_eos_at_eos():
    assert replace_by(status(10.0, baclofen())) is None
    at_eos = status(10.0, baclofen(), battery_status="eos", battery_percent=0.0, alarms=(
        Alarm("eri", "non_critical", datetime(2026, 8, 1)), Alarm("eos", "critical", datetime(2026, 10, 30))))
    assert replace_by(at_eos) == datetime(2026, 10, 30)


def test_an_overdue_refill_is_due_now():
    # 0.5 mL above the alarm at 0.2 mL/day: the alarm in 2.5 days, a week before that is already past.
    assert snapshot_refill_by(pump(datetime(2026, 11, 20, 9, 0), volume_ml=2.5), LIBRARY) == RefillBy(
        PUMP_TIME, "low_alarm")


def test_a_pump_that_does_not_deliver_has_no_low_alarm_date_but_keeps_the_other_bounds():
    # At EOS the pump delivers nothing: no low alarm ever; the battery's end of service (its EOS) is the bound.
    taken = pump(datetime(2026, 11, 20, 9, 0), battery_status="eos", battery_percent=0.0,
                 alarms=(Alarm("eos", "critical", datetime(2026, 11, 27, 6, 0)),))
    assert snapshot_refill_by(taken, LIBRARY) == RefillBy(PUMP_TIME, "battery")


def test_a_plan_counts_the_stability_from_its_start():
    # 2000 mcg/mL at 100 mcg/day is 0.05 mL/day: 18 mL to the alarm take 360 days, so baclofen's 180 days win:
    # 2026-03-01 08:00 + 180 days = 2026-08-28 08:00.
    plan = Plan(baclofen(100, 2000), Reservoir(capacity_ml=20, volume_ml=20, low_alarm_ml=2),
                datetime(2026, 3, 1, 8, 0))
    assert plan_refill_by(plan, LIBRARY) == RefillBy(datetime(2026, 8, 28, 8, 0), "drug_stability")
    # At 500 mcg/mL (0.2 mL/day) the alarm comes after 90 days, 2026-05-30 08:00; a week before: 2026-05-23.
    plan = Plan(baclofen(100), Reservoir(capacity_ml=20, volume_ml=20, low_alarm_ml=2), datetime(2026, 3, 1, 8, 0))
    assert plan_refill_by(plan, LIBRARY) == RefillBy(datetime(2026, 5, 23, 8, 0), "low_alarm")


def test_nothing_known_is_no_date_and_a_tie_goes_to_the_first_reason():
    assert refill_by(PUMP_TIME, None, None, None, None) is None
    assert refill_by(PUMP_TIME, None, PUMP_TIME, None, None) is None  # a fill without a stability limit
    tie = datetime(2027, 1, 8, 9, 0)
    assert refill_by(PUMP_TIME, datetime(2027, 1, 15, 9, 0), datetime(2026, 12, 9, 9, 0), 30, tie) == RefillBy(
        tie, "low_alarm")


def test_the_last_fill_is_the_newest_refill_or_else_older_than_every_event_read():
    events = (PumpEvent(3, datetime(2026, 11, 1), "program_activated", {}),
              PumpEvent(4, datetime(2026, 11, 2), "refill", {}), PumpEvent(5, datetime(2026, 11, 3), "refill", {}),
              PumpEvent(6, datetime(2026, 11, 4), "alarm_raised", {}))
    assert last_fill(events) == datetime(2026, 11, 3)
    assert last_fill(events[:1] + events[3:]) == datetime(2026, 11, 1)
    assert last_fill(()) is None


def test_stability_per_concentration_and_one_limit_per_concentration():
    ziconotide = LIBRARY.rule_for("ziconotide")
    assert ziconotide is not None
    assert [ziconotide.stability_for(c).days for c in (25, 100, 50)] == [84, 84, 40]  # 50: diluted
    data = shipped_data()
    data["drugs"][0]["stability"] = [{"days": 30, "concentrations_per_ml": [500], "source": "a"},
                                     {"days": 60, "concentrations_per_ml": [500], "source": "b"}]
    with pytest.raises(InputError, match="stability"):
        library_from_data(data, "copy")
