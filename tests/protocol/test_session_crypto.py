"""Sealed frames (protocol.session_crypto): what one side seals the other opens, once and in order; a replayed,
reordered, cut, changed, reflected or cross-session frame is rejected, counted, and changes nothing."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.session_crypto import (OVERHEAD_BYTES, FrameRejected, Opener, Sealer,
                                     derive_session_keys)

PAIR_KEY = bytes(range(32))
HEADER = bytes([1, 7, 0x05, 0, 0, 0])


def keys(programmer_nonce: bytes = b"p" * 16, pump_nonce: bytes = b"q" * 16):
    return derive_session_keys(PAIR_KEY, programmer_nonce, pump_nonce, "workstation 7", "E20-B9CDE4")


def rejected(opener: Opener, header: bytes, sealed: bytes) -> str:
    last = opener.last
    with pytest.raises(FrameRejected) as caught:
        opener.open(header, sealed)
    assert opener.last == last
    return caught.value.reason


def test_both_sides_derive_the_same_keys_and_each_direction_its_own():
    one, again = keys(), keys()
    assert one == again
    assert len({one.to_pump, one.to_programmer}) == 2 and len(one.to_pump) == 32 and len(one.session_id) == 8
    assert keys(pump_nonce=b"r" * 16).to_pump != one.to_pump  # fresh nonces: a new session, new keys
    with pytest.raises(ValueError, match="pump's session nonce is 16 bytes"):
        keys(pump_nonce=b"short")


def test_frames_open_once_in_order_and_a_resend_of_the_last_is_a_repeat():
    session = keys()
    sealer, opener = Sealer(session.to_pump), Opener(session.to_pump)
    first = sealer.seal(HEADER, b'{"dose": 150}')
    second = sealer.seal(HEADER, b"{}")
    assert len(first) == len(b'{"dose": 150}') + OVERHEAD_BYTES
    assert b"150" not in first  # the payload does not cross in clear
    opened = opener.open(HEADER, first)
    assert (opened.payload, opened.counter, opened.repeat) == (b'{"dose": 150}', 1, False)
    assert opener.open(HEADER, first).repeat  # the link's resend of the same frame
    assert opener.open(HEADER, second).counter == 2
    assert rejected(opener, HEADER, first) == "replayed"  # older than the last: never again
    assert opener.rejected == {"replayed": 1}


def test_changed_cut_reflected_and_cross_session_frames_are_rejected():
    session = keys()
    sealer = Sealer(session.to_pump)
    sealed = sealer.seal(HEADER, b'{"bolus": 1}')
    opener = Opener(session.to_pump)
    assert rejected(opener, HEADER[:2] + b"\x09" + HEADER[3:], sealed) == "forged"  # another command byte
    assert rejected(opener, HEADER, sealed[:-1]) == "forged"
    assert rejected(opener, HEADER, sealed[:OVERHEAD_BYTES - 1]) == "truncated"
    flipped = bytearray(sealed)
    flipped[-20] ^= 0x40
    assert rejected(opener, HEADER, bytes(flipped)) == "forged"
    assert rejected(Opener(session.to_programmer), HEADER, sealed) == "forged"  # reflected to its sender
    assert rejected(Opener(keys(pump_nonce=b"z" * 16).to_pump), HEADER, sealed) == "forged"  # another session
    zero = bytes(8) + sealed[8:]
    assert rejected(opener, HEADER, zero) == "replayed"
    assert opener.open(HEADER, sealed).payload == b'{"bolus": 1}'  # none of that moved the opener on
    assert opener.rejected == {"forged": 3, "truncated": 1, "replayed": 1}


def test_a_forged_high_counter_cannot_push_the_opener_past_the_real_frames():
    session = keys()
    sealer, opener = Sealer(session.to_pump), Opener(session.to_pump)
    forged = (2 ** 63).to_bytes(8, "big") + os.urandom(40)
    assert rejected(opener, HEADER, forged) == "forged"
    assert opener.open(HEADER, sealer.seal(HEADER, b"{}")).counter == 1


@given(header=st.binary(max_size=8), data=st.binary(max_size=200))
def test_any_bytes_are_rejected_and_change_nothing(header, data):
    opener = Opener(keys().to_pump)
    with pytest.raises(FrameRejected) as caught:
        opener.open(header, data)
    assert caught.value.reason in FrameRejected.REASONS and opener.last == 0

