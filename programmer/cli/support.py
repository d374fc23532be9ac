"""What every ``pump-programmer`` subcommand shares: its exit codes and the arguments only it takes.

Exit codes are a contract (docs/cli.md): 0 done; 2 invalid input (nothing sent); 3 refused by a safety
limit (nothing sent); 4 the link failed; 5 written but the read-back did not match. Code 1 is left for a
failure nobody foresaw (a bug), which is still reported in one line; 141 means the reader of the output
went away (``| head``), as for any Unix tool. Codes 2 and 141, the parser and number arguments are shared
with ``pump-emulator`` (``commandline``).
"""

from __future__ import annotations

import argparse
from datetime import datetime

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_REFUSED = 3
EXIT_LINK_FAILED = 4
EXIT_VERIFY_FAILED = 5


def timestamp(text: str) -> datetime:
    """An ISO 8601 date and time argument."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time (e.g. 2026-11-28T09:00)")
