"""The command handler: one request Frame in, one response Frame out.

It owns what belongs to the link rather than the pump: the session (HELLO first), parsing and type
checking of payloads, and the answer cache (docs/protocol.md section 5). A request that arrives again
with the same seq, command and payload (a duplicate on the line, or the driver's resend after a lost
answer) gets the answer it got the first time and is not executed again, so no resend ever acts twice.
HELLO is never answered from the cache and empties it: a new client may reuse an old seq and body.
Anything unexpected inside a handler is answered INTERNAL and the pump keeps serving.
"""

from __future__ import annotations

import sys
import traceback
from collections import OrderedDict
from datetime import datetime
from typing import Callable

from pydantic import ValidationError

from emulator.pump import Pump, PumpError
from protocol.codes import (MAX_EVENTS_PER_COMPACT_READ, MAX_EVENTS_PER_READ, MAX_PAYLOAD, PROTOCOL_VERSION, Command,
                            Status)
from protocol.compact import ENCODING as COMPACT, JSON_ENCODING, CompactError
from protocol.frame import Frame, canonical_json, payload_bytes
from programmer.errors import InputError, from_validation_error
from programmer.program import Drug, program_from_data

CACHED_ANSWERS = 32
MAX_ERROR_TEXT = 1000
"""Longest error message in characters; MAX_FIELD_TEXT, the longest ``field``. An error echoes what it
refuses (a key, a value), which a request may make as long as its whole payload: cut, the answer always fits
in a frame, whatever was sent."""
MAX_FIELD_TEXT = 200
"""Answers remembered per session, by seq: enough to cover a resend or a late duplicate."""

MAX_OFFERED_ENCODINGS = 16
"""Most names a HELLO's ``encodings`` list may hold."""

_NUMBER = "number"
_OBJECT_OR_NULL = "object or null"
_WANTED = {str: "a string", int: "an integer", dict: "an object", list: "a list", _NUMBER: "a number",
           _OBJECT_OR_NULL: "an object or null"}


def _is(value: object, kind: object) -> bool:
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


def _cache_key(request: Frame) -> tuple:
    return request.command, canonical_json(request.payload)


def _input_error(error: InputError, prefix: str) -> PumpError:
    field, message = error.problems[0]
    field = f"{prefix}.{field}" if field else prefix
    return PumpError(Status.BAD_ARGUMENT, f"{field}: {message}", field)


