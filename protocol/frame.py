"""Frames: the unit the pump and the programmer exchange, and the stream decoder that finds them.

Body layout (big-endian), before COBS encoding; docs/protocol.md explains each choice:

    0  version (FRAME_VERSION)     1  seq          2  command (| RESPONSE_BIT in responses)
    3  status (0 in requests)      4  payload length N (<= MAX_PAYLOAD)
    6  N bytes of payload          6+N  CRC-16/CCITT-FALSE of bytes 0..6+N-1

The payload is a JSON object, or, in an OK answer to READ_EVENTS, a compact page (``protocol.compact``,
first byte 0xC1, which no JSON text starts with), or, in a secure session, either of those sealed
(``protocol.secure``, first byte 0xE5): the decoder tells them apart by that byte alone. A sealed frame comes
out of the decoder with its payload still sealed (``Frame.sealed``); only the session can open it.

On the wire a frame is ``cobs.encode(body) + b"\\x00"``. The decoder never trusts a read boundary: serial
adapters hand over bytes in arbitrary batches, so it buffers until a delimiter and checks everything
before returning a frame. A frame that fails any check is dropped, counted and reported, never repaired:
its seq cannot be trusted, so it cannot even be answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from protocol import cobs, compact
from protocol.codes import FRAME_VERSION, MAX_PAYLOAD, RESPONSE_BIT, Command, Status
from protocol.crc import crc16
from programmer import strict_json

SEALED_MARK = 0xE5
"""First byte of a sealed payload (docs/protocol.md, section 6): neither JSON nor a compact page starts with it."""
HEADER_SIZE = 6
CRC_SIZE = 2
MAX_BODY = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
MAX_ENCODED_FRAME = cobs.max_encoded_length(MAX_BODY)
"""Longest run of non-zero bytes a valid frame can be; a longer run is garbage and is discarded."""
MAX_WIRE_FRAME = MAX_ENCODED_FRAME + 1
"""Longest frame on the wire, delimiter included (what a timeout must allow for)."""
DELIMITER = b"\x00"

_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def canonical_json(obj: object) -> bytes:
    """``obj`` as compact JSON with sorted keys, non-ASCII escaped: one byte string per value.

    NaN and infinities raise ValueError (JSON has no such numbers). Escaping to ASCII keeps the bytes
    valid UTF-8 whatever the strings hold, and matches the program-checksum definition.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("ascii")


