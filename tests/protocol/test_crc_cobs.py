"""CRC-16/CCITT-FALSE and COBS against published known answers, a bitwise reference and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import cobs
from protocol.crc import crc16
from tests.support.reference_crc import bitwise_crc16


def test_crc_check_value_from_the_catalogue():
    assert crc16(b"123456789") == 0x29B1


def test_crc_of_nothing_is_the_initial_value():
    assert crc16(b"") == 0xFFFF


@given(st.binary(max_size=600))
def test_table_crc_matches_bitwise_reference(data):
    assert crc16(data) == bitwise_crc16(data)


@given(st.binary(min_size=1, max_size=300), st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_crc_catches_every_single_byte_change(data, where, flip):
    changed = bytearray(data)
    changed[where % len(data)] ^= flip
    assert crc16(bytes(changed)) != crc16(data)


# The examples published with COBS (Cheshire & Baker; reproduced on Wikipedia), delimiter included.
_RUN_1_TO_FE = bytes(range(0x01, 0xFF))
COBS_EXAMPLES = [
    (b"", b"\x01\x00"),
    (b"\x00", b"\x01\x01\x00"),
    (b"\x00\x00", b"\x01\x01\x01\x00"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01\x00"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33\x00"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44\x00"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01\x00"),
    (_RUN_1_TO_FE, b"\xff" + _RUN_1_TO_FE + b"\x00"),
    (b"\x00" + _RUN_1_TO_FE, b"\x01\xff" + _RUN_1_TO_FE + b"\x00"),
    (_RUN_1_TO_FE + b"\xff", b"\xff" + _RUN_1_TO_FE + b"\x02\xff\x00"),
    (bytes(range(0x02, 0x100)) + b"\x00", b"\xff" + bytes(range(0x02, 0x100)) + b"\x01\x01\x00"),
    (bytes(range(0x03, 0x100)) + b"\x00\x01", b"\xfe" + bytes(range(0x03, 0x100)) + b"\x02\x01\x00"),
]


@pytest.mark.parametrize(("data", "wire"), COBS_EXAMPLES, ids=range(len(COBS_EXAMPLES)))
def test_cobs_published_examples(data, wire):
    assert cobs.encode(data) + b"\x00" == wire
    assert cobs.decode(wire[:-1]) == data


@given(st.binary(max_size=2000))
def test_cobs_round_trip_has_no_zero_and_stays_within_bound(data):
    encoded = cobs.encode(data)
    assert 0 not in encoded
    assert len(encoded) <= cobs.max_encoded_length(len(data))
    assert cobs.decode(encoded) == data


def test_cobs_bound_is_reached_by_zero_free_data():
    data = b"\x01" * 1000
    assert len(cobs.encode(data)) == cobs.max_encoded_length(1000) == 1004


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (b"", "empty input"),
        (b"\x03\x11\x00", "zero data byte at offset 2"),
        (b"\x02\x11\x00\x01", "zero code byte at offset 2"),
        (b"\x05\x11\x22", "group at offset 0 needs 4 data bytes but only 2 remain"),
        (b"\xff" + _RUN_1_TO_FE + b"\x01", "non-canonical empty final group at offset 255"),
    ],
)
def test_cobs_decode_rejects_malformed_input_with_a_value_error(encoded, message):
    with pytest.raises(cobs.CobsDecodeError, match=message) as caught:
        cobs.decode(encoded)
    assert isinstance(caught.value, ValueError)
