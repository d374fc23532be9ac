"""The shared test vectors (tests/vectors/protocol_vectors.json) against this implementation.

The vectors are the protocol's reference frames for anyone implementing the other end. One of them is
also rebuilt here by hand, byte by byte, with an independent bitwise CRC, so the file is not only checked
against the code that produced it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol import Command, Frame, FrameDecoder, Status, encode_frame
from protocol import cobs
from protocol.secure import HelloNotAuthentic, SecureChannel, programmer_channel
from protocol.session_crypto import derive_session_keys
from tests.support.reference_crc import bitwise_crc16

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "protocol_vectors.json").read_text(encoding="utf-8"))
VALID = {vector["name"]: vector for vector in VECTORS["valid"]}
INVALID = {vector["name"]: vector for vector in VECTORS["invalid"]}
SECURE = VECTORS["secure"]
SESSIONS = SECURE["sessions"]
SECURE_CLEAR = {vector["name"]: vector for vector in SECURE["clear"]}
SEALED_AND_CLEAR = [vector for session in SESSIONS for vector in session["frames"]] + SECURE["clear"]


def expected_frame(vector: dict) -> Frame:
    fields = vector["frame"]
    command = fields["command"]
    return Frame(
        seq=fields["seq"],
        command=Command[command] if isinstance(command, str) else command,
        status=Status[fields["status"]],
        payload=fields["payload"],
        is_response=fields["is_response"],
        compact=fields.get("compact", False),
    )


def test_file_format_and_coverage():
    assert VECTORS["format"] == "itb-protocol-vectors/1"
    frames = [expected_frame(vector) for vector in [*VALID.values(), *SEALED_AND_CLEAR]]
    known = set(Command) - {Command.SERVICE}  # emulator-only, not part of what a pump speaks
    requests = {frame.command for frame in frames if not frame.is_response}
    answered = {frame.command for frame in frames if frame.is_response and frame.status == Status.OK}
    assert requests & known == answered == known
    assert requests - known  # an unknown command code, answered UNKNOWN_COMMAND
    assert {frame.status for frame in frames if frame.is_response} >= {
        Status.NO_SESSION, Status.UNSUPPORTED_VERSION, Status.CHECKSUM_MISMATCH, Status.NOT_STAGED,
        Status.BAD_ARGUMENT, Status.OUT_OF_RANGE, Status.REFUSED, Status.UNKNOWN_COMMAND,
        Status.NOT_AUTHENTICATED, Status.SESSION_IN_USE,
    }
    assert {"crc", "cobs", "oversize", "length", "payload", "truncated"} <= {v["reason"] for v in INVALID.values()}
    assert any(frame.compact for frame in frames)  # a compact READ_EVENTS answer, after a HELLO that agreed it


@pytest.mark.parametrize("name", VALID)
def test_valid_vector_decodes_to_exactly_its_frame_and_re_encodes_to_its_bytes(name):
    wire = bytes.fromhex(VALID[name]["hex"])
    decoder = FrameDecoder()
    assert decoder.feed(wire) == [expected_frame(VALID[name])]
    assert decoder.dropped == 0
    assert encode_frame(expected_frame(VALID[name])) == wire


@pytest.mark.parametrize("name", VALID)
def test_valid_vector_crc_matches_an_independent_bitwise_crc(name):
    body = cobs.decode(bytes.fromhex(VALID[name]["hex"])[:-1])
    assert int.from_bytes(body[-2:], "big") == bitwise_crc16(body[:-2])


@pytest.mark.parametrize("name", INVALID)
def test_invalid_vector_yields_no_frame_for_the_stated_reason(name):
    reasons = []
    decoder = FrameDecoder(on_drop=lambda reason, raw: reasons.append(reason.split(":")[0]))
    assert decoder.feed(bytes.fromhex(INVALID[name]["hex"])) == []
    if INVALID[name]["reason"] == "unterminated":
        assert reasons == [] and decoder.buffered > 0
    else:
        assert reasons == [INVALID[name]["reason"]]


def test_identify_request_built_by_hand():
    # Body: version 1, seq 2, command 0x02, status 0, length 0x0002, payload "{}" (7B 7D), then the CRC.
    body = bytes([0x01, 0x02, 0x02, 0x00, 0x00, 0x02, 0x7B, 0x7D])
    crc = bitwise_crc16(body)
    assert crc == 0x88B7
    # COBS: the zeros split the body into runs [01 02 02], [], [02 7B 7D 88 B7]; each run is written
    # as (length + 1) followed by the run, and the last run's zero is implied away.
    wire = bytes([0x04, 0x01, 0x02, 0x02, 0x01, 0x06, 0x02, 0x7B, 0x7D, 0x88, 0xB7, 0x00])
    assert VALID["IDENTIFY request"]["hex"] == wire.hex()
    assert FrameDecoder().feed(wire) == [Frame(2, Command.IDENTIFY, Status.OK, {}, False)]


def test_hello_request_whose_crc_ends_in_a_zero_byte():
    # The CRC of this body is 0x1A00, so COBS must carry a zero inside the CRC: a good edge case.
    body = cobs.decode(bytes.fromhex(VALID["HELLO request"]["hex"])[:-1])
    assert body[-2:] == b"\x1a\x00" == bitwise_crc16(body[:-2]).to_bytes(2, "big")
    assert bytes.fromhex(VALID["HELLO request"]["hex"])[-3:] == b"\x1a\x01\x00"


# -- version 2: sessions with known keys, sealed frames with known bytes ------------------------------------


def session_channels(session: dict) -> tuple[SecureChannel, SecureChannel]:
    """Both ends of a vector session: the programmer's from its HELLO exchange (the pump's confirmation checked
    under the pair key), the pump's from the same keys."""
    request, answer = (expected_frame(vector).payload for vector in session["frames"][:2])
    key = bytes.fromhex(SECURE["pair_key"])
    assert (request["nonce"], answer["nonce"]) == (session["programmer_nonce"], session["pump_nonce"])
    programmer = programmer_channel(key, SECURE["programmer_id"], request, answer)  # raises if confirm is wrong
    keys = derive_session_keys(key, bytes.fromhex(request["nonce"]), bytes.fromhex(answer["nonce"]),
                               SECURE["programmer_id"], SECURE["serial"])
    return programmer, SecureChannel(keys, pump_side=True)


