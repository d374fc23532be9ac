"""The command handler: one request Frame in, one response Frame out (or nothing), per connection.

It owns what belongs to the link rather than the pump: the session (HELLO first), sealing and opening,
parsing and type checking of payloads, and the answer caches (docs/protocol.md sections 5 and 6). A request
that arrives again (a duplicate on the line, or the driver's resend after a lost answer) gets the answer it
got the first time and is not acted on again, so no resend ever acts twice: in clear, by the same seq, command
and payload; sealed, by the same frame counter, whose sealed answer bytes are sent again unchanged. HELLO is
never answered from the cache and empties it: a new client may reuse an old seq and body.

In protocol version 2 only HELLO, IDENTIFY and PAIR_* are taken in clear; everything else must be sealed in
the connection's session, and a sealed frame that does not open is dropped unanswered (an answer would tell a
forger something), counted and logged. Anything unexpected inside a handler is answered INTERNAL and the pump
keeps serving.
"""

from __future__ import annotations

import sys
import traceback
from collections import OrderedDict
from datetime import datetime
from typing import Callable

from pydantic import ValidationError

from emulator.pairing_window import PairingWindow, programmer_id_field, window_seconds
from emulator.pump import Pump, PumpError
from emulator.sessions import Session, Sessions
from protocol.codes import (INSECURE_PROTOCOL_VERSION, MAX_EVENTS_PER_COMPACT_READ, MAX_EVENTS_PER_READ, MAX_PAYLOAD,
                            OPEN_COMMANDS, PROTOCOL_VERSION, Command, Status)
from protocol.compact import ENCODING as COMPACT, JSON_ENCODING, CompactError
from protocol.frame import Frame, canonical_json, payload_bytes
from protocol.secure import FrameRejected, OpenedFrame, nonce_bytes, pump_channel
from protocol.session_crypto import OVERHEAD_BYTES
from programmer.errors import InputError, from_validation_error
from programmer.program import Drug, program_from_data

CACHED_ANSWERS = 32
"""Answers remembered per connection, by seq: enough to cover a resend or a late duplicate."""
MAX_ERROR_TEXT = 1000
"""Longest error message in characters; MAX_FIELD_TEXT, the longest ``field``. An error echoes what it
refuses (a key, a value), which a request may make as long as its whole payload: cut, the answer always fits
in a frame, whatever was sent."""
MAX_FIELD_TEXT = 200
_BUSY = "busy (injected fault): try again"
SEALED_OVERHEAD = 1 + OVERHEAD_BYTES
"""What sealing adds to a payload (the 0xE5 mark, the counter, the tag): a sealed answer's plain payload is at most
MAX_PAYLOAD less this, so the sealed one still fits in a frame."""

MAX_OFFERED_ENCODINGS = 16
"""Most names a HELLO's ``encodings`` list may hold."""

_NUMBER = "number"
_OBJECT_OR_NULL = "object or null"
_WANTED = {bool: "true or false", str: "a string", int: "an integer", dict: "an object", list: "a list",
           _NUMBER: "a number", _OBJECT_OR_NULL: "an object or null"}


BOLUS_REQUESTS: dict[str, dict[str, object]] = {
    "therapeutic": {"bolus_id": str, "dose": _NUMBER, "duration_min": _NUMBER},
    "prime": {"bolus_id": str, "reason": str, "catheter_cm": _NUMBER, "volume_ml": _NUMBER},
    "bridge": {"bolus_id": str, "volume_ml": _NUMBER, "concentration_per_ml": _NUMBER},
}
"""BOLUS's keys by ``kind`` (besides ``kind`` itself, and a prime's optional ``catheter_segments_cm``)."""


def _is(value: object, kind: object) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # JSON true/false is neither a number nor an integer
    if kind == _NUMBER:
        return isinstance(value, (int, float))
    if kind == _OBJECT_OR_NULL:
        return value is None or isinstance(value, dict)
    assert isinstance(kind, type), "a type, or one of the two names above"
    return isinstance(value, kind)


