"""The shared protocol test vectors, replayed against the emulator's command handler.

The valid vectors are one transcript: each request is followed by the emulator's answer to it. Fed in
file order to the pump ``vector_pump`` builds (docs/protocol.md section 13 describes it), every request
must get exactly the vector's answer: same status, same payload (only the human ``error`` text of a
refusal may be worded differently), and every OK answer must have exactly the keys docs/protocol.md
documents for its command. No command is exempt.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from emulator.alarms import reconcile_alarms
from emulator.clock import SimClock
from emulator.events import log_event
from emulator.pump import Pump
from emulator.service import Service
from emulator.state import LineContent, factory_new
from protocol.codes import Command, Status
from protocol.frame import Frame, FrameDecoder, encode_frame
from tests.support.emulator_support import BACLOFEN_500, FakeMonotonic, simple
from programmer.program import Drug, program_from_data

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "protocol_vectors.json").read_text("utf-8"))["valid"]

SERIAL = "E40-3F9A2C"
PROGRAM_CHECKSUM = "d90bfded48050775"
"""Baclofen 500 mcg/mL, simple_continuous 150 mcg/day: what the vector pump runs when the replay starts."""

ALARM_KEYS = {"code", "severity", "since", "acknowledged"}
DOCUMENTED_KEYS = {
    Command.HELLO: {"protocol", "model", "serial"},
    Command.IDENTIFY: {"model", "serial", "firmware", "capacity_ml", "min_rate_ml_per_day", "max_rate_ml_per_day",
                       "max_steps_per_day", "max_cycle_days", "event_log_size", "tubing_ml", "catheter_ml_per_cm",
                       "catheter_cm_min", "catheter_cm_max", "priming_ml_per_hour", "max_bolus_ml_per_hour"},
    Command.READ_STATUS: {"pump_time", "battery", "reservoir", "alarms", "program_checksum", "cycle_phase_min", "bolus",
                          "line"},
    Command.READ_PROGRAM: {"drug", "therapy", "checksum"},
    Command.STAGE_PROGRAM: {"checksum"},
    Command.COMMIT_PROGRAM: {"checksum", "already_active"},
    Command.READ_EVENTS: {"total", "events"},
    Command.SET_CLOCK: {"pump_time"},
    Command.BOLUS: {"bolus_id", "kind", "dose", "volume_ml", "duration_min", "state", "repeated", "action_number"},
    Command.CANCEL_BOLUS: {"bolus_id", "kind", "delivered", "volume_ml", "state"},
    Command.REFILL: {"refill_id", "volume_ml", "calculated_ml", "repeated", "action_number"},
    Command.ACK_ALARM: {"alarms"},
    Command.SET_LOW_ALARM: {"low_alarm_ml"},
    Command.BOLUS_STATUS: {"known", "bolus_id", "kind", "dose", "volume_ml", "duration_min", "state", "repeated",
                           "action_number", "delivered"},
    Command.SET_DEMAND: {"enabled", "dose", "dose_unit", "duration_min", "lockout_min", "max_per_day", "checksum"},
    Command.READ_DEMAND: {"enabled", "dose", "dose_unit", "duration_min", "lockout_min", "max_per_day", "checksum"},
}
"""The OK answer of each command, key for key, as docs/protocol.md section 8 lists it."""


def vector_pump() -> Pump:
    """The ITB-40 the vectors talk to, on a clock that does not move while they are replayed.

    Made 2024-12-30 16:25, filled with 20 mL of baclofen 500 mcg/mL at 16:27:10 and programmed with
    150 mcg/day (0.3 mL/day) at 16:30; its low-reservoir alarm (2 mL) was raised 60 days later, and
    the replay starts at 2025-03-01 08:30 with 1.8 mL left and the battery at 97.6 %. Two months at 0.3 mL/day
    have long filled its 0.18 mL tubing with the drug (its first fill left the tubing empty of drug; the counters
    are not replayed).
    """
    monotonic = FakeMonotonic()
    state = factory_new("ITB-40", datetime(2024, 12, 30, 16, 25, 0))
    state.serial = SERIAL
    pump = Pump(state, SimClock(1.0, monotonic), None, monotonic)
    log_event(state, state.pump_time, "power_on", factory_new=True)
    state.pump_time = datetime(2024, 12, 30, 16, 27, 10)
    pump.refill("r-2024-12-30-0001", 0.0, 20.0, Drug(**BACLOFEN_500))
    state.pump_time = datetime(2024, 12, 30, 16, 29, 20)
    checksum = pump.stage(program_from_data(simple(150)))["checksum"]
    state.pump_time = datetime(2024, 12, 30, 16, 30, 0)
    pump.commit(checksum)
    state.pump_time, state.volume_ml = datetime(2025, 2, 28, 16, 30, 0), 2.0
    reconcile_alarms(state)
    state.line = [LineContent(volume_ml=state.line_volume_ml, concentration_per_ml=BACLOFEN_500["concentration_per_ml"])]
    state.pump_time, state.volume_ml, state.battery_percent = datetime(2025, 3, 1, 8, 30, 0), 1.8, 97.6
    assert state.program_checksum == PROGRAM_CHECKSUM
    return pump


def _frame(vector: dict) -> Frame:
    [frame] = FrameDecoder().feed(bytes.fromhex(vector["hex"]))
    return frame


def _check_documented_shape(command: int, payload: dict, name: str) -> None:
    agreed = {"encoding"} if command == Command.HELLO and "encoding" in payload else set()  # to a HELLO offering them
    assert set(payload) == DOCUMENTED_KEYS[command] | agreed, (name, sorted(payload))
    alarms = payload.get("alarms", [])
    assert all(set(alarm) == ALARM_KEYS for alarm in alarms), name
    if command == Command.READ_EVENTS:
        assert all(set(event) == {"index", "time", "kind", "detail"} for event in payload["events"]), name


def test_vectors_are_one_transcript_of_requests_each_followed_by_its_answer():
    frames = [_frame(vector) for vector in VECTORS]
    assert [frame.is_response for frame in frames] == [False, True] * (len(frames) // 2)
    for request, answer in zip(frames[::2], frames[1::2]):
        assert (answer.seq, answer.command) == (request.seq, request.command)


def test_every_request_vector_gets_exactly_the_vector_answer_from_the_emulator():
    connection = Service(vector_pump(), insecure=True).connect()
    replayed = 0
    for request_vector, answer_vector in zip(VECTORS[::2], VECTORS[1::2]):
        name = request_vector["name"]
        request, expected = _frame(request_vector), _frame(answer_vector)
        response = connection.handle(request)
        assert encode_frame(response)  # every answer can be sent
        assert (response.seq, response.command, response.is_response) == (expected.seq, expected.command, True), name
        assert response.compact == expected.compact, name  # compact only after HELLO agreed it
        assert response.status == expected.status, (name, Status(response.status).name, response.payload)
        if response.status == Status.OK:
            _check_documented_shape(request.command, expected.payload, answer_vector["name"])
            assert response.payload == expected.payload, name
        else:
            assert set(response.payload) == set(expected.payload) == {"error", "field"}, name
            assert isinstance(response.payload["error"], str) and response.payload["error"], name
            assert response.payload["field"] == expected.payload["field"], name
        replayed += 1
    assert replayed == len(VECTORS) // 2 >= 25
