"""Pairing over the pump's one-time code (protocol.pairing): the same key on both sides only with the right
code, nothing learnt or kept otherwise, and any bytes in place of a message refused with PairingFailed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.pairing import (CODE_DIGITS, CONFIRM_BYTES, KEY_BYTES, MESSAGE_BYTES, PairingFailed, ProgrammerPairing,
                              PumpPairing, check_code, new_code)

PROGRAMMER, SERIAL = "workstation 7 / Dr Ng", "E20-B9CDE4"


def pair(programmer_code: str, pump_code: str, serial_seen: str = SERIAL) -> tuple[bytes | None, bytes | None]:
    """One whole exchange; each side's pair key, None where that side failed."""
    programmer = ProgrammerPairing(programmer_code, PROGRAMMER, serial_seen)
    pump = PumpPairing(pump_code, PROGRAMMER, SERIAL)
    message, confirmation = pump.answer(programmer.start())
    try:
        mine = programmer.receive(message, confirmation)
    except PairingFailed:
        # The programmer stops; a pump given any confirmation all the same keeps nothing.
        with pytest.raises(PairingFailed, match="code is wrong"):
            pump.confirm(bytes(CONFIRM_BYTES))
        return None, None
    return programmer.pair_key, pump.confirm(mine)


def test_the_right_code_gives_both_sides_the_same_fresh_key():
    first, pump_first = pair("042017", "042017")
    second, pump_second = pair("042017", "042017")
    assert first == pump_first and second == pump_second
    assert first is not None and len(first) == KEY_BYTES
    assert first != second  # fresh randomness each time: a pairing repeated gives another key


@pytest.mark.parametrize("programmer_code, pump_code", [("042017", "042018"), ("000000", "999999")])
def test_a_wrong_code_fails_on_both_sides_and_keeps_no_key(programmer_code, pump_code):
    assert pair(programmer_code, pump_code) == (None, None)


def test_a_programmer_that_names_another_pump_does_not_pair():
    assert pair("042017", "042017", serial_seen="E20-000000") == (None, None)


def test_a_changed_message_or_confirmation_fails():
    programmer = ProgrammerPairing("123456", PROGRAMMER, SERIAL)
    pump = PumpPairing("123456", PROGRAMMER, SERIAL)
    message, confirmation = pump.answer(programmer.start())
    with pytest.raises(PairingFailed):
        programmer.receive(message, bytes([confirmation[0] ^ 1]) + confirmation[1:])
    assert programmer.pair_key is None

    programmer = ProgrammerPairing("123456", PROGRAMMER, SERIAL)
    pump = PumpPairing("123456", PROGRAMMER, SERIAL)
    message, _ = pump.answer(programmer.start())
    with pytest.raises(PairingFailed):
        pump.confirm(bytes(CONFIRM_BYTES))
    with pytest.raises(PairingFailed, match="no pairing message"):
        PumpPairing("123456", PROGRAMMER, SERIAL).confirm(bytes(CONFIRM_BYTES))


def test_a_message_reflected_back_to_its_sender_fails():
    programmer = ProgrammerPairing("123456", PROGRAMMER, SERIAL)
    own = programmer.start()
    with pytest.raises(PairingFailed):
        programmer.receive(own, bytes(CONFIRM_BYTES))


@given(st.binary(max_size=80))
def test_any_bytes_as_a_message_are_refused_with_pairing_failed(data):
    with pytest.raises(PairingFailed):
        ProgrammerPairing("123456", PROGRAMMER, SERIAL).receive(data, bytes(CONFIRM_BYTES))
    pump = PumpPairing("123456", PROGRAMMER, SERIAL)
    try:
        pump.answer(data)
    except PairingFailed:
        return
    assert len(data) == MESSAGE_BYTES  # a message of the right shape that is a point: answered, yet no key
    with pytest.raises(PairingFailed):
        pump.confirm(bytes(CONFIRM_BYTES))


def test_codes_are_six_digits_and_nothing_else_is_one():
    codes = {new_code() for _ in range(200)}
    assert all(len(code) == CODE_DIGITS and code.isascii() and code.isdigit() for code in codes)
    assert len(codes) > 190  # drawn from a million: repeats in 200 are rare
    assert check_code("007007") == b"007007"
    for bad in ("12345", "1234567", "12 456", "١٢٣٤٥٦", "12345a", ""):
        with pytest.raises(ValueError, match="6 digits 0-9"):
            check_code(bad)


def test_ids_are_bounded():
    with pytest.raises(ValueError, match="1 to 64 UTF-8 bytes"):
        ProgrammerPairing("123456", "", SERIAL)
    with pytest.raises(ValueError, match="1 to 64 UTF-8 bytes"):
        PumpPairing("123456", PROGRAMMER, "x" * 65)
