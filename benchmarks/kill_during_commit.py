"""100 SIGKILLs of the emulator at random points of a program commit; after each, the pump must be consistent.

    python3 benchmarks/kill_during_commit.py [--count N] [--seed S]

Each round starts the emulator on the same state file, writes a new program through the real driver, and kills the
emulator (SIGKILL, as a crash or a pulled battery would) a random 0 to 4 ms after the driver sends COMMIT_PROGRAM:
before the pump reads it, while it activates and saves the program, or after its answer left. The next round's start
is the check: the state file must load (the emulator refuses one that is torn or mixed), it must hold the old program
or the new one and nothing else, the driver must read back the program the file holds, and no temp file may be left
beside it. Printed: the kills, how many were consistent (must be all), how many left the new program and how many
the old, what the driver made of the interrupted writes, the time. The exit status is 1 when one was not consistent.
The test suite runs it with --count 3 (tests/emulator/test_benchmarks_short.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pairing import BENCH_PROGRAMMER, paired_with_file  # noqa: E402
from benchmarks.fault_soak_at_scale import BACLOFEN, program  # noqa: E402
from emulator.launch import EmulatorProcess  # noqa: E402
from programmer.errors import LinkError  # noqa: E402
from programmer.pairing_keys import PairingKeys, in_memory_keys  # noqa: E402
from programmer.port import open_driver  # noqa: E402
from programmer.program import Drug, Program  # noqa: E402

LONGEST_DELAY_S = 0.004
"""The kill comes 0 to this long after COMMIT_PROGRAM is sent: a commit takes the emulator about a millisecond or
two (its fsyncs included), so the kills spread over before, during and after it."""
FAST = {"baudrate": 1_000_000, "max_retries": 1, "turnaround_s": 0.1, "backoff_s": 0.01}
"""Driver options: the pump is dead after the kill anyway, so the driver gives up quickly."""

Start = Callable[[], tuple[str, Callable[[], object]]]
"""Starts the emulator on the run's state file: its URL, and how to SIGKILL it."""


@dataclass
class KillReport:
    kills: int = 0
    consistent: int = 0
    left_new: int = 0
    left_old: int = 0
    write_ended: Counter = field(default_factory=Counter)
    """What the driver's write_program came to before or as the pump died."""
    failures: list[str] = field(default_factory=list)


def checksum_in(state: Path) -> str:
    return json.loads(state.read_text(encoding="utf-8"))["program_checksum"]


def kill_rounds(start: Start, state: Path, count: int, seed: int, driver_options: dict) -> KillReport:
    """``count`` rounds of write-and-kill, each checked at the next start; ``driver_options`` open the pump."""
    rng = random.Random(seed)
    report = KillReport()
    url, kill = start()
    with open_driver(url, **driver_options, **FAST) as driver:
        driver.refill("kill-fill", 0.0, 20.0, Drug.model_validate(BACLOFEN))
        driver.write_program(program(150))
    old = checksum_in(state)
    for index in range(count):
        new = program(rng.choice([dose for dose in (120, 130, 140, 160, 170) if program(dose).checksum() != old]))
        report.write_ended[_write_and_kill(url, kill, new, rng.uniform(0, LONGEST_DELAY_S), driver_options)] += 1
        report.kills += 1
        url, kill = start()  # the check: a torn or mixed state file would not start
        old = _check(report, state, url, old, new.checksum(), index, driver_options)
    kill()
    return report


def _write_and_kill(url: str, kill: Callable[[], object], new: Program, delay_s: float, driver_options: dict) -> str:
    """Write ``new`` and SIGKILL the pump ``delay_s`` after COMMIT_PROGRAM is sent; what the write came to."""
    killer: list[threading.Timer] = []

    def watch(line: str) -> None:
        """The driver's trace: ``TIME TX seq=N COMMAND ...`` as each request leaves."""
        parts = line.split(" ", 4)
        if not killer and parts[1:2] == ["TX"] and parts[3:4] == ["COMMIT_PROGRAM"]:
            killer.append(threading.Timer(delay_s, kill))
            killer[0].start()

    try:
        with open_driver(url, trace=watch, **driver_options, **FAST) as driver:
            ended = driver.write_program(new).status.value
    except LinkError:
        ended = "link error"
    if killer:
        killer[0].join()
    else:  # the commit was never sent (the link failed before it): the pump dies all the same
        kill()
        ended += " before the commit"
    return ended


def _check(report: KillReport, state: Path, url: str, old: str, new: str, index: int, driver_options: dict) -> str:
    """The pump after the kill of round ``index``: old or new, the same on disk and on the wire; what it runs."""
    on_disk = checksum_in(state)
    with open_driver(url, **driver_options, **FAST) as driver:
        on_wire = driver.read_program().checksum
    leftovers = list(state.parent.glob(f".{state.name}.*.tmp"))
    if on_disk in (old, new) and on_wire == on_disk and not leftovers:
        report.consistent += 1
        report.left_new += on_disk == new
        report.left_old += on_disk == old
    else:
        report.failures.append(f"kill {index}: the file holds {on_disk}, the pump answers {on_wire} (old {old}, new "
                               f"{new}); temp files left: {leftovers}")
    return on_disk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="kills (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="the random delays' seed (default 1)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="itb-kill-") as folder:
        state = Path(folder) / "pump.json"
        key = os.urandom(32)
        options = ["--listen", "tcp://127.0.0.1:0", "--state", str(state),
                   "--paired-with", str(paired_with_file(Path(folder), key))]
        keys = in_memory_keys(BENCH_PROGRAMMER)

        def start() -> tuple[str, Callable[[], object]]:
            emulator = EmulatorProcess(options)
            url = emulator.start()
            _trust(keys, state, key)
            return url, emulator.kill

        started = time.perf_counter()
        report = kill_rounds(start, state, args.count, args.seed, {"keys": keys})
        seconds = time.perf_counter() - started
    print(f"kills: {report.kills} SIGKILLs 0 to {LONGEST_DELAY_S * 1000:g} ms after COMMIT_PROGRAM was sent, "
          f"in {seconds:.1f} s")
    print(f"consistent afterwards: {report.consistent} of {report.kills} ({report.left_new} running the new program, "
          f"{report.left_old} the old one)")
    print(f"the interrupted writes ended: {', '.join(f'{n} {how}' for how, n in sorted(report.write_ended.items()))}")
    for failure in report.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 0 if report.consistent == report.kills else 1


def _trust(keys: PairingKeys, state: Path, key: bytes) -> None:
    """Hold ``key`` for the pump of ``state`` (it saves its serial before its first line)."""
    serial = json.loads(state.read_text(encoding="utf-8"))["serial"]
    if keys.key_for(serial) != key:
        keys.remember(serial, key, datetime.now().astimezone())


if __name__ == "__main__":
    sys.exit(main())
