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
- Protocol version 2 (docs/protocol.md section 6): HELLO, in clear, names this programmer and a fresh nonce; the
  pump's answer carries its own nonce and a confirmation that only the holder of the pair key can make, and it
  is checked before anything is sealed (a pump that cannot prove it is a LinkError: nothing more is sent).
  Then every request but HELLO and PAIR_* is sealed once per session (IDENTIFY too: open outside a session, but
  its limits feed the safety checks, so inside one they come sealed), so a resend is
  the same bytes and the pump answers it from its cache; only a sealed answer that opens in this session with
  the request's seq and command is taken, anything else is ignored. NOT_AUTHENTICATED or NO_SESSION in clear
  means the pump holds no session for us: a new HELLO and the request sealed afresh (the same idempotency
  ids), as one of the retries. NOT_AUTHENTICATED to HELLO is NotPaired (naming the pump, from its open
  IDENTIFY); SESSION_IN_USE is a LinkError retried never; UNSUPPORTED_VERSION makes the link say HELLO
  version 1 and become insecure (``secure`` False): the driver then refuses changes unless allowed.
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
from datetime import datetime

import serial

from protocol import PROTOCOL_VERSION, Command, Frame, FrameDecoder, Status, encode_frame
from protocol.codes import (
    BACKOFF_INITIAL_S,
    INSECURE_PROTOCOL_VERSION,
    MAX_RETRIES,
    RESPONSE_TURNAROUND_S,
    SESSION_IDLE_TIMEOUT_S,
    response_timeout_s,
    retry_delay_s,
)
from protocol.compact import JSON_ENCODING
from protocol.frame import DELIMITER, MAX_WIRE_FRAME
from protocol.pairing import PairingFailed as PairingNotCompleted
from protocol.pairing import ProgrammerPairing
from protocol.secure import FrameRejected, HelloNotAuthentic, SecureChannel, new_nonce, programmer_channel
from protocol.session_crypto import OVERHEAD_BYTES
from drivers.trace import WireTrace, code_name
from drivers.transport import Transport
from programmer.errors import LinkError, NotPaired, PairingFailed
from programmer.pairing_keys import PairingKeys, load_pairing_keys

