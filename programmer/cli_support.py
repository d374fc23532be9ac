"""What every ``pump-programmer`` subcommand shares: exit codes, the parser, argument types.

Exit codes are a contract (DESIGN.md section 3): 0 done; 2 invalid input (nothing sent); 3 refused by a
safety limit (nothing sent); 4 the link failed; 5 written but the read-back did not match. Code 1 is
left for a failure nobody foresaw (a bug), which is still reported in one line.
"""

from __future__ import annotations

import argparse
import math
from datetime import datetime

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_INVALID = 2
EXIT_REFUSED = 3
EXIT_LINK_FAILED = 4
EXIT_VERIFY_FAILED = 5


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def finite(text: str) -> float:
    """An argument that must be a finite number (no 'nan', no 'inf')."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def timestamp(text: str) -> datetime:
    """An ISO 8601 date and time argument."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time (e.g. 2026-11-28T09:00)")
