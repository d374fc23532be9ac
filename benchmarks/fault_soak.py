"""The fault soak at full length: tests/system/test_soak.py with 100 writes and 100 boluses.

    python3 benchmarks/fault_soak.py

The default test run keeps the soak at 40 writes and boluses, because what it mostly does is wait for
the link's timeouts on the frames it loses on purpose. This script runs the same test, unchanged, at the
length it was written for (through ``ITB_SOAK_WRITES``), and prints the soak's own summary line (its
outcomes and resends) and how long it took. The exit status is pytest's: non-zero when the soak failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITES = 100


def main() -> int:
    started = time.monotonic()
    # -n0: no pytest-xdist workers, whose output -s could not show.
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-n0", "-p", "no:cacheprovider",
                           "tests/system/test_soak.py"], cwd=ROOT, env=dict(os.environ, ITB_SOAK_WRITES=str(WRITES)))
    print(f"fault soak with {WRITES} writes and boluses: {time.monotonic() - started:.1f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
