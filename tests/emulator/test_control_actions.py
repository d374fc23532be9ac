"""The control channel's actions on an in-process pump (docs/emulator.md, The control channel): what each changes,
what it answers, which refusals it gives (the field and the limit named), and that the pump logs only what it would
log of the cause (an alarm, a demand dose), never the channel itself."""

from __future__ import annotations

import json

import pytest

from emulator.control_actions import ControlActions
from emulator.control_client import ACTIONS, ControlError, describe
from emulator.events import events_total
from emulator.faults import FaultInjector, FaultSpec
from emulator.pump import Pump
from emulator.service import Service
from tests.support.emulator_support import Client, FakeMonotonic, make_pump, simple
from protocol.codes import Command, Status


@pytest.fixture
def bench(tmp_path) -> tuple[ControlActions, FakeMonotonic]:
    """An ITB-20 filled with 20 mL of baclofen 500 mcg/mL running 150 mcg/day (0.3 mL/day), its memory in a file."""
    pump, monotonic = make_pump(tmp_path / "pump.json", program=simple(150), catheter_cm=60.0)
    pump.save()
    return ControlActions(pump, Service(pump, service_enabled=True), FaultInjector(FaultSpec(seed=1))), monotonic


def kinds(pump: Pump, since: int) -> list[str]:
    return [event.kind for event in pump.state.events if event.index >= since]


def last_index(pump: Pump) -> int:
    return events_total(pump.state)


def refusal(actions: ControlActions, **request: object) -> ControlError:
    with pytest.raises(ControlError) as caught:
        actions.run(dict(request))
    return caught.value


def test_the_channel_takes_the_actions_its_client_names(bench):
    assert tuple(bench[0].handlers()) == ACTIONS


def test_state_shows_the_pump_at_a_glance(bench):
    actions, _ = bench
    state = actions.run({"action": "state"})["state"]
    assert state["pump_time"] == "2026-03-02T08:00:00" and state["speed"] == 1.0
    assert state["reservoir"] == {"volume_ml": 20.0, "low_alarm_ml": 2.0, "capacity_ml": 20.0}
    assert state["battery"] == {"status": "ok", "percent": 100.0}
    assert state["alarms"] == [] and state["bolus"] is None and state["stalled"] is False
    assert state["faults"] == {"spec": "seed=1", "seed": 1}
    assert state["pairing_window"] == {"open": False, "seconds_left": None}
    assert state["scenario"] is None and state["dose_unit"] == "mcg"
    json.dumps(state)  # it travels as one JSON line


def test_advance_runs_the_program_and_logs_nothing_of_its_own(bench):
    actions, _ = bench
    pump = actions.pump
    since = last_index(pump)
    state = actions.run({"action": "advance", "hours": 48})["state"]
    assert state["pump_time"] == "2026-03-04T08:00:00"
    assert state["reservoir"]["volume_ml"] == pytest.approx(20.0 - 2 * 0.3)  # 150 mcg/day / 500 mcg/mL = 0.3 mL/day
    assert kinds(pump, since) == []


def test_speed_applies_from_the_moment_it_is_set(bench):
    actions, monotonic = bench
    monotonic.now += 10  # 10 real seconds at 1x: 10 simulated seconds
    actions.run({"action": "speed", "speed": 60})
    monotonic.now += 10  # 10 real seconds at 60x: 600 simulated seconds
    state = actions.run({"action": "state"})["state"]
    assert state["pump_time"] == "2026-03-02T08:10:10" and state["speed"] == 60.0
    error = refusal(actions, action="speed", speed=0)
    assert (error.code, error.field) == ("bad_value", "speed") and "(0, 1e+07]" in error.message


def test_battery_at_eri_raises_the_alarm_the_pump_logs(bench):
    actions, _ = bench
    since = last_index(actions.pump)
    state = actions.run({"action": "battery", "percent": 3.0})["state"]
    assert state["battery"] == {"status": "eri", "percent": 3.0}
    assert [alarm["code"] for alarm in state["alarms"]] == ["eri"]
    assert kinds(actions.pump, since) == ["alarm_raised"]
    error = refusal(actions, action="battery", percent=101)
    assert (error.code, error.field, error.message) == ("bad_value", "percent", "percent 101 is outside 0..100")


def test_stall_stops_a_bolus_and_clear_stall_clears_the_alarm(bench):
    actions, _ = bench
    client = Client(actions.service)
    client.ok(Command.BOLUS, {"kind": "therapeutic", "bolus_id": "b1", "dose": 50.0, "duration_min": 30.0})
    since = last_index(actions.pump)
    state = actions.run({"action": "stall"})["state"]
    assert state["stalled"] is True and state["bolus"] is None
    assert [alarm["code"] for alarm in state["alarms"]] == ["motor_stall"]
    assert kinds(actions.pump, since) == ["bolus_cancelled", "alarm_raised"]
    assert actions.pump.state.events[-2].detail["reason"] == "motor_stall"
    state = actions.run({"action": "clear-stall"})["state"]
    assert state["stalled"] is False and state["alarms"] == []
    assert kinds(actions.pump, since)[-1] == "alarm_cleared"


