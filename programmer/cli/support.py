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
import json
import os
import signal
import sys
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
EXIT_SIGINT = 128 + signal.SIGINT
"""Ctrl-C: 130, as a shell reports a program stopped by SIGINT."""
EXIT_SIGTERM = 128 + signal.SIGTERM
"""SIGTERM: 143."""

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


def add_link_options(parser: argparse.ArgumentParser, default: object = False) -> None:
    """``--allow-insecure-link``: on the whole command line (before the command) and on each pump command. The
    command's own takes ``argparse.SUPPRESS`` as its default, so it never hides one given before the command."""
    parser.add_argument("--allow-insecure-link", action="store_true", default=default,
                        help="let changes go to a pump that speaks only the insecure protocol version 1 (frames in "
                             "clear, not authenticated): for protocol debugging with an emulator, never with a patient")


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


def status_command(port: str, bolus_id: str) -> str:
    """The command that asks the pump about a bolus without any risk of starting it."""
    return f"{PROG} bolus-status {port} --bolus-id {bolus_id}"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, as Ctrl-C raises KeyboardInterrupt: so both end the same way, one line
    and no traceback (``interrupted``)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises ``Terminated`` instead of killing the process silently; the handler
    before it is put back after (the tests run commands in their own process)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def mark_audit_start(args: argparse.Namespace, audit: object) -> None:
    """Remember the audit log and where it ended before the command wrote to it, so an interruption can tell whether
    the command's attempt record (written before anything is sent) exists."""
    path = getattr(audit, "path")
    try:
        start = os.path.getsize(path)
    except OSError:
        start = 0
    args.audit, args.audit_start = audit, start


UNREADABLE = {"event": "attempt"}
"""The attempt as assumed when the audit log cannot be read back: something may have been sent."""


def attempt_since(args: argparse.Namespace | None) -> dict | None:
    """The attempt record this command wrote (the last one), or None when it wrote none: then nothing was sent."""
    audit, start = getattr(args, "audit", None), getattr(args, "audit_start", None)
    if audit is None or start is None:
        return None
    try:
        with open(getattr(audit, "path"), "rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return UNREADABLE
    found = None
    for line in text.split("\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # an empty or torn line: a record cut short was never complete, so nothing was sent after it
        if isinstance(record, dict) and record.get("event") == "attempt":
            found = record
    return found


def _attempted_bolus_id(record: dict) -> str | None:
    for key in ("bolus", "bridge"):  # a bolus, prime or bridge; a refill's bridge bolus
        value = record.get(key)
        if isinstance(value, dict) and isinstance(value.get("bolus_id"), str):
            return value["bolus_id"]
    return None


def signal_said(exc: KeyboardInterrupt) -> tuple[str, str, int]:
    """The signal's name, its words and its exit code; from now on a second Ctrl-C or SIGTERM is ignored, so it
    cannot cut the line that says what the first meant short."""
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(number, signal.SIG_IGN)
        except ValueError:  # not the main thread
            pass
    if isinstance(exc, Terminated):
        return "SIGTERM", "SIGTERM", EXIT_SIGTERM
    return "SIGINT", "Ctrl-C (SIGINT)", EXIT_SIGINT


def interrupted(args: argparse.Namespace | None, exc: KeyboardInterrupt) -> int:
    """Ctrl-C or SIGTERM: one line on standard error saying what it means for the pump, never a traceback; with
    ``--json`` on a change command, one JSON object on standard output too. Exit code 130 (SIGINT) or 143 (SIGTERM).

    Whether anything may have been sent is the audit log's word: a change sends nothing before its attempt record
    is on disk, so without one nothing was sent; with one it may have been, and a bolus's id is in it."""
    name, said, code = signal_said(exc)
    port = getattr(args, "port", None) or "PORT"
    audited = getattr(args, "audit", None) is not None
    record = attempt_since(args)
    bolus_id = None if record is None else _attempted_bolus_id(record)
    status = None
    if bolus_id is not None and record is not None and record.get("action") == "cancel_bolus":
        status = status_command(port, bolus_id)
        line = (f"interrupted by {said} after the cancel of bolus {bolus_id} was recorded as attempted: it may or may "
                f"not have been stopped; ask the pump: {status}")
        outcome = "uncertain"
    elif bolus_id is not None:
        status = status_command(port, bolus_id)
        refill = " with the refill" if record is not None and record.get("action") == "refill" else ""
        line = (f"interrupted by {said} after bolus {bolus_id}{refill} was recorded as attempted: it may have started "
                f"and be delivering; do NOT give it again: ask the pump what it did with it: {status}")
        outcome = "uncertain"
    elif record is not None:
        action = record.get("action") or "change"
        line = (f"interrupted by {said} after the {action} was recorded as attempted: the pump may or may not have "
                f"been changed: interrogate it ({PROG} interrogate {port})")
        outcome = "uncertain"
    elif audited:
        line = f"interrupted by {said} before anything that changes the pump was sent: the pump is unchanged"
        outcome = "unchanged"
    else:
        stage = getattr(args, "stage", None)
        after = stage.after if isinstance(stage, Stage) else ("if it was changing the pump, interrogate it to see "
                                                              "what it runs")
        line = f"interrupted by {said}; {after}"
        outcome = None
    if audited and getattr(args, "json", False) and not getattr(args, "json_printed", False):
        action = record.get("action") if record is not None else getattr(args, "command", None)
        print(json.dumps({"action": {"demand-dose": "demand"}.get(str(action), action), "outcome": outcome, "bolus_id": bolus_id,
                          "status_command": status, "interrupted_by": name, "message": line}, indent=2))
    print(f"{PROG}: {line}", file=sys.stderr)
    return code


FAILURE_OUTCOMES = {ErrorKind.INPUT: "invalid_input", ErrorKind.REFUSED: "pump_refused", ErrorKind.LINK: "unchanged",
                    ErrorKind.AUDIT: "refused"}
"""The bolus family's JSON ``outcome`` for a command that ended with a failure (docs/cli.md)."""


def failure_json(args: argparse.Namespace, exc: ProgrammerError, line: str) -> dict:
    """The bolus family's JSON object when a command ends with a failure after its arguments parsed: invalid input,
    the audit log, the link, the pump's refusal of a reading or request (docs/cli.md)."""
    stage = getattr(args, "stage", None)
    outcome = FAILURE_OUTCOMES[exc.kind]
    if exc.kind is ErrorKind.REFUSED and stage is None:
        outcome = "refused"
    record = attempt_since(args)
    bolus_id = (None if record is None else _attempted_bolus_id(record)) or getattr(args, "bolus_id", None)
    port = getattr(args, "port", None) or "PORT"
    action = {"demand-dose": "demand"}.get(args.command, args.command)
    visit = getattr(args, "visit", None)
    return {"action": action, "outcome": outcome, "bolus_id": bolus_id,
            "status_command": None if bolus_id is None else status_command(port, bolus_id),
            "error": {"kind": exc.kind.value, "message": str(exc)}, "message": line,
            "session_id": None if visit is None else visit.session_id}
