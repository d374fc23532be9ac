"""Request/response over a byte stream: sequence numbers, timeouts, bounded retries, resync, reconnect.

The rules (numbers from ``protocol.codes``, shared with the emulator):

- Every request gets the next seq (0..255, wrapping). A frame counts as the answer only if it is a
  response to the same command with the same seq; anything else (a late answer to an earlier request,
  an echo on ``loop://``, a duplicate) is ignored, so a stale answer is never taken for a fresh one.
- The wait for an answer is the pump's turnaround allowance plus both frames' time on the line at the
  configured baud rate. While bytes keep arriving the wait stretches, so a large answer on a slow line
  is not cut off, but never beyond what the largest possible frame could take.
- An unanswered request is resent with the SAME seq and body after an exponential backoff, at most
  ``max_retries`` times. The pump may have acted on the first copy, so either copy's answer is the
  answer; that is safe because every command that changes the pump is idempotent there (bolus and
  refill ids, a commit that names its checksum).
- The turnaround and the first backoff are the protocol's (RESPONSE_TURNAROUND_S, BACKOFF_INITIAL_S)
  unless a link is given its own (``turnaround_s``, ``backoff_s``): only for a peer known to answer
  sooner than a pump, such as the emulator on loopback in tests, where a lost frame then costs
  milliseconds instead of half a second.
- Before a resend both ends resynchronise: this side discards any half-received frame, and a lone
  0x00 delimiter goes out first, so a frame the pump half-received cannot swallow the resend.
- BUSY and BAD_CHECKSUM mean the pump did not act: the request is retried after the backoff as a new
  transaction (new seq), within the same budget.
- A disconnect (a closed socket, EIO on a pty) or NO_SESSION (the pump restarted) reopens the URL and
  redoes HELLO inside the same retry budget, then resends.
- HELLO offers the encodings the link is given (``encodings``; docs/protocol.md section 6). A pump built
  before them refuses the unknown key with BAD_ARGUMENT naming ``encodings``: the link then says a plain
  HELLO at once (a new seq, outside the retry budget) and offers nothing to that pump again.

When every try failed, ``LinkError`` names the step and the last reason, e.g.
``read status: no answer after 4 tries (timeout 0.6 s)``, and a port that failed names the port too
(``read status: link to /dev/pts/4 lost (read failed: ...)``): the transport's failures
(``serial.SerialException``, whatever the OS said) never leave this layer as they are. Every other status
goes back to the caller, which knows what it means for its command.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import serial

from protocol import PROTOCOL_VERSION, Command, Frame, FrameDecoder, Status, encode_frame
from protocol.compact import JSON_ENCODING
from protocol.codes import (
    BACKOFF_INITIAL_S,
    MAX_RETRIES,
    RESPONSE_TURNAROUND_S,
    response_timeout_s,
    retry_delay_s,
)
from protocol.frame import DELIMITER, MAX_WIRE_FRAME
from drivers.trace import WireTrace, code_name
from drivers.transport import Transport
from programmer.errors import LinkError

HELLO_ANSWER_BYTES = 96
"""Wire size of a HELLO answer, for its timeout."""


class _Retry(Exception):
    """This try failed in a way a later try may fix. The message is the reason shown if none does.

    ``new_transaction`` is set when the pump said it did not act (BUSY, BAD_CHECKSUM): the next try is
    a fresh request rather than a resend of the unanswered one.
    """

    def __init__(self, reason: str, new_transaction: bool = False) -> None:
        super().__init__(reason)
        self.new_transaction = new_transaction


class Link:
    """One session with one pump over one transport. Thread-safe: one exchange at a time."""

    def __init__(
        self,
        transport: Transport,
        *,
        client: str,
        trace: WireTrace | None = None,
        max_retries: int = MAX_RETRIES,
        turnaround_s: float = RESPONSE_TURNAROUND_S,
        backoff_s: float = BACKOFF_INITIAL_S,
        encodings: tuple[str, ...] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 <= max_retries <= MAX_RETRIES:
            raise ValueError(f"max_retries must be in 0..{MAX_RETRIES}, got {max_retries}")
        if not _seconds(turnaround_s) or turnaround_s <= 0:
            raise ValueError(f"turnaround_s must be a positive number of seconds, got {turnaround_s!r}")
        if not _seconds(backoff_s) or backoff_s < 0:
            raise ValueError(f"backoff_s must be a number of seconds, 0 or more, got {backoff_s!r}")
        self.transport = transport
        self.client = client
        self.trace = trace or WireTrace()
        self.max_retries = max_retries
        self.turnaround_s = turnaround_s
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._lock = threading.RLock()
        self._seq = 0
        self._decoder = self._new_decoder()
        self._in_session = False
        self._closed = False
        self.pump: dict | None = None
        """The first HELLO answer ({"protocol", "model", "serial"}); a reconnect must find the same pump."""
        self.encodings = encodings
        """Offered in HELLO, most wanted first; empty: a plain HELLO, as a client built before them says it."""
        self.encoding = JSON_ENCODING
        """The encoding the current session agreed (JSON until a HELLO agrees another)."""

    def connect(self) -> dict:
        """Open the URL and say HELLO, retrying within the budget. Returns the HELLO answer."""
        with self._lock:
            self._exchange("connect", Command.HELLO, self._hello_payload(), HELLO_ANSWER_BYTES, needs_session=False)
            assert self.pump is not None, "the HELLO exchange keeps its answer"
            return dict(self.pump)

    def request(self, step: str, command: Command, payload: dict, answer_bytes: int) -> Frame:
        """Send one request and return its answer, whatever its status (except those retried here).

        ``answer_bytes`` is the wire size the answer usually has; it sets the timeout. Raises LinkError
        naming ``step`` when every try failed.
        """
        with self._lock:
            return self._exchange(step, command, payload, answer_bytes, needs_session=True)

    def close(self) -> None:
        """Close the port for good: later requests fail instead of quietly reopening it."""
        with self._lock:
            self._closed = True
            self._in_session = False
            self.transport.close()

    def _exchange(self, step: str, command: Command, payload: dict, answer_bytes: int, needs_session: bool) -> Frame:
        if self._closed:
            raise LinkError(f"{step}: the link to {self.transport.url} was closed", step=step)
        request = self._new_request(command, payload)
        timeout = self._timeout(request, answer_bytes)
        tries = self.max_retries + 1
        reason = "no answer"
        for attempt in range(1, tries + 1):
            if attempt > 1:
                self._sleep(retry_delay_s(attempt - 1, self.backoff_s))
            try:
                self._ensure_session(step, needs_session)
                answer = self._check_retryable(self._send_and_wait(request, timeout, resync=attempt > 1))
                if command is Command.HELLO:
                    answer = self._accept_hello(self._without_encodings_if_refused(answer, timeout), step)
                return answer
            except _Retry as retry:
                reason = str(retry)
                self.trace.note(f"{step}: {reason}")
                if command is Command.HELLO:
                    payload = self._hello_payload()  # without the encodings a pump refused meanwhile
                if retry.new_transaction or payload != request.payload:
                    request = self._new_request(command, payload)
        plural = "try" if tries == 1 else "tries"
        raise LinkError(f"{step}: {reason} after {tries} {plural} (timeout {timeout:.1f} s)", step=step)

    def _ensure_session(self, step: str, needs_session: bool) -> None:
        """Reopen a lost link and, if the request needs a session, redo HELLO once (no inner retries)."""
        if not self.transport.is_open:
            self._in_session = False
            self.trace.note(f"opening {self.transport.url}")
            try:
                self.transport.open()
            except serial.SerialException as exc:
                self.transport.close()
                raise _Retry(f"cannot open {self.transport.url} ({exc})") from None
            self._decoder = self._new_decoder()
        if needs_session and not self._in_session:
            hello = self._new_request(Command.HELLO, self._hello_payload())
            timeout = self._timeout(hello, HELLO_ANSWER_BYTES)
            try:
                answer = self._without_encodings_if_refused(self._check_retryable(self._send_and_wait(hello, timeout)),
                                                            timeout)
            except _Retry as retry:
                raise _Retry(f"after reconnecting, hello failed: {retry}") from None
            self._accept_hello(answer, step)

    def _without_encodings_if_refused(self, answer: Frame, timeout: float) -> Frame:
        """A HELLO's answer; if it refused the ``encodings`` key we offered (a pump older than the key), the answer
        to a plain HELLO said at once instead, and nothing is offered to this pump again."""
        refused_key = answer.status == Status.BAD_ARGUMENT and answer.payload.get("field") == "encodings"
        if not (refused_key and self.encodings):
            return answer
        self.trace.note("hello: the pump knows no encodings (BAD_ARGUMENT on 'encodings'): saying HELLO without them")
        self.encodings = ()
        return self._check_retryable(self._send_and_wait(self._new_request(Command.HELLO, self._hello_payload()),
                                                         timeout))

    def _send_and_wait(self, request: Frame, timeout: float, resync: bool = False) -> Frame:
        """One try: send the request (after a resync on resends) and wait for its answer."""
        wire = encode_frame(request)
        if resync:
            self._decoder = self._new_decoder()
            wire = DELIMITER + wire
        try:
            self.trace.sent(request, wire, resync)
            self.transport.write(wire)
            return self._wait_for(request, timeout)
        except serial.SerialException as exc:
            self._lose_link()
            raise _Retry(f"link to {self.transport.url} lost ({exc})") from None

    def _wait_for(self, request: Frame, timeout: float) -> Frame:
        start = time.monotonic()
        deadline = start + timeout
        limit = start + timeout + self._timeout(request, MAX_WIRE_FRAME)
        while time.monotonic() < deadline:
            data = self.transport.read()
            if not data:
                continue
            self.trace.received(data)
            deadline = min(max(deadline, time.monotonic() + self.turnaround_s), limit)
            for frame in self._decoder.feed(data):
                if frame.is_response and frame.seq == request.seq and frame.command == request.command:
                    self.trace.decoded(frame, "answer")
                    return frame
                self.trace.decoded(frame, f"ignored: not the answer to seq={request.seq}")
        raise _Retry("no answer")

    def _check_retryable(self, answer: Frame) -> Frame:
        if answer.status == Status.BUSY:
            raise _Retry("pump busy", new_transaction=True)
        if answer.status == Status.BAD_CHECKSUM:
            raise _Retry("the pump received a corrupted request", new_transaction=True)
        if answer.status == Status.NO_SESSION:
            self._in_session = False
            raise _Retry("the pump lost the session (restarted?)")
        return answer

    def _accept_hello(self, answer: Frame, step: str) -> Frame:
        """Check a HELLO answer: our protocol version, and the same pump as in the first session. A HELLO is
        said while connecting or on reconnecting within another ``step``: the error's step is that one."""
        message = answer.payload.get("error", "no message")
        if answer.status == Status.UNSUPPORTED_VERSION:
            raise LinkError(
                f"hello: the pump does not speak protocol version {PROTOCOL_VERSION} (UNSUPPORTED_VERSION: {message})",
                step=step,
            )
        if answer.status != Status.OK:
            raise LinkError(f"hello: the pump answered {code_name(Status, answer.status)}: {message}", step=step)
        if answer.payload.get("protocol") != PROTOCOL_VERSION:
            raise LinkError(
                f"hello: the pump answered protocol {answer.payload.get('protocol')!r}, not {PROTOCOL_VERSION}",
                step=step,
            )
        if self.pump is not None and _pump_id(answer.payload) != _pump_id(self.pump):
            self._lose_link()
            raise LinkError(
                "hello: a different pump answered after reconnecting ({} {}, was {} {}); stopped so that "
                "nothing is sent to the wrong pump".format(*_pump_id(answer.payload), *_pump_id(self.pump)),
                step=step,
            )
        encoding = answer.payload.get("encoding", JSON_ENCODING)
        if encoding != JSON_ENCODING and encoding not in self.encodings:
            self._lose_link()
            raise LinkError(f"hello: the pump chose the encoding {encoding!r}, which was not offered "
                            f"(offered: {', '.join(self.encodings) or 'none'})", step=step)
        self.pump = dict(answer.payload)
        self.encoding = encoding
        self._in_session = True
        return answer

    def _timeout(self, request: Frame, answer_bytes: int) -> float:
        return response_timeout_s(self.transport.baudrate, len(encode_frame(request)) + 1, answer_bytes,
                                  self.turnaround_s)

    def _lose_link(self) -> None:
        self._in_session = False
        self.transport.close()
        self.trace.note(f"link to {self.transport.url} lost")

    def _hello_payload(self) -> dict:
        offer = {"encodings": list(self.encodings)} if self.encodings else {}
        return {"protocol": PROTOCOL_VERSION, "client": self.client, **offer}

    def _new_request(self, command: Command, payload: dict) -> Frame:
        seq, self._seq = self._seq, (self._seq + 1) % 256
        return Frame(seq, command, 0, payload, False)

    def _new_decoder(self) -> FrameDecoder:
        return FrameDecoder(on_drop=self.trace.dropped)


def _seconds(value: object) -> bool:
    """True for a finite int or float that is not a bool (JSON-ish option values are checked, not coerced)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _pump_id(hello_answer: dict) -> tuple:
    return hello_answer.get("model"), hello_answer.get("serial")
