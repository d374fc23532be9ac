"""Transports: the emulator on a loopback TCP port or a pseudo-terminal, served by one thread.

One ``select`` loop does everything in order, so nothing needs a lock: it reads bytes, lets the fault
injector act on each wire frame, decodes requests, answers them through the service, paces the answers
at ``baud / 10`` bytes per second when throttled, and runs the pump's engine and memory between times.
TCP serves one client at a time; a new connection replaces the current one (a client that vanished
without closing cannot block the next). A pty serves whoever opens the printed device.
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
from dataclasses import dataclass
from urllib.parse import urlsplit

from emulator.faults import FaultInjector, Piece
from emulator.pump import Pump
from emulator.service import Service
from protocol.codes import BITS_PER_BYTE, Status
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
    """A listening loopback socket and at most one connected client."""

    def __init__(self, host: str, port: int):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family)
        self.listener.setblocking(False)
        bound_host, bound_port = self.listener.getsockname()[:2]
        shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
        self.address = f"socket://{shown}:{bound_port}"
        self.client: socket.socket | None = None

    def wait_fds(self) -> list[int]:
        return [self.listener.fileno()] + ([self.client.fileno()] if self.client else [])

    def accept(self) -> bool:
        """Take a waiting connection (replacing the current client); True if there is a new client."""
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return False
        self.disconnect()
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client = client
        return True

    @property
    def fd(self) -> int | None:
        return self.client.fileno() if self.client else None

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        self.disconnect()
        self.listener.close()


class PtyTransport:
    """A pseudo-terminal in raw mode. The emulator keeps the slave side open so reads never see EOF."""

    def __init__(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.address = os.ttyname(self._slave)

    def wait_fds(self) -> list[int]:
        return [self.master]

    def accept(self) -> bool:
        return False

    @property
    def fd(self) -> int:
        return self.master

    def disconnect(self) -> None:
        """A pty cannot be unplugged: a cut answer is all a disconnect does here."""

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@dataclass
class _Queued:
    due: float
    data: bytes
    disconnect: bool = False


class Server:
    def __init__(self, pump: Pump, service: Service, transport, faults: FaultInjector, baud: int | None = None):
        self.pump = pump
        self.service = service
        self.transport = transport
        self.faults = faults
        self.baud = baud
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._reset_link()

    def stop(self) -> None:
        """Ask the loop to finish (safe to call from a signal handler)."""
        self._stopping = True
        try:
            os.write(self._wake_w, b"!")
        except BlockingIOError:
            pass

    def _reset_link(self) -> None:
        """A fresh link: nothing half-received, nothing queued, and a new session."""
        self._decoder = FrameDecoder()
        self._partial = b""
        self._incoming: deque[_Queued] = deque()
        self._outgoing: deque[_Queued] = deque()
        self._line_free_at = 0.0
        self._write_blocked = False
        self.service.new_session()

    def serve(self) -> None:
        """Serve until ``stop``; then save the pump's state one last time."""
        next_tick = 0.0
        try:
            while not self._stopping:
                now = time.monotonic()
                self._process_incoming(now)
                self._send_outgoing(now)
                if now >= next_tick:
                    self.pump.sync()
                    self.pump.save_if_due()
                    next_tick = now + TICK_S
                self._wait(max(0.0, min([next_tick, *self._due_times()]) - time.monotonic()))
        finally:
            self.pump.sync()
            self.pump.save()
            self.transport.close()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _due_times(self) -> list[float]:
        times = [self._incoming[0].due] if self._incoming else []
        if self._outgoing and not self._write_blocked:
            times.append(max(self._outgoing[0].due, self._line_free_at if self.baud else 0.0))
        return times

    def _wait(self, timeout: float) -> None:
        fd = self.transport.fd
        writers = [fd] if self._write_blocked and fd is not None else []
        readable, writable, _ = select.select([self._wake_r, *self.transport.wait_fds()], writers, [], timeout)
        if self._wake_r in readable:
            os.read(self._wake_r, 64)
        if writable:
            self._write_blocked = False
        if self.transport.accept():
            self._reset_link()
        elif fd is not None and fd in readable:
            self._receive(fd)

    def _receive(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: a pty with nobody on the other side
                self._drop_client()
            return
        if not data:
            self._drop_client()
            return
        now = time.monotonic()
        self._partial += data
        while (end := self._partial.find(DELIMITER)) >= 0:
            frame, self._partial = self._partial[: end + 1], self._partial[end + 1 :]
            self._enqueue(self._incoming, self.faults.transmit(frame, outgoing=False), now)
        if len(self._partial) > MAX_WIRE_FRAME:  # no delimiter in sight: garbage for the decoder to skip
            self._enqueue(self._incoming, [Piece(self._partial)], now)
            self._partial = b""

    @staticmethod
    def _enqueue(queue: deque[_Queued], pieces: list[Piece], now: float) -> None:
        """Queue in order; a delayed piece holds back everything behind it, as on a real line."""
        for piece in pieces:
            due = max(now + piece.delay_s, queue[-1].due if queue else now)
            queue.append(_Queued(due, piece.data, piece.disconnect))

    def _process_incoming(self, now: float) -> None:
        while self._incoming and self._incoming[0].due <= now:
            for request in self._decoder.feed(self._incoming.popleft().data):
                answer = self._answer(request)
                if answer is not None:
                    self._enqueue(self._outgoing, self.faults.transmit(answer, outgoing=True), now)
            if sum(len(item.data) for item in self._outgoing) > MAX_UNSENT_BYTES:
                print(f"pump-emulator: the client reads none of its answers ({MAX_UNSENT_BYTES} bytes unsent): "
                      "dropped", file=sys.stderr, flush=True)
                self._outgoing.clear()
                self._drop_client()
                return

    def _answer(self, request: Frame) -> bytes | None:
        """The encoded answer to a decoded frame (None for a response, which is never answered). Nothing a
        request holds may stop the loop: whatever fails on the way is answered INTERNAL, and serving goes on."""
        try:
            response: Frame | None
            if not request.is_response and not self.service.is_resend(request) and self.faults.busy():
                response = self.service.error(request, Status.BUSY, "busy (injected fault): try again")
            else:
                response = self.service.handle(request)
            return None if response is None else encode_frame(response)
        except Exception:  # noqa: BLE001 - a firmware bug must not stop the pump answering
            traceback.print_exc(file=sys.stderr)
            return encode_frame(self.service.error(request, Status.INTERNAL, "internal error in the pump (see "
                                                                             "emulator log)"))

    def _send_outgoing(self, now: float) -> None:
        fd = self.transport.fd
        while self._outgoing and self._outgoing[0].due <= now and not self._write_blocked:
            if fd is None:
                self._outgoing.clear()
                return
            if self.baud and self._line_free_at > now:
                return
            item = self._outgoing[0]
            chunk = item.data[: max(1, self.baud // BITS_PER_BYTE // 50)] if self.baud else item.data
            try:
                sent = os.write(fd, chunk)
            except BlockingIOError:
                self._write_blocked = True
                return
            except OSError:
                self._drop_client()
                return
            if self.baud:
                start = self._line_free_at if now - self._line_free_at < _LATE_S else now
                self._line_free_at = start + sent * BITS_PER_BYTE / self.baud
            item.data = item.data[sent:]
            if not item.data:
                self._outgoing.popleft()
                if item.disconnect:
                    self._drop_client()
                    return

    def _drop_client(self) -> None:
        self.transport.disconnect()
        if self.transport.fd is None:
            self._reset_link()
