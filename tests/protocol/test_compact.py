"""The compact encoding of event pages (protocol/compact.py, docs/protocol.md section 3, "Compact payload").

Round trips are exact for everything a JSON event page can hold in the encoding's domain (unicode text, the
largest integers, any finite float, type kept); bytes are checked by hand for one event; and any damage to a
compact payload is a clean error, inside a frame a dropped frame, never an exception of another kind.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import Command, Frame, FrameDecoder, Status, cobs, encode_frame
from protocol.crc import crc16
from protocol.compact import MAGIC, CompactError, decode_page, encode_page
from protocol.frame import MAX_PAYLOAD, canonical_json
from programmer import strict_json

UINT_MAX = 2**64 - 1

FIRST, LAST = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)
times = st.integers(0, int((LAST - FIRST).total_seconds())).map(
    lambda seconds: (FIRST + timedelta(seconds=seconds)).isoformat())
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-UINT_MAX - 1, max_value=UINT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["mcg", "low_reservoir", "d90bfded48050775", "2025-03-01T08:30:00", "", "0000000000000000"])
    | times
)
keys = st.text(max_size=8) | st.sampled_from(["checksum", "drug", "old", "name", "daily_dose"])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=8)
kinds = st.sampled_from(["power_on", "refill", "clock_set", "low_alarm_set"]) | st.text(max_size=12)


@st.composite
def pages(draw) -> dict:
    indices = sorted(draw(st.sets(st.integers(0, UINT_MAX), max_size=4)))
    events = [{"index": index, "time": draw(times), "kind": draw(kinds), "detail": draw(st.dictionaries(keys, values,
                                                                                                       max_size=5))}
              for index in indices]
    return {"total": draw(st.integers(0, UINT_MAX)), "events": events}


@given(pages())
def test_json_events_to_compact_and_back_are_identical(page):
    json_page = strict_json.loads(canonical_json(page).decode("ascii"))  # exactly what a JSON answer carries
    back = decode_page(encode_page(json_page))
    assert back == json_page
    assert canonical_json(back) == canonical_json(json_page)  # types too: 150 and 150.0 stay apart
    floats = [(a, b) for a, b in zip(_leaves(back), _leaves(json_page)) if isinstance(b, float)]
    assert all(struct.pack(">d", a) == struct.pack(">d", b) for a, b in floats)  # -0.0 stays -0.0


def _leaves(value: object) -> list:
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key])]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_an_alarm_event_byte_by_byte():
    page = {"total": 300, "events": [{"index": 299, "time": "2000-01-01T00:01:00", "kind": "alarm_raised",
                                      "detail": {"code": "low_reservoir", "severity": "non_critical"}}]}
    expected = bytes([
        0xC1,              # magic
        0xAC, 0x02,        # total 300: low seven bits 0x2C with the continuation bit 0x80, then 300 >> 7 = 2
        0x01,              # one event
        0xAB, 0x02,        # index: 299 - (-1) - 1 = 299, as 0x2B | 0x80, then 2
        0x78,              # time: 60 s after 2000-01-01T00:00:00, zigzag 120
        0x08,              # kind 8, alarm_raised
        0x02,              # detail: two members
        0x14, 0x08, 0x02,  # key 20 "code": tag WORD, word 2 "low_reservoir"
        0x15, 0x08, 0x08,  # key 21 "severity": tag WORD, word 8 "non_critical"
    ])
    assert encode_page(page) == expected
    assert decode_page(expected) == page


@pytest.mark.parametrize("number, encoded", [
    (1.8, bytes([5, 36, 1])),            # DECIMAL: zigzag(18) = 36, one decimal place
    (150.0, bytes([5, 0xAC, 0x02, 0])),  # zigzag(150) = 300, no decimal places; still a float
    (150, bytes([3, 0x96, 0x01])),       # UINT 150
    (-2, bytes([4, 1])),                 # NEGINT: -1 - 1
    (-0.0, bytes([6]) + struct.pack(">d", -0.0)),  # no decimal gives back -0.0: the 8 bytes
    (5e-324, bytes([6]) + struct.pack(">d", 5e-324)),  # 324 decimal places: over the 30 a decimal may have
    (1e300, bytes([6]) + struct.pack(">d", 1e300)),  # a mantissa of 301 digits: over 2^63
])
def test_numbers_are_short_decimals_when_exact_and_float64_otherwise(number, encoded):
    page = {"total": 1, "events": [{"index": 0, "time": "2000-01-01T00:00:00", "kind": "low_alarm_set",
                                    "detail": {"new_ml": number}}]}
    raw = encode_page(page)
    assert raw == bytes([MAGIC, 1, 1, 0, 0, 12, 1, 25]) + encoded
    [event] = decode_page(raw)["events"]
    assert type(event["detail"]["new_ml"]) is type(number) and event["detail"]["new_ml"] == number


@pytest.mark.parametrize("page, problem", [
    ({"total": 1, "events": [], "extra": 1}, "exactly 'total'"),
    ({"total": -1, "events": []}, "total must be an integer"),
    ({"total": 2**64, "events": []}, "total must be an integer"),
    ({"total": 2, "events": [{"index": 1, "time": "2025-03-01T08:30:00", "kind": "x", "detail": {}},
                             {"index": 1, "time": "2025-03-01T08:30:00", "kind": "x", "detail": {}}]}, "ascend"),
    ({"total": 1, "events": [{"index": 0, "time": "2025-03-01T08:30:00.5", "kind": "x", "detail": {}}]}, "time"),
    ({"total": 1, "events": [{"index": 0, "time": "2025-02-30T08:30:00", "kind": "x", "detail": {}}]}, "valid date"),
    ({"total": 1, "events": [{"index": 0, "time": "2025-03-01T08:30:00", "kind": "x", "detail": {"a": "\ud800"}}]},
     "surrogate"),
    ({"total": 1, "events": [{"index": 0, "time": "2025-03-01T08:30:00", "kind": "x", "detail": {"a": 2**64}}]},
     "outside"),
])
def test_a_page_the_encoding_cannot_carry_exactly_is_refused(page, problem):
    with pytest.raises(CompactError, match=problem):
        encode_page(page)


def _page_with(detail_bytes: bytes) -> bytes:
    return bytes([MAGIC, 1, 1, 0, 0, 1]) + detail_bytes  # total 1, one event: index 0, +0 s, power_on


@pytest.mark.parametrize("raw, problem", [
    (bytes([MAGIC]), "at byte 1: total: the payload ends"),
    (bytes([MAGIC, 1, 0x7F]), "at byte 2: event count 127 cannot fit in the 0 bytes left"),
    (bytes([MAGIC, 0xFF] * 6 + [0x01]), "varint"),
    (bytes([MAGIC, 0x80, 0x00, 0]), "at byte 1: total: varint with a needless zero byte"),
    (bytes([MAGIC] + [0xFF] * 9 + [0x7F, 0]), "over 2^64-1"),
    (bytes([MAGIC, 1, 1, 0, 0, 13, 0]), "kind code 13"),
    (_page_with(bytes([1, 28, 0])), "key code 28"),
    (_page_with(bytes([1, 1, 13])), "value tag 13"),
    (_page_with(bytes([1, 1, 8, 19])), "word code 19"),
    (_page_with(bytes([1, 1, 7, 5, 0x61])), "needs 5 bytes, 1 left"),
    (_page_with(bytes([1, 1, 7, 1, 0xFF])), "not UTF-8"),
    (_page_with(bytes([2, 1, 0, 1, 0])), "key 'factory_new' twice"),
    (_page_with(bytes([1, 1, 6]) + struct.pack(">d", float("inf"))), "not a JSON number"),
    (_page_with(bytes([1, 1, 5, 2, 31])), "scale 31"),
    (_page_with(bytes([1, 1, 10, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])), "outside years"),
    (_page_with(bytes([1, 1, 11, 0x7F])), "size 127 cannot fit"),
    (_page_with(bytes([1, 1]) + bytes([11, 1]) * 33 + bytes([0] * 1)), "nesting deeper than 32"),
    (_page_with(bytes([0, 0])), "1 bytes after the last event"),
])
def test_a_malformed_compact_page_is_refused_saying_where_and_why(raw, problem):
    with pytest.raises(CompactError, match=re.escape(problem)):
        decode_page(raw)


@given(st.binary(max_size=200))
def test_any_bytes_after_the_magic_decode_or_fail_cleanly(tail):
    try:
        page = decode_page(bytes([MAGIC]) + tail)
    except CompactError:
        return
    assert decode_page(encode_page(page)) == page  # what decodes is a page that encodes again


def test_a_huge_declared_count_is_refused_before_anything_is_allocated():
    raw = bytes([MAGIC, 0]) + bytes([0xFF] * 8 + [0x7F])  # about 2^63 events in a 11-byte payload
    with pytest.raises(CompactError, match="cannot fit"):
        decode_page(raw)


def _compact_answer(page: dict) -> Frame:
    return Frame(9, Command.READ_EVENTS, Status.OK, page, True, compact=True)


PAGE = {"total": 3, "events": [
    {"index": 1, "time": "2025-03-01T08:30:00", "kind": "clock_set",
     "detail": {"old": "2025-03-01T08:29:58", "new": "2025-03-01T08:30:00"}},
    {"index": 2, "time": "2025-03-01T08:30:05", "kind": "refill",
     "detail": {"refill_id": "r-\u00e9\U0001F489", "withdrawn_ml": 1.6, "added_ml": 20.0, "calculated_ml": 1.8,
                "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0},
                "therapy_stopped": False, "checksum": "d90bfded48050775"}}]}


def test_a_compact_answer_frame_decodes_to_the_same_page_and_says_it_was_compact():
    wire = encode_frame(_compact_answer(PAGE))
    assert FrameDecoder().feed(wire) == [_compact_answer(PAGE)]
    assert len(wire) < len(encode_frame(Frame(9, Command.READ_EVENTS, Status.OK, PAGE, True))) * 0.4


@pytest.mark.parametrize("command, status, is_response", [
    (Command.READ_EVENTS, Status.OK, False), (Command.READ_STATUS, Status.OK, True),
    (Command.READ_EVENTS, Status.BAD_ARGUMENT, True)])
def test_only_an_ok_answer_to_read_events_may_be_compact(command, status, is_response):
    with pytest.raises(ValueError, match="only an OK answer to READ_EVENTS"):
        Frame(9, command, status if is_response else 0, PAGE, is_response, compact=True)
    # Built by hand, such a frame is dropped as a bad payload.
    payload = encode_page(PAGE)
    header = bytes([1, 9, command | (0x80 if is_response else 0), status if is_response else 0])
    body = header + len(payload).to_bytes(2, "big") + payload
    reasons: list[str] = []
    assert FrameDecoder(lambda reason, raw: reasons.append(reason)).feed(
        cobs.encode(body + crc16(body).to_bytes(2, "big")) + b"\x00") == []
    assert reasons == ["payload: a compact payload where only an OK answer to READ_EVENTS may carry one"]


def test_a_damaged_compact_page_with_a_good_crc_is_dropped_as_a_bad_payload():
    payload = encode_page(PAGE)[:-3]  # cut inside the last event
    body = bytes([1, 9, 0x87, 0]) + len(payload).to_bytes(2, "big") + payload
    reasons: list[str] = []
    assert FrameDecoder(lambda reason, raw: reasons.append(reason)).feed(
        cobs.encode(body + crc16(body).to_bytes(2, "big")) + b"\x00") == []
    assert len(reasons) == 1 and reasons[0].startswith("payload: not a valid compact page: at byte ")


@given(st.data())
def test_a_single_corrupted_byte_of_a_compact_frame_never_yields_a_frame(data):
    wire = encode_frame(_compact_answer(PAGE))
    where = data.draw(st.integers(0, len(wire) - 2), label="where")
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != wire[where]), label="value")
    decoder = FrameDecoder()
    assert decoder.feed(wire[:where] + bytes([value]) + wire[where + 1:]) + decoder.feed(b"\x00") == []


def test_a_full_page_of_the_largest_events_the_emulator_logs_is_asked_for_in_halves_not_sent_oversize():
    # The worst refill: 64-character id, a 64-character drug name of 4-byte characters, float64 volumes.
    refill = {"index": 0, "time": "2025-03-01T08:30:00", "kind": "refill", "detail": {
        "refill_id": "r" * 64, "withdrawn_ml": 0.1 + 0.2, "added_ml": 0.1 + 0.7, "calculated_ml": 1 / 3,
        "drug": {"name": "\U0001F489" * 64, "dose_unit": "mcg", "concentration_per_ml": 2 / 3},
        "therapy_stopped": True, "checksum": "d90bfded48050775"}}
    events = [dict(refill, index=index, time=(datetime(2025, 3, 1) + timedelta(days=index)).isoformat())
              for index in range(64)]
    size = len(encode_page({"total": 64, "events": events}))
    assert size > MAX_PAYLOAD  # the pump answers FRAME_TOO_LARGE (tests/emulator/test_encodings.py) ...
    assert len(encode_page({"total": 64, "events": events[:16]})) < MAX_PAYLOAD  # ... and 16 always fit