class Service:
    """Answers request frames for one pump. Call ``new_session`` when a new client connects.

    ``compact`` False makes a pump built before the compact encoding: HELLO knows no ``encodings`` key (so
    offering one is BAD_ARGUMENT, like any unknown key) and every answer is JSON (docs/emulator.md).
    """

    def __init__(self, pump: Pump, service_enabled: bool = False, compact: bool = True):
        self.pump = pump
        self.compact = compact
        self._session = False
        self._encoding = JSON_ENCODING
        self._cache: OrderedDict[int, tuple[tuple, Frame]] = OrderedDict()
        # command -> (handler, the request's fields); None: the handler checks the payload itself.
        self._handlers: dict[int, tuple[Callable[..., dict], dict | None]] = {
            Command.HELLO: (self._hello, None),
            Command.IDENTIFY: (pump.identify, {}),
            Command.READ_STATUS: (pump.status, {}),
            Command.READ_PROGRAM: (pump.read_program, {}),
            Command.STAGE_PROGRAM: (self._stage, {"program": dict}),
            Command.COMMIT_PROGRAM: (pump.commit, {"checksum": str}),
            Command.READ_EVENTS: (self._read_events, {"start": int, "count": int}),
            Command.SET_CLOCK: (self._set_clock, {"time": str}),
            Command.BOLUS: (pump.bolus, {"bolus_id": str, "dose": _NUMBER, "duration_min": _NUMBER}),
            Command.CANCEL_BOLUS: (pump.cancel_bolus, {"bolus_id": str}),
            Command.REFILL: (self._refill, {"refill_id": str, "withdrawn_ml": _NUMBER, "added_ml": _NUMBER,
                                            "drug": _OBJECT_OR_NULL}),
            Command.ACK_ALARM: (pump.acknowledge_alarm, {"code": str}),
            Command.SET_LOW_ALARM: (pump.set_low_alarm, {"low_alarm_ml": _NUMBER}),
        }
        if service_enabled:
            self._handlers[Command.SERVICE] = (self._service, None)

    def new_session(self) -> None:
        """A new client: HELLO is needed again and no earlier answer is replayed."""
        self._session = False
        self._encoding = JSON_ENCODING
        self._cache.clear()

    def handle(self, request: Frame) -> Frame | None:
        """The response to ``request`` (None for a frame that is itself a response: nothing to answer)."""
        if request.is_response:
            return None
        if request.command == Command.HELLO:
            self.new_session()
            return self._respond(request)
        key = _cache_key(request)
        cached = self._cache.get(request.seq)
        if cached is not None and cached[0] == key:
            return cached[1]
        response = self._respond(request)
        self._cache[request.seq] = (key, response)
        self._cache.move_to_end(request.seq)
        while len(self._cache) > CACHED_ANSWERS:
            self._cache.popitem(last=False)
        return response

    def error(self, request: Frame, status: Status, message: str, field: str | None = None) -> Frame:
        """A non-OK response to ``request`` (also used by the fault injector for BUSY), its texts cut to their
        bounds with a visible "…"."""
        cut_field = None if field is None else _cut(field, MAX_FIELD_TEXT)
        return Frame(request.seq, request.command, status, {"error": _cut(message, MAX_ERROR_TEXT), "field": cut_field},
                     True)

    def is_resend(self, request: Frame) -> bool:
        """Whether ``request`` is a resend of one answered in this session: it gets that answer again, and
        nothing else may come first (the fault injector's BUSY included)."""
        cached = self._cache.get(request.seq)
        return cached is not None and cached[0] == _cache_key(request) and request.command != Command.HELLO

    def _respond(self, request: Frame) -> Frame:
        try:
            if request.command not in self._handlers:
                raise PumpError(Status.UNKNOWN_COMMAND, f"unknown command 0x{request.command:02X}")
            if request.command != Command.HELLO and not self._session:
                raise PumpError(Status.NO_SESSION, "no session: send HELLO first")
            handler, kinds = self._handlers[request.command]
            arguments = [request.payload] if kinds is None else fields(request.payload, kinds)
            self.pump.sync()
            answer = handler(*arguments)
            response = self._answer(request, answer)
            if len(payload_bytes(response)) > MAX_PAYLOAD:
                raise PumpError(Status.FRAME_TOO_LARGE, f"the answer would exceed {MAX_PAYLOAD} bytes: ask for less")
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

    def _answer(self, request: Frame, answer: dict) -> Frame:
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
        offers_encodings = self.compact and "encodings" in payload
        kinds: dict[str, object] = {"protocol": int, "client": str, **({"encodings": list} if offers_encodings else {})}
        protocol, _client, *offered = fields(payload, kinds)
        if offers_encodings and (not all(isinstance(name, str) for name in offered[0])
                                 or len(offered[0]) > MAX_OFFERED_ENCODINGS):
            raise PumpError(Status.BAD_ARGUMENT,
                            f"encodings must be a list of at most {MAX_OFFERED_ENCODINGS} strings, got {offered[0]!r}",
                            "encodings")
        if protocol != PROTOCOL_VERSION:
            raise PumpError(Status.UNSUPPORTED_VERSION,
                            f"protocol {protocol} is not supported; this pump speaks {PROTOCOL_VERSION}", "protocol")
        self._session = True
        answer = {"protocol": PROTOCOL_VERSION, **self.pump.hello()}
        if offers_encodings:
            known = [name for name in offered[0] if name in (COMPACT, JSON_ENCODING)]
            self._encoding = answer["encoding"] = known[0] if known else JSON_ENCODING
        return answer

    def _read_events(self, start: int, count: int) -> dict:
        limit = MAX_EVENTS_PER_COMPACT_READ if self._encoding == COMPACT else MAX_EVENTS_PER_READ
        return self.pump.read_events(start, count, limit)

    def _stage(self, document: dict) -> dict:
        try:
            program = program_from_data(document)
        except InputError as error:
            raise _input_error(error, "program") from error
        return self.pump.stage(program)

    def _set_clock(self, text: str) -> dict:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise PumpError(Status.BAD_ARGUMENT, f"time {text!r} is not an ISO 8601 local time", "time") from None
        if moment.tzinfo is not None:
            raise PumpError(Status.BAD_ARGUMENT, "time must be pump-local, without an offset", "time")
        return self.pump.set_clock(moment)

    def _refill(self, refill_id: str, withdrawn_ml: float, added_ml: float, drug_data: dict | None) -> dict:
        drug = None
        if drug_data is not None:
            try:
                drug = Drug.model_validate(drug_data, strict=True)
            except ValidationError as error:
                raise _input_error(from_validation_error(error), "drug") from None
        return self.pump.refill(refill_id, withdrawn_ml, added_ml, drug)

    def _service(self, payload: dict) -> dict:
        action = payload.get("action")
        if action in ("motor_stall", "clear_stall"):
            fields(payload, {"action": str})
            return self.pump.set_stalled(action == "motor_stall")
        if action == "set_battery":
            return self.pump.set_battery(fields(payload, {"action": str, "percent": _NUMBER})[1])
        if action == "advance":
            return self.pump.advance_hours(fields(payload, {"action": str, "hours": _NUMBER})[1])
        raise PumpError(Status.BAD_ARGUMENT,
                        f"action {action!r} is not one of motor_stall, clear_stall, set_battery, advance", "action")
