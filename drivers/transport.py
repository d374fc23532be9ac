"""The byte stream to a pump: anything pyserial opens from one settings field.

``serial.serial_for_url`` handles a device path (``/dev/ttyUSB0``, ``COM3``, a pty path) and URLs
(``socket://host:port``, ``loop://``, ``rfc2217://``, ``spy://``), so the driver never cares which it
got (which forms reach it is ``programmer.port.open_driver``'s choice, by scheme). A transport only
moves bytes: it never assumes one read is one frame (USB-serial adapters hand bytes over in batches of
~16 ms, a TCP link in whatever segments it likes); framing and timeouts belong to the transaction layer
above it.

``socket://`` is opened with pyserial's own socket port minus two things (see ``_SocketPort``): the 0.3 s pause
its ``close`` takes, which every CLI command and every reconnect would pay for nothing, and its ``in_waiting``,
which counts at most one byte, so that a long answer was read a byte at a time.

Every failure of the port leaves a transport as one exception, ``serial.SerialException``, so the layer
above has one thing to catch and turn into a ``LinkError``. pyserial does not promise that itself: on a
POSIX port whose device went away (a USB adapter pulled out, a pty whose other end closed) ``in_waiting``
raises a bare ``OSError`` and ``flush`` and ``reset_input_buffer`` raise ``termios.error``, which is not an
``OSError`` at all. A transport converts those.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import serial
from serial.urlhandler import protocol_socket

from programmer.port import url_scheme
try:
    import fcntl
    import termios
except ImportError:  # Windows: pyserial's port there fails with OSError (SerialException) only
    PORT_ERRORS: tuple[type[Exception], ...] = (OSError,)
    FIONREAD: int | None = None
else:
    PORT_ERRORS = (OSError, termios.error)
    FIONREAD = termios.FIONREAD
"""What a pyserial port may raise when its device fails (``serial.SerialException`` is an ``OSError``)."""

POLL_S = 0.02
"""Longest a single read blocks. Short, so the layer above checks its own deadline often."""


class _SocketPort(protocol_socket.Serial):
    """pyserial's ``socket://`` port, whose ``close`` does not then sleep for 0.3 s.

    pyserial (3.5, ``serial/urlhandler/protocol_socket.py``) ends ``close`` with ``time.sleep(0.3)`` "in
    case of quick reconnects, give the server some time". Here that pause only costs time: a command of
    the CLI closes its port once, when it is done, and the transaction layer never reopens a lost link
    without first waiting its retry back-off, which is the settling time pyserial means (a peer that
    refuses a new connection while still busy with the old one gets the same back-off). So only
    ``close`` is replaced, with the same shutdown-then-close minus the sleep; connecting, the select-based
    reads, write timeouts and errors (``SerialException``) stay pyserial's own, which is why this is a
    subclass and not a socket transport of our own. Unlike pyserial's, it also closes the socket when the
    shutdown fails (a peer that already reset the connection), instead of leaving it to the collector.
    """

    is_open: bool
    _socket: socket.socket | None
    """pyserial's own attributes (it ships no types): the open flag and the connected socket."""

    @property
    def in_waiting(self) -> int:
        """The bytes received and not read yet, as the socket counts them (``FIONREAD``). pyserial's own says only
        whether there is at least one (1 or 0), so ``Transport.read`` took a 2 kB answer a byte at a time, three
        system calls a byte. At the end of the stream the count is 0: what came before it is returned first, and
        the next read finds the link closed. Where the system has no such count (Windows), pyserial's."""
        if FIONREAD is None or self._socket is None:
            return super().in_waiting
        count = fcntl.ioctl(self._socket.fileno(), FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", count)[0]

    def close(self) -> None:
        if not self.is_open:
            return
        sock, self._socket = self._socket, None
        self.is_open = False
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the peer is already gone: there is nothing left to shut down
            sock.close()


def open_port(url: str, **settings: object) -> serial.SerialBase:
    """Open ``url`` as ``serial.serial_for_url(url, **settings)`` does; ``socket://`` as a ``_SocketPort``."""
    if url_scheme(url) == "socket":
        return _SocketPort(url, **settings)
    return serial.serial_for_url(url, **settings)


class Transport:
    """One reopenable pyserial port. Every failure of the port surfaces as ``serial.SerialException``."""

    def __init__(self, url: str, baudrate: int, write_timeout_s: float) -> None:
        self.url = url
        self.baudrate = baudrate
        self.write_timeout_s = write_timeout_s
        self._port: serial.SerialBase | None = None

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def open(self) -> None:
        """Open (or reopen) the port and discard whatever an earlier session left in its input buffer.

        A serial device (a path, no URL scheme) is opened exclusively (an advisory lock, POSIX): a second
        programmer on the same port, or a program reopening a port path the system has since given to another
        device (a pty number reused), fails to open it instead of talking over the session there. A pty is one
        connection to its pump, so a HELLO said through it by anyone ends the session of whoever else uses it."""
        self.close()
        exclusive = {"exclusive": True} if url_scheme(self.url) is None else {}
        with _port_errors("open"):
            self._port = open_port(self.url, baudrate=self.baudrate, timeout=POLL_S,
                                   write_timeout=self.write_timeout_s, **exclusive)
            self._port.reset_input_buffer()

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS:
                pass  # the link is already gone; closing it cannot fail more usefully

    def write(self, data: bytes) -> None:
        """Send all of ``data`` and wait until it has left the computer (tcdrain on a real port)."""
        port = self._require_open()
        with _port_errors("write"):
            port.write(data)
            port.flush()

    def read(self) -> bytes:
        """Wait up to POLL_S for a first byte, then return everything already received (maybe nothing).

        A closed peer shows up as SerialException ("socket disconnected", "read failed: EIO").
        """
        port = self._require_open()
        with _port_errors("read"):
            data = bytearray(port.read(1))
            while data and (waiting := port.in_waiting):
                data += port.read(waiting)
        return bytes(data)

    def _require_open(self) -> serial.SerialBase:
        if self._port is None or not self._port.is_open:
            raise serial.SerialException(f"{self.url} is not open")
        return self._port


@contextmanager
def _port_errors(doing: str) -> Iterator[None]:
    """Let a failure of the port out as ``serial.SerialException`` (``PORT_ERRORS`` says why it may not be one),
    worded as pyserial words its own (``read failed: [Errno 5] Input/output error``)."""
    try:
        yield
    except serial.SerialException:
        raise
    except PORT_ERRORS as exc:
        reason = exc if isinstance(exc, OSError) else OSError(*exc.args)  # termios.error: (errno, strerror)
        raise serial.SerialException(f"{doing} failed: {reason}") from exc
