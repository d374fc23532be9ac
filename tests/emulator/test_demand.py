"""The patient's demand dose: SET_DEMAND and READ_DEMAND over the command handler, and presses of the button
(SERVICE press_button) against the lockout and the rolling 24-hour maximum on the simulated clock. Baclofen
500 mcg/mL: a 50 mcg dose is 0.1 mL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from emulator.service import Service
from emulator.state import PumpState
from protocol.codes import Command, Status
from protocol.compact import decode_page, encode_page
from tests.support.emulator_support import SERVICE, START, Client, make_pump, press_button, simple

DEMAND = {"enabled": True, "dose": 50.0, "duration_min": 10.0, "lockout_min": 60.0, "max_per_day": 3}


def advance(client: Client, hours: float) -> None:
    client.ok(SERVICE, {"action": "advance", "hours": hours})


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat(timespec="seconds")


def details(pump, kind: str) -> list[dict]:
    return [event.detail for event in pump.state.events if event.kind == kind]


def test_read_demand_answers_its_settings_with_the_documented_checksum(client, pump):
    off = client.ok(Command.READ_DEMAND)
    assert off == {"enabled": False, "checksum": hashlib.sha256(b'{"enabled":false}').hexdigest()[:16]}
    assert off["checksum"] == "5acf3ff77b442067"  # docs/protocol.md, READ_DEMAND
    example = {"enabled": True, "dose": 50, "duration_min": 10, "lockout_min": 240, "max_per_day": 4}
    answer = client.ok(Command.SET_DEMAND, example)
    canonical = (b'{"dose":50.0,"dose_unit":"mcg","duration_min":10.0,"enabled":true,"lockout_min":240.0,'
                 b'"max_per_day":4}')
    assert answer == {"enabled": True, "dose": 50.0, "dose_unit": "mcg", "duration_min": 10.0, "lockout_min": 240.0,
                      "max_per_day": 4, "checksum": hashlib.sha256(canonical).hexdigest()[:16]}
    assert answer["checksum"] == "b33fafa96d91f72c" and client.ok(Command.READ_DEMAND) == answer
    client.ok(Command.SET_DEMAND, example)  # the same again: nothing changes, nothing is logged
    assert details(pump, "demand_set") == [{key: value for key, value in answer.items() if key != "checksum"}]


@pytest.mark.parametrize(("change", "expected"), [
    ({"enabled": "yes"}, ("BAD_ARGUMENT", "enabled")),
    ({"max_per_day": 2.5}, ("BAD_ARGUMENT", "max_per_day")),
    ({"max_per_day": True}, ("BAD_ARGUMENT", "max_per_day")),
    ({"bolus_id": "x"}, ("BAD_ARGUMENT", "bolus_id")),
    ({"dose": 0.0}, ("OUT_OF_RANGE", "dose")),
    ({"duration_min": 0.9}, ("OUT_OF_RANGE", "duration_min")),
    ({"duration_min": 60.1}, ("OUT_OF_RANGE", "duration_min")),
    ({"lockout_min": 14.9}, ("OUT_OF_RANGE", "lockout_min")),
    ({"lockout_min": 1441.0}, ("OUT_OF_RANGE", "lockout_min")),
    ({"max_per_day": 0}, ("OUT_OF_RANGE", "max_per_day")),
    ({"max_per_day": 25}, ("OUT_OF_RANGE", "max_per_day")),
    ({"dose": 0.2}, ("OUT_OF_RANGE", "dose")),  # 0.0004 mL: below the smallest bolus, 0.0005 mL
    ({"dose": 5000.0, "duration_min": 60.0}, ("OUT_OF_RANGE", "duration_min")),  # 10 mL in an hour: over 6 mL/h
])
def test_set_demand_is_refused_field_by_field_and_changes_nothing(client, pump, change, expected):
    response = client.call(Command.SET_DEMAND, {**DEMAND, **change})
    assert (Status(response.status).name, response.payload["field"]) == expected
    assert pump.state.demand is None and not details(pump, "demand_set")


def test_off_takes_only_enabled_and_a_pump_without_drug_takes_no_demand_dose():
    client = Client(Service(make_pump()[0]))
    response = client.call(Command.SET_DEMAND, DEMAND)
    assert (response.status, response.payload["field"]) == (Status.REFUSED, "enabled")
    response = client.call(Command.SET_DEMAND, {"enabled": False, "dose": 50.0})
    assert (response.status, response.payload["field"]) == (Status.BAD_ARGUMENT, "dose")
    assert client.ok(Command.SET_DEMAND, {"enabled": False})["enabled"] is False


def test_presses_against_the_lockout_and_the_rolling_daily_maximum(client, pump):
    client.ok(Command.SET_DEMAND, DEMAND)  # 50 mcg over 10 min, 60 min lockout, 3 a day
    assert press_button(client) == {"granted": True, "reason": None, "bolus_id": "demand-1", "next_allowed": at(1)}
    assert press_button(client) == {"granted": False, "reason": "lockout", "bolus_id": None, "next_allowed": at(1)}
    advance(client, 0.5)
    assert press_button(client)["reason"] == "lockout"
    advance(client, 0.5)  # 09:00: the lockout is over
    assert press_button(client) == {"granted": True, "reason": None, "bolus_id": "demand-2", "next_allowed": at(2)}
    advance(client, 1)
    # The third of the day: the next one only when the first (08:00) is 24 h old.
    assert press_button(client) == {"granted": True, "reason": None, "bolus_id": "demand-3", "next_allowed": at(24)}
    advance(client, 1)
    assert press_button(client) == {"granted": False, "reason": "daily_max", "bolus_id": None, "next_allowed": at(24)}
    advance(client, 21)  # 08:00 the next day: 08:00 yesterday no longer counts; then 09:00's must be 24 h old
    assert press_button(client) == {"granted": True, "reason": None, "bolus_id": "demand-4", "next_allowed": at(25)}
    granted = details(pump, "demand_granted")
    assert [detail["count_24h"] for detail in granted] == [1, 2, 3, 3]
    assert granted[0] == {"bolus_id": "demand-1", "dose": 50.0, "dose_unit": "mcg", "volume_ml": pytest.approx(0.1),
                          "count_24h": 1}
    assert [(d["reason"], d["count_24h"]) for d in details(pump, "demand_refused")] == [
        ("lockout", 1), ("lockout", 1), ("daily_max", 3)]
    started = [d for d in details(pump, "bolus_started") if d["kind"] == "demand"]
    assert [d["bolus_id"] for d in started] == ["demand-1", "demand-2", "demand-3", "demand-4"]
    # 24 h of 0.3 mL/day and three whole doses of 0.1 mL; the fourth has just started.
    assert pump.state.volume_ml == pytest.approx(20.0 - 0.3 - 0.3)
    assert client.ok(Command.READ_STATUS)["bolus"]["kind"] == "demand"


def test_a_press_is_refused_while_off_while_a_bolus_runs_or_when_the_pump_cannot_give_it(client, pump):
    assert press_button(client) == {"granted": False, "reason": "off", "bolus_id": None, "next_allowed": None}
    client.ok(Command.SET_DEMAND, {**DEMAND, "duration_min": 60.0, "lockout_min": 15.0})
    press_button(client)
    advance(client, 20 / 60)
    assert press_button(client)["reason"] == "bolus_running"  # its own 60-min dose, after the 15-min lockout
    advance(client, 1)
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 10.0, "duration_min": 30.0})
    assert press_button(client)["reason"] == "bolus_running"  # a clinician's bolus
    client.ok(Command.CANCEL_BOLUS, {"bolus_id": "b1"})
    client.ok(SERVICE, {"action": "motor_stall"})
    assert press_button(client)["reason"] == "cannot_deliver"
    client.ok(SERVICE, {"action": "clear_stall"})
    assert press_button(client)["granted"] is True


def test_a_press_needs_the_dose_in_the_reservoir():
    pump = make_pump(program=simple(150), volume_ml=0.05)[0]
    client = Client(Service(pump, service_enabled=True))
    client.ok(Command.SET_DEMAND, DEMAND)
    assert press_button(client) == {"granted": False, "reason": "reservoir", "bolus_id": None,
                                    "next_allowed": at(0)}


def test_a_thousand_refused_presses_take_a_few_places_in_the_log(client, pump):
    client.ok(Command.SET_DEMAND, DEMAND)
    press_button(client)
    for _ in range(1000):
        press_button(client)
    page = client.ok(Command.READ_EVENTS, {"start": 0, "count": 0})  # asking for the total flushes the held one
    refused = [event for event in pump.state.events if event.kind == "demand_refused"]
    assert len(refused) == 9 and refused[-1].detail["coalesced"] == 992 and page["total"] == len(pump.state.events)


def test_a_new_drug_switches_the_demand_dose_off_and_a_new_concentration_keeps_it(client, pump):
    client.ok(Command.SET_DEMAND, DEMAND)
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0,
                               "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 1000}})
    kept = client.ok(Command.READ_DEMAND)
    assert (kept["enabled"], kept["dose"]) == (True, 50.0)
    client.ok(Command.REFILL, {"refill_id": "r2", "withdrawn_ml": 18.0, "added_ml": 20.0,
                               "drug": {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}})
    assert client.ok(Command.READ_DEMAND)["enabled"] is False
    assert details(pump, "demand_set")[-1] == {"enabled": False, "reason": "drug_changed"}
    assert press_button(client)["reason"] == "off"


def test_the_demand_dose_and_its_presses_survive_a_restart(client, pump):
    client.ok(Command.SET_DEMAND, DEMAND)
    press_button(client)
    restored = PumpState.model_validate_json(pump.state.model_dump_json())
    assert restored.demand == pump.state.demand and restored.demand_presses == [START]


def test_every_new_event_travels_exactly_in_a_compact_page(client, pump):
    client.ok(Command.SET_DEMAND, DEMAND)
    press_button(client)
    press_button(client)
    advance(client, 1)
    client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0,
                               "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 1000},
                               "bridge": {"bolus_id": "br1", "volume_ml": 0.306}})
    advance(client, 48)
    client.ok(Command.BOLUS, {"bolus_id": "p1", "kind": "prime", "reason": "implant", "catheter_cm": 60.0,
                              "volume_ml": 0.306, "catheter_segments_cm": [60.0]})
    advance(client, 1)
    page = pump.read_events(0, 64, 64)
    assert {"demand_set", "demand_granted", "demand_refused", "line_flushed"} <= {e["kind"] for e in page["events"]}
    assert decode_page(encode_page(page)) == page


@pytest.mark.parametrize(("demand", "concentration", "why"), [
    (DEMAND, 40.0, "50 mcg at 40 mcg/mL is 1.25 mL in 10 min: 7.5 mL/h, above the fastest bolus, 6 mL/h"),
    ({**DEMAND, "dose": 0.5}, 1500.0, "0.5 mcg at 1500 mcg/mL is 0.00033 mL, below the smallest bolus, 0.0005 mL"),
])
def test_a_new_concentration_that_breaks_the_bolus_limits_switches_the_demand_dose_off(client, pump, demand,
                                                                                        concentration, why):
    client.ok(Command.SET_DEMAND, demand)
    request = {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0,
               "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": concentration}}
    answer = client.ok(Command.REFILL, request)
    assert answer["demand_switched_off"] is True, why
    assert client.ok(Command.READ_DEMAND)["enabled"] is False
    assert details(pump, "demand_set")[-1] == {"enabled": False, "reason": "concentration_changed"}
    assert [event.kind for event in pump.state.events][-2:] == ["refill", "demand_set"]  # in the same action
    assert client.ok(Command.REFILL, request) == {**answer, "repeated": True}
    assert press_button(client)["reason"] == "off"


def test_a_new_concentration_within_the_bolus_limits_keeps_the_demand_dose(client, pump):
    client.ok(Command.SET_DEMAND, DEMAND)  # 50 mcg at 50 mcg/mL: 1 mL in 10 min, exactly the fastest 6 mL/h
    answer = client.ok(Command.REFILL, {"refill_id": "r1", "withdrawn_ml": 18.0, "added_ml": 20.0,
                                        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 50}})
    assert "demand_switched_off" not in answer and client.ok(Command.READ_DEMAND)["enabled"] is True
    assert press_button(client)["granted"] is True
