"""Test fixtures for talking to pumps: the real emulator as a subprocess, and two loopback test doubles.

- ``EmulatorProcess`` / the ``emulator`` fixtures start ``pump-emulator`` on TCP or on a pty with a
  temp state file, through ``emulator.launch`` (its first line read with a bounded wait), and stop it in
  teardown. The ``emulator_link`` fixture is parametrised over ``tcp`` and ``pty``, so a test runs over
  both links (python-can's back2back idea); the driver contract adds the test doubles to those
  (tests/drivers/test_contract.py).
- ``ScriptedPeer`` is a pump stand-in on a loopback TCP port that answers from a Python function,
  for byte-level tests of the transaction engine and of outcomes the real emulator cannot produce. It speaks
  the secure protocol as a pump does (``protocol.secure``: HELLO v2, sealed frames both ways, resends answered
  from its cache), paired with the run's programmer (tests/support/pairing.py); ``secure=False`` makes it a
  version-1 pump.
- ``FrameProxy`` sits between a driver and a TCP emulator and can drop, alter or cut frames one by
  one: the way to lose exactly the answer to a commit.
- ``LOOPBACK_LINK`` are the driver options for a link to any of these: they answer in milliseconds, so a
  test that loses frames on purpose need not wait the half second a real pump is allowed.

The fixtures built on them (``emulator_link``, ``start_emulator``, ``emulator``) are in tests/conftest.py, so
every test may ask for them by name.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator import launch
from tests.support.forked_emulator import ForkedProcess
from tests.support.emulator_support import TEST_KEY, paired_args
from tests.support.pairing import trust_pump
from protocol import Command, Frame, FrameDecoder, Status, encode_frame
from protocol.codes import INSECURE_PROTOCOL_VERSION, OPEN_COMMANDS, PROTOCOL_VERSION
from protocol.secure import FrameRejected, SecureChannel, pump_channel
from drivers.transaction import NEVER_SEALED

STOP_TIMEOUT_S = launch.STOP_TIMEOUT_S
PTY_AVAILABLE = sys.platform != "win32"
LOOPBACK_LINK = {"turnaround_s": 0.1, "backoff_s": 0.01}
"""Driver options (``open_driver(url, **LOOPBACK_LINK)``) for a peer on loopback: the emulator answers
within about 10 ms, fsync of a commit included, so 0.1 s instead of the pump's 0.5 s still leaves ten
times that, and its faults need no settling, so resends follow 10, 20, 40 ms apart instead of 0.1,
0.2, 0.4 s. The emulator has no answer delay of its own to configure: only ``--baud`` (not used with
these options) and ``--faults delay=P:S`` slow it, and a delay longer than the turnaround only makes a
resend, which the fault tests are there to provoke anyway. Production keeps the protocol's figures
(docs/protocol.md section 10)."""


class EmulatorProcess(launch.EmulatorProcess):
    """One emulator on TCP or a pty (``link``) with its memory in ``state``, which survives it (give the same
    file to the next one to restart the pump). Its standard error goes to a file beside ``state``, quoted in
    the test's failure when it does not start. It is forked from a process that has imported the emulator
    already (tests/support/forked_emulator.py says why), or with ``console_script`` run as ``pump-emulator``.

    Unless it is ``--insecure``, it is paired with the run's programmer: started ``--paired-with`` the run's key,
    and once it listens, its serial (from its state file) gets that key in the programmer's keys file."""

    def __init__(self, state: Path, link: str = "tcp", args: tuple[str, ...] = (), console_script: bool = False) -> None:
        if link not in ("tcp", "pty"):
            raise ValueError(f"link must be tcp or pty, got {link!r}")
        listen = ["--listen", "tcp://127.0.0.1:0"] if link == "tcp" else ["--pty"]
        self.paired = "--insecure" not in args
        pairing = paired_args(state.parent) if self.paired and "--paired-with" not in args else ()
        super().__init__([*listen, "--state", str(state), *pairing, *args],
                         stderr=state.with_name(state.name + ".stderr"))
        self.state = state
        self.link = link
        self.console_script = console_script

    def _spawn(self):
        return super()._spawn() if self.console_script else ForkedProcess(self.args, self.stderr)

    def start(self) -> str:
        try:
            url = super().start()
        except launch.LaunchError as exc:
            pytest.fail(str(exc))
        if self.paired:
            self.serial = pump_serial(self.state)
            trust_pump(self.serial)
        return url


    def pairing_code(self) -> str:
        """The code of the pairing window opened at start (``--pairing-window``: the line after the first)."""
        try:
            return self.read_pairing_code()[0]
        except launch.LaunchError as exc:
            pytest.fail(str(exc))




