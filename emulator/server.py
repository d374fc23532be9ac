"""Transports: the emulator on a loopback TCP port or a pseudo-terminal, served by one thread.

One ``select`` loop does everything in order, so nothing needs a lock: it reads bytes, lets the fault
injector act on each wire frame, decodes requests, answers them through each connection's protocol state,
paces the answers at ``baud / 10`` bytes per second when throttled, and runs the pump's engine, sessions,
pairing window and memory between times. The test bench's control channel (``emulator/control.py``), when there
is one, is served by the same loop, so its actions too fall between two requests.

TCP takes up to MAX_CONNECTIONS connections at once, each with its own decoder, queues and session (one
programmer at a time is the sessions' rule, not the transport's). Nobody who has not authenticated can starve
the programmer that has: a connection past the limit, or past MAX_ACCEPTS_PER_S, is accepted and closed at
once; a connection that sends nothing authentic for the idle timeout is closed; one that never reads its
answers is dropped past MAX_UNSENT_BYTES; its unfinished frame is bounded by the decoder. A pty is one
connection, with whoever opens the printed device.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import pty
import select
import socket
import sys
import time
import traceback
import tty
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from emulator.control import ControlEndpoint
from emulator.faults import FaultInjector, Piece
from emulator.pump import Pump
from emulator.service import Connection, Service
from protocol.codes import BITS_PER_BYTE, Command, Status
from protocol.frame import DELIMITER, MAX_WIRE_FRAME, Frame, FrameDecoder, encode_frame

TICK_S = 0.25
"""Real seconds between engine runs when no request arrives (alarms are raised on time in between)."""
_LATE_S = 0.05
"""A throttled line that fell behind by less than this catches up; a longer gap means the line was idle."""
_READ_SIZE = 4096
MAX_UNSENT_BYTES = 4 * MAX_WIRE_FRAME
"""Answers waiting to be written, at most (four of the largest frames). A client that keeps asking and never
reads would otherwise grow the emulator's memory without end: past this bound a TCP client is dropped (and a
pty's unread answers are thrown away, since a pty cannot be unplugged)."""
MAX_CONNECTIONS = 4
"""TCP connections served at once; one more is accepted and closed at once."""
MAX_ACCEPTS_PER_S = 20
"""Connections accepted in any one second; past it they are accepted and closed at once."""


def loopback_address(url: str) -> tuple[str, int]:
    """Host and port of ``tcp://HOST:PORT``; ValueError unless HOST is a loopback address."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"--listen {url!r}: expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:0")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"--listen {url!r}: the port is not a number in 0..65535") from None
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"--listen {url!r}: only loopback addresses (127.0.0.0/8, ::1) are allowed")
    return host, port if port is not None else 0


class TcpTransport:
    """A listening loopback socket; the server accepts its connections."""

    def __init__(self, host: str, port: int):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family)
        self.listener.setblocking(False)
        bound_host, bound_port = self.listener.getsockname()[:2]
        shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
        self.address = f"socket://{shown}:{bound_port}"

    def accept(self) -> socket.socket | None:
        """A waiting connection, non-blocking and without Nagle's delay, or None."""
        try:
            client, _ = self.listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return None
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client

    def close(self) -> None:
        self.listener.close()


