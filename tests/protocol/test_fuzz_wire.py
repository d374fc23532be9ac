"""Fuzzing the pump's receiving side in a secure session: the frame decoder, then ``SecureChannel.open``.

Whatever arrives, nothing raises but the documented rejection (``FrameRejected``, with one of its reasons),
nothing malformed is ever acted on, no request is acted on twice, and the programmer's next genuine request
opens after any garbage. The inputs come from tests/support/wire_fuzz.py, the same generators the benchmark
benchmarks/fuzz_wire.py runs a million of; the short run of that script is the last test here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.codes import Command
from protocol.frame import SEALED_MARK, Frame, FrameDecoder, encode_frame
from protocol.secure import FrameRejected, SecureChannel
from protocol.session_crypto import OVERHEAD_BYTES, Sealer, derive_session_keys
from tests.support.wire_fuzz import GENERATORS, KINDS, SESSION_COMMANDS, Harness, new_session, wire

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_REASONS = {"truncated", "replayed", "forged", "clear", "payload"}
"""``FrameRejected.reason``: the three of ``session_crypto`` and the two ``SecureChannel.open`` adds."""

requests = st.builds(lambda seq, command: Frame(seq, command, 0, {"n": 1}, False),
                     st.integers(0, 255), st.sampled_from(SESSION_COMMANDS))


@given(st.randoms(use_true_random=False), st.lists(st.sampled_from(KINDS), min_size=1, max_size=12))
def test_after_any_run_of_malformed_input_nothing_was_acted_on_and_the_next_request_opens(rng, kinds):
    harness = Harness()
    harness.recover(rng)  # a session under way: request 1 acted on
    for kind in kinds:
        harness.attack(GENERATORS[kind](rng, harness))  # ActedOnGarbage if anything in it opened as new
        harness.recover(rng)  # NoRecovery unless the next request opens, at worst on its one resend
    assert harness.acted == 1 + len(kinds)
    assert {outcome.removeprefix("rejected ") for outcome in harness.outcomes} <= DOCUMENTED_REASONS | {
        "dropped", "answered again"}


@given(requests, st.binary(max_size=200))
def test_any_bytes_behind_the_sealed_mark_are_a_documented_rejection_and_change_nothing(request, sealed):
    session = new_session()
    with pytest.raises(FrameRejected) as rejected:
        session.pump.open(Frame(request.seq, request.command, 0, {}, False, sealed=bytes((SEALED_MARK,)) + sealed))
    assert rejected.value.reason in {"truncated", "replayed", "forged"}
    assert session.pump.rejected == 1
    opened = session.pump.open(session.programmer.seal(request))
    assert (opened.frame.payload, opened.repeat) == ({"n": 1}, False)


@given(st.lists(st.integers(0, 5), max_size=20))
def test_frames_delivered_in_any_order_and_again_are_each_acted_on_at_most_once_in_counter_order(deliveries):
    """Six requests sealed with counters 1..6, delivered in the order drawn (lost, repeated, reordered). The
    rule, by hand: a counter above the last accepted is acted on; the last one again is answered again, not
    acted on; anything older is refused as replayed."""
    session = new_session()
    sealed = [session.programmer.seal(Frame(number, Command.READ_STATUS, 0, {"n": number + 1}, False))
              for number in range(6)]
    last, expected, got = 0, [], []
    for number in deliveries:
        counter = number + 1
        expected.append("acted" if counter > last else "again" if counter == last else "replayed")
        last = max(last, counter)
        try:
            opened = session.pump.open(sealed[number])
        except FrameRejected as rejected:
            got.append(rejected.reason)
            continue
        got.append("again" if opened.repeat else "acted")
        assert opened.frame.payload == {"n": counter} and opened.frame.seq == number
    assert got == expected
    acted = [number for number, outcome in zip(deliveries, got) if outcome == "acted"]
    assert acted == sorted(set(acted))  # each at most once, in the order they were sealed


@given(st.lists(requests, min_size=1, max_size=5), st.booleans())
def test_frames_of_another_session_or_the_other_direction_never_open(sent, same_key):
    ours, theirs = new_session(), new_session()
    if same_key:  # the same pair key, other nonces: still other session keys
        key = bytes(32)
        ours, theirs = new_session(key), new_session(key)
    for request in sent:
        foreign = (theirs.programmer.seal(request), ours.pump.seal(Frame(request.seq, request.command, 0, {}, False)))
        for frame in foreign:
            with pytest.raises(FrameRejected, match="does not authenticate") as rejected:
                ours.pump.open(frame)
            assert rejected.value.reason == "forged"
    opened = ours.pump.open(ours.programmer.seal(sent[0]))
    assert not opened.repeat and ours.pump.rejected == 2 * len(sent)


def test_every_truncation_of_a_sealed_frame_is_refused_and_the_whole_frame_still_opens_after():
    session = new_session()
    request = session.programmer.seal(Frame(7, Command.READ_STATUS, 0, {"n": 1}, False))
    for length in range(1, len(request.sealed)):
        with pytest.raises(FrameRejected) as rejected:
            session.pump.open(Frame(7, Command.READ_STATUS, 0, {}, False, sealed=request.sealed[:length]))
        # The mark, then fewer than the counter and tag's 24 bytes: truncated; more: the tag does not verify.
        assert rejected.value.reason == ("truncated" if length - 1 < OVERHEAD_BYTES else "forged")
    assert session.pump.rejected == len(request.sealed) - 1
    assert session.pump.open(request).frame.payload == {"n": 1}


@pytest.mark.parametrize("plain", [b"", b"[1]", b"\xff\xfe", b"not json", b"\xc1\x00", b'{"n": 1} trailing'])
def test_authentic_content_that_is_not_a_payload_is_refused_and_never_acted_on(plain):
    """Only a holder of the key can seal content at all; even then, what is not a payload is refused (reason
    ``payload``), a resend of it too, and the next request opens."""
    keys = derive_session_keys(bytes(32), bytes(16), bytes(range(16)), "fuzz-programmer", "E40-F00D01")
    pump, sealer = SecureChannel(keys, pump_side=True), Sealer(keys.to_pump)
    header = bytes((1, 3, Command.READ_STATUS, 0))
    bad = Frame(3, Command.READ_STATUS, 0, {}, False, sealed=bytes((SEALED_MARK,)) + sealer.seal(header, plain))
    for _ in range(2):  # sent, then sent again
        with pytest.raises(FrameRejected) as rejected:
            pump.open(bad)
        assert rejected.value.reason == "payload"
    good = Frame(3, Command.READ_STATUS, 0, {}, False, sealed=bytes((SEALED_MARK,)) + sealer.seal(header, b'{"n":2}'))
    assert pump.open(good).frame.payload == {"n": 2} and pump.rejected == 2


@given(st.binary(max_size=300), requests)
def test_garbage_on_the_line_before_a_sealed_request_costs_at_most_one_resend(garbage, request):
    session = new_session()
    decoder = FrameDecoder()
    sealed = encode_frame(session.programmer.seal(request))
    frames = decoder.feed(garbage + sealed) or decoder.feed(sealed)  # the resend: the same bytes
    opened = []
    for frame in frames:
        try:
            opened.append(session.pump.open(frame))
        except FrameRejected:
            pass  # a frame the garbage held: refused
    assert [(item.frame.payload, item.repeat) for item in opened] == [({"n": 1}, False)]


def test_a_sealed_frame_with_its_crc_made_right_reaches_the_channel_and_is_refused():
    """What makes the sealed attacks of wire_fuzz reach the crypto layer: ``wire`` writes a correct CRC."""
    session = new_session()
    request = session.programmer.seal(Frame(9, Command.BOLUS, 0, {"n": 1}, False))
    flipped = bytearray(request.sealed)
    flipped[-1] ^= 0x01  # the tag's last bit
    (frame,) = FrameDecoder().feed(wire(bytes((1, 9, Command.BOLUS, 0)), bytes(flipped)))
    with pytest.raises(FrameRejected, match="does not authenticate"):
        session.pump.open(frame)


def test_the_benchmarks_short_run_finds_no_crash_nothing_acted_on_and_recovers_after_every_input():
    script = ROOT / "benchmarks" / "fuzz_wire.py"
    done = subprocess.run([sys.executable, str(script), "--count", "2000", "--seed", "12"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert lines["crashes"] == "0" and lines["acted on"] == "0"
    assert re.fullmatch(r"2,000 of 2,000 \(\d[\d,]* after one resend\)", lines["recoveries"])
    assert re.match(r"2,000 in [\d.]+ s: [\d,]+ inputs/s \(667 random bytes, 667 mutated frames, 666 mutated sealed "
                    r"frames\)", lines["inputs"])
    assert re.fullmatch(r"[\d.]+ MB \(peak [\d.]+ MB\)", lines["RSS after"])
