"""The compact encoding of a READ_EVENTS answer (docs/protocol.md section 3, "Compact payload"), agreed in HELLO as ``compact-1``.

Why: in JSON an event costs about 130 bytes on the wire, most of them key names, quotes, ISO times and
hexadecimal checksums repeated in every event, so reading a full log at 9600 baud takes over a minute. Here
the same page is a byte string in which indices and times are deltas from the previous event, kinds, keys
and common words are one-byte codes from fixed tables, checksums are 8 raw bytes and numbers are varints or
short decimals: about a tenth of the bytes, and every value comes back exactly (type included: ``150`` and
``150.0`` stay apart). A page that holds anything the tables and types below cannot carry exactly is not
encodable (``CompactError`` from ``encode_page``); the pump then answers that page in JSON.

The decoder trusts nothing: every length and count is checked against the bytes left before anything is
allocated, nesting is bounded, and any fault is a ``CompactError`` naming the byte offset and the rule.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime, timedelta

ENCODING = "compact-1"
"""The name offered and agreed in HELLO (``encodings`` / ``encoding``)."""
JSON_ENCODING = "json"
"""The name of the encoding every pump speaks: payloads as canonical JSON."""
MAGIC = 0xC1
"""First byte of a compact payload. 0xC1 never occurs in UTF-8, so no JSON payload can start with it."""

EPOCH = datetime(2000, 1, 1)
"""Times are seconds from this pump-local moment."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects inside a ``detail``."""
MAX_VARINT_BYTES = 10
"""A varint carries at most 64 bits."""
MAX_DECIMAL_PLACES = 30
"""Largest scale of a short decimal; a float needing more digits goes as a float64."""

KINDS = ("power_on", "program_staged", "program_activated", "bolus_started", "bolus_done", "bolus_cancelled",
         "refill", "alarm_raised", "alarm_cleared", "alarm_acknowledged", "clock_set", "low_alarm_set")
"""Kind code k (1..12) is KINDS[k - 1]; code 0 is followed by the kind as a string."""
KEYS = ("factory_new", "checksum", "previous", "daily_dose", "dose_unit", "previous_daily_dose",
        "previous_dose_unit", "bolus_id", "dose", "volume_ml", "duration_min", "delivered", "reason", "refill_id",
        "withdrawn_ml", "added_ml", "calculated_ml", "drug", "therapy_stopped", "code", "severity", "old", "new",
        "old_ml", "new_ml", "name", "concentration_per_ml")
"""Key code k (1..27) is KEYS[k - 1]; code 0 is followed by the key as a string."""
WORDS = ("mcg", "mg", "low_reservoir", "reservoir_empty", "eri", "eos", "motor_stall", "critical", "non_critical",
         "request", "battery_eos", "baclofen", "morphine", "hydromorphone", "ziconotide", "clonidine", "bupivacaine",
         "fentanyl", "sufentanil")
"""Tag WORD is followed by a byte w: the string WORDS[w]."""

NULL, FALSE, TRUE, UINT, NEGINT, DECIMAL, FLOAT64, STRING, WORD, CHECKSUM, TIME, ARRAY, OBJECT = range(13)
"""Value tags."""

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\Z")
_CHECKSUM = re.compile(r"[0-9a-f]{16}\Z")
_MAX_UINT = 2**64 - 1
_KIND_CODES = {kind: code for code, kind in enumerate(KINDS, 1)}
_KEY_CODES = {key: code for code, key in enumerate(KEYS, 1)}
_WORD_CODES = {word: code for code, word in enumerate(WORDS)}
_PAGE_KEYS = {"total", "events"}
_EVENT_KEYS = {"index", "time", "kind", "detail"}


class CompactError(ValueError):
    """A page that cannot be encoded compactly, or bytes that are not a valid compact page."""


# -- encoding -------------------------------------------------------------------------------------