def pump_serial(state: Path) -> str:
    """The serial of the pump whose memory is ``state``: an emulator started ``--paired-with`` saves it (with the
    programmer it was paired with) before it prints its first line."""
    return str(json.loads(state.read_text(encoding="utf-8"))["serial"])


def unused_loopback_port() -> int:
    """A loopback TCP port nobody listens on (the system's pick, let go at once): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- test doubles on loopback ------------------------------------------------------------------------


def answer_bytes(request: Frame, payload: dict, status: Status = Status.OK, seq: int | None = None) -> bytes:
    """The wire bytes of a response to ``request`` (optionally with another seq, to fake a stale answer)."""
    return encode_frame(Frame(request.seq if seq is None else seq, request.command, status, payload, True))


class LoopbackServer:
    """A TCP server on 127.0.0.1 that serves one connection at a time on its own thread until ``close``.
    Subclasses say what to do with a connection in ``_handle`` (which owns and closes it)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = "socket://127.0.0.1:%d" % self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=STOP_TIMEOUT_S)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._handle(connection)

    def _handle(self, connection: socket.socket) -> None:
        raise NotImplementedError


class ScriptedPeer(LoopbackServer):
    """A pump stand-in on 127.0.0.1 that answers each request frame through ``handler(request, peer)``.

    HELLO is answered OK automatically (``hello_status`` and ``serial`` change that), and END_SESSION (the
    driver's goodbye when it closes) with OK, unless the handler is asked with ``handle_hello=True``. The handler answers with ``peer.reply(...)`` or
    ``peer.send(raw)``, stays silent by doing nothing, or ``peer.hang_up()``. Everything is recorded:
    ``requests`` (connection number, frame as opened), ``sealed`` (connection number, frame as it came, sealed
    or not) and ``received`` (raw bytes per connection).

    Secure (the default), it answers a version-2 HELLO with ``pump_channel`` under the run's pair key
    (``pair_key``), hands the handler each sealed request opened, seals ``reply``'s answers in the session and
    answers a resend (same counter) of an answered request with the same sealed bytes, never the handler again
    (one it left unanswered goes to the handler again, which decides); a sealed frame that
    does not open is dropped and counted (``rejected``), one outside a session answered NOT_AUTHENTICATED in
    clear, as a pump does. ``peer.send`` sends bytes as they are (a forged or a clear answer).
    """

    def __init__(self, handler: Callable[[Frame, "ScriptedPeer"], None], handle_hello: bool = False,
                 secure: bool = True) -> None:
        self.handler = handler
        self.handle_hello = handle_hello
        self.secure = secure
        self.hello_status = Status.OK
        self.serial = "TEST-0001"
        self.pair_key = TEST_KEY
        self.requests: list[tuple[int, Frame]] = []
        self.sealed: list[tuple[int, Frame]] = []
        self.received: list[bytearray] = []
        self.rejected: list[str] = []
        self.channel: SecureChannel | None = None
        self._last_answer = b""
        self._last_answer_to: tuple[int, int] | None = None
        self._connection: socket.socket | None = None
        trust_pump(self.serial)
        super().__init__()

    def requests_for(self, command: Command) -> list[Frame]:
        return [frame for _, frame in self.requests if frame.command == command]

    def reply(self, request: Frame, payload: dict, status: Status = Status.OK, seq: int | None = None) -> None:
        """Answer ``request``: sealed in a session (and kept for a resend), in clear otherwise."""
        self.send(self.answer_bytes(request, payload, status, seq))

    def answer_bytes(self, request: Frame, payload: dict, status: Status = Status.OK, seq: int | None = None) -> bytes:
        """The wire bytes ``reply`` sends, without sending them: sealed in a session (and kept for a resend)."""
        if self.channel is None or request.command in NEVER_SEALED:
            return answer_bytes(request, payload, status, seq)
        answer = Frame(request.seq if seq is None else seq, request.command, status, payload, True)
        self._last_answer = encode_frame(self.channel.seal(answer))
        self._last_answer_to = (request.seq, request.command)
        return self._last_answer

    def send(self, data: bytes) -> None:
        self._connection.sendall(data)

    def hang_up(self) -> None:
        """Close the current connection, as a pump dropping the link would."""
        self._connection.close()

    def reset(self) -> None:
        """Abort the current connection with a TCP reset (RST), as a peer that crashed or a middlebox would."""
        self._connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._connection.close()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            self._connection = connection
            self.channel = None
            self.received.append(bytearray())
            self._talk(connection, len(self.received) - 1, FrameDecoder())

    def _talk(self, connection: socket.socket, number: int, decoder: FrameDecoder) -> None:
        connection.settimeout(0.05)
        while not self._stop.is_set():
            try:
                data = connection.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return  # hung up by the handler
            if not data:
                return
            self.received[number] += data
            for frame in decoder.feed(data):
                self.sealed.append((number, frame))
                try:
                    self._take(number, frame)
                except OSError:
                    return

    def _take(self, number: int, frame: Frame) -> None:
        if frame.sealed:
            if self.channel is None:
                self.send(answer_bytes(frame, {"error": "no session: say HELLO first", "field": None},
                                       Status.NOT_AUTHENTICATED))
                return
            try:
                opened = self.channel.open(frame)
            except FrameRejected as exc:
                self.rejected.append(exc.reason)
                return
            frame = opened.frame
            if opened.repeat and self._last_answer_to == (frame.seq, frame.command):
                self.send(self._last_answer)  # a resend of what was answered: the same sealed answer again
                return
        elif self.channel is not None and frame.command not in OPEN_COMMANDS:
            self.rejected.append("clear")
            return
        self.requests.append((number, frame))
        if frame.command == Command.HELLO and not self.handle_hello:
            self._hello(frame)
        elif frame.command == Command.END_SESSION and not self.handle_hello:
            self.reply(frame, {})  # answered at once, so closing a driver never waits out its timeout
        else:
            self.handler(frame, self)

    def _hello(self, request: Frame) -> None:
        """HELLO as a pump answers it: version 2 with a fresh session when secure, version 1 otherwise."""
        self.channel = None
        spoken = PROTOCOL_VERSION if self.secure else INSECURE_PROTOCOL_VERSION
        if self.hello_status != Status.OK:
            self.reply(request, {"error": f"this pump speaks protocol {spoken}", "field": "protocol"},
                       self.hello_status)
        elif request.payload.get("protocol") != spoken:
            self.reply(request, {"error": f"protocol {request.payload.get('protocol')} is not supported; this pump "
                                          f"speaks {spoken}", "field": "protocol"}, Status.UNSUPPORTED_VERSION)
        elif not self.secure:
            self.reply(request, {"protocol": spoken, "model": "TEST", "serial": self.serial})
        else:
            answer, self.channel = pump_channel(self.pair_key, self.serial, request.payload,
                                                {"protocol": spoken, "model": "TEST", "serial": self.serial})
            self.send(answer_bytes(request, answer))


