"""Interrogation: the snapshot, the clock drift, the reservoir forecast from the pump's own figures, the JSON."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from fake_pump import PUMP_TIME, FakePump, active_for, baclofen, identity, status
from programmer.interrogation import (PumpSnapshot, describe_program, interrogation_to_json, interrogation_to_text,
                                      read_pump)
from programmer.port import Alarm, LinkError
from programmer.program import program_from_data


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
    with pytest.raises(LinkError, match="cannot be true"):
        read_pump(FakePump(baclofen(), min_rate_ml_per_day=30.0))
    with pytest.raises(LinkError, match="cannot be true"):
        read_pump(FakePump(baclofen(), volume_ml=25.0))


def test_json_has_every_contract_key():
    data = interrogation_to_json(snapshot(baclofen(), alarms=(Alarm("low_reservoir", "non_critical", PUMP_TIME),)))
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
    data = interrogation_to_json(snapshot(baclofen(), computer_time=PUMP_TIME + timedelta(days=3)))
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
    data = interrogation_to_json(snapshot(flex, volume_ml=2.12, cycle_phase_min=13 * 60))
    assert data["reservoir"]["low_alarm_at"] == "2026-11-28T20:30:00"


def test_factory_new_pump_has_no_drug_and_no_dates():
    data = interrogation_to_json(snapshot(None, volume_ml=0.0))
    assert data["drug"] is None
    assert data["therapy"] == {"mode": "stopped"}
    assert data["reservoir"]["low_alarm_at"] is None and data["reservoir"]["empty_at"] is None
    assert data["program"]["checksum"] == "0" * 16


def test_text_names_pump_program_drift_and_dates():
    text = interrogation_to_text(snapshot(baclofen(), computer_time=PUMP_TIME - timedelta(seconds=42)))
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
