"""Benchmark: what the secure link costs to set up, against a version-1 HELLO.

1. Pairing: IDENTIFY for the serial, PAIR_START and PAIR_FINISH (SPAKE2 on both sides), and the key kept, as
   ``pump-programmer pair`` runs it, on an emulator whose pairing window is open (opened again by SIGUSR1 for
   each run, the code read from its standard output).
2. Session set-up: from the HELLO (version 2: the programmer's nonce, the pump's nonce and confirmation, the
   session keys derived and the confirmation checked on both sides) to the first sealed answer (READ_STATUS),
   on a fresh connection each run.
3. The baseline: the same on an emulator started ``--insecure``: a HELLO version 1 and READ_STATUS in clear.

Each figure is the median of RUNS runs on loopback TCP (no baud pacing: the time is the computing and the round
trips, not the line); the driver's connection is opened before the clock starts, so only the exchange is timed.

    .venv/bin/python benchmarks/secure_session.py
"""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pairing import PairedEmulator, next_pairing_code  # noqa: E402
from drivers.serial_driver import SerialDriver  # noqa: E402
from drivers.transaction import Link  # noqa: E402
from drivers.transport import Transport  # noqa: E402
from emulator.launch import EmulatorProcess  # noqa: E402
from programmer.pairing_keys import in_memory_keys  # noqa: E402
from protocol import Command  # noqa: E402

RUNS = 21
ACCEPT_SPACING_S = 0.06
"""The emulator closes connections beyond 20 a second (docs/emulator.md); the runs are spaced wider than that,
outside the timed part."""
BAUD = 1_000_000
"""Only for the timeouts: a loopback socket is not paced."""


def new_link(url: str, keys) -> Link:
    link = Link(Transport(url, BAUD, write_timeout_s=2.0), client="secure-session benchmark", keys=keys)
    link.transport.open()
    return link


def pairing_times(folder: Path) -> list[float]:
    """Seconds of each pairing exchange (IDENTIFY, PAIR_START, PAIR_FINISH), a new window and programmer each."""
    emulator = EmulatorProcess(["--listen", "tcp://127.0.0.1:0", "--state", str(folder / "pairing.json"),
                                "--pairing-window", "600"])
    url = emulator.start()
    times = []
    try:
        code = next_pairing_code(emulator)
        for run in range(RUNS):
            if run:
                assert emulator.process is not None
                emulator.process.send_signal(signal.SIGUSR1)
                code = next_pairing_code(emulator)
            link = new_link(url, in_memory_keys(f"bench-pairing-{run}"))
            started = time.perf_counter()
            link.pair(code)
            times.append(time.perf_counter() - started)
            link.close()
    finally:
        emulator.stop()
    return times


def session_times(url: str, keys) -> list[float]:
    """Seconds from HELLO to the first answer (READ_STATUS), each on a fresh connection."""
    times: list[float] = []
    opened = 0.0
    for _ in range(RUNS):
        time.sleep(max(0.0, opened + ACCEPT_SPACING_S - time.monotonic()))
        opened = time.monotonic()
        link = new_link(url, keys)
        started = time.perf_counter()
        link.connect()
        link.request("read status", Command.READ_STATUS, {}, 640)
        times.append(time.perf_counter() - started)
        link.close()
    return times


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        pairing = pairing_times(folder)
        secure = PairedEmulator(folder / "secure.json")
        try:
            sealed = session_times(secure.url, secure.keys)
            with SerialDriver(secure.url, keys=secure.keys) as driver:
                assert driver.secure, "the session benchmark ran over the secure link"
        finally:
            secure.stop()
        insecure = EmulatorProcess(["--listen", "tcp://127.0.0.1:0", "--state", str(folder / "insecure.json"),
                                    "--insecure"])
        url = insecure.start()
        try:
            clear = session_times(url, in_memory_keys("bench-insecure"))
        finally:
            insecure.stop()
    median = {name: statistics.median(times) * 1000 for name, times in
              (("pairing", pairing), ("secure", sealed), ("clear", clear))}
    print(f"secure link set-up on loopback TCP, median of {RUNS} runs:")
    print(f"  pairing (IDENTIFY, PAIR_START, PAIR_FINISH)        {median['pairing']:8.2f} ms")
    print(f"  session: HELLO v2 to the first sealed answer        {median['secure']:8.2f} ms")
    print(f"  baseline: HELLO v1 to the first answer in clear     {median['clear']:8.2f} ms")
    print(f"  session set-up, secure / clear                      {median['secure'] / median['clear']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
