"""No OS error leaves the driver: over real ports that fail, every failure is a ``LinkError`` naming its step.

The port's contract (``programmer.port.PumpDriver``) lets a driver raise only the programmer's errors, so
the command line and the application each handle failures in one place. These tests break real links the
ways links break: a pty whose other end closes (the emulator killed), a TCP peer that resets the
connection (and one that hangs up after its last answer), a device path that does not exist, and a pty that hangs up between a write and its drain,
where pyserial raises ``termios.error``, which is not even an ``OSError``. ``pytest.raises(LinkError)``
lets anything else through, so a test fails if any other exception escapes. A trace file that cannot be
opened is the one failure of the OS that is not the link's: bad input, an ``InputError``.
"""

from __future__ import annotations

import errno
import os
import re
import socket

import pytest
import serial
from tests.support.emulator_fixtures import LOOPBACK_LINK, PTY_AVAILABLE, ScriptedPeer

from protocol import Command
from drivers.transaction import Link
from drivers.transport import Transport
from programmer.errors import ErrorKind, InputError, LinkError
from programmer.port import open_driver

if PTY_AVAILABLE:
    import pty

needs_pty = pytest.mark.skipif(not PTY_AVAILABLE, reason="no pty")
EIO = f"[Errno {errno.EIO}] {os.strerror(errno.EIO)}"
TRIES = r"after 1 try \(timeout \d\.\d s\)$"
"""How every give-up below ends: one try (no resend, so each test fails at once) and its timeout."""


@needs_pty
def test_a_pty_whose_other_end_closes_fails_the_next_call_with_its_step_and_port(start_emulator):
    emulator = start_emulator(link="pty")
    driver = open_driver(emulator.url, max_retries=0, **LOOPBACK_LINK)
    try:
        assert driver.identify().model == "ITB-20"
        emulator.kill()  # SIGKILL: the pty's other end closes with the process
        with pytest.raises(LinkError) as failed:
            driver.read_status()
    finally:
        driver.close()
    assert (failed.value.kind, failed.value.step, failed.value.field) == (ErrorKind.LINK, "read status", None)
    assert re.match(rf"^read status: link to {re.escape(emulator.url)} lost \(write failed: {re.escape(EIO)}\) "
                    + TRIES, str(failed.value)), str(failed.value)


def test_a_peer_that_resets_the_connection_fails_the_call_with_its_step_and_port():
    def reset_on_status(request, peer):
        if request.command == Command.READ_STATUS:
            peer.reset()

    peer = ScriptedPeer(reset_on_status)
    try:
        driver = open_driver(peer.url, max_retries=0, **LOOPBACK_LINK)
        with driver, pytest.raises(LinkError) as failed:
            driver.read_status()
    finally:
        peer.close()
    reset = f"[Errno {errno.ECONNRESET}] {os.strerror(errno.ECONNRESET)}"
    assert failed.value.step == "read status"
    assert re.match(rf"^read status: link to {re.escape(peer.url)} lost \(read failed: {re.escape(reset)}\) "
                    + TRIES, str(failed.value)), str(failed.value)


def test_what_a_tcp_peer_sent_before_it_hung_up_is_read_in_full_before_the_link_is_lost():
    """One read returns everything already received (here a 4 kB answer, which pyserial's socket port, counting at
    most one byte waiting, gave a byte at a time), up to the end of the stream; the read after it finds the link
    closed. A peer's last answer before it hangs up is not lost with the link."""
    sent = bytes(range(256)) * 16
    with socket.create_server(("127.0.0.1", 0)) as server:
        transport = Transport(f"socket://127.0.0.1:{server.getsockname()[1]}", 9600, write_timeout_s=1.0)
        transport.open()
        try:
            peer, _ = server.accept()
            peer.sendall(sent)  # on loopback, in the reader's buffer when sendall returns, the end of stream after it
            peer.close()
            assert transport.read() == sent
            with pytest.raises(serial.SerialException, match="socket disconnected"):
                transport.read()
        finally:
            transport.close()


def test_a_device_path_that_does_not_exist_fails_to_connect():
    path = "/dev/ttyNOSUCHPORT0"  # the form of a serial device (port.SERIAL_DEVICE_PATH), which no machine has
    assert not os.path.exists(path)
    with pytest.raises(LinkError) as failed:
        open_driver(path, max_retries=0, **LOOPBACK_LINK)
    enoent = f"[Errno {errno.ENOENT}]"
    gone = f"{enoent} could not open port {path}: {enoent} {os.strerror(errno.ENOENT)}: '{path}'"
    assert failed.value.step == "connect"
    assert re.match(rf"^connect: cannot open {re.escape(path)} \({re.escape(gone)}\) " + TRIES,
                    str(failed.value)), str(failed.value)


def test_a_device_path_with_a_nul_character_is_no_port_any_driver_opens():
    """The OS refuses such a path with ValueError, before any error of the port: it is refused before any driver
    is asked."""
    with pytest.raises(LinkError) as failed:
        open_driver("/dev/ttyUSB0\0", **LOOPBACK_LINK)
    assert (failed.value.step, str(failed.value)) == (
        "connect", "cannot open '/dev/ttyUSB0\\x00': it holds a NUL character, which no port name does")


def test_a_trace_file_that_cannot_be_written_is_bad_input_before_anything_is_opened(tmp_path):
    trace = tmp_path / "missing" / "wire.log"
    with pytest.raises(InputError) as failed:
        open_driver("socket://127.0.0.1:1", trace=str(trace))
    assert (failed.value.kind, failed.value.step, failed.value.field) == (ErrorKind.INPUT, "connect", "trace")
    assert str(failed.value) == f"trace: cannot write {trace}: {os.strerror(errno.ENOENT)}"


@needs_pty
def test_a_pty_that_hangs_up_while_a_request_drains_is_a_link_error_not_a_termios_error():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    transport = Transport(path, 9600, write_timeout_s=1.0)
    transport.open()
    port = transport._port
    written: list[int] = []

    def write_then_hang_up(data: bytes) -> int:
        written.append(serial.Serial.write(port, data))
        os.close(master)  # the other end goes away after the bytes are written, before they are drained
        return written[-1]

    port.write = write_then_hang_up
    link = Link(transport, client="test", max_retries=0, turnaround_s=LOOPBACK_LINK["turnaround_s"])
    try:
        with pytest.raises(LinkError) as failed:
            link.connect()
    finally:
        link.close()
        os.close(slave)
    assert written and written[0] > 0, "the write itself went through: the drain (tcdrain) is what failed"
    assert failed.value.step == "connect"
    assert re.match(rf"^connect: link to {re.escape(path)} lost \(write failed: {re.escape(EIO)}\) " + TRIES,
                    str(failed.value)), str(failed.value)


@needs_pty
def test_a_pty_that_hangs_up_between_two_reads_surfaces_as_a_serial_exception():
    """pyserial's ``in_waiting`` lets a bare OSError out: the transport's one exception is SerialException."""
    master, slave = pty.openpty()
    transport = Transport(os.ttyname(slave), 9600, write_timeout_s=1.0)
    transport.open()
    port = transport._port

    def read_then_hang_up(size: int = 1) -> bytes:
        data = serial.Serial.read(port, size)
        os.close(master)  # gone after the first byte: asking how many more are waiting fails
        return data

    port.read = read_then_hang_up
    os.write(master, b"abc")
    try:
        with pytest.raises(serial.SerialException) as failed:
            transport.read()
    finally:
        transport.close()
        os.close(slave)
    assert str(failed.value) == f"read failed: {EIO}"
    assert type(failed.value.__cause__) is OSError  # what pyserial raised, kept as the cause
