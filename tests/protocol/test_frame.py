"""Frame encoding, the stream decoder's buffering and checks, and the protocol's timing rules."""

from __future__ import annotations

import json

import pytest

from protocol import (
    MAX_PAYLOAD,
    RESPONSE_BIT,
    Command,
    Frame,
    FrameDecoder,
    Status,
    canonical_json,
    encode_frame,
)
from protocol import cobs, codes
from protocol.crc import crc16
from protocol.frame import MAX_ENCODED_FRAME, MAX_WIRE_FRAME

HELLO = Frame(1, Command.HELLO, Status.OK, {"client": "test", "protocol": 1}, False)
HELLO_OK = Frame(1, Command.HELLO, Status.OK, {"model": "ITB-20", "protocol": 1, "serial": "EMU-1"}, True)


def raw_frame(payload: bytes, *, version: int = 1, seq: int = 1, command: int = 2, status: int = 0) -> bytes:
    """Wire bytes with a correct length and CRC around any payload bytes, to test the later checks."""
    body = bytes((version, seq, command, status)) + len(payload).to_bytes(2, "big") + payload
    return cobs.encode(body + crc16(body).to_bytes(2, "big")) + b"\x00"


class Recorder:
    """An on_drop hook that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def __call__(self, reason: str, raw: bytes) -> None:
        self.calls.append((reason, raw))

    @property
    def codes(self) -> list[str]:
        return [reason.split(":")[0] for reason, _ in self.calls]


def test_round_trip_of_request_and_response():
    wire = encode_frame(HELLO) + encode_frame(HELLO_OK)
    assert FrameDecoder().feed(wire) == [HELLO, HELLO_OK]


def test_response_bit_is_set_on_the_wire_and_removed_on_decode():
    body = cobs.decode(encode_frame(HELLO_OK)[:-1])
    assert body[2] == Command.HELLO | RESPONSE_BIT
    [frame] = FrameDecoder().feed(encode_frame(HELLO_OK))
    assert frame.command == Command.HELLO and frame.is_response


def test_body_layout_is_big_endian_with_trailing_crc():
    body = cobs.decode(encode_frame(Frame(0x2A, Command.READ_EVENTS, 0, {"count": 1, "start": 0}, False))[:-1])
    payload = b'{"count":1,"start":0}'
    assert body[:6] == bytes((1, 0x2A, 0x07, 0)) + len(payload).to_bytes(2, "big")
    assert body[6:-2] == payload
    assert int.from_bytes(body[-2:], "big") == crc16(body[:-2])


def test_frame_fed_one_byte_at_a_time():
    decoder = FrameDecoder()
    wire = encode_frame(HELLO_OK)
    results = [decoder.feed(wire[i : i + 1]) for i in range(len(wire))]
    assert results[:-1] == [[]] * (len(wire) - 1)
    assert results[-1] == [HELLO_OK]
    assert decoder.buffered == 0


def test_two_frames_in_one_feed_and_a_third_split_across_feeds():
    decoder = FrameDecoder()
    third = encode_frame(Frame(2, Command.IDENTIFY, 0, {}, False))
    assert decoder.feed(encode_frame(HELLO) + encode_frame(HELLO_OK) + third[:4]) == [HELLO, HELLO_OK]
    assert decoder.buffered == 4
    assert decoder.feed(third[4:]) == [Frame(2, Command.IDENTIFY, 0, {}, False)]


def test_empty_chunks_are_ignored_without_counting_a_drop():
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\x00" + encode_frame(HELLO) + b"\x00") == [HELLO]
    assert decoder.dropped == 0


def test_garbage_is_dropped_reported_and_the_next_frame_still_decodes():
    hook = Recorder()
    decoder = FrameDecoder(on_drop=hook)
    assert decoder.feed(b"\x13\x37\x00" + encode_frame(HELLO)) == [HELLO]
    assert decoder.dropped == 1
    assert hook.calls == [("cobs: group at offset 0 needs 18 data bytes but only 1 remain", b"\x13\x37")]


def test_crc_failure_names_both_values():
    hook = Recorder()
    wire = bytearray(encode_frame(HELLO))
    wire[-3] ^= 0x01  # the CRC's low byte
    assert FrameDecoder(on_drop=hook).feed(bytes(wire)) == []
    [(reason, raw)] = hook.calls
    assert reason.startswith("crc: computed 0x") and "frame carries 0x" in reason
    assert raw == bytes(wire[:-1])


INVALID = {
    "version 2": (raw_frame(b"{}", version=2), "version"),
    "request with status": (raw_frame(b"{}", status=3), "status"),
    "duplicate key": (raw_frame(b'{"a":1,"a":2}'), "payload"),
    "NaN": (raw_frame(b'{"a":NaN}'), "payload"),
    "-Infinity": (raw_frame(b'{"a":-Infinity}'), "payload"),
    "float overflow": (raw_frame(b'{"a":1e999}'), "payload"),
    "string": (raw_frame(b'"text"'), "payload"),
    "null": (raw_frame(b"null"), "payload"),
    "nested 4000 deep": (raw_frame(b"[" * 4000 + b"]" * 4000), "payload"),
    "5000-digit integer": (raw_frame(b'{"a":' + b"9" * 5000 + b"}"), "payload"),
    "byte order mark": (raw_frame(b"\xef\xbb\xbf{}"), "payload"),
    "5-byte body": (cobs.encode(b"\x01\x01\x02\x00\x00") + b"\x00", "truncated"),
}


@pytest.mark.parametrize(("wire", "code"), INVALID.values(), ids=INVALID.keys())
def test_invalid_frames_are_dropped_with_their_reason(wire, code):
    hook = Recorder()
    decoder = FrameDecoder(on_drop=hook)
    assert decoder.feed(wire) == []
    assert hook.codes == [code] and decoder.dropped == 1


def test_payload_error_says_which_json_type_arrived():
    hook = Recorder()
    FrameDecoder(on_drop=hook).feed(raw_frame(b"[1]"))
    assert hook.calls[0][0] == "payload: a JSON array where an object belongs"


def test_a_response_may_carry_any_status_and_unknown_command_codes_pass_through():
    frame = Frame(9, 0x7F, Status.UNKNOWN_COMMAND, {"error": "unknown command 0x7F", "field": None}, True)
    assert FrameDecoder().feed(encode_frame(frame)) == [frame]


def test_largest_payload_is_accepted_and_one_byte_more_is_refused():
    filler = MAX_PAYLOAD - len(canonical_json({"x": ""}))
    biggest = Frame(1, Command.STAGE_PROGRAM, 0, {"x": "a" * filler}, False)
    wire = encode_frame(biggest)
    assert len(wire) <= MAX_WIRE_FRAME
    assert FrameDecoder().feed(wire) == [biggest]
    with pytest.raises(ValueError, match=f"payload is {MAX_PAYLOAD + 1} bytes of JSON; MAX_PAYLOAD is {MAX_PAYLOAD}"):
        encode_frame(Frame(1, Command.STAGE_PROGRAM, 0, {"x": "a" * (filler + 1)}, False))


def test_declared_length_above_the_bound_is_dropped_even_with_a_good_crc():
    hook = Recorder()
    payload = b'{"x":"' + b"a" * (MAX_PAYLOAD - 7) + b'"}'
    assert len(payload) == MAX_PAYLOAD + 1
    assert FrameDecoder(on_drop=hook).feed(raw_frame(payload)) == []
    assert hook.codes == ["oversize"]


def test_a_long_run_without_delimiter_is_discarded_and_the_buffer_stays_bounded():
    hook = Recorder()
    decoder = FrameDecoder(on_drop=hook)
    for _ in range(5):
        assert decoder.feed(b"\x55" * 4000) == []
        assert decoder.buffered <= MAX_ENCODED_FRAME
    assert decoder.dropped == 1 and hook.codes == ["oversize"]
    assert len(hook.calls[0][1]) == MAX_ENCODED_FRAME + 1
    assert decoder.feed(b"\x55\x00" + encode_frame(HELLO)) == [HELLO]
    assert decoder.dropped == 1


def test_a_run_of_exactly_the_bound_is_still_judged_as_a_frame():
    hook = Recorder()
    decoder = FrameDecoder(on_drop=hook)
    decoder.feed(b"\x55" * MAX_ENCODED_FRAME)
    assert decoder.buffered == MAX_ENCODED_FRAME and decoder.dropped == 0
    decoder.feed(b"\x00")
    assert hook.codes == ["cobs"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seq": 256}, "seq must be an integer in 0..255, got 256"),
        ({"seq": -1}, "seq must be an integer in 0..255, got -1"),
        ({"seq": True}, "seq must be an integer in 0..255, got True"),
        ({"command": 0x82}, "command must be an integer in 0..127, got 130"),
        ({"status": 300}, "status must be an integer in 0..255, got 300"),
        ({"status": 2}, "status of a request must be 0, got 2"),
        ({"is_response": 1}, "is_response must be a bool, got 1"),
        ({"payload": [1]}, "payload must be a dict \\(a JSON object\\), got list"),
    ],
)
def test_bad_fields_raise_value_errors_naming_the_field(fields, message):
    values = {"seq": 1, "command": Command.IDENTIFY, "status": 0, "payload": {}, "is_response": False}
    with pytest.raises(ValueError, match=message):
        encode_frame(Frame(**{**values, **fields}))


@pytest.mark.parametrize("payload", [{"dose": float("nan")}, {"dose": float("inf")}, {"when": object()}])
def test_payloads_json_cannot_carry_are_refused(payload):
    with pytest.raises(ValueError, match="payload cannot be sent as JSON"):
        encode_frame(Frame(1, Command.BOLUS, 0, payload, False))


def test_canonical_json_is_sorted_compact_and_ascii():
    assert canonical_json({"b": 1, "a": {"d": [1.5, None], "c": "é"}}) == b'{"a":{"c":"\\u00e9","d":[1.5,null]},"b":1}'
    assert json.loads(canonical_json({"x": "é"})) == {"x": "é"}


def test_non_ascii_text_survives_a_round_trip():
    frame = Frame(3, Command.REFILL, 0, {"drug": {"name": "baclofène"}}, False)
    assert FrameDecoder().feed(encode_frame(frame)) == [frame]


def test_response_timeout_is_turnaround_plus_line_time():
    # 100 + 8234 wire bytes at 9600 baud, 10 line bits per byte.
    timeout = codes.response_timeout_s(9600, 100, MAX_WIRE_FRAME)
    assert timeout == pytest.approx(codes.RESPONSE_TURNAROUND_S + (100 + MAX_WIRE_FRAME) * 10 / 9600)
    assert codes.response_timeout_s(115200, 12, 12) == pytest.approx(0.5 + 24 * 10 / 115200)
    with pytest.raises(ValueError, match="baudrate must be positive, got 0"):
        codes.response_timeout_s(0, 12, 12)


def test_backoff_doubles_for_each_of_the_three_retries():
    assert codes.MAX_RETRIES == 3
    assert [codes.retry_delay_s(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4])
    for bad in (0, 4):
        with pytest.raises(ValueError, match=f"retry must be in 1..3, got {bad}"):
            codes.retry_delay_s(bad)


def test_codes_match_the_spec():
    assert [(c.name, c.value) for c in Command][:3] == [("HELLO", 1), ("IDENTIFY", 2), ("READ_STATUS", 3)]
    assert Command.ACK_ALARM == 0x0C and Command.SET_LOW_ALARM == 0x0D and Command.SERVICE == 0x70
    assert (Command.PAIR_START, Command.PAIR_FINISH, Command.UNPAIR, Command.END_SESSION) == (0x0E, 0x0F, 0x10, 0x11)
    assert (Command.BOLUS_STATUS, Command.SET_DEMAND, Command.READ_DEMAND) == (0x12, 0x13, 0x14)
    assert len(Command) == 21
    assert Status.OK == 0 and Status.NO_SESSION == 0x0B and Status.INTERNAL == 0x0C
    assert (Status.SESSION_IN_USE, Status.NOT_AUTHENTICATED) == (0x0D, 0x0E) and len(Status) == 15
    assert (RESPONSE_BIT, MAX_PAYLOAD, codes.PROTOCOL_VERSION, codes.FRAME_VERSION) == (0x80, 8192, 2, 1)
    assert codes.INSECURE_PROTOCOL_VERSION == 1
    assert MAX_ENCODED_FRAME == 8233  # 8200-byte body + one code byte per started 254 bytes (33)
