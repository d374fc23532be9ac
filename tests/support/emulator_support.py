"""Helpers shared by the emulator tests (no tests here): program documents, an in-process pump on a
fake clock, a client for the in-process service, and a wire client for an emulator running as a process
(started by ``emulator.launch``, through the ``start_emulator`` fixture).

Both clients speak protocol version 2 as a paired programmer: TEST_PROGRAMMER with TEST_KEY. The in-process
client pairs its pump directly; an emulator process is paired at start with ``--paired-with`` and the file
``write_test_keys`` makes (``paired_args``). Against an ``--insecure`` emulator (or ``insecure=True``) they speak
version 1. Waiting is always on a condition with a bounded timeout, never a bare sleep.
"""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime
from pathlib import Path

from emulator.clock import SimClock
from emulator.pump import Pump
from emulator.service import Service
from emulator.state import LineContent, factory_new
from protocol.codes import INSECURE_PROTOCOL_VERSION, PROTOCOL_VERSION, Command, Status
from protocol.frame import Frame, FrameDecoder, encode_frame
from protocol.pairing import ProgrammerPairing
from protocol.secure import SecureChannel, new_nonce, programmer_channel
from drivers.transport import open_port
from programmer.program import program_from_data

BACLOFEN_500 = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
START = datetime(2026, 3, 2, 8, 0, 0)
"""A Monday, 08:00 pump time: where in-process pumps start."""
SERVICE = 0x70
TEST_PROGRAMMER = "test-programmer"
TEST_KEY = bytes(range(32))
"""The pair key of TEST_PROGRAMMER with every test pump (a fixed value: tests are not secrets)."""
CLEAR_COMMANDS = (Command.HELLO, Command.PAIR_START, Command.PAIR_FINISH)
"""What the test clients never seal (IDENTIFY is sealed inside a session, like everything else)."""


def write_test_keys(path: Path, programmer_id: str = TEST_PROGRAMMER, key: bytes = TEST_KEY) -> Path:
    """A programmer key file (itb-pairing-keys/1, 0600) holding ``key`` for any pump (serial "*")."""
    document = {"format": "itb-pairing-keys/1", "programmer_id": programmer_id,
                "pumps": {"*": {"key": base64.b64encode(key).decode("ascii"), "paired_at": "2026-03-02T08:00:00"}}}
    path.write_text(json.dumps(document))
    os.chmod(path, 0o600)
    return path


def paired_args(directory: Path) -> tuple[str, str]:
    """The emulator options that pair it at start with TEST_PROGRAMMER."""
    return "--paired-with", str(write_test_keys(directory / "test-programmer-keys.json"))


def hello_payload(programmer_id: str = TEST_PROGRAMMER, **extra: object) -> dict:
    """A version 2 HELLO request with a fresh nonce."""
    return {"protocol": PROTOCOL_VERSION, "client": "test", "programmer_id": programmer_id, "nonce": new_nonce(),
            **extra}


def document(therapy: dict, drug: dict = BACLOFEN_500) -> dict:
    return {"format": "itb-program/1", "drug": dict(drug), "therapy": therapy}


def simple(daily_dose: float, drug: dict = BACLOFEN_500) -> dict:
    return document({"mode": "simple_continuous", "daily_dose": daily_dose}, drug)


def flex(steps: list[tuple[int, str, float]], cycle_days: int = 1, drug: dict = BACLOFEN_500) -> dict:
    return document({"mode": "flex", "cycle_days": cycle_days,
                     "steps": [{"day": day, "start": start, "dose_per_hour": rate} for day, start, rate in steps]}, drug)


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pump(path: Path | None = None, model: str = "ITB-20", speed: float = 1.0,
              program: dict | None = None, volume_ml: float = 20.0, now: datetime = START,
              catheter_cm: float | None = None) -> tuple[Pump, FakeMonotonic]:
    """A pump at ``now`` on a fake clock, its catheter of ``catheter_cm`` recorded; with ``program`` it is filled
    (volume_ml), its line full of the drug (primed long ago), and runs the program from ``now``."""
    monotonic = FakeMonotonic()
    state = factory_new(model, now)
    state.catheter_cm = catheter_cm
    state.line = [LineContent(volume_ml=state.line_volume_ml, concentration_per_ml=0.0)]
    if program is not None:
        parsed = program_from_data(program)
        state.set_program(parsed.drug, parsed.therapy)
        state.volume_ml = volume_ml
        state.line = [LineContent(volume_ml=state.line_volume_ml,
                                  concentration_per_ml=parsed.drug.concentration_per_ml)]
    return Pump(state, SimClock(speed, monotonic), path, monotonic), monotonic


