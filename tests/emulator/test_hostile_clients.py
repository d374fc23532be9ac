"""What a hostile or broken local client can do to the emulator over a real link, and what it must not: crash
it with one frame, get BUSY for a resend, grow its memory by never reading, or run its clock past what a
date can hold. Each test ends by checking that the emulator still serves a well-behaved client."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path

import pytest

from emulator.service import MAX_ERROR_TEXT, MAX_FIELD_TEXT
from protocol.codes import MAX_PAYLOAD, Command, Status
from protocol.frame import Frame, FrameDecoder, encode_frame
from protocol.secure import programmer_channel
from tests.support.emulator_support import SERVICE, TEST_KEY, TEST_PROGRAMMER, WireClient, hello_payload

LONG_KEY = "k" * (MAX_PAYLOAD - 40)  # a payload that fits, whose error would echo the key


def serves(url: str) -> dict:
    """A fresh client's HELLO and READ_STATUS answered OK: the emulator is still serving."""
    client = WireClient(url)
    try:
        client.hello()
        response = client.call(Command.READ_STATUS)
        assert response.status == Status.OK, response.payload
        return response.payload
    finally:
        client.close()


def test_an_error_that_would_echo_a_payload_sized_key_is_cut_to_fit_and_the_emulator_serves_on(start_emulator):
    emulator = start_emulator()
    client = WireClient(emulator.url)
    client.hello()
    payload = {LONG_KEY: 1}
    assert len(json.dumps(payload)) <= MAX_PAYLOAD
    response = client.call(Command.READ_EVENTS, payload)
    assert response.status == Status.BAD_ARGUMENT
    assert len(response.payload["error"]) <= MAX_ERROR_TEXT and response.payload["error"].endswith("…")
    assert len(response.payload["field"]) == MAX_FIELD_TEXT and response.payload["field"].startswith("kkk")
    # The same sealed bytes again (a resend): the same cut answer, from the cache.
    client.write(client.sent[-1])
    assert client.opened(client.receive(response.seq)).payload == response.payload
    client.close()
    assert emulator.process.poll() is None
    serves(emulator.url)


def test_a_resend_gets_its_first_answer_even_when_the_pump_would_be_busy(start_emulator):
    # Half of all new requests are answered BUSY; a resend never is: it gets the answer the first copy got.
    emulator = start_emulator("--faults", "seed=3,busy=0.5")
    client = WireClient(emulator.url)
    while (hello := client.call(Command.HELLO, request := hello_payload())).status != Status.OK:
        pass
    client.channel = programmer_channel(TEST_KEY, TEST_PROGRAMMER, request, hello.payload)
    while (first := client.call(Command.READ_STATUS)).status != Status.OK:
        pass
    answered = client.sent[-1]
    for _ in range(30):  # with BUSY before the cache, 30 resends would all pass with odds 2 ** -30
        client.write(answered)  # the very same sealed bytes
        again = client.opened(client.receive(first.seq))
        assert again is not None and (again.status, again.payload) == (Status.OK, first.payload)
    client.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_client_that_asks_and_never_reads_is_dropped_before_the_emulator_grows(start_emulator):
    emulator = start_emulator()
    host, port = emulator.url.removeprefix("socket://").rsplit(":", 1)
    rude = socket.create_connection((host, int(port)))
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel holds little on our side
    rude.sendall(encode_frame(Frame(0, Command.HELLO, 0, {"protocol": 1, "client": "rude"}, False)))
    before = rss_kib(emulator.process.pid)
    # 3000 status requests ask for about 2 MB of answers, far beyond what the kernel buffers between us.
    request = b"".join(encode_frame(Frame(seq % 256, Command.READ_STATUS, 0, {}, False)) for seq in range(1, 3001))
    rude.settimeout(10)
    try:
        rude.sendall(request)
    except OSError:
        pass  # dropped while still sending: what we are checking for
    # Dropped: reading now reaches the end of the stream (or a reset), not an endless flow of answers.
    received, ended = 0, False
    while not ended:
        try:
            chunk = rude.recv(65536)
        except ConnectionResetError:
            chunk = b""
        received += len(chunk)
        ended = not chunk
    rude.close()
    assert received < 1_000_000
    assert rss_kib(emulator.process.pid) - before < 20_000  # KiB: bounded, not the megabytes it asked for
    assert "reads none of its answers" in emulator.stderr.read_text()
    serves(emulator.url)


def test_the_clock_stands_still_at_its_end_however_fast_it_runs(start_emulator, tmp_path):
    state = tmp_path / "old.json"
    start_emulator(state=state).stop()  # a factory-new pump's memory, written
    memory = json.loads(state.read_text())
    memory["pump_time"] = "8999-12-31T23:00:00"
    state.write_text(json.dumps(memory))
    emulator = start_emulator("--service", "--speed", "1e7", state=state)
    client = WireClient(emulator.url)
    client.hello()
    response = client.call(SERVICE, {"action": "advance", "hours": 2})
    assert (response.status, response.payload["field"]) == (Status.OUT_OF_RANGE, "hours")
    assert "9000-01-01T00:00:00" in response.payload["error"]
    client.close()
    # An hour at 1e7 simulated seconds a second passes in under a millisecond: then the clock stands still.
    status = serves(emulator.url)
    assert datetime.fromisoformat(status["pump_time"]) <= datetime(9000, 1, 1)
    assert emulator.process.poll() is None
