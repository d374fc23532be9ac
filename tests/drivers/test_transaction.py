"""The request/response engine at the byte level, against a scripted peer on loopback TCP.

Each test scripts what the "pump" does with each request (answer, stay silent, answer late, answer
with garbage, hang up) and checks what went over the wire: resends carry the same seq and the same
bytes, stale answers are ignored, BUSY is retried as a new request, a lost link is reopened with a
new HELLO, and the give-up message names the step, the tries and the timeout.
"""

from __future__ import annotations

import os
import re
import socket
import time

import pytest
from tests.support.emulator_fixtures import LOOPBACK_LINK, ScriptedPeer, answer_bytes

from protocol import Command, Frame, Status, encode_frame
from protocol.codes import MAX_RETRIES, RESPONSE_TURNAROUND_S
from drivers.trace import WireTrace
from drivers.transaction import Link
from drivers.transport import Transport, _SocketPort, open_port
from programmer.errors import LinkError

BAUD = 115200
IDENTITY = {"model": "TEST", "serial": "TEST-0001"}


def make_link(url: str, max_retries: int = MAX_RETRIES, lines: list[str] | None = None,
              turnaround_s: float = LOOPBACK_LINK["turnaround_s"]) -> tuple[Link, list[float]]:
    """A Link whose backoff pauses are recorded instead of slept, so tests see them and run fast.

    The backoff is the protocol's (the tests check its figures); the turnaround is the loopback one, as
    the scripted peer answers in milliseconds, so a request it leaves unanswered costs 0.1 s, not 0.5 s.
    """
    pauses: list[float] = []
    trace = WireTrace(lines.append if lines is not None else None)
    link = Link(Transport(url, BAUD, write_timeout_s=2.0), client="test", trace=trace,
                max_retries=max_retries, turnaround_s=turnaround_s, sleep=pauses.append)
    return link, pauses


def identify(link: Link) -> Frame:
    return link.request("identify", Command.IDENTIFY, {}, 96)


def test_an_answered_request_returns_the_answer(peers):
    peer = peers(lambda request, peer: peer.reply(request, IDENTITY))
    link, pauses = make_link(peer.url)
    assert link.connect()["serial"] == "TEST-0001"
    answer = identify(link)
    assert (answer.status, answer.payload, answer.is_response) == (Status.OK, IDENTITY, True)
    assert pauses == []
    link.close()


def test_a_lost_answer_is_resent_with_the_same_seq_and_bytes_after_a_resync_delimiter(peers):
    def answer_second_copy(request, peer):
        if len(peer.requests_for(Command.IDENTIFY)) == 2:
            peer.reply(request, IDENTITY)

    peer = peers(answer_second_copy)
    lines: list[str] = []
    link, pauses = make_link(peer.url, lines=lines)
    link.connect()
    assert identify(link).payload == IDENTITY
    first, second = peer.requests_for(Command.IDENTIFY)
    assert first == second
    sealed_first, sealed_second = [frame for _, frame in peer.sealed if frame.command == Command.IDENTIFY]
    assert sealed_first == sealed_second and sealed_first.sealed  # sealed once: the resend is the same bytes
    wire = encode_frame(sealed_first)
    assert bytes(peer.received[0]).endswith(wire + b"\x00" + wire)  # the resend follows a lone delimiter
    assert pauses == [0.1]
    sent = [line for line in lines if " TX " in line and "IDENTIFY" in line]
    assert len(sent) == 2 and "resend" in sent[1] and f"seq={first.seq} " in sent[1]
    link.close()


def test_after_every_try_fails_the_error_names_step_tries_and_timeout(peers):
    peer = peers(lambda request, peer: None)  # never answers anything but HELLO
    link, pauses = make_link(peer.url)
    link.connect()
    with pytest.raises(LinkError, match=r"^identify: no answer after 4 tries \(timeout 0\.\d s\)$"):
        identify(link)
    copies = peer.requests_for(Command.IDENTIFY)
    assert len(copies) == MAX_RETRIES + 1 and all(copy == copies[0] for copy in copies)
    assert pauses == [0.1, 0.2, 0.4]
    link.close()


