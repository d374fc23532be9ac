"""What both command lines (``pump-programmer`` and ``pump-emulator``) share, and nothing of either.

A usage error is one line and exit code 2; a reader that goes away (``| head``) ends the program quietly
with 141, as for any Unix tool; a number argument is a plain decimal; ``--version`` names the installed
package. The emulator is the pump's side of the link and must not depend on the programmer's command
line, so this sits apart from both (an import contract in pyproject.toml keeps it free of either).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_INVALID = 2
"""A usage error or invalid input: nothing was done (argparse's own convention, kept by both commands)."""
EXIT_BROKEN_PIPE = 128 + 13
"""What a shell reports for a program stopped by SIGPIPE: the reader of our output went away."""


def package_version() -> str:
    """The installed package's version, for ``--version``; a source tree that was never installed still
    runs (every other option works) and says so instead of failing. ``importlib.metadata`` is imported here, when
    asked for: with the e-mail parser it loads, it was a tenth of every command's start-up."""
    from importlib import metadata

    try:
        return metadata.version("itb-programmer")
    except metadata.PackageNotFoundError:
        return "(not installed: run bash scripts/bootstrap)"


class VersionAction(argparse.Action):
    """``--version``: ``PROG VERSION`` on stdout, and exit 0, as argparse's ``version`` action; but the version
    is read from the installed package's metadata only when asked for, not each time the parser is built
    (reading it takes a few milliseconds, longer than parsing a command line)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, default: str = argparse.SUPPRESS,
                 help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> NoReturn:
        parser._print_message(f"{parser.prog} {package_version()}\n", sys.stdout)
        parser.exit()


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")

    def _print_message(self, message: str, file=None) -> None:
        """As argparse's, but a closed pipe is not swallowed: ``--help | head`` ends like every other
        command whose reader went away (see ``quiet_on_closed_pipe``)."""
        if message:
            (file or sys.stderr).write(message)


def quiet_on_closed_pipe(main: Callable[[], int]) -> int:
    """Run a command line's ``main`` and return its exit code; 141, with nothing on stderr, if the reader
    of its standard output went away (``pump-programmer events PORT --csv | head``), as any Unix tool.

    Why the flush: when stdout is a pipe, Python buffers it, so the write that finds the reader gone may
    be the one at interpreter exit, too late for any handler (it printed "Exception ignored" and exited
    120). Flushing here, inside the handler, makes the outcome the same with or without
    ``PYTHONUNBUFFERED``. argparse's own exits (``--help``, ``--version``, usage errors) are flushed too.
    """
    try:
        try:
            code = main()
        except SystemExit as exit_:
            if not isinstance(exit_.code, int | None):
                raise
            code = exit_.code or 0
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Later writes (and the flush at exit) go nowhere instead of failing a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def finite(text: str) -> float:
    """An argument that must be a plain decimal number, written with ASCII digits.

    Python's float() also takes '1_0', 'nan', 'inf' and digits of other scripts ('١٠' is 10): at a
    bedside each of those is more likely a slip than a meaning, so each is refused.
    """
    if not _DECIMAL.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number written with the digits 0-9 (e.g. 12.5)")
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is too large")
    return value