def fields(payload: dict, kinds: dict[str, object]) -> list:
    """The payload's values in the order of ``kinds``, type-checked; exactly those keys, numbers as floats."""
    for name in payload:
        if name not in kinds:
            raise PumpError(Status.BAD_ARGUMENT, f"unknown field {name!r}", name)
    values = []
    for name, kind in kinds.items():
        if name not in payload:
            raise PumpError(Status.BAD_ARGUMENT, f"required field {name!r} is missing", name)
        value = payload[name]
        if not _is(value, kind):
            raise PumpError(Status.BAD_ARGUMENT, f"{name} must be {_WANTED[kind]}, got {value!r}", name)
        values.append(float(value) if kind == _NUMBER else value)
    return values


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(command: int) -> str:
    return Command(command).name if command in Command.__members__.values() else f"command 0x{command:02X}"


def _cache_key(request: Frame) -> tuple:
    return request.command, canonical_json(request.payload)


def _input_error(error: InputError, prefix: str) -> PumpError:
    field, message = error.problems[0]
    field = f"{prefix}.{field}" if field else prefix
    return PumpError(Status.BAD_ARGUMENT, f"{field}: {message}", field)


class Service:
    """What every connection to one pump shares: the pump, its sessions and pairing window, and how it was
    started. ``connect`` gives each connection its own ``Connection``.

    ``insecure`` makes a pump that speaks protocol version 1 only (frames in clear, no pairing: --insecure).
    ``compact`` False makes a pump built before the compact encoding: HELLO knows no ``encodings`` key (so
    offering one is BAD_ARGUMENT, like any unknown key) and every answer is JSON (docs/emulator.md).
    """

    def __init__(self, pump: Pump, service_enabled: bool = False, compact: bool = True, insecure: bool = False,
                 sessions: Sessions | None = None, window: PairingWindow | None = None):
        self.pump = pump
        self.service_enabled = service_enabled
        self.compact = compact
        self.insecure = insecure
        self.protocol = INSECURE_PROTOCOL_VERSION if insecure else PROTOCOL_VERSION
        self.sessions = sessions or Sessions(pump)
        self.window = window or PairingWindow(pump)
        self._connections = 0

    def connect(self) -> "Connection":
        """A new connection: no session, nothing cached."""
        self._connections += 1
        return Connection(self, self._connections)