def test_a_link_given_its_own_turnaround_and_backoff_waits_and_pauses_by_them(peers):
    peer = peers(lambda request, peer: None)  # never answers anything but HELLO
    pauses: list[float] = []
    link = Link(Transport(peer.url, BAUD, write_timeout_s=2.0), client="test", max_retries=2,
                turnaround_s=0.05, backoff_s=0.02, sleep=pauses.append)
    link.connect()
    started = time.monotonic()
    with pytest.raises(LinkError, match=r"^identify: no answer after 3 tries \(timeout 0\.1 s\)$"):
        identify(link)
    assert time.monotonic() - started < 3 * RESPONSE_TURNAROUND_S  # three 0.06 s waits, not three of 0.5 s
    assert pauses == [0.02, 0.04]
    link.close()


@pytest.mark.parametrize("option", [{"turnaround_s": 0}, {"turnaround_s": -0.5}, {"turnaround_s": float("nan")},
                                    {"turnaround_s": True}, {"backoff_s": -0.1}, {"backoff_s": float("inf")},
                                    {"backoff_s": "0.1"}])
def test_a_turnaround_or_backoff_that_is_no_duration_is_refused(option):
    with pytest.raises(ValueError, match=f"^{next(iter(option))} must be"):
        Link(Transport("loop://", BAUD, write_timeout_s=2.0), client="test", **option)


def test_answers_with_another_seq_or_command_and_damaged_frames_are_ignored(peers):
    def noisy(request, peer):
        peer.send(b"\x13\x37garbage\x00")
        peer.reply(request, {"stale": True}, seq=(request.seq - 1) % 256)
        peer.send(encode_frame(Frame(request.seq, Command.READ_STATUS, Status.OK, {"wrong": True}, True)))
        corrupted = bytearray(answer_bytes(request, {"corrupt": True}))
        corrupted[5] ^= 0x01
        peer.send(bytes(corrupted))
        peer.reply(request, IDENTITY)

    peer = peers(noisy)
    lines: list[str] = []
    link, pauses = make_link(peer.url, lines=lines)
    link.connect()
    assert identify(link).payload == IDENTITY
    assert pauses == [] and len(peer.requests_for(Command.IDENTIFY)) == 1
    assert sum(" DROP " in line for line in lines) == 2
    assert sum("ignored" in line for line in lines) == 2
    link.close()


def test_an_answer_split_into_single_bytes_is_reassembled(peers):
    def dribble(request, peer):
        for byte in peer.answer_bytes(request, IDENTITY):
            peer.send(bytes([byte]))

    peer = peers(dribble)
    link, _ = make_link(peer.url)
    link.connect()
    assert identify(link).payload == IDENTITY
    link.close()


def test_a_slow_answer_that_keeps_arriving_is_not_cut_off(peers):
    """The wait stretches while bytes flow: 1.2 s of steady bytes against a nominal 0.5 s timeout (the
    protocol's turnaround, which the peer's 0.05 s pace between bytes stays well inside)."""
    big = {"blob": "x" * 600}

    def slow(request, peer):
        wire = peer.answer_bytes(request, big)
        for start in range(0, len(wire), 25):
            peer.send(wire[start:start + 25])
            time.sleep(0.05)  # the peer's pace, not the test waiting for something

    peer = peers(slow)
    link, pauses = make_link(peer.url, turnaround_s=RESPONSE_TURNAROUND_S)
    link.connect()
    assert identify(link).payload == big
    assert pauses == []
    link.close()


def test_busy_is_retried_after_a_pause_as_a_new_request(peers):
    def busy_once(request, peer):
        if len(peer.requests_for(Command.IDENTIFY)) == 1:
            peer.reply(request, {"error": "busy", "field": None}, Status.BUSY)
        else:
            peer.reply(request, IDENTITY)

    peer = peers(busy_once)
    link, pauses = make_link(peer.url)
    link.connect()
    assert identify(link).payload == IDENTITY
    first, second = peer.requests_for(Command.IDENTIFY)
    assert second.seq == (first.seq + 1) % 256
    assert pauses == [0.1]
    link.close()


