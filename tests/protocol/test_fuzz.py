"""Property tests: whatever arrives on the line, the decoder neither crashes nor invents a frame.

How many examples each tries is the profile's (tests/conftest.py): a few dozen in a run of the suite, 300 in
benchmarks/property_tests.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol import Frame, FrameDecoder, encode_frame
from protocol import cobs
from protocol.crc import crc16
from protocol.frame import MAX_ENCODED_FRAME

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@st.composite
def frames(draw) -> Frame:
    is_response = draw(st.booleans())
    return Frame(
        seq=draw(st.integers(0, 255)),
        command=draw(st.integers(0, 0x7F)),
        status=draw(st.integers(0, 255)) if is_response else 0,
        payload=draw(payloads),
        is_response=is_response,
    )


def crc_checks(wire: bytes) -> bool:
    body = cobs.decode(wire[:-1])
    return int.from_bytes(body[-2:], "big") == crc16(body[:-2])


@given(frames())
def test_any_frame_round_trips(frame):
    assert FrameDecoder().feed(encode_frame(frame)) == [frame]


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_random_bytes_never_raise_and_whatever_comes_out_is_a_checked_frame(pieces):
    decoder = FrameDecoder()
    for piece in pieces:
        for frame in decoder.feed(piece):
            assert crc_checks(encode_frame(frame))
        assert decoder.buffered <= MAX_ENCODED_FRAME


@given(st.lists(frames(), min_size=1, max_size=4), st.data())
def test_how_the_bytes_are_split_does_not_matter(sent, data):
    wire = b"".join(encode_frame(frame) for frame in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    decoder = FrameDecoder()
    received = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)]):
        received += decoder.feed(wire[start:end])
    assert received == sent and decoder.buffered == 0


@given(st.binary(max_size=500), frames())
def test_garbage_then_a_delimiter_then_a_frame_yields_that_frame(garbage, frame):
    decoder = FrameDecoder()
    assert decoder.feed(garbage + b"\x00" + encode_frame(frame)) == [frame]


@given(frames(), st.data())
def test_a_single_corrupted_byte_never_yields_a_different_frame(frame, data):
    wire = encode_frame(frame)
    where = data.draw(st.integers(0, len(wire) - 1), label="where")
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != wire[where]), label="value")
    corrupted = wire[:where] + bytes([value]) + wire[where + 1 :]
    decoder = FrameDecoder()
    received = decoder.feed(corrupted)
    if where == len(wire) - 1:
        # The delimiter itself was hit: the frame is unterminated and waits; a later delimiter ends it,
        # and then it is dropped (its last group is now broken) rather than returned.
        assert received == []
        received = decoder.feed(b"\x00")
    assert all(crc_checks(encode_frame(got)) for got in received)
    assert received == [], f"corruption at {where} produced {received}"