@pytest.mark.parametrize("index", range(len(SESSIONS)))
def test_a_vector_session_opens_with_its_pair_key_and_every_sealed_frame_opens_to_its_frame(index):
    session = SESSIONS[index]
    programmer, pump = session_channels(session)
    hello, answer = (expected_frame(vector) for vector in session["frames"][:2])
    assert set(hello.payload) == {"protocol", "client", "programmer_id", "nonce"} and hello.payload["protocol"] == 2
    assert set(answer.payload) == {"protocol", "model", "serial", "nonce", "confirm"}
    for vector in session["frames"][2:]:
        [received] = FrameDecoder().feed(bytes.fromhex(vector["hex"]))
        assert received.sealed[0] == 0xE5 and received.payload == {}
        opened = (programmer if received.is_response else pump).open(received)
        assert (opened.frame, opened.repeat) == (expected_frame(vector), False), vector["name"]


@pytest.mark.parametrize("index", range(len(SESSIONS)))
def test_sealing_a_vector_session_again_gives_exactly_its_bytes(index):
    session = SESSIONS[index]
    programmer, pump = session_channels(session)
    for vector in session["frames"]:
        frame = expected_frame(vector)
        if vector["frame"].get("sealed"):
            frame = (pump if frame.is_response else programmer).seal(frame)
        assert encode_frame(frame).hex() == vector["hex"], vector["name"]


def test_a_changed_confirmation_is_not_authentic():
    request, answer = (expected_frame(vector).payload for vector in SESSIONS[0]["frames"][:2])
    forged = {**answer, "confirm": answer["confirm"][:-1] + ("0" if answer["confirm"][-1] != "0" else "1")}
    with pytest.raises(HelloNotAuthentic):
        programmer_channel(bytes.fromhex(SECURE["pair_key"]), SECURE["programmer_id"], request, forged)


@pytest.mark.parametrize("name", SECURE_CLEAR)
def test_version_2_clear_vectors_decode_to_exactly_their_frame(name):
    wire = bytes.fromhex(SECURE_CLEAR[name]["hex"])
    assert FrameDecoder().feed(wire) == [expected_frame(SECURE_CLEAR[name])]
    assert encode_frame(expected_frame(SECURE_CLEAR[name])) == wire


def test_pairing_vectors_have_the_documented_shapes():
    start, started, finish, finished = (expected_frame(SECURE_CLEAR[name]).payload for name in (
        "PAIR_START request", "PAIR_START OK", "PAIR_FINISH request", "PAIR_FINISH OK"))
    hex_digits = set("0123456789abcdef")
    assert set(start) == {"programmer_id", "message"} and len(start["message"]) == 66
    assert set(started) == {"serial", "message", "confirm"} and len(started["message"]) == 66
    assert len(started["confirm"]) == len(finish["confirm"]) == 64 and set(finish) == {"programmer_id", "confirm"}
    assert set(start["message"] + started["message"] + started["confirm"] + finish["confirm"]) <= hex_digits
    assert finished == {"paired": True}
