"""The --faults spec and what the injector does to frames (seeded, so runs repeat)."""

from __future__ import annotations

import pytest

from drivers.emulator.faults import FaultInjector, FaultSpec
from drivers.protocol.codes import Command
from drivers.protocol.frame import Frame, FrameDecoder, encode_frame

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


def test_the_same_seed_gives_the_same_faults():
    spec = FaultSpec.parse("seed=3,drop=0.3,corrupt=0.3,duplicate=0.3,delay=0.3:0.2,busy=0.3,disconnect=0.1")
    runs = []
    for _ in range(2):
        injector = FaultInjector(spec)
        runs.append([(injector.transmit(WIRE, outgoing=index % 2 == 0), injector.busy()) for index in range(200)])
    assert runs[0] == runs[1]


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
