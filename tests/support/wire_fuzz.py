"""Malformed input for the pump's receiving side, and the harness that runs it: shared by the fuzz tests
(tests/protocol/test_fuzz_wire.py, through hypothesis) and benchmarks/fuzz_wire.py (a million inputs).

Why one module for both: the benchmark's million inputs and the property tests must attack the same code
the same way, or a figure in a report says nothing about what the tests check. The generators take a
``random.Random``: the benchmark seeds one for speed, the tests get one from ``hypothesis.strategies.randoms``
so that a failure shrinks and replays.

The receiving side is what the pump runs on every byte it reads in a secure session: a ``FrameDecoder``, then
``SecureChannel.open`` for each frame it yields. Three kinds of input:

- random bytes (any length, with and without delimiters);
- a valid frame in clear, mutated on the wire (bytes flipped, cut, inserted, deleted, delimiters lost);
- a sealed frame, mutated *under a correct CRC* so that it reaches the crypto layer: payload bits flipped,
  cut short, header changed, counter forged, replayed (older, or the last one again), sealed under another
  session's keys or in the other direction, a clear frame in the session, and random bytes behind the mark.

The rules checked (``Harness``): nothing raises but the documented rejection (``FrameRejected``); no malformed
input is ever acted on (the one exact replay of the last request is answered from the cache, never acted on);
and after every input the programmer's next genuine request opens, at worst after one resend of the same bytes
(the input may have left an unfinished frame that swallows the first copy, as on a real line).
"""

from __future__ import annotations

import os
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from protocol.codes import FRAME_VERSION, RESPONSE_BIT, Command
from protocol.frame import SEALED_MARK, Frame, FrameDecoder, encode_frame, header_bytes
from protocol.secure import FrameRejected, OpenedFrame, SecureChannel, new_nonce, programmer_channel, pump_channel
from protocol.session_crypto import COUNTER_BYTES, MAX_COUNTER

SERIAL = "E40-F00D01"
PROGRAMMER_ID = "fuzz-programmer"
SESSION_COMMANDS = (Command.READ_STATUS, Command.READ_EVENTS, Command.SET_CLOCK, Command.BOLUS, Command.END_SESSION)
"""Commands that need a session: what the genuine requests carry."""
KINDS = ("random bytes", "mutated frames", "mutated sealed frames")
REPLAYS_KEPT = 16
"""Genuine frames kept for replays: few enough that a million inputs run in constant memory."""


class ActedOnGarbage(AssertionError):
    """A malformed input was opened as a new request: the pump would have acted on it."""


class NoRecovery(AssertionError):
    """The programmer's next genuine request did not open after a malformed input, even when sent again."""


@dataclass
class Session:
    """Both ends of one version 2 session, made as HELLO makes them (``pump_channel``, ``programmer_channel``)."""

    programmer: SecureChannel
    pump: SecureChannel


def new_session(pair_key: bytes | None = None) -> Session:
    key = os.urandom(32) if pair_key is None else pair_key
    request = {"protocol": 2, "client": "fuzz", "programmer_id": PROGRAMMER_ID, "nonce": new_nonce()}
    answer, pump = pump_channel(key, SERIAL, request, {"protocol": 2, "model": "ITB-40", "serial": SERIAL})
    return Session(programmer_channel(key, PROGRAMMER_ID, request, answer), pump)


def wire(header: bytes, sealed: bytes) -> bytes:
    """The wire bytes of a frame with these header bytes (version, seq, command, status) and this sealed payload,
    with a correct length and CRC: what an attacker who knows the format sends."""
    _, seq, command, status = header
    return encode_frame(Frame(seq, command & ~RESPONSE_BIT, status, {}, bool(command & RESPONSE_BIT), sealed=sealed))