def test_a_pump_that_stays_busy_fails_within_the_budget(peers):
    peer = peers(lambda request, peer: peer.reply(request, {"error": "busy", "field": None}, Status.BUSY))
    link, _ = make_link(peer.url, max_retries=2)
    link.connect()
    with pytest.raises(LinkError, match=r"^identify: pump busy after 3 tries"):
        identify(link)
    assert len(peer.requests_for(Command.IDENTIFY)) == 3
    link.close()


def test_other_statuses_are_returned_to_the_caller_untouched(peers):
    peer = peers(lambda request, peer: peer.reply(request, {"error": "no", "field": "x"}, Status.REFUSED))
    link, pauses = make_link(peer.url)
    link.connect()
    answer = identify(link)
    assert (answer.status, answer.payload) == (Status.REFUSED, {"error": "no", "field": "x"})
    assert pauses == [] and len(peer.requests_for(Command.IDENTIFY)) == 1
    link.close()


def test_a_dropped_connection_is_reopened_with_a_new_hello_and_the_request_resent(peers):
    def hang_up_first(request, peer):
        if len(peer.requests_for(Command.IDENTIFY)) == 1:
            peer.hang_up()
        else:
            peer.reply(request, IDENTITY)

    peer = peers(hang_up_first)
    lines: list[str] = []
    link, pauses = make_link(peer.url, lines=lines)
    link.connect()
    assert identify(link).payload == IDENTITY
    assert [(number, frame.command) for number, frame in peer.requests] == [
        (0, Command.HELLO), (0, Command.IDENTIFY), (1, Command.HELLO), (1, Command.IDENTIFY)]
    first, second = peer.requests_for(Command.IDENTIFY)
    assert first == second
    assert len(pauses) == 1
    assert any("link to" in line and "lost" in line for line in lines)
    link.close()


def test_no_session_makes_the_link_say_hello_again_and_resend(peers):
    def forgot_session(request, peer):
        if len(peer.requests_for(Command.IDENTIFY)) == 1:
            peer.reply(request, {"error": "say HELLO first", "field": None}, Status.NO_SESSION)
        else:
            peer.reply(request, IDENTITY)

    peer = peers(forgot_session)
    link, _ = make_link(peer.url)
    link.connect()
    assert identify(link).payload == IDENTITY
    assert [frame.command for _, frame in peer.requests] == [
        Command.HELLO, Command.IDENTIFY, Command.HELLO, Command.IDENTIFY]
    link.close()


def test_unsupported_version_to_both_versions_is_a_clear_link_error_without_retries(peers):
    peer = peers(lambda request, peer: None)
    peer.hello_status = Status.UNSUPPORTED_VERSION
    link, pauses = make_link(peer.url)
    with pytest.raises(LinkError, match=r"^hello: the pump does not speak protocol version 2 or 1 \(UNSUPPORTED_VERSION: "
                                         r"this pump speaks protocol 2\)$"):
        link.connect()
    assert pauses == [] and [frame.payload["protocol"] for _, frame in peer.requests] == [2, 1]
    link.close()


def test_a_different_pump_after_reconnecting_stops_the_link(peers):
    def swap_pump(request, peer):
        peer.serial = "SOMEONE-ELSE"
        peer.hang_up()

    peer = peers(swap_pump)
    link, _ = make_link(peer.url)
    link.connect()
    with pytest.raises(LinkError, match="a different pump answered after reconnecting"):
        identify(link)
    assert len(peer.requests_for(Command.IDENTIFY)) == 1
    link.close()


def test_a_closed_link_refuses_requests_instead_of_reopening(peers):
    peer = peers(lambda request, peer: peer.reply(request, IDENTITY))
    link, _ = make_link(peer.url)
    link.connect()
    link.close()
    with pytest.raises(LinkError, match="^identify: the link to socket://.* was closed$"):
        identify(link)
    assert len(peer.received) == 1


def test_a_hello_unanswered_after_reconnecting_is_named_in_the_error(peers):
    def hang_up_and_go_quiet(request, peer):
        if request.command != Command.HELLO:  # HELLO reaches here only after the hang-up: no answer
            peer.handle_hello = True
            peer.hang_up()

    peer = peers(hang_up_and_go_quiet)
    link, _ = make_link(peer.url, max_retries=1)
    link.connect()
    with pytest.raises(LinkError, match=r"^identify: after reconnecting, hello failed: no answer after 2 tries"):
        identify(link)