class Connection:
    """One connection's protocol state: its answer cache, encoding and session; one request frame in, the
    frame to send back out (or None: nothing is sent)."""

    def __init__(self, service: Service, number: int):
        self.service = service
        self.pump = service.pump
        self.sessions = service.sessions
        self.number = number
        self.session: Session | None = None
        self.last_authentic = self.sessions.monotonic()
        """When this connection last sent something authentic (a frame that opened, or any frame in version 1)."""
        self._hello_done = False
        self.acted: int | None = None
        """The command the last ``handle`` acted on (None: answered from a cache, refused unopened, or BUSY)."""
        self._encoding = JSON_ENCODING
        self._cache: OrderedDict[int, tuple[tuple, Frame]] = OrderedDict()
        self._opening: tuple[tuple, Frame] | None = None
        """The HELLO that opened ``session`` and its answer: a resend of it (same seq, same nonce) is that session's."""
        pump = self.pump
        # command -> (handler, the request's fields); None: the handler checks the payload itself.
        self._handlers: dict[int, tuple[Callable[..., dict], dict | None]] = {
            Command.HELLO: (self._hello, None),
            Command.IDENTIFY: (pump.identify, {}),
            Command.READ_STATUS: (pump.status, {}),
            Command.READ_PROGRAM: (pump.read_program, {}),
            Command.STAGE_PROGRAM: (self._stage, {"program": dict}),
            Command.COMMIT_PROGRAM: (self._commit, {"checksum": str}),
            Command.READ_EVENTS: (self._read_events, {"start": int, "count": int}),
            Command.SET_CLOCK: (self._set_clock, {"time": str}),
            Command.BOLUS: (self._bolus, None),
            Command.CANCEL_BOLUS: (pump.cancel_bolus, {"bolus_id": str}),
            Command.BOLUS_STATUS: (pump.bolus_status, {"bolus_id": str}),
            Command.REFILL: (self._refill, None),
            Command.SET_DEMAND: (self._set_demand, None),
            Command.READ_DEMAND: (pump.read_demand, {}),
            Command.ACK_ALARM: (pump.acknowledge_alarm, {"code": str}),
            Command.SET_LOW_ALARM: (pump.set_low_alarm, {"low_alarm_ml": _NUMBER}),
        }
        if not service.insecure:
            self._handlers |= {Command.PAIR_START: (service.window.start, None),
                               Command.PAIR_FINISH: (service.window.finish, None),
                               Command.END_SESSION: (self._end_session, {}),
                               Command.UNPAIR: (self._unpair, {})}
        if service.service_enabled:
            self._handlers[Command.SERVICE] = (self._service, None)

    def close(self) -> None:
        """The connection is gone: its session ends ("closed")."""
        self.sessions.end(self.session, "closed")
        self.session = None

    def handle(self, request: Frame, busy: Callable[[], bool] = lambda: False) -> Frame | None:
        """The response to ``request``, or None when nothing is sent (a response, or a sealed frame that does not
        open). ``busy`` is asked, for a request that would be acted on, whether to answer BUSY instead (the fault
        injector); a resend is answered from the cache before it is asked."""
        self.acted = None
        if request.is_response:
            return None
        if self.service.insecure:
            if request.command != Command.HELLO and request.command in self._handlers and not self._hello_done:
                return self.error(request, Status.NO_SESSION, "no session: send HELLO first")
            return self._answer_in_clear(request, busy)
        if request.sealed:
            return self._answer_sealed(request, busy)
        if request.command in OPEN_COMMANDS:
            return self._answer_in_clear(request, busy)
        if self.session is not None and self._in_session():
            self._open(self.session, request)  # a clear frame inside a session: rejected, counted and logged
            return None
        return self.error(request, Status.NOT_AUTHENTICATED,
                          f"{_name(request.command)} needs a secure session: send HELLO (protocol {PROTOCOL_VERSION}) "
                          "and seal the request")

    def error(self, request: Frame, status: Status, message: str, field: str | None = None) -> Frame:
        """A non-OK response to ``request``, its texts cut to their bounds with a visible "…"."""
        cut_field = None if field is None else _cut(field, MAX_FIELD_TEXT)
        return Frame(request.seq, request.command, status, {"error": _cut(message, MAX_ERROR_TEXT), "field": cut_field},
                     True)

    # -- the three ways a request arrives ---------------------------------------------------------------

    def _answer_in_clear(self, request: Frame, busy: Callable[[], bool]) -> Frame:
        if self.service.insecure:
            self.last_authentic = self.sessions.monotonic()
        if request.command == Command.HELLO:
            resent = self._opening is not None and self._opening[0] == (request.seq, _cache_key(request))
            if resent and self._opening is not None and self._in_session():
                return self._opening[1]  # the same HELLO again (a resend): the same session, the same answer
            if busy():
                return self.error(request, Status.BUSY, _BUSY)
            self._forget()
            response = self._respond(request)
            if self._in_session():
                self._opening = ((request.seq, _cache_key(request)), response)
            return response
        key = _cache_key(request)
        cached = self._cache.get(request.seq)
        if cached is not None and cached[0] == key:
            return cached[1]
        if busy():
            return self.error(request, Status.BUSY, _BUSY)
        response = self._respond(request)
        self._cache[request.seq] = (key, response)
        self._cache.move_to_end(request.seq)
        while len(self._cache) > CACHED_ANSWERS:
            self._cache.popitem(last=False)
        return response

    def _answer_sealed(self, request: Frame, busy: Callable[[], bool]) -> Frame | None:
        session = self.session
        if session is None or session.ended:
            return self.error(request, Status.NOT_AUTHENTICATED, "no secure session on this connection: send HELLO "
                                                                 f"(protocol {PROTOCOL_VERSION}) first")
        opened = self._open(session, request)
        if opened is None:
            return None
        if not self.sessions.authentic(session):
            return self.error(request, Status.NOT_AUTHENTICATED, "another programmer's session is active on this "
                                                                 "pump: send HELLO again when it has ended")
        self.last_authentic = self.sessions.monotonic()
        if opened.repeat and session.answer is not None:
            return session.answer
        session.answer = None
        inner = opened.frame
        if busy():
            return session.channel.seal(self.error(inner, Status.BUSY, _BUSY))  # not kept: a resend is acted on
        if inner.command in OPEN_COMMANDS - {Command.IDENTIFY}:
            response = self.error(inner, Status.REFUSED, f"{_name(inner.command)} is sent in clear, never sealed")
        else:
            response = self._respond(inner, MAX_PAYLOAD - SEALED_OVERHEAD)
        session.answer = session.channel.seal(response)
        return session.answer

    def _open(self, session: Session, request: Frame) -> OpenedFrame | None:
        """``request`` opened under ``session``'s keys, or None: it did not open, and is counted and logged."""
        try:
            return session.channel.open(request)
        except FrameRejected as exc:
            self.pump._log("frame_rejected", reason=exc.reason, session=session.id)
            return None

    def _in_session(self) -> bool:
        return self.session is not None and not self.session.ended

    def _forget(self) -> None:
        """A HELLO: this connection starts again (its previous session ends, nothing of it is answered again)."""
        self._opening = None
        self._cache.clear()
        self._hello_done = False
        self._encoding = JSON_ENCODING
        self.sessions.end(self.session, "replaced")
        self.session = None

    # -- acting on a request -----------------------------------------------------------------------------

    def _respond(self, request: Frame, limit: int = MAX_PAYLOAD) -> Frame:
        """Act on ``request`` and answer it; an answer whose payload would pass ``limit`` bytes (less than
        MAX_PAYLOAD when it is to be sealed) is FRAME_TOO_LARGE."""
        try:
            if request.command not in self._handlers:
                raise PumpError(Status.UNKNOWN_COMMAND, f"unknown command 0x{request.command:02X}")
            handler, kinds = self._handlers[request.command]
            arguments = [request.payload] if kinds is None else fields(request.payload, kinds)
            self.acted = request.command
            self.pump.sync()
            answer = handler(*arguments)
            response = self._ok(request, answer)
            if len(payload_bytes(response)) > limit:
                raise PumpError(Status.FRAME_TOO_LARGE, f"the answer would exceed {limit} bytes: ask for less")
        except PumpError as refusal:
            response = self.error(request, refusal.status, refusal.message, refusal.field)
        except Exception:  # noqa: BLE001 - a firmware bug must not stop the pump answering
            traceback.print_exc(file=sys.stderr)
            response = self.error(request, Status.INTERNAL, "internal error in the pump (see emulator log)")
        try:
            self.pump.flush()  # an acknowledged change is on disk before its answer leaves
        except OSError as exc:
            print(f"pump-emulator: cannot save state: {exc}", file=sys.stderr, flush=True)
            response = self.error(request, Status.INTERNAL, f"the pump could not save its memory: {exc.strerror or exc}")
        return response

    def _ok(self, request: Frame, answer: dict) -> Frame:
        """The OK response: a READ_EVENTS page in the session's encoding, when it can carry it exactly."""
        if request.command == Command.READ_EVENTS and self._encoding == COMPACT:
            response = Frame(request.seq, request.command, Status.OK, answer, True, compact=True)
            try:
                payload_bytes(response)
                return response
            except CompactError:
                pass  # something the compact tables cannot carry exactly: this page goes as JSON
        return Frame(request.seq, request.command, Status.OK, answer, True)

    # -- handlers that need more than one line ----------------------------------------------------

    def _hello(self, payload: dict) -> dict:
        speaks = self.service.protocol
        protocol = payload.get("protocol")
        if _is(protocol, int) and protocol != speaks:
            raise PumpError(Status.UNSUPPORTED_VERSION,
                            f"protocol {protocol} is not supported; this pump speaks {speaks}", "protocol")
        offers_encodings = self.service.compact and "encodings" in payload
        kinds: dict[str, object] = {"protocol": int, "client": str, **({"encodings": list} if offers_encodings else {})}
        if not self.service.insecure:
            kinds |= {"programmer_id": str, "nonce": str}
        values = dict(zip(kinds, fields(payload, kinds)))
        offered = values.get("encodings")
        if offered is not None and (not all(isinstance(name, str) for name in offered)
                                    or len(offered) > MAX_OFFERED_ENCODINGS):
            raise PumpError(Status.BAD_ARGUMENT,
                            f"encodings must be a list of at most {MAX_OFFERED_ENCODINGS} strings, got {offered!r}",
                            "encodings")
        answer = {"protocol": speaks, **self.pump.hello()}
        if offered is not None:
            known = [name for name in offered if name in (COMPACT, JSON_ENCODING)]
            answer["encoding"] = known[0] if known else JSON_ENCODING
        if not self.service.insecure:
            answer = self._open_session(payload, answer)
        self._hello_done = True
        self._encoding = answer.get("encoding", JSON_ENCODING)
        return answer

    def _open_session(self, request: dict, answer: dict) -> dict:
        """Version 2: a pending session for a paired programmer, and the HELLO answer that confirms it."""
        programmer_id = programmer_id_field(request)
        if nonce_bytes(request["nonce"]) is None:
            raise PumpError(Status.BAD_ARGUMENT, "nonce must be 32 lower-case hex digits (16 random bytes)", "nonce")
        key = self.pump.pair_key(programmer_id)
        if key is None:
            raise PumpError(Status.NOT_AUTHENTICATED, f"programmer {programmer_id!r} is not paired with this pump: "
                                                      "open the pairing window at the pump and pair", "programmer_id")
        if self.sessions.in_use_by_other(self.number):
            raise PumpError(Status.SESSION_IN_USE, "another programmer has a session with this pump: try again when "
                                                   "it has ended")
        answer, channel = pump_channel(key, self.pump.state.serial, request, answer)
        self.session = self.sessions.begin(channel, programmer_id, self.number)
        return answer

    def _end_session(self) -> dict:
        self.sessions.end(self.session, "ended")
        return {}

    def _unpair(self) -> dict:
        assert self.session is not None, "UNPAIR is only acted on inside a session"
        programmer_id = self.session.programmer_id
        self.pump.forget_paired(programmer_id)
        self.pump._log("programmer_unpaired", programmer_id=programmer_id)
        self.sessions.end_programmer(programmer_id, "unpaired")
        return {"unpaired": programmer_id}

    def _session_id(self) -> str | None:
        return None if self.session is None else self.session.id

    def _commit(self, checksum: str) -> dict:
        return self.pump.commit(checksum, self._session_id())

    def _read_events(self, start: int, count: int) -> dict:
        limit = MAX_EVENTS_PER_COMPACT_READ if self._encoding == COMPACT else MAX_EVENTS_PER_READ
        return self.pump.read_events(start, count, limit)

    def _stage(self, document: dict) -> dict:
        try:
            program = program_from_data(document)
        except InputError as error:
            raise _input_error(error, "program") from error
        return self.pump.stage(program, self._session_id())

    def _set_clock(self, text: str) -> dict:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise PumpError(Status.BAD_ARGUMENT, f"time {text!r} is not an ISO 8601 local time", "time") from None
        if moment.tzinfo is not None:
            raise PumpError(Status.BAD_ARGUMENT, "time must be pump-local, without an offset", "time")
        return self.pump.set_clock(moment)

    def _bolus(self, payload: dict) -> dict:
        """BOLUS of its ``kind`` (default therapeutic), each kind with exactly its own keys."""
        kind = payload.get("kind", "therapeutic")
        if kind not in BOLUS_REQUESTS:
            raise PumpError(Status.BAD_ARGUMENT, f"kind {kind!r} is not one of {', '.join(BOLUS_REQUESTS)} (a demand "
                            "bolus is started by the pump when the patient presses the button)", "kind")
        rest = {name: value for name, value in payload.items() if name != "kind"}
        if kind == "prime":
            given = "catheter_segments_cm" in rest
            segments = rest.pop("catheter_segments_cm", [])
            if not isinstance(segments, list) or not all(_is(length, _NUMBER) for length in segments) or (
                    given and not segments):
                raise PumpError(Status.BAD_ARGUMENT, f"catheter_segments_cm must be a list of at least one number "
                                f"(leave it out when the catheter is one piece), got {segments!r}",
                                "catheter_segments_cm")
            bolus_id, reason, catheter_cm, volume_ml = fields(rest, BOLUS_REQUESTS[kind])
            return self.pump.prime(bolus_id, reason, catheter_cm, volume_ml, tuple(float(cm) for cm in segments))
        method = self.pump.bridge if kind == "bridge" else self.pump.bolus
        return method(*fields(rest, BOLUS_REQUESTS[kind]))

    def _set_demand(self, payload: dict) -> dict:
        enabled = payload.get("enabled")
        if not isinstance(enabled, bool):
            raise PumpError(Status.BAD_ARGUMENT, f"enabled must be true or false, got {enabled!r}", "enabled")
        if not enabled:
            fields(payload, {"enabled": bool})
            return self.pump.set_demand(False)
        _, *settings = fields(payload, {"enabled": bool, "dose": _NUMBER, "duration_min": _NUMBER,
                                        "lockout_min": _NUMBER, "max_per_day": int})
        return self.pump.set_demand(True, *settings)

    def _refill(self, payload: dict) -> dict:
        bridge_data = payload.get("bridge")
        rest = {name: value for name, value in payload.items() if name != "bridge"}
        refill_id, withdrawn_ml, added_ml, drug_data = fields(rest, {
            "refill_id": str, "withdrawn_ml": _NUMBER, "added_ml": _NUMBER, "drug": _OBJECT_OR_NULL})
        bridge = None
        if "bridge" in payload:
            if not isinstance(bridge_data, dict):
                raise PumpError(Status.BAD_ARGUMENT, f"bridge must be an object, got {bridge_data!r}", "bridge")
            try:
                bolus_id, volume_ml = fields(bridge_data, {"bolus_id": str, "volume_ml": _NUMBER})
            except PumpError as error:
                raise PumpError(error.status, f"bridge.{error.message}", f"bridge.{error.field}") from None
            bridge = (bolus_id, volume_ml)
        drug = None
        if drug_data is not None:
            try:
                drug = Drug.model_validate(drug_data, strict=True)
            except ValidationError as error:
                raise _input_error(from_validation_error(error), "drug") from None
        return self.pump.refill(refill_id, withdrawn_ml, added_ml, drug, bridge)

    def _service(self, payload: dict) -> dict:
        action = payload.get("action")
        if action in ("motor_stall", "clear_stall"):
            fields(payload, {"action": str})
            return self.pump.set_stalled(action == "motor_stall")
        if action == "set_battery":
            return self.pump.set_battery(fields(payload, {"action": str, "percent": _NUMBER})[1])
        if action == "advance":
            return self.pump.advance_hours(fields(payload, {"action": str, "hours": _NUMBER})[1])
        if action == "press_button":
            fields(payload, {"action": str})
            return self.pump.press_button()
        if action == "open_pairing" and not self.service.insecure:
            seconds = fields(payload, {"action": str, "seconds": int})[1]
            try:
                self.service.window.open(window_seconds(seconds))
            except ValueError as exc:
                raise PumpError(Status.OUT_OF_RANGE, str(exc), "seconds") from None
            return self.pump.status()
        actions = ("motor_stall, clear_stall, set_battery, advance, press_button"
                   + ("" if self.service.insecure else ", open_pairing"))
        raise PumpError(Status.BAD_ARGUMENT, f"action {action!r} is not one of {actions}", "action")