@dataclass
class Harness:
    """The pump's receiving side of one session, and the programmer sending genuine requests into it.

    ``feed`` passes bytes through the decoder and the channel and returns the frames opened as new requests;
    ``recover`` sends the programmer's next request and checks that it opens. ``outcomes`` counts what became of
    every frame the decoder yielded: ``dropped`` (by the decoder), ``rejected <reason>``, ``answered again``."""

    session: Session = field(default_factory=new_session)
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    outcomes: Counter[str] = field(default_factory=Counter)
    sent: deque[Frame] = field(default_factory=lambda: deque(maxlen=REPLAYS_KEPT))
    """The last genuine sealed requests, oldest first (the newest is the one the pump acted on last)."""
    acted: int = 0
    """Genuine requests acted on: each exactly once, numbered 1, 2, ... in their payload's ``n``."""
    resends: int = 0

    def feed(self, data: bytes) -> list[OpenedFrame]:
        dropped = self.decoder.dropped
        fresh = []
        for frame in self.decoder.feed(data):
            try:
                opened = self.session.pump.open(frame)
            except FrameRejected as rejected:
                self.outcomes[f"rejected {rejected.reason}"] += 1
                continue
            if opened.repeat:
                self.outcomes["answered again"] += 1
            else:
                fresh.append(opened)
        self.outcomes["dropped"] += self.decoder.dropped - dropped
        return fresh

    def genuine(self, rng: random.Random) -> Frame:
        """The programmer's next request, sealed: a session command numbered ``n`` = requests made so far + 1."""
        sealed = self.session.programmer.seal(Frame(rng.randrange(256), rng.choice(SESSION_COMMANDS), 0,
                                                    {"n": self.acted + 1}, False))
        self.sent.append(sealed)
        return sealed

    def attack(self, data: bytes) -> None:
        """Feed a malformed input: ActedOnGarbage if anything in it opens as a new request."""
        fresh = self.feed(data)
        if fresh:
            raise ActedOnGarbage(f"{len(fresh)} frame(s) of a malformed input opened as new requests: {fresh}")

    def recover(self, rng: random.Random) -> None:
        """The programmer's next request must open as a new request (sent again once if the first copy was
        swallowed by an unfinished frame the input left), and be the request sent, acted on once."""
        request = self.genuine(rng)
        sent = encode_frame(request)
        fresh = self.feed(sent)
        if not fresh:
            self.resends += 1
            fresh = self.feed(sent)
        if len(fresh) != 1 or fresh[0].frame.payload != {"n": self.acted + 1} or fresh[0].frame.seq != request.seq:
            raise NoRecovery(f"the next genuine request did not open once after a resend: {fresh}")
        self.acted += 1


# -- the inputs ----------------------------------------------------------------------------------------


def random_bytes(rng: random.Random, harness: Harness) -> bytes:
    """Noise: up to 600 random bytes, zeros as often as any other byte or (half the time) never."""
    size = rng.choice((rng.randrange(8), rng.randrange(600)))
    data = bytearray(rng.randbytes(size))
    if rng.random() < 0.5:
        data = data.replace(b"\x00", b"\x01")
    return bytes(data)


def mutated_frame(rng: random.Random, harness: Harness) -> bytes:
    """A valid frame in clear (any command, a small JSON payload) with one to three wire-level mutations."""
    frame = Frame(rng.randrange(256), rng.randrange(0x80), 0, {"n": rng.randrange(1000), "x": "a" * rng.randrange(40)},
                  False)
    data = bytearray(encode_frame(frame))
    for _ in range(rng.randint(1, 3)):
        _mutate_bytes(rng, data)
    return bytes(data)


def _mutate_bytes(rng: random.Random, data: bytearray) -> None:
    where = rng.randrange(len(data)) if data else 0
    action = rng.randrange(6)
    if action == 0 and data:  # a byte changed (never to itself)
        data[where] ^= rng.randrange(1, 256)
    elif action == 1:  # a byte inserted
        data.insert(where, rng.randrange(256))
    elif action == 2 and data:  # a byte lost
        del data[where]
    elif action == 3:  # cut short
        del data[where:]
    elif action == 4 and data:  # a zero in the middle: the frame falls in two
        data[where] = 0
    elif data:  # a run repeated
        data[where:where] = data[where:where + rng.randrange(1, 16)]


def mutated_sealed(rng: random.Random, harness: Harness) -> bytes:
    """A sealed frame attacked on the crypto layer, under a correct CRC (see the module's docstring)."""
    attack = rng.choice(_SEALED_ATTACKS)
    return attack(rng, harness)


def _a_sealed_frame(rng: random.Random, harness: Harness) -> tuple[bytes, bytes]:
    """Header and sealed payload of a request the programmer really sealed under its next counter, then lost:
    only mutated copies reach the pump (the programmer's next request skips that counter, as after a request
    it gave up on, which the pump takes)."""
    frame = harness.session.programmer.seal(Frame(rng.randrange(256), rng.choice(SESSION_COMMANDS), 0,
                                                  {"n": -1}, False))
    return header_bytes(frame), frame.sealed


def _flipped(rng: random.Random, harness: Harness) -> bytes:
    header, sealed = _a_sealed_frame(rng, harness)
    data = bytearray(sealed)
    for where in rng.sample(range(1, len(data)), rng.randint(1, 4)):  # distinct places: no flip undoes another
        data[where] ^= 1 << rng.randrange(8)
    return wire(header, bytes(data))


def _cut(rng: random.Random, harness: Harness) -> bytes:
    header, sealed = _a_sealed_frame(rng, harness)
    return wire(header, sealed[:rng.randrange(1, len(sealed))])


def _grown(rng: random.Random, harness: Harness) -> bytes:
    header, sealed = _a_sealed_frame(rng, harness)
    return wire(header, sealed + rng.randbytes(rng.randint(1, 32)))