HELLO_ANSWER_BYTES = 256
"""Wire size of a HELLO answer (a version-2 one carries the pump's nonce and confirmation), for its timeout."""
PAIRING_ANSWER_BYTES = 256
"""Wire size of an answer to IDENTIFY, PAIR_START or PAIR_FINISH, for its timeout."""
NEVER_SEALED = frozenset({Command.HELLO, Command.PAIR_START, Command.PAIR_FINISH})
"""What goes in clear even inside a session. IDENTIFY, open outside one (for pairing, and to name a pump that
does not know us), is sealed inside one: the limits it declares feed the safety checks, so they must be the
pump's own."""
SEALING_BYTES = 1 + OVERHEAD_BYTES
"""What sealing adds to a payload on the wire: the mark, the counter and the tag (the timeouts allow for it)."""


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
        keys: PairingKeys | None = None,
        trace_plaintext: bool = False,
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
        self.keys = keys if keys is not None else load_pairing_keys()
        """This programmer's id and pair keys: the key of the pump's serial opens each session."""
        self.trace_plaintext = trace_plaintext
        """Also trace each sealed frame's payload as opened, on lines marked as patient data."""
        self._sleep = sleep
        self._lock = threading.RLock()
        self._seq = 0
        self._decoder = self._new_decoder()
        self._in_session = False
        self._channel: SecureChannel | None = None
        self._closed = False
        self.secure: bool | None = None
        """True once a HELLO opened a sealed session (protocol 2); False for a pump that speaks only version 1,
        which every later HELLO then says (a pump that was secure is never taken back insecure); None before."""
        self.pump: dict | None = None
        """The first HELLO answer ({"protocol", "model", "serial", ...}); a reconnect must find the same pump."""
        self.encodings = encodings
        """Offered in HELLO, most wanted first; empty: a plain HELLO, as a client built before them says it."""
        self.encoding = JSON_ENCODING
        """The encoding the current session agreed (JSON until a HELLO agrees another)."""

    @property
    def programmer_id(self) -> str:
        return self.keys.programmer_id

    def connect(self) -> dict:
        """Open the URL and say HELLO, retrying within the budget. Returns the HELLO answer."""
        with self._lock:
            self._retrying("connect", self._timeout(self._hello_request(), HELLO_ANSWER_BYTES),
                           lambda attempt: self._hello("connect", resync=attempt > 1))
            assert self.pump is not None, "the HELLO exchange keeps its answer"
            return dict(self.pump)

    def request(self, step: str, command: Command, payload: dict, answer_bytes: int) -> Frame:
        """Send one request and return its answer, whatever its status (except those retried here).

        ``answer_bytes`` is the wire size the answer usually has; it sets the timeout. Raises LinkError
        naming ``step`` when every try failed.
        """
        with self._lock:
            return self._exchange(step, command, payload, answer_bytes, needs_session=True)

    def pair(self, code: str) -> str:
        """Pair with the pump on this link using the ``code`` it shows: IDENTIFY for its serial, then PAIR_START
        and PAIR_FINISH (``protocol.pairing``). The pair key is remembered only once the pump said it paired.
        Returns the pump's serial; PairingFailed (nothing remembered) when the pump refuses or the code is
        wrong, LinkError when the link fails."""
        with self._lock:
            step = "pair"
            identity = self._open_exchange(step, Command.IDENTIFY, {})
            serial = identity.payload.get("serial")
            if not isinstance(serial, str):
                raise LinkError(f"{step}: the pump's IDENTIFY answer names no serial", step=step, field="serial")
            pairing = ProgrammerPairing(code, self.programmer_id, serial)
            start = self._open_exchange(step, Command.PAIR_START, {"programmer_id": self.programmer_id,
                                                                   "message": pairing.start().hex()})
            try:
                confirm = pairing.receive(_hex(start, "message"), _hex(start, "confirm"))
            except PairingNotCompleted as exc:
                raise PairingFailed(f"{step}: {exc}; check the code the pump shows",
                                    step=step) from None
            self._open_exchange(step, Command.PAIR_FINISH, {"programmer_id": self.programmer_id,
                                                            "confirm": confirm.hex()})
            assert pairing.pair_key is not None, "receive() keeps the key when the confirmation matched"
            self.keys.remember(serial, pairing.pair_key, datetime.now().astimezone())
            self.trace.note(f"paired with the pump serial {serial} as programmer {self.programmer_id}")
            return serial

    def end_session(self) -> None:
        """Forget the session on this side (the pump ended it: UNPAIR); the next request says HELLO again."""
        with self._lock:
            self._in_session = False
            self._channel = None

    def close(self) -> None:
        """End the session (END_SESSION, best effort, one bounded wait) and close the port for good: later
        requests fail instead of quietly reopening it."""
        with self._lock:
            if self._channel is not None and self._in_session and self.transport.is_open and not self._closed:
                request = self._new_request(Command.END_SESSION, {})
                try:
                    self._send_and_wait(request, self._timeout(request, HELLO_ANSWER_BYTES))
                except _Retry as retry:
                    self.trace.note(f"end session: {retry} (the pump ends it when the link closes or idles)")
            self._closed = True
            self.end_session()
            self.transport.close()

    def _open_exchange(self, step: str, command: Command, payload: dict) -> Frame:
        """An open command's OK answer (in clear, no session needed); PairingFailed for any other answer."""
        answer = self._exchange(step, command, payload, PAIRING_ANSWER_BYTES, needs_session=False)
        if answer.status == Status.NO_SESSION:
            raise PairingFailed(f"{step}: the pump speaks only protocol version {INSECURE_PROTOCOL_VERSION}, which has "
                                "no pairing (NO_SESSION to an open command)", step=step)
        if answer.status != Status.OK:
            message = answer.payload.get("error") or "no message"
            raise PairingFailed(f"{step}: the pump refused {command.name} ({code_name(Status, answer.status)}: "
                                f"{message})", step=step)
        return answer

    def _exchange(self, step: str, command: Command, payload: dict, answer_bytes: int, needs_session: bool) -> Frame:
        request = self._new_request(command, payload)

        def one_try(attempt: int) -> Frame:
            nonlocal request
            self._ensure_session(step, needs_session)
            try:
                return self._check_retryable(self._send_and_wait(request, timeout, resync=attempt > 1),
                                             has_session=needs_session)
            except _Retry as retry:
                if retry.new_transaction:
                    request = self._new_request(command, payload)
                raise

        timeout = self._timeout(request, answer_bytes)
        return self._retrying(step, timeout, one_try)

    def _retrying(self, step: str, timeout: float, one_try: Callable[[int], Frame]) -> Frame:
        """``one_try`` until it answers, at most ``max_retries`` more times after backoff pauses."""
        if self._closed:
            raise LinkError(f"{step}: the link to {self.transport.url} was closed", step=step)
        tries = self.max_retries + 1
        reason = "no answer"
        for attempt in range(1, tries + 1):
            if attempt > 1:
                self._sleep(retry_delay_s(attempt - 1, self.backoff_s))
            try:
                return one_try(attempt)
            except _Retry as retry:
                reason = str(retry)
                self.trace.note(f"{step}: {reason}")
        plural = "try" if tries == 1 else "tries"
        raise LinkError(f"{step}: {reason} after {tries} {plural} (timeout {timeout:.1f} s)", step=step)

    def _ensure_session(self, step: str, needs_session: bool) -> None:
        """Reopen a lost link and, if the request needs a session, redo HELLO once (no inner retries)."""
        self._ensure_open()
        if needs_session and not self._in_session:
            try:
                self._hello(step)
            except _Retry as retry:
                raise _Retry(f"after reconnecting, hello failed: {retry}") from None

    def _ensure_open(self) -> None:
        if not self.transport.is_open:
            self.end_session()
            self.trace.note(f"opening {self.transport.url}")
            try:
                self.transport.open()
            except serial.SerialException as exc:
                self.transport.close()
                raise _Retry(f"cannot open {self.transport.url} ({exc})") from None
            self._decoder = self._new_decoder()

    # -- HELLO -----------------------------------------------------------------------------------

    def _hello(self, step: str, resync: bool = False) -> Frame:
        """One HELLO: always a new request (its own seq and nonce, so a late answer to an earlier HELLO is never
        taken for this one's). The session it opens is checked before anything is sealed in it."""
        self._ensure_open()
        self.end_session()
        request = self._hello_request()
        answer = self._check_retryable(self._send_and_wait(request, self._timeout(request, HELLO_ANSWER_BYTES),
                                                           resync))
        if answer.status == Status.BAD_ARGUMENT and answer.payload.get("field") == "encodings" and self.encodings:
            self.trace.note("hello: the pump knows no encodings (BAD_ARGUMENT on 'encodings'): saying HELLO without "
                            "them")
            self.encodings = ()
            return self._hello(step)
        version = request.payload["protocol"]
        if answer.status == Status.UNSUPPORTED_VERSION and version != INSECURE_PROTOCOL_VERSION and not self.secure:
            self.trace.note(f"hello: the pump does not speak protocol {version}: saying HELLO version "
                            f"{INSECURE_PROTOCOL_VERSION} (an insecure link)")
            self.secure = False
            try:
                return self._hello(step)
            except LinkError:
                self.secure = None
                raise
        if answer.status == Status.NOT_AUTHENTICATED:
            raise self._not_paired(step)
        if answer.status == Status.SESSION_IN_USE:
            raise LinkError(
                f"{step}: another programmer holds a session with this pump (SESSION_IN_USE): it is released when "
                f"that programmer ends it or disconnects, or after {SESSION_IDLE_TIMEOUT_S:.0f} s without a frame "
                "from it; try again then (nothing was sent to the pump)", step=step)
        return self._accept_hello(request, answer, step)

    def _accept_hello(self, request: Frame, answer: Frame, step: str) -> Frame:
        """Check a HELLO answer: the protocol version asked, the pump's proof that it holds the pair key, and the
        same pump as in the first session. A HELLO is said while connecting or on reconnecting within another
        ``step``: the error's step is that one."""
        message = answer.payload.get("error", "no message")
        version = request.payload["protocol"]
        if answer.status == Status.UNSUPPORTED_VERSION:
            spoken = f"{PROTOCOL_VERSION} or {INSECURE_PROTOCOL_VERSION}" if not self.secure else str(version)
            raise LinkError(f"hello: the pump does not speak protocol version {spoken} (UNSUPPORTED_VERSION: "
                            f"{message})", step=step)
        if answer.status != Status.OK:
            raise LinkError(f"hello: the pump answered {code_name(Status, answer.status)}: {message}", step=step)
        if answer.payload.get("protocol") != version:
            raise LinkError(f"hello: the pump answered protocol {answer.payload.get('protocol')!r}, not {version}",
                            step=step)
        if self.pump is not None and _pump_id(answer.payload) != _pump_id(self.pump):
            self._lose_link()
            raise LinkError(
                "hello: a different pump answered after reconnecting ({} {}, was {} {}); stopped so that "
                "nothing is sent to the wrong pump".format(*_pump_id(answer.payload), *_pump_id(self.pump)),
                step=step,
            )
        channel = self._channel_for(request, answer, step) if version != INSECURE_PROTOCOL_VERSION else None
        encoding = answer.payload.get("encoding", JSON_ENCODING)
        if encoding != JSON_ENCODING and encoding not in self.encodings:
            self._lose_link()
            raise LinkError(f"hello: the pump chose the encoding {encoding!r}, which was not offered "
                            f"(offered: {', '.join(self.encodings) or 'none'})", step=step)
        self.pump = {key: value for key, value in answer.payload.items() if key not in ("nonce", "confirm")}
        self.encoding = encoding
        self.secure = channel is not None
        self._channel = channel
        self._in_session = True
        return answer

    def _channel_for(self, request: Frame, answer: Frame, step: str) -> SecureChannel:
        """The session's channel, once the pump proved it holds the pair key; otherwise nothing more is sent."""
        model, serial = _pump_id(answer.payload)
        key = self.keys.key_for(serial) if isinstance(serial, str) else None
        if key is None:
            self._lose_link()
            raise NotPaired(f"hello: the pump {model} serial {serial} knows this programmer ({self.programmer_id}), "
                            f"but this programmer holds no pair key for it: {_how_to_pair(self.transport.url)}",
                            step=step, model=str(model), serial=str(serial))
        try:
            return programmer_channel(key, self.programmer_id, request.payload, answer.payload)
        except HelloNotAuthentic as exc:
            self._lose_link()
            raise LinkError(
                f"hello: the pump answering as {model} serial {serial} could not prove it holds this programmer's "
                f"pair key ({exc}): it is not that pump (an impostor), or it lost the pairing; nothing else was "
                "sent to it", step=step, field="confirm") from None

    def _not_paired(self, step: str) -> NotPaired:
        """NotPaired naming the pump, as its open IDENTIFY tells it (or as unknown if that fails too)."""
        request = self._new_request(Command.IDENTIFY, {})
        model, serial = "unknown model", "unknown"
        try:
            answer = self._send_and_wait(request, self._timeout(request, PAIRING_ANSWER_BYTES))
            if answer.status == Status.OK:
                model, serial = str(answer.payload.get("model")), str(answer.payload.get("serial"))
        except _Retry as retry:
            self.trace.note(f"identify after NOT_AUTHENTICATED: {retry}")
        return NotPaired(f"{step}: the pump {model} serial {serial} is not paired with this programmer: "
                         f"{_how_to_pair(self.transport.url)}",
                         step=step, model=model, serial=serial)

    # -- one try ---------------------------------------------------------------------------------

    def _send_and_wait(self, request: Frame, timeout: float, resync: bool = False) -> Frame:
        """One try: send the request (sealed in a session, after a resync on resends) and wait for its answer."""
        outgoing = self._sealed(request)
        wire = encode_frame(outgoing)
        if resync:
            self._decoder = self._new_decoder()
            wire = DELIMITER + wire
        sent_before, first_sent, tries = self._sendings
        if sent_before is not request:  # a new request, not a resend of the one sent last
            first_sent, tries = time.monotonic(), 0
        self._sendings = (request, first_sent, tries + 1)
        try:
            self.trace.sent(outgoing, wire, resync)
            if outgoing.sealed and self.trace_plaintext and not resync:  # a resend's payload is traced already
                self.trace.plain("TX", request)
            self.transport.write(wire)
            answer = self._wait_for(outgoing, timeout)
            self.trace.done(answer, tries + 1, time.monotonic() - first_sent)
            return answer
        except serial.SerialException as exc:
            self._lose_link()
            raise _Retry(f"link to {self.transport.url} lost ({exc})") from None

    def _sealed(self, request: Frame) -> Frame:
        """The request as it goes on the wire: in a session, anything but HELLO and PAIR_* sealed, once per
        session (a resend in the same session is the same bytes, which the pump answers from its cache)."""
        if self._channel is None or request.command in NEVER_SEALED:
            return request
        cached = self._sealed_copy
        if cached is not None and cached[0] is request and cached[1] is self._channel:
            return cached[2]
        sealed = self._channel.seal(request)
        self._sealed_copy = (request, self._channel, sealed)
        return sealed

    _sealed_copy: tuple[Frame, SecureChannel, Frame] | None = None
    _sendings: tuple[Frame | None, float, int] = (None, 0.0, 0)
    """The request last sent, when it was first sent (monotonic) and how many times: the trace's DONE line."""

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
                if not (frame.is_response and frame.seq == request.seq and frame.command == request.command):
                    self.trace.decoded(frame, f"ignored: not the answer to seq={request.seq}")
                    continue
                answer = self._taken(request, frame)
                if answer is not None:
                    return answer
        raise _Retry("no answer")

    def _taken(self, request: Frame, frame: Frame) -> Frame | None:
        """The answer ``frame`` to ``request`` as taken: opened when the request was sealed, None when it is not
        one this side can trust (kept waiting for; a resend follows the timeout)."""
        if not request.sealed:
            if frame.sealed:
                self.trace.decoded(frame, "ignored: a sealed answer to a request in clear")
                return None
            self.trace.decoded(frame, "answer")
            return frame
        if not frame.sealed:
            if frame.status in (Status.NOT_AUTHENTICATED, Status.NO_SESSION):
                self.trace.decoded(frame, "answer in clear: the pump has no session with this programmer")
                self.end_session()
                raise _Retry(f"the pump has no session with this programmer ({code_name(Status, frame.status)})")
            self.trace.decoded(frame, "ignored: in clear inside a secure session, it cannot be authentic")
            return None
        assert self._channel is not None, "a request was sealed in this session"
        try:
            opened = self._channel.open(frame).frame
        except FrameRejected as exc:
            self.trace.decoded(frame, f"ignored: does not open in this session ({exc.reason})")
            return None
        self.trace.decoded(opened, "answer (sealed)")
        if self.trace_plaintext:
            self.trace.plain("RX", opened)
        return opened

    def _check_retryable(self, answer: Frame, has_session: bool = True) -> Frame:
        """The answer, or _Retry for one that says the pump did not act (BUSY, a corrupted request) or, to a
        request that needed one, that it has no session; an open command's NO_SESSION (a version-1 pump, which
        has no open commands) goes back to the caller."""
        if answer.status == Status.BUSY:
            raise _Retry("pump busy", new_transaction=True)
        if answer.status == Status.BAD_CHECKSUM:
            raise _Retry("the pump received a corrupted request", new_transaction=True)
        if answer.status == Status.NO_SESSION and has_session:
            self.end_session()
            raise _Retry("the pump lost the session (restarted?)")
        return answer

    def _timeout(self, request: Frame, answer_bytes: int) -> float:
        sealing = 2 * SEALING_BYTES if self.secure is not False else 0
        return response_timeout_s(self.transport.baudrate, len(encode_frame(request)) + 1 + sealing, answer_bytes,
                                  self.turnaround_s)

    def _lose_link(self) -> None:
        self.end_session()
        self.transport.close()
        self.trace.note(f"link to {self.transport.url} lost")

    def _hello_request(self) -> Frame:
        """A new HELLO: version 2 with this programmer's id and a fresh nonce, or version 1 to a pump that speaks
        only that; the encodings still offered."""
        offer = {"encodings": list(self.encodings)} if self.encodings else {}
        if self.secure is False:
            payload = {"protocol": INSECURE_PROTOCOL_VERSION, "client": self.client, **offer}
        else:
            payload = {"protocol": PROTOCOL_VERSION, "client": self.client, "programmer_id": self.programmer_id,
                       "nonce": new_nonce(), **offer}
        return self._new_request(Command.HELLO, payload)

    def _new_request(self, command: Command, payload: dict) -> Frame:
        seq, self._seq = self._seq, (self._seq + 1) % 256
        return Frame(seq, command, 0, payload, False)

    def _new_decoder(self) -> FrameDecoder:
        return FrameDecoder(on_drop=self.trace.dropped)


def _how_to_pair(url: str) -> str:
    return (f"open the pump's pairing window and pair with `pump-programmer pair {url} --code NNNNNN` (the code "
            "the pump shows), or from the application's pairing dialog")


def _hex(answer: Frame, key: str) -> bytes:
    """A hex value of the pump's PAIR_START answer; empty when it is none (the exchange then fails on its length)."""
    value = answer.payload.get(key)
    try:
        return bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        return b""


def _pump_id(hello_answer: dict) -> tuple:
    return hello_answer.get("model"), hello_answer.get("serial")


def _seconds(value: object) -> bool:
    """True for a finite int or float that is not a bool (JSON-ish option values are checked, not coerced)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
