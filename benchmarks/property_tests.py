"""The property tests at full length: the hypothesis tests of the suite with 300 examples each.

    .venv/bin/python benchmarks/property_tests.py

A run of the suite gives each property test 40 examples (the "suite" profile in tests/conftest.py), so
that the whole suite stays quick enough to run at every change; CI runs those 40 the same every time. This
script runs the same tests, unchanged, with the "thorough" profile (300 examples each, the count the
protocol fuzz tests were written with), and prints how long that took. The exit status is pytest's. (The two
in tests/domain/test_checks.py name their own count, 80, and run it in the suite already.)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROPERTY_TESTS = ["tests/protocol/test_fuzz.py", "tests/protocol/test_crc_cobs.py", "tests/protocol/test_compact.py",
                  "tests/domain/test_planner_properties.py", "tests/domain/test_planner_closed_form.py"]


def main() -> int:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--hypothesis-profile=thorough", *PROPERTY_TESTS], cwd=ROOT)
    print(f"property tests with 300 examples each: {time.monotonic() - started:.1f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