def _header_changed(rng: random.Random, harness: Harness) -> bytes:
    header, sealed = _a_sealed_frame(rng, harness)
    data = bytearray(header)
    where = rng.randrange(1, 4)  # seq, command or status (the version is the decoder's to refuse)
    data[where] ^= rng.randrange(1, 256)
    if where == 3 and not data[2] & RESPONSE_BIT:
        data[2] |= RESPONSE_BIT  # a request's status must be 0: make it a "response" so the decoder lets it by
    return wire(bytes(data), sealed)


def _counter_forged(rng: random.Random, harness: Harness) -> bytes:
    header, sealed = _a_sealed_frame(rng, harness)
    last = int.from_bytes(harness.sent[-1].sealed[1:1 + COUNTER_BYTES], "big") if harness.sent else 0
    counter = rng.choice((0, 1, max(0, last - 1), last, last + 2, MAX_COUNTER, rng.randrange(MAX_COUNTER)))
    return wire(header, sealed[:1] + counter.to_bytes(COUNTER_BYTES, "big") + sealed[1 + COUNTER_BYTES:])


def _replayed(rng: random.Random, harness: Harness) -> bytes:
    """A genuine frame sent again, byte for byte: an older one (refused) or the last one (answered again)."""
    if not harness.sent:
        return _flipped(rng, harness)
    return encode_frame(rng.choice(harness.sent))


def _other_session(rng: random.Random, harness: Harness) -> bytes:
    """A frame genuinely sealed in another session (other nonces, same pair key or another)."""
    other = new_session()
    frame = other.programmer.seal(Frame(rng.randrange(256), rng.choice(SESSION_COMMANDS), 0, {"n": -1}, False))
    return encode_frame(frame)


def _reflected(rng: random.Random, harness: Harness) -> bytes:
    """An answer the pump sealed, sent back to it as a request (the other direction's key)."""
    answer = harness.session.pump.seal(Frame(rng.randrange(256), rng.choice(SESSION_COMMANDS), 0, {"n": -1}, True))
    return wire(header_bytes(replace(answer, is_response=False, status=0)), answer.sealed)


def _in_clear(rng: random.Random, harness: Harness) -> bytes:
    """A well-formed request in clear inside the session."""
    return encode_frame(Frame(rng.randrange(256), rng.choice(SESSION_COMMANDS), 0, {"n": -1}, False))


def _noise_behind_the_mark(rng: random.Random, harness: Harness) -> bytes:
    return wire(bytes((FRAME_VERSION, rng.randrange(256), rng.choice(SESSION_COMMANDS), 0)),
                bytes((SEALED_MARK,)) + rng.randbytes(rng.randrange(80)))


_SEALED_ATTACKS: tuple[Callable[[random.Random, Harness], bytes], ...] = (
    _flipped, _cut, _grown, _header_changed, _counter_forged, _replayed, _other_session, _reflected, _in_clear,
    _noise_behind_the_mark)
GENERATORS: dict[str, Callable[[random.Random, Harness], bytes]] = {
    "random bytes": random_bytes, "mutated frames": mutated_frame, "mutated sealed frames": mutated_sealed}


# -- a run -----------------------------------------------------------------------------------------------


@dataclass
class FuzzReport:
    inputs: Counter[str] = field(default_factory=Counter)
    """Inputs sent, by kind (KINDS)."""
    crashes: int = 0
    """Exceptions other than the documented rejection, raised out of the decoder or the channel."""
    acted_on: int = 0
    """Malformed inputs opened as new requests."""
    recoveries: int = 0
    """Inputs after which the programmer's next genuine request opened (and was acted on once)."""
    resends: int = 0
    """Of those, how many needed the request sent a second time."""
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    """The first few failures, described, for whoever has to fix them."""

    @property
    def total(self) -> int:
        return sum(self.inputs.values())


MAX_FAILURES_KEPT = 5


def run(count: int, seed: int) -> FuzzReport:
    """``count`` malformed inputs, the three kinds in turn, each followed by a genuine request that must open.
    A failure of either kind is counted and the run goes on in a new session."""
    rng = random.Random(seed)
    report = FuzzReport()
    harness = Harness()
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        report.inputs[kind] += 1
        try:
            harness.attack(GENERATORS[kind](rng, harness))
            harness.recover(rng)
            report.recoveries += 1
            continue
        except ActedOnGarbage as failure:
            report.acted_on += 1
            _keep(report, f"input {number} ({kind}): {failure}")
        except NoRecovery as failure:
            _keep(report, f"input {number} ({kind}): {failure}")
        except Exception as crash:  # noqa: BLE001 - what this counts: anything else raised is a crash
            report.crashes += 1
            _keep(report, f"input {number} ({kind}): {type(crash).__name__}: {crash}")
        report.outcomes += harness.outcomes
        report.resends += harness.resends
        harness = Harness()
    report.outcomes += harness.outcomes
    report.resends += harness.resends
    return report


def _keep(report: FuzzReport, failure: str) -> None:
    if len(report.failures) < MAX_FAILURES_KEPT:
        report.failures.append(failure)