def _check_byte_field(name: str, value: object, limit: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError(f"{name} must be an integer in 0..{limit}, got {value!r}")


@dataclass(frozen=True)
class Frame:
    """One request or response. ``command`` never includes RESPONSE_BIT; ``is_response`` says which way.

    Fields are checked on construction, so a Frame that exists can be encoded unless its payload is too
    large or not JSON (known only once serialised, in encode_frame). ``compact`` sends the payload in the
    compact encoding; only an OK answer to READ_EVENTS may be compact. ``sealed``, when not empty, is the
    payload as sent in a secure session (``protocol.secure``): ``payload`` is then empty until it is opened.
    """

    seq: int
    command: int
    status: int
    payload: dict
    is_response: bool
    compact: bool = False
    sealed: bytes = b""

    def __post_init__(self) -> None:
        _check_byte_field("seq", self.seq, 0xFF)
        _check_byte_field("command", self.command, RESPONSE_BIT - 1)
        _check_byte_field("status", self.status, 0xFF)
        if not isinstance(self.is_response, bool):
            raise ValueError(f"is_response must be a bool, got {self.is_response!r}")
        if not self.is_response and self.status != 0:
            raise ValueError(f"status of a request must be 0, got {self.status}")
        if not isinstance(self.payload, dict):
            raise ValueError(f"payload must be a dict (a JSON object), got {type(self.payload).__name__}")
        if self.compact and not _may_be_compact(self.command, self.status, self.is_response):
            raise ValueError("only an OK answer to READ_EVENTS may be compact")
        if self.sealed and (self.payload or self.sealed[0] != SEALED_MARK):
            raise ValueError(f"a sealed frame starts with 0x{SEALED_MARK:02X} and carries no open payload beside it")


def _may_be_compact(command: int, status: int, is_response: bool) -> bool:
    return is_response and command == Command.READ_EVENTS and status == Status.OK


def payload_bytes(frame: Frame) -> bytes:
    """The payload as sent: sealed, canonical JSON, or the compact page. ValueError if it cannot be sent that way."""
    if frame.sealed:
        return frame.sealed
    if frame.compact:
        return compact.encode_page(frame.payload)
    try:
        return canonical_json(frame.payload)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload cannot be sent as JSON: {exc}") from exc


def header_bytes(frame: Frame) -> bytes:
    """Bytes 0..3 of the body: version, seq, command (with RESPONSE_BIT in a response) and status. A sealed
    payload authenticates them, so none can be changed on the way."""
    command = frame.command | (RESPONSE_BIT if frame.is_response else 0)
    return bytes((FRAME_VERSION, frame.seq, command, frame.status))


def encode_frame(frame: Frame) -> bytes:
    """The wire bytes of ``frame``: COBS-encoded body and the 0x00 delimiter."""
    payload = payload_bytes(frame)
    if len(payload) > MAX_PAYLOAD:
        kind = "sealed" if frame.sealed else "compact" if frame.compact else "JSON"
        raise ValueError(f"payload is {len(payload)} bytes of {kind}; MAX_PAYLOAD is {MAX_PAYLOAD}")
    body = header_bytes(frame) + len(payload).to_bytes(2, "big") + payload
    return cobs.encode(body + crc16(body).to_bytes(CRC_SIZE, "big")) + DELIMITER


class _Rejected(Exception):
    """A delimited chunk that is not a valid frame; ``code`` is the stable first word of the drop reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


def _parse_payload(raw: bytes) -> dict:
    try:
        value = strict_json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _Rejected("payload", f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _Rejected("payload", f"a JSON {_JSON_TYPE_NAMES[type(value)]} where an object belongs")
    return value


def _parse(chunk: bytes) -> Frame:
    """Check one delimited chunk completely and return its frame, or raise _Rejected saying why not."""
    try:
        body = cobs.decode(chunk)
    except cobs.CobsDecodeError as exc:
        raise _Rejected("cobs", str(exc)) from exc
    if len(body) < HEADER_SIZE + CRC_SIZE:
        raise _Rejected("truncated", f"body is {len(body)} bytes; a frame has at least {HEADER_SIZE + CRC_SIZE}")
    declared = int.from_bytes(body[4:HEADER_SIZE], "big")
    carried = len(body) - HEADER_SIZE - CRC_SIZE
    if declared > MAX_PAYLOAD:
        raise _Rejected("oversize", f"declares a {declared}-byte payload; MAX_PAYLOAD is {MAX_PAYLOAD}")
    if declared != carried:
        raise _Rejected("length", f"declares {declared} payload bytes but carries {carried}")
    computed, received = crc16(body[:-CRC_SIZE]), int.from_bytes(body[-CRC_SIZE:], "big")
    if computed != received:
        raise _Rejected("crc", f"computed 0x{computed:04X}, frame carries 0x{received:04X}")
    version, seq, command, status = body[:4]
    if version != FRAME_VERSION:
        raise _Rejected("version", f"frame version {version}; this decoder reads version {FRAME_VERSION}")
    is_response = bool(command & RESPONSE_BIT)
    if not is_response and status != 0:
        raise _Rejected("status", f"request carries status {status}; requests carry 0")
    raw, command = body[HEADER_SIZE:-CRC_SIZE], command & ~RESPONSE_BIT
    if raw[:1] == bytes((SEALED_MARK,)):
        return Frame(seq, command, status, {}, is_response, sealed=raw)
    return _with_payload(seq, command, status, is_response, raw)


def _with_payload(seq: int, command: int, status: int, is_response: bool, raw: bytes) -> Frame:
    if not compact.is_compact(raw):
        return Frame(seq, command, status, _parse_payload(raw), is_response)
    if not _may_be_compact(command, status, is_response):
        raise _Rejected("payload", "a compact payload where only an OK answer to READ_EVENTS may carry one")
    try:
        page = compact.decode_page(raw)
    except compact.CompactError as exc:
        raise _Rejected("payload", f"not a valid compact page: {exc}") from None
    return Frame(seq, command, status, page, is_response, compact=True)


class PayloadError(ValueError):
    """An opened payload that is neither a JSON object nor a compact page where one may be."""


def with_payload(frame: Frame, raw: bytes) -> Frame:
    """``frame`` (a sealed one, opened) carrying the payload ``raw``, read as the decoder reads a payload in
    clear; PayloadError saying why when it is not one."""
    try:
        return _with_payload(frame.seq, frame.command, frame.status, frame.is_response, raw)
    except _Rejected as rejected:
        raise PayloadError(str(rejected)) from None


class FrameDecoder:
    """Turns a byte stream, read in pieces of any size, into whole valid frames.

    ``feed`` returns the frames completed by the bytes given (none, one or several) and keeps any
    unfinished frame for the next call. Everything between two delimiters that is not a valid frame is
    dropped: ``dropped`` counts it and ``on_drop(reason, raw)`` is told, where ``reason`` starts with one
    of ``oversize``, ``cobs``, ``truncated``, ``length``, ``crc``, ``version``, ``status`` or ``payload``
    followed by ": " and a human explanation. Empty chunks (consecutive delimiters) are not frames and are
    ignored silently, so a sender may emit a lone 0x00 to flush the receiver. The hook runs inside
    ``feed`` and must not raise. A run of more than MAX_ENCODED_FRAME non-zero bytes cannot be a frame:
    it is dropped as soon as it is seen and the rest of it is skipped up to the next delimiter, so memory
    stays bounded whatever arrives.
    """

    def __init__(self, on_drop: Callable[[str, bytes], None] | None = None) -> None:
        self.on_drop = on_drop
        self.dropped = 0
        self._pending = bytearray()
        self._skipping = False

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished frame held until its delimiter arrives (at most MAX_ENCODED_FRAME)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the valid frames they complete, in arrival order."""
        data = bytes(data)
        frames = []
        start = 0
        while (end := data.find(DELIMITER, start)) >= 0:
            self._hold(data[start:end])
            chunk = bytes(self._pending)
            self._pending.clear()
            self._skipping = False
            start = end + 1
            if chunk:
                try:
                    frames.append(_parse(chunk))
                except _Rejected as rejected:
                    self._drop(str(rejected), chunk)
        self._hold(data[start:])
        return frames

    def _hold(self, piece: bytes) -> None:
        if self._skipping or not piece:
            return
        room = MAX_ENCODED_FRAME - len(self._pending)
        if len(piece) > room:
            raw = bytes(self._pending) + piece[: room + 1]
            self._pending.clear()
            self._skipping = True
            self._drop(f"oversize: more than {MAX_ENCODED_FRAME} bytes without a delimiter", raw)
            return
        self._pending += piece

    def _drop(self, reason: str, raw: bytes) -> None:
        self.dropped += 1
        if self.on_drop is not None:
            self.on_drop(reason, raw)
