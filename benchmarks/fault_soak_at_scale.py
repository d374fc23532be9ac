"""The fault soak at scale: 10,000 program writes and 10,000 boluses through the real driver and emulator, under
random link faults, each checked against the pump's own memory.

    python3 benchmarks/fault_soak_at_scale.py [--count N] [--seed S] [--turnaround SECONDS]

What must hold, whatever the link does (the rules of tests/system/test_soak.py, at a size where a rare race would
show): no **unverified success** (a write reported VERIFIED while the pump runs anything else), no **mixed program**
(the pump runs neither the old program nor the new one, or its program changes between calls), no **double bolus**
(a bolus id carried out more than once: the pump's own action counter, ``actions`` in its state file, must grow by
exactly one per bolus, however often its request or answer was lost and resent). The state file is the ground
truth: the emulator writes it atomically before any answer leaves.

It is fast by configuring the run, not by sending less: the driver waits ``--turnaround`` for an answer (default
0.05 s; the protocol allows a real pump 0.5 s, and the emulator on loopback answers within milliseconds) and resends
10 ms apart; the pump's clock runs 60,000 times real time, so a 1-minute bolus ends in 1 ms; its state file is on
a RAM disk when there is one (/dev/shm), so its fsyncs cost microseconds. The reservoir is refilled (under the same
faults) when it falls under 10 mL. Printed: the counts and outcomes, resends, the time, and the three figures that
must be 0; the exit status is 1 when one is not. The test suite runs it with --count 15
(tests/emulator/test_benchmarks_short.py).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pairing import PairedEmulator  # noqa: E402
from programmer.errors import LinkError, PumpRefused  # noqa: E402
from programmer.outcome import Outcome  # noqa: E402
from programmer.port import PumpDriver, open_driver  # noqa: E402
from programmer.program import Drug, Program, program_from_data  # noqa: E402

SEED = 20261204
SPEED = 60000
"""Simulated seconds per real second: a 1-minute bolus runs 1 ms."""
FAULTS = "drop=0.02,corrupt=0.02,duplicate=0.02,busy=0.02,delay=0.02:0.05,disconnect=0.005"
"""The fault mix of tests/system/test_soak.py (its seed is added per run)."""
ATTEMPTS = 40
"""Calls of one operation before the soak gives up on the link (each call already resends and reconnects)."""
BACLOFEN = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
DOSES = [120, 130, 140, 150, 160, 170]
"""mcg/day: the programs the writes choose between."""
REFILL_BELOW_ML = 10.0

T = TypeVar("T")


def program(daily_dose: float) -> Program:
    return program_from_data({"format": "itb-program/1", "drug": BACLOFEN,
                              "therapy": {"mode": "simple_continuous", "daily_dose": daily_dose}})


@dataclass
class SoakReport:
    writes: int = 0
    boluses: int = 0
    refills: int = 0
    outcomes: Counter = field(default_factory=Counter)
    repeated_boluses: int = 0
    """Bolus answers that said ``repeated``: the first request was carried out, its answer lost."""
    link_errors: int = 0
    """Calls that failed on the link after the driver's own resends, and were called again."""
    unverified_successes: int = 0
    mixed_programs: int = 0
    double_boluses: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def broken(self) -> int:
        return self.unverified_successes + self.mixed_programs + self.double_boluses


def pump_memory(state: Path) -> dict:
    return json.loads(state.read_text(encoding="utf-8"))


def soak(url: str, state: Path, count: int, seed: int, driver_options: dict) -> SoakReport:
    """``count`` writes, each followed by a bolus, on the pump at ``url`` whose memory is ``state``."""
    report = SoakReport()
    rng = random.Random(seed)
    driver = _retry(report, lambda: open_driver(url, **driver_options))
    try:
        _retry(report, lambda: driver.refill("soak-fill-0", 0.0, 40.0, Drug.model_validate(BACLOFEN)))
        report.refills += 1
        truth = pump_memory(state)["program_checksum"]
        for index in range(count):
            truth = _write(report, driver, state, truth, rng, index)
            _bolus(report, driver, state, index)
    finally:
        driver.close()
    return report


