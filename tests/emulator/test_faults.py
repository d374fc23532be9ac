"""The --faults spec and what the injector does to frames (seeded, so runs repeat)."""

from __future__ import annotations

import pytest

from emulator.faults import FaultInjector, FaultSpec
from protocol.codes import Command
from protocol.frame import Frame, FrameDecoder, encode_frame

WIRE = encode_frame(Frame(7, Command.READ_STATUS, 0, {}, False))


def test_parse_the_full_example():
    spec = FaultSpec.parse("seed=7,drop=0.02,corrupt=0.02,delay=0.05:0.3,duplicate=0.01,busy=0.05,disconnect=0.002")
    assert spec == FaultSpec(seed=7, drop=0.02, corrupt=0.02, delay=0.05, delay_max_s=0.3, duplicate=0.01,
                             busy=0.05, disconnect=0.002)
    assert FaultSpec.parse("") == FaultSpec()


@pytest.mark.parametrize("text, message", [
    ("drop=1.5", "not a probability"),
    ("explode=0.1", "unknown fault"),
    ("delay=0.1", "delay=P:SECONDS"),
    ("seed=x", "seed=NUMBER"),
    ("drop=0.1,drop=0.2", "each name once"),
    ("drop", "NAME=VALUE"),
    ("delay=0.1:90", "outside 0..60"),
])
def test_parse_errors_name_the_part(text, message):
    with pytest.raises(ValueError, match=message):
        FaultSpec.parse(text)


FRAMES = 2000
RATE = 0.25
# Each fault alone at RATE over FRAMES frames: the count is binomial, mean 2000 x 0.25 = 500, standard
# deviation sqrt(2000 x 0.25 x 0.75) = 19.4. 500 +- 100 is more than 5 standard deviations either side
# (a seeded run lands outside it with odds below one in a million), yet far from 0 (an injector that
# never injects) or 250 and 1000 (a rate halved or doubled).
EXPECTED = range(400, 601)


def injected(fault: str, outgoing: bool = True) -> int:
    """How many of FRAMES frames the injector changes in the way ``fault`` names, that fault alone at RATE."""
    spec = FaultSpec(seed=11, delay_max_s=0.2, **{fault: RATE})
    injector = FaultInjector(spec)
    if fault == "busy":
        return sum(injector.busy() for _ in range(FRAMES))
    seen = {
        "drop": lambda pieces: pieces == [],
        "corrupt": lambda pieces: pieces[0].data != WIRE,
        "delay": lambda pieces: pieces[0].delay_s > 0,
        "duplicate": lambda pieces: len(pieces) == 2,
        "disconnect": lambda pieces: pieces[0].disconnect,
    }[fault]
    return sum(bool(seen(injector.transmit(WIRE, outgoing))) for _ in range(FRAMES))


@pytest.mark.parametrize("fault", ["drop", "corrupt", "delay", "duplicate", "busy", "disconnect"])
def test_each_fault_is_injected_at_its_configured_rate(fault):
    assert injected(fault) in EXPECTED


def test_an_answer_cut_is_only_ever_an_answer():
    assert injected("disconnect", outgoing=False) == 0  # requests (incoming) are never cut


def faults_seen(spec: FaultSpec) -> list:
    injector = FaultInjector(spec)
    return [(injector.transmit(WIRE, outgoing=index % 2 == 0), injector.busy()) for index in range(200)]


def test_the_same_seed_gives_the_same_faults_and_another_seed_others():
    rates = "drop=0.3,corrupt=0.3,duplicate=0.3,delay=0.3:0.2,busy=0.3,disconnect=0.1"
    spec = FaultSpec.parse(f"seed=3,{rates}")
    first = faults_seen(spec)
    assert faults_seen(spec) == first
    # Not the same because nothing happens: with every rate at 0.3 over 200 frames, frames are dropped and
    # requests answered BUSY (expected 0.3 x 200 = 60 each; neither can be 0 but by a 1-in-10^30 chance).
    assert sum(pieces == [] for pieces, _ in first) > 0 and sum(busy for _, busy in first) > 0
    assert faults_seen(FaultSpec.parse(f"seed=4,{rates}")) != first
    assert FaultInjector(spec).seed == 3


def test_each_fault_alone():
    assert FaultInjector(FaultSpec(drop=1.0)).transmit(WIRE, outgoing=True) == []
    [twice, again] = FaultInjector(FaultSpec(duplicate=1.0)).transmit(WIRE, outgoing=False)
    assert twice.data == again.data == WIRE
    [corrupted] = FaultInjector(FaultSpec(seed=1, corrupt=1.0)).transmit(WIRE, outgoing=False)
    assert corrupted.data != WIRE and corrupted.data.endswith(b"\x00")
    assert FrameDecoder().feed(corrupted.data) == []  # the CRC (or COBS) catches it: the request is dropped
    [delayed] = FaultInjector(FaultSpec(delay=1.0, delay_max_s=0.3)).transmit(WIRE, outgoing=True)
    assert 0 <= delayed.delay_s <= 0.3
    [cut] = FaultInjector(FaultSpec(disconnect=1.0)).transmit(WIRE, outgoing=True)
    assert cut.disconnect and 0 < len(cut.data) < len(WIRE) and WIRE.startswith(cut.data)
    [whole] = FaultInjector(FaultSpec(disconnect=1.0)).transmit(WIRE, outgoing=False)  # only answers are cut
    assert whole.data == WIRE and not whole.disconnect
    assert FaultInjector(FaultSpec(busy=1.0)).busy() and not FaultInjector(FaultSpec()).busy()