class Client:
    """Talks to an in-process Service over a connection of its own, frame by frame, numbering requests like a
    driver would, as TEST_PROGRAMMER (paired with the pump here) in a sealed session after ``hello``."""

    def __init__(self, service: Service, hello: bool = True, programmer_id: str = TEST_PROGRAMMER,
                 key: bytes = TEST_KEY):
        self.service = service
        self.connection = service.connect()
        self.programmer_id, self.key = programmer_id, key
        self.seq = 0
        self.channel: SecureChannel | None = None
        if hello:
            self.hello()

    def hello(self, **extra: object) -> dict:
        """Open a session (version 2: paired first, the confirmation checked; --insecure: version 1)."""
        if self.service.insecure:
            return self.ok(Command.HELLO, {"protocol": INSECURE_PROTOCOL_VERSION, "client": "test", **extra})
        if self.service.pump.pair_key(self.programmer_id) != self.key:
            self.service.pump.add_paired(self.programmer_id, self.key)
        request = hello_payload(self.programmer_id, **extra)
        answer = self.ok(Command.HELLO, request)
        self.channel = programmer_channel(self.key, self.programmer_id, request, answer)
        return answer

    def request(self, command: int, payload: dict) -> Frame:
        self.seq = (self.seq + 1) % 256
        return Frame(self.seq, command, 0, payload, False)

    def send(self, request: Frame) -> Frame | None:
        """``request`` (sealed in a session unless it is sent in clear), and the answer opened (None: no answer)."""
        if self.channel is not None and request.command not in CLEAR_COMMANDS:
            request = self.channel.seal(request)
        response = self.connection.handle(request)
        if response is not None and response.sealed:
            assert self.channel is not None
            return self.channel.open(response).frame
        return response

    def call(self, command: int, payload: dict | None = None) -> Frame:
        response = self.send(self.request(command, payload or {}))
        assert response is not None, f"no answer to {Command(command).name}"
        return response

    def ok(self, command: int, payload: dict | None = None) -> dict:
        response = self.call(command, payload)
        assert response.status == Status.OK, response.payload
        return response.payload

    def refill(self, refill_id: str = "r1", added_ml: float = 20.0, drug: dict | None = BACLOFEN_500) -> dict:
        return self.ok(Command.REFILL, {"refill_id": refill_id, "withdrawn_ml": 0.0, "added_ml": added_ml, "drug": drug})

    def write(self, program: dict) -> str:
        checksum = self.ok(Command.STAGE_PROGRAM, {"program": program})["checksum"]
        self.ok(Command.COMMIT_PROGRAM, {"checksum": checksum})
        return checksum


def checksum_of(program: dict) -> str:
    return program_from_data(program).checksum()


# -- a client over the wire -------------------------------------------------------------------------


