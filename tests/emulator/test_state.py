"""The emulator's memory: a factory-new pump, the state file round trip, restarts and refused files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from emulator.clock import SimClock
from emulator.pump import Pump
from emulator.service import Service
from emulator.state import StateFileError, load_state, save_state
from protocol.codes import Command, Status
from programmer.program import NO_PROGRAM_CHECKSUM
from tests.support.emulator_support import SERVICE, START, Client, FakeMonotonic, make_pump, simple


def power_on(path, model="ITB-20") -> Pump:
    return Pump.power_on(path, model, SimClock(1.0, FakeMonotonic()))


def test_factory_new_pump_is_created_when_the_file_is_absent(tmp_path):
    path = tmp_path / "pump.json"
    before = datetime.now()
    pump = power_on(path, "ITB-40")
    state = load_state(path)
    assert state.model == "ITB-40" and state.serial.startswith("E40-")
    assert state.drug is None and state.therapy.mode == "stopped"
    assert state.program_checksum == NO_PROGRAM_CHECKSUM
    assert (state.volume_ml, state.low_alarm_ml, state.battery_percent) == (0.0, 2.0, 100.0)
    assert before <= state.pump_time <= datetime.now()
    assert [(event.index, event.kind, event.detail) for event in state.events] == [(0, "power_on", {"factory_new": True})]
    assert state.alarms == [] and pump.staged is None
    assert [p.name for p in tmp_path.iterdir()] == ["pump.json"]  # no temp file left behind


def test_state_round_trip(tmp_path):
    path = tmp_path / "pump.json"
    pump, _ = make_pump(path, program=simple(1500), volume_ml=2.2)
    client = Client(Service(pump, service_enabled=True))
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 50, "duration_min": 60})
    client.ok(SERVICE, {"action": "advance", "hours": 2})  # low-reservoir alarm, bolus done
    client.ok(Command.ACK_ALARM, {"code": "low_reservoir"})
    client.ok(SERVICE, {"action": "motor_stall"})
    pump.save()
    loaded = load_state(path)
    assert loaded.model_dump() == pump.state.model_dump()
    assert loaded.alarms[0].acknowledged and loaded.stalled and loaded.boluses[0].state == "done"


def test_restart_resumes_the_saved_clock_and_forgets_staging(tmp_path):
    path = tmp_path / "pump.json"
    saved_time = datetime(2031, 7, 1, 12, 0)
    pump, _ = make_pump(path, program=simple(150), now=saved_time)
    client = Client(Service(pump))
    client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 5, "duration_min": 10})
    staged = client.ok(Command.STAGE_PROGRAM, {"program": simple(200)})["checksum"]
    pump.save()

    again = power_on(path)
    assert again.state.pump_time == saved_time  # the pump was off: its clock resumes where it stopped
    assert again.state.events[-1].kind == "power_on" and again.state.events[-1].detail == {"factory_new": False}
    client = Client(Service(again))
    assert client.call(Command.COMMIT_PROGRAM, {"checksum": staged}).status == Status.NOT_STAGED
    assert client.ok(Command.READ_PROGRAM)["checksum"] != staged
    repeat = client.ok(Command.BOLUS, {"bolus_id": "b1", "dose": 5, "duration_min": 10})
    assert repeat["repeated"] is True  # bolus ids survive a restart


def test_the_drain_is_saved_periodically_and_changes_at_once(tmp_path):
    path = tmp_path / "pump.json"
    pump, monotonic = make_pump(path, program=simple(150), volume_ml=10.0)
    pump.save()
    monotonic.now += 1.0
    pump.sync()
    pump.save_if_due()
    assert load_state(path).pump_time == START  # nothing discrete happened, not yet due
    monotonic.now += 1.0
    pump.sync()
    pump.save_if_due()
    assert load_state(path).pump_time == START + timedelta(seconds=2)


@pytest.mark.parametrize("damage", [
    lambda data: data.update(program_checksum="0123456789abcdef"),
    lambda data: data.update(model="ITB-99"),
    lambda data: data.update(unexpected=1),
    lambda data: data["therapy"].update(mode="flex"),
])
def test_a_damaged_state_file_is_refused(tmp_path, damage):
    path = tmp_path / "pump.json"
    pump, _ = make_pump(path, program=simple(150))
    save_state(pump.state, path)
    data = json.loads(path.read_text())
    damage(data)
    path.write_text(json.dumps(data))
    with pytest.raises(StateFileError, match="not a valid emulator state file"):
        load_state(path)


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "pump.json"
    path.write_bytes(b"\x00\x01 not json")
    with pytest.raises(StateFileError):
        power_on(path)


def test_a_state_file_from_before_version_2_loads_with_nobody_paired_and_no_actions(tmp_path):
    pump, _ = make_pump(tmp_path / "old.json")
    memory = json.loads(pump.state.model_dump_json())
    del memory["paired"], memory["actions"]
    (tmp_path / "old.json").write_text(json.dumps(memory))
    state = load_state(tmp_path / "old.json")
    assert (state.paired, state.actions) == ([], 0)