def encode_page(page: dict) -> bytes:
    """The compact payload of a READ_EVENTS answer ``{"total", "events"}``; CompactError if it cannot be exact."""
    if not isinstance(page, dict) or set(page) != _PAGE_KEYS or not isinstance(page["events"], list):
        raise CompactError("a compact page is an object with exactly 'total' and a list 'events'")
    out = bytearray((MAGIC,))
    _uint(out, _integer(page["total"], "total"))
    _uint(out, len(page["events"]))
    previous_index, previous_time = -1, 0
    for event in page["events"]:
        if not isinstance(event, dict) or set(event) != _EVENT_KEYS:
            raise CompactError("an event is an object with exactly 'index', 'time', 'kind' and 'detail'")
        index = _integer(event["index"], "index")
        if index <= previous_index:
            raise CompactError(f"event indices must ascend: {index} after {previous_index}")
        seconds = _seconds(event["time"])
        _uint(out, index - previous_index - 1)
        _uint(out, _zigzag(seconds - previous_time))
        previous_index, previous_time = index, seconds
        kind = event["kind"]
        if not isinstance(kind, str):
            raise CompactError(f"kind must be a string, got {kind!r}")
        out.append(_KIND_CODES.get(kind, 0))
        if kind not in _KIND_CODES:
            _text(out, kind)
        if not isinstance(event["detail"], dict):
            raise CompactError(f"detail must be an object, got {event['detail']!r}")
        _members(out, event["detail"], 1)
    return bytes(out)


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_UINT:
        raise CompactError(f"{name} must be an integer in 0..2^64-1, got {value!r}")
    return value


def _seconds(text: object) -> int:
    """An event's time in seconds from EPOCH; CompactError unless it is a valid YYYY-MM-DDTHH:MM:SS."""
    if not isinstance(text, str) or not _TIME.match(text):
        raise CompactError(f"time must be YYYY-MM-DDTHH:MM:SS, got {text!r}")
    seconds = _time_seconds(text)
    if seconds is None:
        raise CompactError(f"time {text!r} is not a valid date and time")
    return seconds


def _time_seconds(text: str) -> int | None:
    """Seconds from EPOCH of a string in exactly the form YYYY-MM-DDTHH:MM:SS with a valid date, else None."""
    if not _TIME.match(text):
        return None
    try:
        return (datetime.fromisoformat(text) - EPOCH) // timedelta(seconds=1)
    except ValueError:
        return None