def test_press_button_gives_the_demand_dose_or_says_why_not(bench):
    actions, _ = bench
    error = refusal(actions, action="press-button")
    assert (error.code, error.message) == ("refused", "the pump gave no demand dose: off")
    Client(actions.service).ok(Command.SET_DEMAND, {"enabled": True, "dose": 25.0, "duration_min": 10.0,
                                                     "lockout_min": 60.0, "max_per_day": 4})
    result = actions.run({"action": "press-button"})
    assert result["press"]["granted"] is True and result["press"]["next_allowed"] == "2026-03-02T09:00:00"
    assert result["state"]["bolus"]["kind"] == "demand" and result["state"]["bolus"]["dose"] == 25.0
    bolus = result["state"]["bolus"]
    assert f"({bolus['kind']}) 0 of 25 mcg given, 10.0 min left" in describe(result)  # the unit named, as the panel shows
    error = refusal(actions, action="press-button")
    assert error.message == "the pump gave no demand dose: lockout (next allowed 2026-03-02T09:00:00)"


def test_faults_are_put_in_force_and_cleared_live(bench):
    actions, _ = bench
    state = actions.run({"action": "faults", "spec": "seed=7,busy=1"})["state"]
    assert state["faults"] == {"spec": "seed=7,busy=1", "seed": 7}
    assert actions.faults.busy() is True  # the server's injector itself, from its next frame on
    assert actions.run({"action": "faults", "spec": ""})["state"]["faults"]["spec"] == ""
    assert actions.faults.busy() is False
    error = refusal(actions, action="faults", spec="drop=2")
    assert (error.code, error.field, error.message) == ("bad_value", "spec", "fault drop=2.0 is not a probability in "
                                                                              "0..1")


def test_open_pairing_opens_the_window_for_its_seconds(bench):
    actions, _ = bench
    since = last_index(actions.pump)
    window = actions.run({"action": "open-pairing", "seconds": 30})["state"]["pairing_window"]
    assert window["open"] is True and 29 < window["seconds_left"] <= 30.0  # real seconds: the window's own clock
    assert kinds(actions.pump, since) == ["pairing_window_opened"]
    error = refusal(actions, action="open-pairing", seconds=601)
    assert (error.code, error.field) == ("bad_value", "seconds") and "1..600" in error.message


def test_reset_factory_needs_confirming_and_keeps_serial_and_pairings(bench):
    actions, _ = bench
    pump = actions.pump
    client = Client(actions.service)
    serial, paired = pump.state.serial, list(pump.state.paired)
    assert refusal(actions, action="reset-factory", confirm=False).field == "confirm"
    state = actions.run({"action": "reset-factory", "confirm": True})["state"]
    assert state["serial"] == serial and pump.state.paired == paired
    assert state["reservoir"]["volume_ml"] == 0.0 and pump.state.drug is None and state["pump_time"] == "2026-03-02T08:00:00"
    assert [(event.index, event.kind, event.detail) for event in pump.state.events] == [
        (0, "power_on", {"factory_new": True})]
    assert client.call(Command.READ_STATUS).status == Status.NOT_AUTHENTICATED  # its session ended: HELLO again
    assert json.loads(pump.path.read_text())["volume_ml"] == 0.0  # on disk before the answer


def test_a_named_state_is_saved_and_loaded_whole(bench):
    actions, _ = bench
    pump = actions.pump
    since = last_index(pump)
    saved = actions.run({"action": "save", "name": "full-pump"})
    assert saved["file"] == str(pump.path.with_name("pump.json.saved") / "full-pump.json")
    actions.run({"action": "advance", "hours": 24})
    actions.run({"action": "battery", "percent": 50})
    state = actions.run({"action": "load", "name": "full-pump"})["state"]
    assert state["pump_time"] == "2026-03-02T08:00:00" and state["reservoir"]["volume_ml"] == 20.0
    assert state["battery"]["percent"] == 100.0 and kinds(pump, since) == []
    assert json.loads(pump.path.read_text())["battery_percent"] == 100.0


def test_named_states_refuse_bad_names_missing_files_and_invalid_documents(bench):
    actions, _ = bench
    error = refusal(actions, action="save", name="../elsewhere")
    assert (error.code, error.field) == ("bad_value", "name") and "1 to 64 letters" in error.message
    error = refusal(actions, action="load", name="never-saved")
    assert (error.code, error.field) == ("refused", "name") and "no state is saved under the name" in error.message
    path = actions.run({"action": "save", "name": "tampered"})["file"]
    with open(path, "r+", encoding="utf-8") as handle:
        document = json.load(handle)
        document["volume_ml"] = 99.0
        handle.seek(0)
        handle.truncate()
        json.dump(document, handle)
    error = refusal(actions, action="load", name="tampered")
    assert error.code == "refused" and "more than the capacity 20.0" in error.message
    assert actions.pump.state.volume_ml == 20.0  # the pump runs on as it was


@pytest.mark.parametrize("request_, code, field", [
    ({"action": "fly"}, "bad_request", "action"),
    ({}, "bad_request", "action"),
    ({"action": "battery"}, "bad_request", "percent"),
    ({"action": "battery", "percent": "50"}, "bad_request", "percent"),
    ({"action": "battery", "percent": True}, "bad_request", "percent"),
    ({"action": "state", "extra": 1}, "bad_request", "extra"),
    ({"action": "open-pairing", "seconds": 1.5}, "bad_request", "seconds"),
    ({"action": "advance", "hours": 0}, "bad_value", "hours"),
])
def test_requests_the_channel_cannot_take_are_refused_naming_the_field(bench, request_, code, field):
    error = refusal(bench[0], **request_)
    assert (error.code, error.field) == (code, field)
