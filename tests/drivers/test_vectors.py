"""The driver against the shipped protocol vectors (tests/vectors/protocol_vectors.json).

The emulator's tests replay the vectors' requests and must give their answers; here the other side:
a scripted pump answers the driver with the vectors' recorded answers, byte for byte as the emulator
sent them, and the driver must send the vectors' requests and read every figure of the answers right.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from tests.support.emulator_fixtures import ScriptedPeer

from protocol import Command, Status
from drivers.serial_driver import SerialDriver
from programmer.errors import PumpRefused
from programmer.program import Drug

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "protocol_vectors.json").read_text(encoding="utf-8"))
FRAMES = {vector["name"]: vector["frame"] for vector in VECTORS["valid"]}


def pump_answering(answers: dict[Command, str]) -> ScriptedPeer:
    """A scripted pump answering each command with the recorded answer named for it (re-sequenced)."""

    def handler(request, peer):
        answer = FRAMES[answers[Command(request.command)]]
        peer.reply(request, answer["payload"], Status[answer["status"]])

    return ScriptedPeer(handler)


@pytest.fixture
def scripted():
    peers = []

    def start(command: Command, answer_name: str, **more: str):
        peer = pump_answering({command: answer_name} | {Command[name]: answer for name, answer in more.items()})
        peers.append(peer)
        return peer, SerialDriver(peer.url, baudrate=115200)

    yield start
    for peer in peers:
        peer.close()


def sent(peer: ScriptedPeer, command: Command) -> dict:
    [request] = peer.requests_for(command)
    return request.payload


def test_identify_reads_every_declared_limit(scripted):
    peer, driver = scripted(Command.IDENTIFY, "IDENTIFY OK")
    with driver:
        identity = driver.identify()
    expected = FRAMES["IDENTIFY OK"]["payload"]
    assert sent(peer, Command.IDENTIFY) == FRAMES["IDENTIFY request"]["payload"]
    assert (identity.model, identity.serial, identity.firmware) == (expected["model"], expected["serial"],
                                                                     expected["firmware"])
    assert (identity.capacity_ml, identity.min_rate_ml_per_day, identity.max_rate_ml_per_day) == (
        expected["capacity_ml"], expected["min_rate_ml_per_day"], expected["max_rate_ml_per_day"])
    assert (identity.max_steps_per_day, identity.max_cycle_days, identity.event_log_size) == (
        expected["max_steps_per_day"], expected["max_cycle_days"], expected["event_log_size"])


def test_status_with_an_alarm_reads_reservoir_alarm_and_clock(scripted):
    peer, driver = scripted(Command.READ_STATUS, "READ_STATUS OK (low reservoir alarm)")
    with driver:
        status = driver.read_status()
    expected = FRAMES["READ_STATUS OK (low reservoir alarm)"]["payload"]
    assert status.pump_time == datetime.fromisoformat(expected["pump_time"])
    assert (status.volume_ml, status.low_alarm_ml, status.capacity_ml) == (
        expected["reservoir"]["volume_ml"], expected["reservoir"]["low_alarm_ml"], expected["reservoir"]["capacity_ml"])
    assert [(a.code, a.severity) for a in status.alarms] == [(a["code"], a["severity"]) for a in expected["alarms"]]
    assert "low_reservoir" in [a.code for a in status.alarms]
    assert status.program_checksum == expected["program_checksum"]
    assert status.cycle_phase_min == expected["cycle_phase_min"]
    assert status.battery_status == expected["battery"]["status"]


def test_program_read_back_recomputes_and_matches_the_checksum(scripted):
    _, driver = scripted(Command.READ_PROGRAM, "READ_PROGRAM OK")
    with driver:
        active = driver.read_program()
    expected = FRAMES["READ_PROGRAM OK"]["payload"]
    assert active.checksum == expected["checksum"] == active.program.checksum()
    assert active.drug == Drug.model_validate(expected["drug"])


def test_a_bolus_sends_the_documented_request_and_reads_a_repeated_answer(scripted):
    request = FRAMES["BOLUS request (same id again, after a lost answer)"]["payload"]
    peer, driver = scripted(Command.BOLUS, "BOLUS OK (repeated id, not delivered again)")
    with driver:
        outcome = driver.bolus(request["bolus_id"], request["dose"], request["duration_min"])
    assert sent(peer, Command.BOLUS) == request
    expected = FRAMES["BOLUS OK (repeated id, not delivered again)"]["payload"]
    assert (outcome.bolus_id, outcome.repeated, outcome.state) == (expected["bolus_id"], True, expected["state"])


def test_a_refused_bolus_is_a_pump_refusal_naming_the_status(scripted):
    _, driver = scripted(Command.BOLUS, "BOLUS answered REFUSED (a bolus is running)")
    with driver, pytest.raises(PumpRefused) as refusal:
        driver.bolus("b-2", 10.0, 10.0)
    assert refusal.value.status == "REFUSED"
    assert FRAMES["BOLUS answered REFUSED (a bolus is running)"]["payload"]["error"] in str(refusal.value)


def test_set_clock_sends_local_time_and_returns_the_clock_read_back(scripted):
    request = FRAMES["SET_CLOCK request"]["payload"]
    peer, driver = scripted(Command.SET_CLOCK, "SET_CLOCK OK", READ_STATUS="READ_STATUS OK (bolus running)")
    with driver:
        read_back = driver.set_clock(datetime.fromisoformat(request["time"]))
    assert sent(peer, Command.SET_CLOCK) == request
    assert read_back == datetime.fromisoformat(FRAMES["READ_STATUS OK (bolus running)"]["payload"]["pump_time"])
