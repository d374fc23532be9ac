"""Interrogation: the snapshot, the clock drift, the reservoir forecast from the pump's own figures, the JSON."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.support.fake_pump import PUMP_TIME, FakePump, active_for, baclofen, identity, status
from programmer.errors import LinkError
from programmer.baseline import dose_baseline
from programmer.cli.interrogation_report import interrogation_to_json, interrogation_to_text
from programmer.interrogation import read_pump, read_recent_events
from programmer.library import load_library
from programmer.snapshot import CLOCK_DRIFT_LIMIT_S, PumpSnapshot, describe_program
from programmer.errors import PumpRefused
from programmer.port import Alarm, DemandDose, PumpDriver, PumpEvent
from programmer.program import program_from_data

LIBRARY = load_library()


def snapshot(program=None, volume_ml=20.0, computer_time=PUMP_TIME, **status_changes) -> PumpSnapshot:
    return PumpSnapshot(identity(), status(volume_ml, program, **status_changes), active_for(program), computer_time)


def test_drift_is_pump_time_minus_computer_time():
    assert snapshot(computer_time=PUMP_TIME - timedelta(seconds=30)).drift_s == 30
    assert snapshot(computer_time=PUMP_TIME + timedelta(seconds=90)).drift_s == -90


def test_read_pump_times_the_computer_clock_halfway_through_the_status_read():
    ticks = iter([datetime(2026, 11, 28, 9, 0, 0), datetime(2026, 11, 28, 9, 0, 2)])
    taken = read_pump(FakePump(baclofen()), clock=lambda: next(ticks))
    assert taken.computer_time == datetime(2026, 11, 28, 9, 0, 1)
    assert taken.drift_s == -1


def test_read_pump_uses_the_limits_the_pump_declares():
    taken = read_pump(FakePump(baclofen(), max_rate_ml_per_day=0.5, max_steps_per_day=4, model="ITB-X"))
    assert (taken.limits.model, taken.limits.max_rate_ml_per_day, taken.limits.max_steps_per_day) == ("ITB-X", 0.5, 4)


def test_impossible_figures_from_the_pump_are_a_link_fault_not_a_crash():
    with pytest.raises(LinkError, match="cannot be true") as failed:
        read_pump(FakePump(baclofen(), min_rate_ml_per_day=30.0))
    assert (failed.value.step, failed.value.field) == ("interrogate", None)  # a rule between two figures
    with pytest.raises(LinkError, match="cannot be true") as failed:
        read_pump(FakePump(baclofen(), volume_ml=25.0))
    assert (failed.value.step, failed.value.field) == ("interrogate", None)


def test_json_has_every_contract_key():
    data = interrogation_to_json(snapshot(baclofen(), alarms=(Alarm("low_reservoir", "non_critical", PUMP_TIME),)),
                                 LIBRARY)
    assert {"pump", "clock", "battery", "drug", "therapy", "reservoir", "alarms"} <= data.keys()
    assert {"model", "serial", "firmware", "capacity_ml"} <= data["pump"].keys()
    assert {"pump_time", "drift_s"} <= data["clock"].keys()
    assert data["battery"]["status"] == "ok"
    assert {"volume_ml", "low_alarm_ml", "low_alarm_at", "empty_at"} <= data["reservoir"].keys()
    assert data["alarms"] == [{"code": "low_reservoir", "severity": "non_critical", "since": "2026-11-28T09:00:00"}]
    assert data["drug"] == {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0}
    assert data["therapy"] == {"mode": "simple_continuous", "daily_dose": 150.0}
    assert data["program"]["checksum"] == baclofen().checksum()


def test_reservoir_dates_are_counted_from_the_pump_clock():
    # 150 mcg/day at 500 mcg/mL is 0.3 mL/day: from 20 mL, the 2 mL alarm after 18 / 0.3 = 60 days and
    # empty after 20 / 0.3 = 66 2/3 days, from the pump's 2026-11-28 09:00, whatever this computer's clock says.
    data = interrogation_to_json(snapshot(baclofen(), computer_time=PUMP_TIME + timedelta(days=3)), LIBRARY)
    reservoir = data["reservoir"]
    assert reservoir["low_alarm_at"] == "2027-01-27T09:00:00"
    assert reservoir["empty_at"] == "2027-02-03T01:00:00"
    assert reservoir["days_to_low_alarm"] == pytest.approx(60)
    assert data["clock"]["drift_s"] == -3 * 86400


def test_forecast_follows_the_pumps_cycle_phase_not_the_time_of_day():
    # 0.02 mL/h from 00:00 to 12:00, then 0.01 mL/h. 0.12 mL above the alarm. The pump says it is at 13:00 in
    # its cycle (its clock reads 09:00): 11 h at 0.01 (0.11 mL), then 0.5 h at 0.02 -> alarm at 09:00 + 11.5 h.
    # Had the time of day been used: 3 h at 0.02 (0.06) + 6 h at 0.01 -> 18:00.
    flex = program_from_data({
        "format": "itb-program/1",
        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
        "therapy": {"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 10}, {"start": "12:00", "dose_per_hour": 5}]},
    })
    data = interrogation_to_json(snapshot(flex, volume_ml=2.12, cycle_phase_min=13 * 60), LIBRARY)
    assert data["reservoir"]["low_alarm_at"] == "2026-11-28T20:30:00"


def test_factory_new_pump_has_no_drug_and_no_dates():
    data = interrogation_to_json(snapshot(None, volume_ml=0.0), LIBRARY)
    assert data["drug"] is None
    assert data["therapy"] == {"mode": "stopped"}
    assert data["reservoir"]["low_alarm_at"] is None and data["reservoir"]["empty_at"] is None
    assert data["program"]["checksum"] == "0" * 16


def test_text_names_pump_program_drift_and_dates():
    text = interrogation_to_text(snapshot(baclofen(), computer_time=PUMP_TIME - timedelta(seconds=42)), LIBRARY)
    assert "ITB-20 serial EMU-0001" in text
    assert "+42 s from this computer" in text
    assert "150 mcg/day" in text and "0.3 mL/day" in text
    assert "2027-01-27T09:00:00" in text


def test_describe_program_says_checksum_drug_and_dose():
    program = baclofen()
    assert describe_program(active_for(program)) == (
        f"{program.checksum()} (baclofen 500 mcg/mL, simple continuous 150 mcg/day)")
    assert describe_program(active_for(None)) == "0000000000000000 (no drug, stopped)"


def test_aware_pump_time_is_compared_in_local_time():
    aware = PUMP_TIME.astimezone()
    taken = replace(snapshot(baclofen()), status=status(20.0, baclofen(), pump_time=aware))
    assert taken.drift_s == 0


# --- not delivering: no dates, a flag and the reason ---------------------------------------------------



@pytest.mark.parametrize("code, words", [
    ("eos", "battery at end of service (EOS)"),
    ("motor_stall", "motor stall"),
    ("reservoir_empty", "reservoir empty"),
])
def test_a_pump_stopped_by_a_critical_alarm_reports_no_dates(code, words):
    taken = snapshot(baclofen(), alarms=(Alarm(code, "critical", PUMP_TIME),))
    data = interrogation_to_json(taken, LIBRARY)
    assert data["delivering"] is False and words in data["not_delivering_reason"]
    reservoir = data["reservoir"]
    assert {key: reservoir[key] for key in ("low_alarm_at", "empty_at", "days_to_low_alarm", "days_to_empty")} == {
        "low_alarm_at": None, "empty_at": None, "days_to_low_alarm": None, "days_to_empty": None}
    assert data["program"]["daily_dose"] == 150  # what is programmed, still shown as such
    text = interrogation_to_text(taken, LIBRARY)
    assert f"Delivery      NOT DELIVERING: {words}" in text
    assert "(150 mcg/day, 0.3 mL/day) will not run until that is resolved" in text
    assert "Low alarm     none while the pump is not delivering" in text
    assert "2027-01-27" not in text and "2027-02-03" not in text  # the dates a delivering pump would reach


def test_a_battery_at_eos_stops_delivery_even_without_its_alarm_listed():
    taken = snapshot(baclofen(), battery_status="eos", battery_percent=0.0)
    assert taken.stopped_by == ("eos",)
    assert interrogation_to_json(taken, LIBRARY)["reservoir"]["empty_at"] is None


def test_a_delivering_pump_says_so_and_keeps_its_dates():
    data = interrogation_to_json(snapshot(baclofen(), alarms=(Alarm("low_reservoir", "non_critical", PUMP_TIME),)),
                                 LIBRARY)
    assert data["delivering"] is True and data["not_delivering_reason"] is None
    assert data["reservoir"]["low_alarm_at"] == "2027-01-27T09:00:00"
    data = interrogation_to_json(snapshot(None, volume_ml=0.0), LIBRARY)
    assert data["not_delivering_reason"] == "the pump holds no drug"


def test_the_overview_and_the_reviews_share_one_drift_threshold():
    from ui.overview import DRIFT_WORTH_FIXING_S

    assert DRIFT_WORTH_FIXING_S == CLOCK_DRIFT_LIMIT_S == 300
    assert not snapshot(computer_time=PUMP_TIME - timedelta(seconds=300)).clock_drifts
    assert snapshot(computer_time=PUMP_TIME - timedelta(seconds=301)).clock_drifts
    text = interrogation_to_text(snapshot(baclofen(), computer_time=PUMP_TIME + timedelta(days=30)), LIBRARY)
    assert "-2592000 s from this computer; more than 5 min off: set the pump clock" in text


# --- the dose 24 h ago, from the tail of the event log ---------------------------------------------------

NOW = PUMP_TIME  # 2026-11-28 09:00 on the pump's clock; the window starts 2026-11-27 09:00


def ev(index, time, kind, **detail):
    return PumpEvent(index, time, kind, detail)


def activated(index, time, previous_dose, dose, unit="mcg"):
    return ev(index, time, "program_activated", checksum="1" * 16, previous="2" * 16, daily_dose=dose,
              dose_unit=unit, previous_daily_dose=previous_dose, previous_dose_unit=unit)


def at(hours_ago: float) -> datetime:
    return NOW - timedelta(hours=hours_ago)


def test_the_oldest_activation_in_the_window_names_the_dose_that_ran_at_its_start():
    # 150 since 30 h ago; 180 written 3 h ago, 216 2 h ago, the pump runs 216: 150 ran 24 h ago.
    events = [activated(5, at(30), 120, 150), activated(6, at(3), 150, 180), activated(7, at(2), 180, 216)]
    found = dose_baseline(events, NOW, baclofen(216))
    assert (found.daily_dose, found.dose_unit, found.since, found.activations, found.whole_window) == (
        150, "mcg", datetime(2026, 11, 27, 9, 0), 2, True)


def test_without_an_activation_in_the_window_the_current_program_ran_throughout():
    found = dose_baseline([activated(5, at(30), 120, 150), ev(6, at(1), "alarm_raised", code="eri")], NOW, baclofen())
    assert (found.daily_dose, found.activations) == (150, 0)


def test_event_times_are_moved_across_a_clock_set():
    # The pump clock ran 30 days behind. 2 h ago (real time) 100 -> 150 was activated, stamped on the old
    # clock 2026-10-29 07:00; 1 h ago the clock was set from 2026-10-29 08:00 to 2026-11-28 08:00 (+30 days).
    # On today's clock the activation was at 2026-11-28 07:00, inside the window: 100 ran 24 h ago.
    events = [activated(3, datetime(2026, 10, 29, 7, 0), 100, 150),
              ev(4, at(1), "clock_set", old="2026-10-29T08:00:00", new="2026-11-28T08:00:00")]
    found = dose_baseline(events, NOW, baclofen(150))
    assert (found.daily_dose, found.activations) == (100, 1)
    # Without the clock_set the same stamp is 30 days old, outside the window.
    assert dose_baseline(events[:1], NOW, baclofen(150)).activations == 0


def test_a_log_overwritten_inside_the_window_gives_a_shorter_baseline():
    # The oldest retained event (index 40) is 10 h old: the dose before the 5 h-old activation ran from
    # then at least.
    events = [ev(40, at(10), "alarm_raised", code="low_reservoir"), activated(41, at(5), 120, 150)]
    found = dose_baseline(events, NOW, baclofen(150))
    assert (found.daily_dose, found.since, found.whole_window) == (120, at(10), False)
    # A log that starts at index 0 (the pump was made inside the window) is whole.
    assert dose_baseline([ev(0, at(10), "power_on", factory_new=True)] + events[1:], NOW, baclofen()).whole_window


@pytest.mark.parametrize("events", [
    [activated(5, at(3), 150, 180, unit="mg")],                                        # another unit
    [ev(5, at(3), "program_activated", checksum="1" * 16, previous="2" * 16)],        # older firmware: no doses
    [activated(4, at(30), 120, 150), ev(5, at(3), "clock_set", old="garbled", new="2026-11-28T06:00:00"),
     activated(6, at(2), 150, 180)],                                                # event 4 cannot be placed
])
def test_a_baseline_that_cannot_be_told_is_none(events):
    assert dose_baseline(events, NOW, baclofen(180)) is None


def test_therapy_started_inside_the_window_is_measured_from_its_first_dose():
    # A pump filled 10 h ago (stopped, 0 mcg/day), started at 150 5 h ago, then 180 and 216: 150 is where
    # the titration started; 2 programs were activated after it.
    events = [ev(0, at(10), "power_on", factory_new=True), activated(1, at(5), 0, 150),
              activated(2, at(3), 150, 180), activated(3, at(2), 180, 216)]
    found = dose_baseline(events, NOW, baclofen(216))
    assert (found.daily_dose, found.since, found.activations) == (150, at(5), 2)


def test_another_drug_filled_inside_the_window_restarts_the_comparison():
    # Morphine ran until 6 h ago; baclofen was filled then (therapy stopped), started at 100 4 h ago and
    # raised to 150 1 h ago: the morphine doses do not compare, 100 mcg/day does.
    events = [ev(4, at(30), "power_on", factory_new=False),
              activated(5, at(20), 2, 4, unit="mg"),
              ev(6, at(6), "refill", drug={"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
                 therapy_stopped=True),
              activated(7, at(4), 0, 100), activated(8, at(1), 100, 150)]
    found = dose_baseline(events, NOW, baclofen(150))
    assert (found.daily_dose, found.since, found.activations) == (100, at(4), 1)


def test_a_stopped_pump_refilled_inside_the_window_may_hold_another_drug():
    # Ziconotide (also in mcg) ran at 5 mcg/day and was stopped 8 h ago; baclofen was filled into the
    # stopped pump 6 h ago (therapy_stopped is false: nothing was running) and started at 100 2 h ago.
    # 5 mcg/day of ziconotide is no baseline for baclofen: the comparison starts at the refill.
    events = [activated(4, at(9), 0, 5), activated(5, at(8), 5, 0),
              ev(6, at(6), "refill", drug={"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
                 therapy_stopped=False),
              activated(7, at(2), 0, 100)]
    found = dose_baseline(events, NOW, baclofen(100))
    assert (found.daily_dose, found.since, found.activations) == (100, at(2), 0)


def test_a_refill_of_the_same_drug_at_another_concentration_keeps_the_baseline():
    # Baclofen ran throughout (150, then 180 from 3 h ago); the refill 2 h ago changed the concentration
    # only (therapy kept, not stopped): 150 still ran 24 h ago.
    events = [activated(5, at(3), 150, 180),
              ev(6, at(2), "refill", drug={"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 1000},
                 therapy_stopped=False)]
    assert dose_baseline(events, NOW, baclofen(180, concentration=1000)).daily_dose == 150


def log_of(pump, count=40, recent_from=20):
    """Events 0..count-1 an hour apart; those from ``recent_from`` on are inside the last 24 h."""
    for index in range(count):
        pump.log("alarm_acknowledged", time=at(count - index - 0.5 if index >= recent_from else 48 + count - index),
                 code="low_reservoir")


def test_only_the_pages_of_the_window_are_read():
    pump = FakePump(baclofen())
    log_of(pump)  # events 20..39 are 19.5 h .. 0.5 h old; 19 and older are more than 2 days old
    events = read_recent_events(pump, NOW)
    # total 40 -> page [24, 40) is all inside the window -> page [8, 24) reaches event 19: stop.
    assert pump.pages == [(0, 0), (24, 16), (8, 16)]
    assert [event.index for event in events] == list(range(19, 40))  # from the last one before the window
    assert "read_events" not in pump.calls


def test_read_pump_keeps_the_window_of_the_log_in_the_snapshot():
    pump = FakePump(baclofen(216))
    pump.events = [activated(0, at(30), 0, 150), activated(1, at(3), 150, 180), activated(2, at(2), 180, 216)]
    taken = read_pump(pump, clock=lambda: NOW)
    assert [event.index for event in taken.recent_events] == [0, 1, 2]
    assert taken.dose_24h_ago().daily_dose == 150
    data = interrogation_to_json(taken, LIBRARY)
    assert data["dose_24h_ago"] == {"daily_dose": 150, "dose_unit": "mcg", "since": "2026-11-27T09:00:00",
                                    "programs_activated": 2, "whole_window": True}
    assert "24 h ago      150 mcg/day at 2026-11-27T09:00:00 (pump clock); 2 program(s) activated since" in \
        interrogation_to_text(taken, LIBRARY)


def test_a_wrapper_that_forwards_the_driver_still_reads_pages():
    # The application wraps the driver in a forwarding object (ui/link.py) to report progress.
    class Forwarding:
        def __init__(self, driver):
            self._driver = driver

        def __getattr__(self, name):
            return getattr(self._driver, name)

    pump = FakePump(baclofen())
    log_of(pump)
    assert [event.index for event in read_recent_events(Forwarding(pump), NOW)] == list(range(19, 40))
    assert pump.pages == [(0, 0), (24, 16), (8, 16)]




def test_the_snapshot_carries_the_demand_dose_and_none_from_a_pump_without_one():
    source = FakePump(baclofen())
    source.write_demand(DemandDose(True, 25.0, 10.0, 240.0, 6))
    taken = read_pump(source)
    assert taken.demand is not None and taken.demand.demand == DemandDose(True, 25.0, 10.0, 240.0, 6)
    assert taken.demand_daily_max == 150.0  # 25 x 6

    class Older(FakePump):
        def read_demand(self):  # the port's default: UNKNOWN_COMMAND, as a pump older than demand doses answers
            return PumpDriver.read_demand(self)

    older = read_pump(Older(baclofen()))
    assert older.demand is None and older.demand_daily_max == 0.0


def test_a_demand_dose_refused_otherwise_is_not_taken_for_none():
    class Refusing(FakePump):
        def read_demand(self):
            raise PumpRefused("NO_SESSION", "read demand dose: no session", step="read demand dose")

    with pytest.raises(PumpRefused):
        read_pump(Refusing(baclofen()))
