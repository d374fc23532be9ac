"""Benchmark: a full interrogation over a 9600-baud link, against the time its bytes need on the wire.

The emulator is started with --baud 9600 (it paces its answers at 960 bytes/s, like a slow telemetry
head) and a pump holding a 7-day flex program and a few dozen events. A full interrogation is what
`pump-programmer interrogate` does (open with HELLO, identify, status, program, the last 24 h of the
event log) followed by what `pump-programmer events` adds (every page of the log). The wire trace counts
the bytes each way; the wire limit is bytes x 10 bits / baud.

Printed ratios (target under 1.3):
- against the answers' bytes, the part the emulator actually paces (the honest figure for this setup);
- against all bytes, as a half-duplex link that paces requests too would need.

    python3 benchmarks/interrogation_wire.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.launch import EmulatorProcess  # noqa: E402
from programmer.interrogation import read_pump  # noqa: E402
from programmer.port import open_driver  # noqa: E402
from programmer.program import Drug, load_program  # noqa: E402

BAUD = 9600
RUNS = 3
TARGET = 1.3


def start_emulator(state: Path, *args: str) -> EmulatorProcess:
    emulator = EmulatorProcess(["--listen", "tcp://127.0.0.1:0", "--state", str(state), *args])
    emulator.start()
    return emulator


def prepare(state: Path) -> None:
    """A pump with a drug, a 7-day flex program (the largest answer) and some history, on a fast link."""
    program = load_program(ROOT / "examples/baclofen-flex-week.json")
    emulator = start_emulator(state)
    try:
        with open_driver(emulator.url, baudrate=1_000_000) as pump:
            pump.refill("bench-fill", 0.0, 18.0, Drug.model_validate(program.drug.model_dump()))
            assert pump.write_program(program).status.value == "verified"
            for index in range(10):
                pump.acknowledge_alarm("low_reservoir")
                pump.set_clock(pump.read_status().pump_time)
    finally:
        emulator.stop()


def interrogate(url: str) -> tuple[float, int, int, int]:
    """Seconds for a full interrogation, bytes sent, bytes received, and the number of events read."""
    lines: list[str] = []
    started = time.perf_counter()
    with open_driver(url, baudrate=BAUD, trace=lines.append) as pump:
        read_pump(pump)
        events = pump.read_events()
    elapsed = time.perf_counter() - started
    sent = sum(len(line.split(": ", 1)[1].split()) for line in lines if " TX " in line)
    received = sum(len(line.split(" RX ", 1)[1].split()) for line in lines if " RX " in line)
    return elapsed, sent, received, len(events)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "pump.json"
        prepare(state)
        emulator = start_emulator(state, "--baud", str(BAUD))
        try:
            runs = [interrogate(emulator.url) for _ in range(RUNS)]
        finally:
            emulator.stop()
    elapsed, sent, received, events = sorted(runs)[len(runs) // 2]
    answers_limit = received * 10 / BAUD
    all_limit = (sent + received) * 10 / BAUD
    print(f"full interrogation at {BAUD} baud: {events} events, {sent} bytes sent, {received} bytes received")
    print(f"  measured                    {elapsed:.3f} s (median of {RUNS})")
    print(f"  wire limit, answers only    {answers_limit:.3f} s   ratio {elapsed / answers_limit:.2f}")
    print(f"  wire limit, all bytes       {all_limit:.3f} s   ratio {elapsed / all_limit:.2f}")
    ok = elapsed / answers_limit < TARGET
    print(f"  target ratio < {TARGET}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