def test_a_url_that_cannot_be_opened_fails_after_the_budget():
    link, pauses = make_link("socket://127.0.0.1:1", max_retries=1)
    with pytest.raises(LinkError, match=r"^connect: cannot open socket://127\.0\.0\.1:1 \(.*\) after 2 tries"):
        link.connect()
    assert pauses == [0.1]


def test_over_loop_url_own_requests_are_echoed_and_ignored():
    """loop:// hands every byte straight back: requests are not answers, so nothing is accepted."""
    lines: list[str] = []
    link, _ = make_link("loop://", max_retries=0, lines=lines)
    with pytest.raises(LinkError, match=r"^connect: no answer after 1 try"):
        link.connect()
    assert any("ignored" in line and "HELLO" in line for line in lines)


def test_closing_a_socket_link_hangs_up_at_once_without_pyserials_pause(monkeypatch):
    """pyserial's socket:// close sleeps 0.3 s after hanging up; the transport's hangs up and returns."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        transport = Transport("socket://127.0.0.1:%d" % server.getsockname()[1], BAUD, write_timeout_s=2.0)
        transport.open()
        connection, _ = server.accept()
        with connection:
            slept: list[float] = []
            monkeypatch.setattr(time, "sleep", slept.append)
            transport.close()
            monkeypatch.undo()
            connection.settimeout(5)
            assert connection.recv(1) == b""  # the pump's side sees the link end
        assert slept == [] and not transport.is_open


def test_trace_lines_are_timestamped_hex():
    lines: list[str] = []
    trace = WireTrace(lines.append)
    request = Frame(7, Command.READ_STATUS, 0, {}, False)
    trace.sent(request, encode_frame(request), resend=True)
    trace.received(b"\x01\xab")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} TRACE itb-trace/2 utc_offset=[+-]\d\d:\d\d", lines[0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} TX seq=7 READ_STATUS resend: 04 01 07 03 .* 00", lines[1])
    assert lines[2].endswith(" RX 01 ab")


def test_trace_to_a_file_appends_lines(tmp_path):
    path = tmp_path / "wire.log"
    trace = WireTrace(path)
    trace.note("hello")
    trace.close()
    assert path.read_text().endswith(" NOTE hello\n")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
def test_a_trace_file_on_a_full_disk_never_fails_the_link():
    # Found by a tester: a verified write exited 1 because closing a full trace file raised.
    trace = WireTrace("/dev/full")
    request = Frame(1, Command.READ_STATUS, 0, {}, False)
    trace.sent(request, encode_frame(request), resend=False)  # buffered: the disk is full only at flush
    trace.note("x" * 10_000)
    trace.close()  # must not raise
    assert not trace.enabled


@pytest.mark.parametrize("url", ["socket://127.0.0.1:7001", "SOCKET://127.0.0.1:7001", "loop://"])
def test_socket_urls_of_any_spelling_and_loop_open_as_transports(url):
    """Which forms reach the transport is open_driver's choice (tests/drivers/test_selection.py); here, how
    the transport opens the two it treats specially or can open without a peer."""
    scheme = url.split("://")[0].lower()
    if scheme == "socket":
        # Any spelling of socket:// is opened as the transport's own port (no 0.3 s pause on close), here on
        # a live loopback listener with the URL's own spelling of the scheme.
        with socket.create_server(("127.0.0.1", 0)) as listener:
            live = f"{url.split('://')[0]}://127.0.0.1:{listener.getsockname()[1]}"
            port = open_port(live, timeout=0.05)
            try:
                assert isinstance(port, _SocketPort) and port.is_open
            finally:
                port.close()
            assert not port.is_open
    else:
        # loop:// has nothing to connect to: it opens for real, and bytes written through a Transport come back.
        transport = Transport(url, 115200, 1.0)
        transport.open()
        try:
            transport.write(b"\x02\x01\x00")
            received, deadline = b"", time.monotonic() + 2.0
            while len(received) < 3 and time.monotonic() < deadline:
                received += transport.read()
            assert received == b"\x02\x01\x00"
        finally:
            transport.close()
        assert not transport.is_open
