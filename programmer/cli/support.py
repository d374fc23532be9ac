"""What every ``pump-programmer`` subcommand shares: its exit codes, how a failure is said, and the arguments
only it takes.

Exit codes are a contract (docs/cli.md): 0 done; 2 invalid input (nothing sent); 3 refused by a safety
limit (nothing sent); 4 the link failed; 5 written but the read-back did not match. Code 1 is left for a
failure nobody foresaw (a bug), which is still reported in one line; 141 means the reader of the output
went away (``| head``), as for any Unix tool. Codes 2 and 141, the parser and number arguments are shared
with ``pump-emulator`` (``commandline``).

A command that fails with one of the programmer's errors (``programmer.errors``) ends in one place, the
handler in ``main``: its exit code comes from the error's kind (``CODE_FOR_KIND``) and its one line from
``failure_line``, which adds what the command was doing when it failed (a ``Stage``) and what that means
for the pump. So a new command or a new failure needs no catch list of its own.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from commandline import EXIT_INVALID
from programmer.errors import ErrorKind, InputError, ProgrammerError

PROG = "pump-programmer"
"""The command's name, for the lines that say what to run next."""

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_REFUSED = 3
EXIT_LINK_FAILED = 4
EXIT_VERIFY_FAILED = 5

CODE_FOR_KIND = {
    ErrorKind.INPUT: EXIT_INVALID,
    ErrorKind.REFUSED: EXIT_REFUSED,
    ErrorKind.LINK: EXIT_LINK_FAILED,
    ErrorKind.AUDIT: EXIT_REFUSED,  # the attempt could not be recorded, so nothing was sent
}


@dataclass(frozen=True)
class Stage:
    """What a pump command is doing, for the line its failure prints: ``doing`` (``interrogating PORT``, or
    empty while it connects) and ``after``, what a failure then means for the pump; ``refused``, when given,
    what the pump's refusal means instead (a refusal is an answer: the pump did nothing, where a lost link
    leaves it unknown)."""

    doing: str
    after: str
    refused: str = ""


def failure_line(exc: ProgrammerError, stage: Stage | None) -> str:
    """The one line (after ``pump-programmer: ``) that says why a command stopped, from the error's kind.

    An audit error that ends a command is always the attempt's record, written before anything is sent
    (``programmer.audit_record.Attempt``); a link failure or a refusal is said with the stage it came in.
    """
    if exc.kind is ErrorKind.INPUT:
        return f"invalid input: {exc}"
    if exc.kind is ErrorKind.AUDIT:
        return f"refused: {exc}; nothing was sent to the pump"
    failed = "link failed" if exc.kind is ErrorKind.LINK else "refused"
    if stage is None:
        return f"{failed}: {exc}"
    doing = f" while {stage.doing}" if stage.doing else ""
    after = stage.refused if exc.kind is ErrorKind.REFUSED and stage.refused else stage.after
    return f"{failed}{doing}: {exc}; {after}"


def with_options(exc: InputError, options: dict[str, str]) -> InputError:
    """The same problems, with the fields named as the command-line options the user typed."""
    return InputError([(options.get(field, field), message) for field, message in exc.problems], exc.source,
                      step=exc.step)


def timestamp(text: str) -> datetime:
    """An ISO 8601 date and time argument."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time (e.g. 2026-11-28T09:00)")


PYDANTIC_PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's own switch: ``__all__`` (or ``1``, ``true``) loads no plugin, a comma-separated list of names
leaves those out, and an empty value loads every plugin installed."""


@contextmanager
def pydantic_plugins_off() -> Iterator[None]:
    """Run a command with pydantic's plugin loading off, unless the user set ``PYDANTIC_DISABLE_PLUGINS``.

    Why: the first model pydantic builds reads the entry points of every installed package, looking for
    plugins this programmer never uses: 5 to 10 ms of every run, on a command whose start-up is measured
    (``benchmarks/cli_startup.py``). pydantic reads the variable each time it builds a model
    (``pydantic.plugin._loader.get_plugins``), not at import, so it is enough that ``main`` sets it before a
    command imports the domain (whose models are built on first use, the pump models' as their module is
    imported). It is taken out again when the command ends, so a process that runs ``main`` among other work
    (the tests) keeps pydantic's default; a command starts no other process, so none inherits it. A user who
    wants plugins sets the variable, to an empty value for all of them (docs/cli.md).
    """
    if PYDANTIC_PLUGINS_VARIABLE in os.environ:
        yield
        return
    os.environ[PYDANTIC_PLUGINS_VARIABLE] = "__all__"
    try:
        yield
    finally:
        os.environ.pop(PYDANTIC_PLUGINS_VARIABLE, None)
