"""Test fixtures for talking to pumps: the real emulator as a subprocess, and two loopback test doubles.

- ``EmulatorProcess`` / the ``emulator`` fixtures start ``pump-emulator`` on TCP or on a pty with a
  temp state file, read its first line ("listening on ...") with a bounded wait and stop it in
  teardown. The ``emulator_link`` fixture is parametrised over ``tcp`` and ``pty``, so one contract
  suite runs over both links (python-can's back2back idea).
- ``ScriptedPeer`` is a pump stand-in on a loopback TCP port that answers from a Python function,
  for byte-level tests of the transaction engine and of outcomes the real emulator cannot produce.
- ``FrameProxy`` sits between a driver and a TCP emulator and can drop, alter or cut frames one by
  one: the way to lose exactly the answer to a commit.
- ``LOOPBACK_LINK`` are the driver options for a link to any of these: they answer in milliseconds, so a
  test that loses frames on purpose need not wait the half second a real pump is allowed.

The fixtures built on them (``emulator_link``, ``start_emulator``, ``emulator``) are in tests/conftest.py, so
every test may ask for them by name.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.emulator_support import wait_for_exit

from protocol import Command, Frame, FrameDecoder, Status, encode_frame

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 20.0
"""Longest wait for the emulator's first line; a slow CI machine imports pydantic in well under this."""
STOP_TIMEOUT_S = 10.0
PTY_AVAILABLE = sys.platform != "win32"
LOOPBACK_LINK = {"turnaround_s": 0.1, "backoff_s": 0.01}
"""Driver options (``open_driver(url, **LOOPBACK_LINK)``) for a peer on loopback: the emulator answers
within about 10 ms, fsync of a commit included, so 0.1 s instead of the pump's 0.5 s still leaves ten
times that, and its faults need no settling, so resends follow 10, 20, 40 ms apart instead of 0.1,
0.2, 0.4 s. The emulator has no answer delay of its own to configure: only ``--baud`` (not used with
these options) and ``--faults delay=P:S`` slow it, and a delay longer than the turnaround only makes a
resend, which the fault tests are there to provoke anyway. Production keeps the protocol's figures
(docs/protocol.md section 10)."""


def emulator_command() -> list[str]:
    """The installed ``pump-emulator`` script, preferring the one beside this interpreter."""
    script = shutil.which("pump-emulator", path=os.path.dirname(sys.executable)) or shutil.which("pump-emulator")
    if script is None:
        pytest.fail("pump-emulator is not installed: run scripts/bootstrap (pip install -e '.[test]')")
    return [script]


class EmulatorProcess:
    """One ``pump-emulator`` subprocess. ``url`` is what it printed; ``state`` survives restarts."""

    def __init__(self, state: Path, link: str = "tcp", args: tuple[str, ...] = ()) -> None:
        if link not in ("tcp", "pty"):
            raise ValueError(f"link must be tcp or pty, got {link!r}")
        self.state = state
        self.link = link
        self.args = tuple(args)
        self.url: str | None = None
        self._process: subprocess.Popen | None = None
        self._stderr_path = state.with_name(state.name + ".stderr")

    def start(self) -> str:
        """Start the emulator and return its URL once it has printed ``listening on URL``."""
        listen = ["--listen", "tcp://127.0.0.1:0"] if self.link == "tcp" else ["--pty"]
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        with open(self._stderr_path, "ab") as stderr:
            self._process = subprocess.Popen(
                [*emulator_command(), *listen, "--state", str(self.state), *self.args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env,
            )
        first = self._read_first_line()
        prefix = "listening on "
        if not first.startswith(prefix):
            self.stop()
            pytest.fail(f"pump-emulator's first line is {first!r}, expected 'listening on URL'{self._stderr_tail()}")
        self.url = first[len(prefix):]
        threading.Thread(target=self._drain, args=(self._process.stdout,), daemon=True).start()
        return self.url

    def stop(self) -> None:
        """Ask the emulator to stop (SIGTERM), wait a bounded time, then kill it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                wait_for_exit(process, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                wait_for_exit(process, STOP_TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()

    def kill(self) -> None:
        """SIGKILL the emulator at once, as a crash would (its state file must still be consistent)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
        self.stop()

    def _read_first_line(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        fd = self._process.stdout.fileno()
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self.stop()
                    pytest.fail(f"pump-emulator printed no first line within {START_TIMEOUT_S:.0f} s{self._stderr_tail()}")
                chunk = os.read(fd, 1)  # byte by byte: nothing after the first line is taken from the pipe
                if not chunk:
                    self.stop()
                    pytest.fail(f"pump-emulator exited before printing its first line{self._stderr_tail()}")
                data += chunk
        return data.decode("utf-8", "replace").strip()

    @staticmethod
    def _drain(pipe) -> None:
        """Keep reading stdout so a chatty emulator never blocks on a full pipe (stderr goes to a file)."""
        try:
            while pipe.read(4096):
                pass
        except (OSError, ValueError):
            pass  # the pipe was closed by stop()

    def _stderr_tail(self) -> str:
        try:
            text = self._stderr_path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return ""
        return f"\nstderr:\n{text[-2000:]}" if text else ""


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

    HELLO is answered OK automatically (``hello_status`` and ``serial`` change that) unless the
    handler is asked with ``handle_hello=True``. The handler answers with ``peer.reply(...)`` or
    ``peer.send(raw)``, stays silent by doing nothing, or ``peer.hang_up()``. Everything is recorded:
    ``requests`` (connection number, frame) and ``received`` (raw bytes per connection).
    """

    def __init__(self, handler: Callable[[Frame, "ScriptedPeer"], None], handle_hello: bool = False) -> None:
        self.handler = handler
        self.handle_hello = handle_hello
        self.hello_status = Status.OK
        self.serial = "TEST-0001"
        self.requests: list[tuple[int, Frame]] = []
        self.received: list[bytearray] = []
        self._connection: socket.socket | None = None
        super().__init__()

    def requests_for(self, command: Command) -> list[Frame]:
        return [frame for _, frame in self.requests if frame.command == command]

    def reply(self, request: Frame, payload: dict, status: Status = Status.OK, seq: int | None = None) -> None:
        self.send(answer_bytes(request, payload, status, seq))

    def send(self, data: bytes) -> None:
        self._connection.sendall(data)

    def hang_up(self) -> None:
        """Close the current connection, as a pump dropping the link would."""
        self._connection.close()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            self._connection = connection
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
                self.requests.append((number, frame))
                try:
                    if frame.command == Command.HELLO and not self.handle_hello:
                        self._hello(frame)
                    else:
                        self.handler(frame, self)
                except OSError:
                    return

    def _hello(self, request: Frame) -> None:
        if self.hello_status == Status.OK:
            self.reply(request, {"protocol": 1, "model": "TEST", "serial": self.serial})
        else:
            self.reply(request, {"error": "only protocol 2 is spoken here", "field": "protocol"}, self.hello_status)


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
