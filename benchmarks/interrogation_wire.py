"""Benchmark: interrogation and full event-log reads over a 9600-baud link, against the time their bytes need.

The emulator is started with --baud 9600 (it paces its answers at 960 bytes/s, like a slow telemetry head).

1. A full interrogation, on a pump holding a 7-day flex program and a few dozen events: what
   `pump-programmer interrogate` does (open with HELLO, identify, status, program, the last 24 h of the event
   log) followed, in the same session, by what the events view adds (the whole log; events already read in
   the session are not read again). The wire trace counts the bytes each way; the wire limit is bytes x 10
   bits / baud. Printed ratios (target at most 1.15): against the answers' bytes, the part the emulator
   actually paces (the honest figure for this setup); against all bytes, as a half-duplex link that paces
   requests too would need. The link is the secure one (protocol version 2): each ratio is printed twice, with
   the bytes sealing adds (the mark, the frame counter and the tag, 25 per frame) counted as payload, and
   with them counted as protocol overhead (left out of the wire limit, so the ratio says what sealing costs).
2. A full event log read (IDENTIFY, the total, every page) in a fresh session, of a full ITB-20 (256 events)
   and a full ITB-40 (512 events) log of refills, programs, clock and alarm settings, once in the compact
   encoding and once in JSON (the driver forced to say HELLO without offering encodings, as a driver built
   before them did). Printed: seconds, wire bytes received per event, and compact's time over JSON's
   (target under 0.25).

    python3 benchmarks/interrogation_wire.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pairing import PairedEmulator  # noqa: E402
from drivers.transaction import SEALING_BYTES  # noqa: E402
from programmer.interrogation import read_pump  # noqa: E402
from programmer.port import open_driver  # noqa: E402
from programmer.program import Drug, load_program  # noqa: E402

BAUD = 9600
RUNS = 3
TARGET = 1.15
FULL_LOG_TARGET = 0.25
FULL_LOGS = {"ITB-20": 256, "ITB-40": 512}


def start_emulator(state: Path, *args: str) -> PairedEmulator:
    return PairedEmulator(state, *args)


def prepare(state: Path) -> None:
    """A pump with a drug, a 7-day flex program (the largest answer) and some history, on a fast link."""
    program = load_program(ROOT / "examples/baclofen-flex-week.json")
    emulator = start_emulator(state)
    try:
        with open_driver(emulator.url, baudrate=1_000_000, keys=emulator.keys) as pump:
            pump.refill("bench-fill", 0.0, 18.0, Drug.model_validate(program.drug.model_dump()))
            assert pump.write_program(program).status.value == "verified"
            for index in range(10):
                pump.acknowledge_alarm("low_reservoir")
                pump.set_clock(pump.read_status().pump_time)
    finally:
        emulator.stop()


def fill_log(state: Path, model: str, size: int) -> None:
    """A pump whose log is full and has wrapped: cycles of refill, program change, clock set and alarm threshold."""
    programs = [load_program(ROOT / f"examples/baclofen-{name}.json") for name in ("flex-week", "simple")]
    emulator = start_emulator(state, "--model", model)
    try:
        with open_driver(emulator.url, baudrate=1_000_000, keys=emulator.keys) as pump:
            cycle = 0
            while pump.read_event_page(0, 0)[0] < size + 20:
                program = programs[cycle % 2]
                pump.refill(f"r-{cycle:04d}-{model}", 1.0, 15.0, Drug.model_validate(program.drug.model_dump()))
                assert pump.write_program(program).status.value == "verified"
                pump.set_clock(pump.read_status().pump_time)
                pump.set_low_alarm(2.0 + cycle % 3)
                cycle += 1
    finally:
        emulator.stop()


def read_full_log(emulator: PairedEmulator, compact: bool) -> tuple[float, int, int]:
    """Seconds to read the whole log in a fresh session (HELLO not counted), bytes received, events read."""
    lines: list[str] = []
    with open_driver(emulator.url, baudrate=BAUD, trace=lines.append, compact=compact, keys=emulator.keys) as pump:
        lines.clear()
        started = time.perf_counter()
        events = pump.read_events()
        elapsed = time.perf_counter() - started
    received = sum(len(line.split(" RX ", 1)[1].split()) for line in lines if " RX " in line)
    return elapsed, received, len(events)


def full_logs(folder: Path) -> bool:
    """Print the full-log figures for each model; True when compact is under FULL_LOG_TARGET of JSON for all."""
    ok = True
    for model, size in FULL_LOGS.items():
        state = folder / f"{model}.json"
        fill_log(state, model, size)
        emulator = start_emulator(state, "--baud", str(BAUD))
        try:
            figures = {name: read_full_log(emulator, compact) for name, compact in (("json", False),
                                                                                      ("compact", True))}
        finally:
            emulator.stop()
        print(f"full event log of an {model} at {BAUD} baud ({size} events):")
        for name, (elapsed, received, events) in figures.items():
            assert events == size, f"read {events} events of {size}"
            print(f"  {name:<8} {elapsed:7.3f} s   {received / events:6.1f} bytes/event   {received} bytes received")
        ratio = figures["compact"][0] / figures["json"][0]
        ok = ok and ratio < FULL_LOG_TARGET
        verdict = "met" if ratio < FULL_LOG_TARGET else "NOT met"
        print(f"  compact / json {ratio:.3f}   target < {FULL_LOG_TARGET}: {verdict}")
    return ok


def interrogate(emulator: PairedEmulator) -> tuple[float, int, int, int, int, int]:
    """Seconds for a full interrogation, bytes sent, bytes received, the number of events read, and the sealed
    frames sent and received."""
    lines: list[str] = []
    started = time.perf_counter()
    with open_driver(emulator.url, baudrate=BAUD, trace=lines.append, keys=emulator.keys) as pump:
        read_pump(pump)
        events = pump.read_events()
    elapsed = time.perf_counter() - started
    sent = sum(len(line.split(": ", 1)[1].split()) for line in lines if " TX " in line)
    received = sum(len(line.split(" RX ", 1)[1].split()) for line in lines if " RX " in line)
    sealed_sent = sum(1 for line in lines if " TX " in line and " sealed" in line.split(": ", 1)[0])
    sealed_received = sum(1 for line in lines if " FRAME " in line and "(answer (sealed))" in line)
    return elapsed, sent, received, len(events), sealed_sent, sealed_received


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "pump.json"
        prepare(state)
        emulator = start_emulator(state, "--baud", str(BAUD))
        try:
            runs = [interrogate(emulator) for _ in range(RUNS)]
        finally:
            emulator.stop()
    elapsed, sent, received, events, sealed_sent, sealed_received = sorted(runs)[len(runs) // 2]
    answers_limit = received * 10 / BAUD
    all_limit = (sent + received) * 10 / BAUD
    answers_unsealed = (received - sealed_received * SEALING_BYTES) * 10 / BAUD
    all_unsealed = (sent + received - (sealed_sent + sealed_received) * SEALING_BYTES) * 10 / BAUD
    print(f"full interrogation at {BAUD} baud over the secure link: {events} events, {sent} bytes sent, {received} "
          f"bytes received, {sealed_sent} + {sealed_received} sealed frames ({SEALING_BYTES} bytes of sealing each)")
    print(f"  measured                    {elapsed:.3f} s (median of {RUNS})")
    print(f"  wire limit, answers only    {answers_limit:.3f} s   ratio {elapsed / answers_limit:.2f}   "
          f"sealing as overhead: {answers_unsealed:.3f} s   ratio {elapsed / answers_unsealed:.2f}")
    print(f"  wire limit, all bytes       {all_limit:.3f} s   ratio {elapsed / all_limit:.2f}   "
          f"sealing as overhead: {all_unsealed:.3f} s   ratio {elapsed / all_unsealed:.2f}")
    ok = elapsed / answers_limit <= TARGET
    print(f"  target ratio <= {TARGET}: {'met' if ok else 'NOT met'}")
    with tempfile.TemporaryDirectory() as folder:
        ok = full_logs(Path(folder)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
