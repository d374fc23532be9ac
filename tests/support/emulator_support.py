"""Helpers shared by the emulator tests (no tests here): program documents, an in-process pump on a
fake clock, a client for the in-process service, and a wire client for an emulator running as a process
(started by ``emulator.launch``, through the ``start_emulator`` fixture).

Waiting is always on a condition with a bounded timeout, never a bare sleep.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from emulator.clock import SimClock
from emulator.pump import Pump
from emulator.service import Service
from emulator.state import factory_new
from protocol.codes import Command, Status
from protocol.frame import Frame, FrameDecoder, encode_frame
from drivers.transport import open_port
from programmer.program import program_from_data

BACLOFEN_500 = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
START = datetime(2026, 3, 2, 8, 0, 0)
"""A Monday, 08:00 pump time: where in-process pumps start."""
SERVICE = 0x70


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
              program: dict | None = None, volume_ml: float = 20.0, now: datetime = START) -> tuple[Pump, FakeMonotonic]:
    """A pump at ``now`` on a fake clock; with ``program`` it is filled (volume_ml) and runs it from ``now``."""
    monotonic = FakeMonotonic()
    state = factory_new(model, now)
    if program is not None:
        parsed = program_from_data(program)
        state.set_program(parsed.drug, parsed.therapy)
        state.volume_ml = volume_ml
    return Pump(state, SimClock(speed, monotonic), path, monotonic), monotonic


class Client:
    """Talks to an in-process Service frame by frame, numbering requests like a driver would."""

    def __init__(self, service: Service, hello: bool = True):
        self.service = service
        self.seq = 0
        if hello:
            assert self.call(Command.HELLO, {"protocol": 1, "client": "test"}).status == Status.OK

    def request(self, command: int, payload: dict) -> Frame:
        self.seq = (self.seq + 1) % 256
        return Frame(self.seq, command, 0, payload, False)

    def call(self, command: int, payload: dict | None = None) -> Frame:
        return self.service.handle(self.request(command, payload or {}))

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
    is opened as the driver's transport opens it, so closing a socket:// one costs no 0.3 s pause."""

    def __init__(self, url: str):
        self.port = open_port(url, timeout=0.05)
        self.decoder = FrameDecoder()
        self.seq = 0
        self.pending: list[Frame] = []
        self.retries = 0
        """Resends and re-asks, counted by callers that retry."""

    def send(self, command: int, payload: dict, seq: int | None = None) -> Frame:
        if seq is None:
            self.seq = (self.seq + 1) % 256
            seq = self.seq
        request = Frame(seq, command, 0, payload, False)
        self.port.write(encode_frame(request))
        return request

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
        request = self.send(command, payload or {})
        response = self.receive(request.seq, timeout)
        assert response is not None, f"no answer to {Command(command).name} within {timeout} s"
        return response

    def hello(self) -> dict:
        response = self.call(Command.HELLO, {"protocol": 1, "client": "test"})
        assert response.status == Status.OK, response.payload
        return response.payload

    def close(self) -> None:
        self.port.close()
