"""One million malformed inputs through the pump's receiving side: the frame decoder, then a secure session.

    python3 benchmarks/fuzz_wire.py [--count N] [--seed S]

Random bytes, valid frames mutated on the wire, and sealed frames attacked on the crypto layer under a correct
CRC (flipped, cut, re-headed, counter forged, replayed, from another session or direction, in clear), a third
each, in process and as fast as they go (tests/support/wire_fuzz.py makes them and states the rules). After every
input the programmer's next genuine request must open. Printed: inputs a second, crashes (exceptions other than
the documented rejection: must be 0), inputs acted on (must be 0), recoveries (must be every input), what
became of the frames, and the process's resident memory before and after (from /proc/self/status), which must
not grow with the count. The exit status is 1 when any rule was broken. The test suite runs it with --count 2000
(tests/protocol/test_fuzz_wire.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.wire_fuzz import run  # noqa: E402

DEFAULT_COUNT = 1_000_000


def resident_mb() -> str:
    """Resident memory now and at its peak (VmRSS, VmHWM), or "n/a" where /proc is not there."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    except OSError:
        return "n/a"
    return f"{int(fields['VmRSS'].split()[0]) / 1024:.1f} MB (peak {int(fields['VmHWM'].split()[0]) / 1024:.1f} MB)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="how many inputs (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="the random generator's seed (default 1)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    before = resident_mb()
    started = time.perf_counter()
    report = run(args.count, args.seed)
    seconds = time.perf_counter() - started
    print(f"inputs: {report.total:,} in {seconds:.1f} s: {report.total / seconds:,.0f} inputs/s "
          f"({', '.join(f'{count:,} {kind}' for kind, count in report.inputs.items())})")
    print(f"crashes: {report.crashes}")
    print(f"acted on: {report.acted_on}")
    print(f"recoveries: {report.recoveries:,} of {report.total:,} ({report.resends:,} after one resend)")
    print(f"frames: {', '.join(f'{count:,} {what}' for what, count in sorted(report.outcomes.items()))}")
    print(f"RSS before: {before}")
    print(f"RSS after: {resident_mb()}")
    for failure in report.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 0 if report.crashes == report.acted_on == 0 and report.recoveries == report.total else 1


if __name__ == "__main__":
    sys.exit(main())