class PtyTransport:
    """A pseudo-terminal in raw mode. The emulator keeps the slave side open so reads never see EOF."""

    def __init__(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.address = os.ttyname(self._slave)

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@dataclass
class _Queued:
    due: float
    data: bytes
    disconnect: bool = False


@dataclass(eq=False)
class _Link:
    """One connection's bytes: what is half received, what waits to be acted on or sent, and its protocol state.
    ``sock`` is None for the pty, which cannot be unplugged."""

    fd: int
    sock: socket.socket | None
    connection: Connection
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    partial: bytes = b""
    incoming: deque[_Queued] = field(default_factory=deque)
    outgoing: deque[_Queued] = field(default_factory=deque)
    line_free_at: float = 0.0
    write_blocked: bool = False


class Server:
    def __init__(self, pump: Pump, service: Service, transport: TcpTransport | PtyTransport, faults: FaultInjector,
                 baud: int | None = None, control: ControlEndpoint | None = None):
        self.pump = pump
        self.control = control
        self.service = service
        self.transport = transport
        self.faults = faults
        self.baud = baud
        self._stopping = False
        self._window_asked: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._links: dict[int, _Link] = {}
        self._accepted: deque[float] = deque()
        if isinstance(transport, PtyTransport):
            self._add_link(transport.master, None)

    def stop(self) -> None:
        """Ask the loop to finish (safe to call from a signal handler)."""
        self._stopping = True
        self._wake()

    def ask_pairing_window(self, seconds: int) -> None:
        """Open the pairing window from the loop (safe to call from a signal handler: SIGUSR1)."""
        self._window_asked = seconds
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"!")
        except BlockingIOError:
            pass

    def _add_link(self, fd: int, sock: socket.socket | None) -> None:
        self._links[fd] = _Link(fd, sock, self.service.connect())

    def serve(self) -> None:
        """Serve until ``stop``; then end the session (the pump restarts) and save the pump's state."""
        next_tick = 0.0
        try:
            while not self._stopping:
                now = time.monotonic()
                if self._window_asked is not None:
                    self.service.window.open(self._window_asked)
                    self._window_asked = None
                for link in list(self._links.values()):
                    self._process_incoming(link, now)
                    self._send_outgoing(link, now)
                if now >= next_tick:
                    self._tick(now)
                    next_tick = now + TICK_S
                self._wait(max(0.0, min([next_tick, *self._due_times()]) - time.monotonic()))
        finally:
            self.service.sessions.end(self.service.sessions.active, "restart")
            self.pump.sync()
            self.pump.save()
            for link in list(self._links.values()):
                if link.sock is not None:
                    link.sock.close()
            self.transport.close()
            if self.control is not None:
                self.control.close()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _tick(self, now: float) -> None:
        """Between requests: the engine, an idle session, the pairing window, idle connections, the memory."""
        self.pump.sync()
        self.service.sessions.expire()
        self.service.window.expire()
        idle_s = self.service.sessions.idle_timeout_s
        for link in list(self._links.values()):
            if link.sock is not None and now - link.connection.last_authentic >= idle_s:
                self._drop(link)
        self.pump.save_if_due()

    def _due_times(self) -> list[float]:
        times = []
        for link in self._links.values():
            if link.incoming:
                times.append(link.incoming[0].due)
            if link.outgoing and not link.write_blocked:
                times.append(max(link.outgoing[0].due, link.line_free_at if self.baud else 0.0))
        return times

    def _wait(self, timeout: float) -> None:
        listener = [self.transport.listener.fileno()] if isinstance(self.transport, TcpTransport) else []
        writers = [link.fd for link in self._links.values() if link.write_blocked]
        control = [] if self.control is None else self.control.fds()
        readable, writable, _ = select.select([self._wake_r, *listener, *self._links, *control], writers, [], timeout)
        if self._wake_r in readable:
            os.read(self._wake_r, 64)
        for fd in writable:
            if fd in self._links:
                self._links[fd].write_blocked = False
        if listener and listener[0] in readable:
            self._accept()
        for fd in readable:
            if fd in self._links:
                self._receive(self._links[fd])
            elif self.control is not None and fd in control:
                self.control.readable(fd)

    def _accept(self) -> None:
        """Take a waiting connection, or close it at once when MAX_CONNECTIONS are served or
        MAX_ACCEPTS_PER_S were accepted in the last second."""
        assert isinstance(self.transport, TcpTransport)
        client = self.transport.accept()
        if client is None:
            return
        now = time.monotonic()
        while self._accepted and now - self._accepted[0] >= 1.0:
            self._accepted.popleft()
        if len(self._links) >= MAX_CONNECTIONS or len(self._accepted) >= MAX_ACCEPTS_PER_S:
            client.close()
            return
        self._accepted.append(now)
        self._add_link(client.fileno(), client)

    def _receive(self, link: _Link) -> None:
        try:
            data = os.read(link.fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: a pty with nobody on the other side
                self._drop(link)
            return
        if not data:
            self._drop(link)
            return
        now = time.monotonic()
        link.partial += data
        while (end := link.partial.find(DELIMITER)) >= 0:
            frame, link.partial = link.partial[: end + 1], link.partial[end + 1 :]
            self._enqueue(link.incoming, self.faults.transmit(frame, outgoing=False), now)
        if len(link.partial) > MAX_WIRE_FRAME:  # no delimiter in sight: garbage for the decoder to skip
            self._enqueue(link.incoming, [Piece(link.partial)], now)
            link.partial = b""

    @staticmethod
    def _enqueue(queue: deque[_Queued], pieces: list[Piece], now: float) -> None:
        """Queue in order; a delayed piece holds back everything behind it, as on a real line."""
        for piece in pieces:
            due = max(now + piece.delay_s, queue[-1].due if queue else now)
            queue.append(_Queued(due, piece.data, piece.disconnect))

    def _process_incoming(self, link: _Link, now: float) -> None:
        while link.incoming and link.incoming[0].due <= now:
            for request in link.decoder.feed(link.incoming.popleft().data):
                answer = self._answer(link.connection, request)
                if link.connection.acted == Command.COMMIT_PROGRAM and self.faults.cut_commit():
                    if link.sock is not None:
                        self._drop(link)  # the commit is done and on disk; its answer never leaves
                        return
                    continue
                if answer is not None:
                    self._enqueue(link.outgoing, self.faults.transmit(answer, outgoing=True), now)
            if sum(len(item.data) for item in link.outgoing) > MAX_UNSENT_BYTES:
                print(f"pump-emulator: the client reads none of its answers ({MAX_UNSENT_BYTES} bytes unsent): "
                      "dropped", file=sys.stderr, flush=True)
                link.outgoing.clear()
                self._drop(link)
                return

    def _answer(self, connection: Connection, request: Frame) -> bytes | None:
        """The encoded answer to a decoded frame (None: nothing is sent). Nothing a request holds may stop the
        loop: whatever fails on the way is answered INTERNAL, and serving goes on."""
        try:
            response = connection.handle(request, self.faults.busy)
            return None if response is None else encode_frame(response)
        except Exception:  # noqa: BLE001 - a firmware bug must not stop the pump answering
            traceback.print_exc(file=sys.stderr)
            return encode_frame(connection.error(request, Status.INTERNAL, "internal error in the pump (see emulator "
                                                                           "log)"))

    def _send_outgoing(self, link: _Link, now: float) -> None:
        while link.outgoing and link.outgoing[0].due <= now and not link.write_blocked:
            if self.baud and link.line_free_at > now:
                return
            item = link.outgoing[0]
            chunk = item.data[: max(1, self.baud // BITS_PER_BYTE // 50)] if self.baud else item.data
            try:
                sent = os.write(link.fd, chunk)
            except BlockingIOError:
                link.write_blocked = True
                return
            except OSError:
                self._drop(link)
                return
            if self.baud:
                start = link.line_free_at if now - link.line_free_at < _LATE_S else now
                link.line_free_at = start + sent * BITS_PER_BYTE / self.baud
            item.data = item.data[sent:]
            if not item.data:
                link.outgoing.popleft()
                if item.disconnect:
                    self._drop(link)
                    return

    def _drop(self, link: _Link) -> None:
        """Close a TCP connection (its session ends). A pty cannot be unplugged: a cut answer is all it gets."""
        if link.sock is None:
            return
        del self._links[link.fd]
        link.sock.close()
        link.connection.close()
        link.incoming.clear()
        link.outgoing.clear()
