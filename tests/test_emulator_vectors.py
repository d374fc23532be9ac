"""The shared protocol test vectors, replayed against the emulator's command handler.

Every request frame in tests/vectors/protocol_vectors.json is fed, in file order, to a pump holding
baclofen 500 mcg/mL running 150 mcg/day (checksum d90bfded48050775, as the vectors assume). Each answer
must have the status of the vector's answer with the same seq and command; where the vector's values
follow from the request alone (checksums, bolus volume, the clock set), they must match exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

from drivers.emulator.service import Service
from drivers.protocol.codes import Command, Status
from drivers.protocol.frame import FrameDecoder, encode_frame
from emulator_support import make_pump, simple

VECTORS = json.loads((Path(__file__).parent / "vectors" / "protocol_vectors.json").read_text())["valid"]
EXACT = {
    Command.STAGE_PROGRAM: ("checksum",),
    Command.COMMIT_PROGRAM: ("checksum", "already_active"),
    Command.SET_CLOCK: ("pump_time",),
    Command.BOLUS: ("bolus_id", "dose", "volume_ml", "state", "repeated"),
    Command.CANCEL_BOLUS: ("bolus_id", "state"),
    Command.REFILL: ("refill_id", "volume_ml", "repeated"),
    Command.ACK_ALARM: ("alarms",),
}


def _command(name: object) -> int:
    return Command[name] if isinstance(name, str) else name


def test_request_vectors_get_the_vector_answers():
    pump, _ = make_pump(model="ITB-40", program=simple(150), volume_ml=40.0)
    assert pump.state.program_checksum == "d90bfded48050775"
    service = Service(pump)
    answers = {(v["frame"]["seq"], _command(v["frame"]["command"])): v["frame"]
               for v in reversed(VECTORS) if v["frame"]["is_response"]}  # the first answer per seq wins
    requests = [v for v in VECTORS if not v["frame"]["is_response"]]
    assert len(requests) >= 14
    for vector in requests:
        [request] = FrameDecoder().feed(bytes.fromhex(vector["hex"]))
        response = service.handle(request)
        encode_frame(response)  # every answer can be sent
        expected = answers.get((request.seq, request.command))
        if expected is None:
            assert response.status == Status.OK, (vector["name"], response.payload)
            continue
        assert response.status == Status[expected["status"]], (vector["name"], response.payload)
        if response.status != Status.OK:
            assert set(response.payload) == {"error", "field"}
            assert response.payload["field"] == expected["payload"]["field"]
        elif request.command == Command.READ_PROGRAM:
            # The outline's binding decision: {drug, therapy, checksum} rather than {program, checksum}.
            assert response.payload["checksum"] == expected["payload"]["checksum"]
        else:
            assert set(expected["payload"]) <= set(response.payload), vector["name"]
            for key in EXACT.get(request.command, ()):
                assert response.payload[key] == expected["payload"][key], (vector["name"], key)