FrameFilter = Callable[[str, Frame | None, bytes], bytes | None]
"""``filter(direction, frame, wire)`` with direction ``"to_pump"`` or ``"to_client"``; ``frame`` is None
for bytes that are not a valid frame. Returns the bytes to forward (``wire``, something else, or b"" to
drop) or None to cut the connection there."""


class FrameProxy(LoopbackServer):
    """A loopback TCP proxy between a driver and a TCP emulator that lets a filter act frame by frame.

    ``url`` is what the driver opens; each client connection gets a fresh upstream connection, like a
    reconnecting telemetry head.
    """

    def __init__(self, upstream_url: str, frame_filter: FrameFilter) -> None:
        host, port = upstream_url.removeprefix("socket://").rsplit(":", 1)
        self._upstream = (host, int(port))
        self.frame_filter = frame_filter
        self.connections = 0
        super().__init__()

    def _handle(self, client: socket.socket) -> None:
        self.connections += 1
        try:
            pump = socket.create_connection(self._upstream, timeout=STOP_TIMEOUT_S)
        except OSError:
            client.close()  # the emulator is gone (killed, say): the client sees the link drop
            return
        with client, pump:
            done = threading.Event()
            pumps = [threading.Thread(target=self._pipe, args=(client, pump, "to_pump", done), daemon=True),
                     threading.Thread(target=self._pipe, args=(pump, client, "to_client", done), daemon=True)]
            for thread in pumps:
                thread.start()
            while not (done.is_set() or self._stop.is_set()):
                done.wait(0.05)
            for sock in (client, pump):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            for thread in pumps:
                thread.join(timeout=STOP_TIMEOUT_S)

    def _pipe(self, source: socket.socket, sink: socket.socket, direction: str, done: threading.Event) -> None:
        """Forward ``source`` to ``sink`` one delimited chunk at a time, through the filter."""
        decoder = FrameDecoder()
        pending = b""
        source.settimeout(0.05)
        try:
            while not done.is_set():
                try:
                    data = source.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                pending += data
                while b"\x00" in pending:
                    wire, pending = pending.split(b"\x00", 1)
                    wire += b"\x00"
                    frames = decoder.feed(wire)
                    out = self.frame_filter(direction, frames[0] if frames else None, wire)
                    if out is None:
                        return
                    sink.sendall(out)
        except OSError:
            return
        finally:
            done.set()