class WireClient:
    """A minimal client over a pyserial URL (socket:// or a pty path), one request at a time. The port
    is opened as the driver's transport opens it, so closing a socket:// one costs no 0.3 s pause.

    After ``hello`` it speaks in a sealed session as TEST_PROGRAMMER (the emulator started with ``paired_args``)
    or, when the pump speaks only version 1 (--insecure), in clear. ``sent`` keeps every frame's wire bytes,
    for tests that replay them."""

    def __init__(self, url: str, programmer_id: str = TEST_PROGRAMMER, key: bytes = TEST_KEY):
        self.port = open_port(url, timeout=0.05)
        self.decoder = FrameDecoder()
        self.programmer_id, self.key = programmer_id, key
        self.seq = 0
        self.pending: list[Frame] = []
        self.channel: SecureChannel | None = None
        self.sent: list[bytes] = []
        self.retries = 0
        """Resends and re-asks, counted by callers that retry."""

    def send(self, command: int, payload: dict, seq: int | None = None) -> Frame:
        """Send a request (sealed in a session, unless it goes in clear) and return it as sent."""
        if seq is None:
            self.seq = (self.seq + 1) % 256
            seq = self.seq
        request = Frame(seq, command, 0, payload, False)
        if self.channel is not None and command not in CLEAR_COMMANDS:
            request = self.channel.seal(request)
        self.write(encode_frame(request))
        return request

    def write(self, data: bytes) -> None:
        """Raw bytes onto the link (kept in ``sent``)."""
        self.sent.append(data)
        self.port.write(data)

    def opened(self, response: Frame | None) -> Frame | None:
        """``response`` with its sealed payload opened in this client's session."""
        if response is None or not response.sealed:
            return response
        assert self.channel is not None, "a sealed answer outside a session"
        return self.channel.open(response).frame

    def receive(self, seq: int, timeout: float = 5.0) -> Frame | None:
        """The next response with ``seq`` within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.pending:
                if frame.is_response and frame.seq == seq:
                    self.pending.remove(frame)
                    return frame
            data = self.port.read(max(1, self.port.in_waiting))
            if data:
                self.pending += self.decoder.feed(data)
        return None

    def call(self, command: int, payload: dict | None = None, timeout: float = 5.0) -> Frame:
        """The answer to the request, opened."""
        request = self.send(command, payload or {})
        response = self.opened(self.receive(request.seq, timeout))
        assert response is not None, f"no answer to {Command(command).name} within {timeout} s"
        return response

    def hello(self, **extra: object) -> dict:
        """Open a session: version 2 as TEST_PROGRAMMER (its confirmation checked), or version 1 when the pump
        answers that it speaks only that."""
        self.channel = None
        request = hello_payload(self.programmer_id, **extra)
        response = self.call(Command.HELLO, request)
        if response.status == Status.UNSUPPORTED_VERSION and response.payload["field"] == "protocol":
            response = self.call(Command.HELLO, {"protocol": INSECURE_PROTOCOL_VERSION, "client": "test", **extra})
            assert response.status == Status.OK, response.payload
            return response.payload
        assert response.status == Status.OK, response.payload
        self.channel = programmer_channel(self.key, self.programmer_id, request, response.payload)
        return response.payload

    def close(self) -> None:
        self.port.close()


def advance_pump_time(url: str, hours: float) -> None:
    """``hours`` of pump time pass at once (SERVICE ``advance``, an emulator started with ``--service``), over a
    session of its own: no other programmer may hold the pump meanwhile."""
    client = WireClient(url)
    try:
        client.hello()
        assert client.call(Command.SERVICE, {"action": "advance", "hours": hours}).status == Status.OK
    finally:
        client.close()


def pair(client: Client | WireClient, code: str, programmer_id: str) -> bytes:
    """Pair ``programmer_id`` with the client's pump over ``code`` (IDENTIFY, PAIR_START, PAIR_FINISH in clear) and
    return the pair key both sides now hold."""
    serial = client.call(Command.IDENTIFY).payload["serial"]
    pairing = ProgrammerPairing(code, programmer_id, serial)
    answer = client.call(Command.PAIR_START, {"programmer_id": programmer_id, "message": pairing.start().hex()})
    assert answer.status == Status.OK, answer.payload
    confirm = pairing.receive(bytes.fromhex(answer.payload["message"]), bytes.fromhex(answer.payload["confirm"]))
    finish = client.call(Command.PAIR_FINISH, {"programmer_id": programmer_id, "confirm": confirm.hex()})
    assert (finish.status, finish.payload) == (Status.OK, {"paired": True}), finish.payload
    assert pairing.pair_key is not None
    return pairing.pair_key


def press_button(client: Client | WireClient) -> dict:
    """SERVICE ``press_button``: the patient presses the demand button; the pump's answer (granted or why not)."""
    response = client.call(SERVICE, {"action": "press_button"})
    assert response.status == Status.OK, response.payload
    return response.payload