def _zigzag(value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise CompactError(f"{value} is outside the signed 64-bit range")
    return value * 2 if value >= 0 else -value * 2 - 1


def _uint(out: bytearray, value: int) -> None:
    if not 0 <= value <= _MAX_UINT:
        raise CompactError(f"{value} is outside 0..2^64-1")
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _text(out: bytearray, text: str) -> None:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise CompactError(f"string {text!r} is not encodable as UTF-8 (a lone surrogate)") from None
    _uint(out, len(raw))
    out += raw


def _members(out: bytearray, obj: dict, depth: int) -> None:
    _uint(out, len(obj))
    for key, value in obj.items():
        if not isinstance(key, str):
            raise CompactError(f"object keys must be strings, got {key!r}")
        out.append(_KEY_CODES.get(key, 0))
        if key not in _KEY_CODES:
            _text(out, key)
        _value(out, value, depth)


def _value(out: bytearray, value: object, depth: int) -> None:
    if value is None or isinstance(value, bool):
        out.append({None: NULL, False: FALSE, True: TRUE}[value])
    elif isinstance(value, int):
        out.append(UINT if value >= 0 else NEGINT)
        _uint(out, value if value >= 0 else -1 - value)
    elif isinstance(value, float):
        _float(out, value)
    elif isinstance(value, str):
        if value in _WORD_CODES:
            out += bytes((WORD, _WORD_CODES[value]))
        elif _CHECKSUM.match(value):
            out.append(CHECKSUM)
            out += bytes.fromhex(value)
        elif (seconds := _time_seconds(value)) is not None:
            out.append(TIME)
            _uint(out, _zigzag(seconds))
        else:
            out.append(STRING)
            _text(out, value)
    elif isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            raise CompactError(f"nesting deeper than {MAX_DEPTH}")
        out.append(ARRAY if isinstance(value, list) else OBJECT)
        if isinstance(value, dict):
            _members(out, value, depth + 1)
            return
        _uint(out, len(value))
        for item in value:
            _value(out, item, depth + 1)
    else:
        raise CompactError(f"{type(value).__name__} is not a JSON value")


def _float(out: bytearray, value: float) -> None:
    """A short decimal (mantissa and scale) when it gives back exactly these 64 bits, else the 8 bytes."""
    if not math.isfinite(value):
        raise CompactError(f"{value!r} is not a JSON number")
    mantissa, places = _decimal(value)
    if mantissa is not None and -(2**63) <= mantissa < 2**63:
        out.append(DECIMAL)
        _uint(out, _zigzag(mantissa))
        out.append(places)
        return
    out.append(FLOAT64)
    out += struct.pack(">d", value)


def _decimal(value: float) -> tuple[int | None, int]:
    """``(m, p)`` with ``float(f"{m}e-{p}")`` bit for bit ``value`` and p in 0..MAX_DECIMAL_PLACES, or (None, 0)."""
    text = repr(value)
    mantissa_text, _, exponent_text = text.partition("e")
    whole, _, fraction = mantissa_text.partition(".")
    mantissa = int(whole + fraction)
    places = len(fraction) - int(exponent_text or 0)
    while places > 0 and mantissa % 10 == 0:
        mantissa //= 10
        places -= 1
    if places < 0:
        mantissa, places = mantissa * 10**-places, 0
    if places > MAX_DECIMAL_PLACES or struct.pack(">d", float(f"{mantissa}e-{places}")) != struct.pack(">d", value):
        return None, 0
    return mantissa, places


# -- decoding -------------------------------------------------------------------------------------


def is_compact(payload: bytes) -> bool:
    """True when a payload is in the compact form (its first byte is MAGIC), not JSON."""
    return payload[:1] == bytes((MAGIC,))


def decode_page(payload: bytes) -> dict:
    """The READ_EVENTS answer ``{"total", "events"}`` a compact payload holds, or CompactError saying why not."""
    reader = _Reader(payload)
    if reader.byte("magic") != MAGIC:
        raise CompactError(f"at byte 0: 0x{payload[0]:02X} is not the compact magic 0x{MAGIC:02X}")
    total = reader.uint("total")
    count = reader.count("event count", per_item=4)
    events = []
    index, seconds = -1, 0
    for number in range(count):
        index += reader.uint(f"event {number} index") + 1
        seconds += _unzigzag(reader.uint(f"event {number} time"))
        time = reader.time_text(seconds, f"event {number} time")
        code = reader.byte(f"event {number} kind")
        if code > len(KINDS):
            reader.fail(f"event {number} kind code {code} is not in 0..{len(KINDS)}", back=1)
        kind = KINDS[code - 1] if code else reader.text(f"event {number} kind")
        detail = reader.members(f"event {number} detail", 1)
        events.append({"index": index, "time": time, "kind": kind, "detail": detail})
    if index > _MAX_UINT:
        reader.fail(f"event index {index} is over 2^64-1")
    if reader.left:
        reader.fail(f"{reader.left} bytes after the last event")
    return {"total": total, "events": events}


def _unzigzag(value: int) -> int:
    return value >> 1 if value % 2 == 0 else -(value >> 1) - 1


class _Reader:
    """Reads a compact payload front to back; every fault names the byte offset where it was found."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    @property
    def left(self) -> int:
        return len(self.data) - self.at

    def fail(self, problem: str, back: int = 0) -> None:
        raise CompactError(f"at byte {self.at - back}: {problem}")

    def byte(self, what: str) -> int:
        if not self.left:
            self.fail(f"{what}: the payload ends")
        self.at += 1
        return self.data[self.at - 1]

    def take(self, size: int, what: str) -> bytes:
        if size > self.left:
            self.fail(f"{what}: needs {size} bytes, {self.left} left")
        self.at += size
        return self.data[self.at - size : self.at]

    def uint(self, what: str) -> int:
        start, value = self.at, 0
        for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
            byte = self.byte(what)
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and self.at - start > 1:
                    raise CompactError(f"at byte {start}: {what}: varint with a needless zero byte")
                if value > _MAX_UINT:
                    raise CompactError(f"at byte {start}: {what}: varint over 2^64-1")
                return value
        raise CompactError(f"at byte {start}: {what}: varint longer than {MAX_VARINT_BYTES} bytes")

    def count(self, what: str, per_item: int) -> int:
        """A count of items that each take at least ``per_item`` bytes: checked against the bytes left first."""
        start, value = self.at, self.uint(what)
        if value * per_item > self.left:
            raise CompactError(f"at byte {start}: {what} {value} cannot fit in the {self.left} bytes left")
        return value

    def text(self, what: str) -> str:
        start, size = self.at, self.uint(f"{what} length")
        raw = self.take(size, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CompactError(f"at byte {start}: {what}: not UTF-8 ({exc.reason})") from None

    def time_text(self, seconds: int, what: str) -> str:
        try:
            return (EPOCH + timedelta(seconds=seconds)).isoformat()
        except OverflowError:
            raise CompactError(f"at byte {self.at}: {what}: {seconds} s from 2000-01-01 is outside years "
                               "1..9999") from None

    def members(self, what: str, depth: int) -> dict:
        count = self.count(f"{what} size", per_item=2)
        obj: dict = {}
        for _ in range(count):
            code = self.byte(f"{what} key")
            if code > len(KEYS):
                self.fail(f"{what}: key code {code} is not in 0..{len(KEYS)}", back=1)
            key = KEYS[code - 1] if code else self.text(f"{what} key")
            if key in obj:
                self.fail(f"{what}: key {key!r} twice")
            obj[key] = self.value(f"{what}.{key}", depth)
        return obj

    def value(self, what: str, depth: int) -> object:
        tag = self.byte(what)
        if tag in (NULL, FALSE, TRUE):
            return (None, False, True)[tag]
        if tag == UINT:
            return self.uint(what)
        if tag == NEGINT:
            return -1 - self.uint(what)
        if tag == DECIMAL:
            mantissa = _unzigzag(self.uint(what))
            places = self.byte(f"{what} scale")
            if places > MAX_DECIMAL_PLACES:
                self.fail(f"{what}: scale {places} is over {MAX_DECIMAL_PLACES}", back=1)
            return float(f"{mantissa}e-{places}")
        if tag == FLOAT64:
            number = struct.unpack(">d", self.take(8, what))[0]
            if not math.isfinite(number):
                self.fail(f"{what}: {number} is not a JSON number", back=8)
            return number
        if tag == STRING:
            return self.text(what)
        if tag == WORD:
            word = self.byte(what)
            if word >= len(WORDS):
                self.fail(f"{what}: word code {word} is not in 0..{len(WORDS) - 1}", back=1)
            return WORDS[word]
        if tag == CHECKSUM:
            return self.take(8, what).hex()
        if tag == TIME:
            return self.time_text(_unzigzag(self.uint(what)), what)
        if tag in (ARRAY, OBJECT):
            if depth >= MAX_DEPTH:
                self.fail(f"{what}: nesting deeper than {MAX_DEPTH}", back=1)
            if tag == OBJECT:
                return self.members(what, depth + 1)
            return [self.value(f"{what}[{number}]", depth + 1) for number in range(self.count(f"{what} size", 1))]
        self.fail(f"{what}: value tag {tag} is not in 0..{OBJECT}", back=1)
        raise AssertionError("fail raises")