def _write(report: SoakReport, driver: PumpDriver, state: Path, truth: str, rng: random.Random, index: int) -> str:
    memory = pump_memory(state)
    if memory["program_checksum"] != truth:
        report.mixed_programs += 1
        report.failures.append(f"write {index}: the program changed between calls")
    new = program(rng.choice([dose for dose in DOSES if program(dose).checksum() != truth]))
    outcome = _retry(report, lambda: driver.write_program(new))
    now = pump_memory(state)["program_checksum"]
    report.writes += 1
    report.outcomes[outcome.status.value] += 1
    if now not in (truth, new.checksum()):
        report.mixed_programs += 1
        report.failures.append(f"write {index}: the pump runs a third program {now}")
    if outcome.status is Outcome.VERIFIED and (now != new.checksum() or outcome.active.checksum != now):
        report.unverified_successes += 1
        report.failures.append(f"write {index}: VERIFIED, but the pump runs {now}")
    if outcome.status is Outcome.UNCHANGED and now != truth:
        report.failures.append(f"write {index}: UNCHANGED, but the pump runs {now}")
    if outcome.status is Outcome.MISMATCH:
        report.failures.append(f"write {index}: MISMATCH with nobody else writing: {outcome.message}")
    return now


def _bolus(report: SoakReport, driver: PumpDriver, state: Path, index: int) -> None:
    _wait_for_no_bolus(report, driver)
    volume = pump_memory(state)["volume_ml"]
    if volume < REFILL_BELOW_ML:
        _retry(report, lambda: driver.refill(f"soak-fill-{index + 1}", volume, 40.0, None))
        report.refills += 1
    before = pump_memory(state)
    bolus_id = f"soak-{index}"
    answer = _retry(report, lambda: driver.bolus(bolus_id, 0.5, 1.0))
    after = pump_memory(state)
    report.boluses += 1
    report.repeated_boluses += answer.repeated
    records = [bolus for bolus in after["boluses"] if bolus["bolus_id"] == bolus_id]
    if after["actions"] != before["actions"] + 1 or len(records) != 1:
        report.double_boluses += 1
        report.failures.append(f"bolus {bolus_id}: actions {before['actions']} -> {after['actions']}, "
                               f"{len(records)} records")


def _wait_for_no_bolus(report: SoakReport, driver: PumpDriver) -> None:
    """Until the pump runs no bolus (it would refuse a second), asking again after the time it says is left."""
    for _ in range(ATTEMPTS):
        bolus = _retry(report, driver.read_status).bolus
        if bolus is None:
            return
        time.sleep(bolus.remaining_s / SPEED)  # the pump's own figure of its bolus, on its clock
    raise RuntimeError(f"a bolus still runs after {ATTEMPTS} waits for its end")


def _retry(report: SoakReport, call: Callable[[], T]) -> T:
    """``call`` until the link lets it through (a BUSY the driver gave up on is the link too)."""
    for _ in range(ATTEMPTS):
        try:
            return call()
        except LinkError:
            report.link_errors += 1
        except PumpRefused as refused:
            if refused.status != "BUSY":
                raise
            report.link_errors += 1
    raise RuntimeError(f"no answer in {ATTEMPTS} calls")


def state_folder() -> tempfile.TemporaryDirectory:
    """A RAM disk when there is one (fsync costs nothing there), else the system's temporary folder."""
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix="itb-soak-", dir=shm if shm.is_dir() else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="writes, each followed by a bolus (default 10,000)")
    parser.add_argument("--seed", type=int, default=SEED, help="the faults' and the programs' seed")
    parser.add_argument("--turnaround", type=float, default=0.05, metavar="SECONDS",
                        help="the driver's wait for an answer before it resends (default 0.05)")
    args = parser.parse_args(argv)
    with state_folder() as folder:
        state = Path(folder) / "pump.json"
        pump = PairedEmulator(state, "--model", "ITB-40", "--speed", str(SPEED), "--faults",
                              f"seed={args.seed},{FAULTS}")
        started = time.perf_counter()
        try:
            report = soak(pump.url, state, args.count, args.seed, {"keys": pump.keys, "baudrate": 1_000_000,
                                                                  "turnaround_s": args.turnaround, "backoff_s": 0.01})
        finally:
            pump.stop()
        seconds = time.perf_counter() - started
    print_report(report, seconds)
    return 1 if report.broken or report.failures else 0


def print_report(report: SoakReport, seconds: float) -> None:
    print(f"soak: {report.writes:,} writes and {report.boluses:,} boluses ({report.refills} refills) under "
          f"faults {FAULTS}, in {seconds:.1f} s ({(report.writes + report.boluses) / seconds:.1f} operations/s)")
    print(f"write outcomes: {', '.join(f'{count:,} {status}' for status, count in sorted(report.outcomes.items()))}")
    print(f"calls again after a link failure: {report.link_errors:,}; bolus answers repeated: "
          f"{report.repeated_boluses:,}")
    print(f"unverified successes: {report.unverified_successes}")
    print(f"mixed programs: {report.mixed_programs}")
    print(f"double boluses: {report.double_boluses}")
    for failure in report.failures:
        print(f"FAILED {failure}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
