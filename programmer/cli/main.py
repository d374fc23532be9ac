"""The ``pump-programmer`` command line: the entry point, the offline ``plan`` and ``schema`` commands,
and ``desktop-entry``, which puts the application in the desktop menu.

The pump commands live in ``pump_commands`` and ``bolus_commands``, the library commands in ``library_commands``,
signing in in ``sign_in`` and ``user_commands``, the clinic record in ``patient_commands``, ``audit_commands`` and
``clinic_visit``; exit codes in ``support``. Every command that opened the clinic database has it closed (and its
visit ended) in ``_run``, whatever happened. Errors are a single line on stderr naming the field, the value and the limit, never a traceback:
every error of the programmer's family (``programmer.errors``) is handled in one place, ``_run``.

Start-up is kept short for scripts that run ``plan`` over many programs (``benchmarks/cli_startup.py``), and
for every other command: a command line that starts with a command's name builds the parser of that command's
group alone (``COMMAND_GROUPS``), so the other groups' modules are never imported and their hundred-odd options
never built (the whole parser took some 15 ms of CPU, as long as a command's own work); a command of this module's
own builds none of the groups. Commands run with pydantic's plugin loading off (``support.pydantic_plugins_off``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from commandline import EXIT_INVALID, OneLineParser, VersionAction, finite, quiet_on_closed_pipe
from programmer.cli.support import (CODE_FOR_KIND, EXIT_OK, EXIT_REFUSED, EXIT_UNEXPECTED, add_link_options,
                                    failure_json, failure_line, interrupted, pydantic_plugins_off, sigterm_as_interrupt,
                                    timestamp)
from programmer.errors import InputError, ProgrammerError

EARLIEST_START = datetime(1970, 1, 1)
LATEST_START = datetime(2200, 1, 1)
"""A projection runs years ahead; dates near datetime's limits would overflow instead of being planned."""

OWN_COMMANDS = frozenset({"plan", "schema", "desktop-entry"})
"""The commands this module runs itself, with none of the pump's or the library's machinery."""

COMMAND_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("programmer.cli.pump_commands:add_pump_commands",
     frozenset({"interrogate", "write", "events", "refill", "set-clock", "set-low-alarm", "pair", "unpair"})),
    ("programmer.cli.bolus_commands:add_bolus_commands",
     frozenset({"bolus", "prime", "bridge", "cancel-bolus", "bolus-status", "demand-dose"})),
    ("programmer.cli.library_commands:add_library_commands", frozenset({"library"})),
    ("programmer.cli.user_commands:add_user_commands", frozenset({"users", "login", "logout", "whoami"})),
    ("programmer.cli.patient_commands:add_patient_commands", frozenset({"patient"})),
    ("programmer.cli.audit_commands:add_audit_commands", frozenset({"audit"})),
    ("programmer.cli.report_command:add_report_commands", frozenset({"report", "sessions"})),
)
"""Each function that adds a group of commands (``module:function``, in the order the help lists them) and the
commands it adds; tests/cli/test_cli_startup.py checks that these are all the commands and that each command's
parser built alone is the whole parser's."""


class _CommandLine(OneLineParser):
    """The whole command line: arguments it does not know are named by their options only, never by their values (a
    mistyped ``--password SECRET`` must not put the password on stderr, where scripts log it)."""

    def parse_args(self, args=None, namespace=None):
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            options = [word.split("=", 1)[0] for word in unknown if word.startswith("-")]
            self.error(f"unrecognized arguments: {' '.join(options) or 'values'} (their values are not shown)")
        return parsed


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; given ``command`` (the first argument) that names a command, only what parsing it
    needs: the options before any command and that command's group (none for ``OWN_COMMANDS``), so the modules of
    the other groups (the link, the audit log, the calendar) are not imported and their parsers not built. argparse
    hands every argument after a command's name to that command's own parser and consults no other, so the parse,
    its errors and its help are the same as the whole parser's. Any other first argument (an option, a mistyped
    command, nothing) gets the whole command line, whose help and errors list every command."""
    named = [group for group, commands in COMMAND_GROUPS if command in commands]
    narrow = command in OWN_COMMANDS or bool(named)
    parser = _CommandLine(prog="pump-programmer", description="Clinician programmer for implanted intrathecal drug pumps. "
                     "Without a command it opens the clinician application.")
    parser.add_argument("--demo", action="store_true", help="open the application connected to a bundled pump "
                        "emulator it starts itself (baclofen 500 mcg/mL, 150 mcg/day, 14 mL in a 20 mL reservoir)")
    parser.add_argument("--version", action=VersionAction)
    parser.set_defaults(stage=None)  # a pump command's support.Stage, for the line its failure prints
    if command not in OWN_COMMANDS:
        from programmer.cli.sign_in import add_store_options

        add_link_options(parser)
        add_store_options(parser)
    commands = parser.add_subparsers(dest="command", parser_class=OneLineParser)

    plan = commands.add_parser("plan", help="offline projection of a program: no pump is contacted")
    plan.add_argument("program", help="program document (itb-program/1 JSON)")
    plan.add_argument("--reservoir-ml", type=finite, required=True, help="volume in the reservoir now, mL")
    plan.add_argument("--low-alarm-ml", type=finite, default=2.0, help="low-reservoir alarm threshold, mL (default 2)")
    plan.add_argument("--capacity-ml", type=finite, help="reservoir capacity, mL (default: the pump model's)")
    plan.add_argument("--pump-model", help="pump model whose flow limits apply (default: the smallest that holds "
                      "the reservoir: ITB-20 or ITB-40)")
    plan.add_argument("--start", type=timestamp, help="projection start, ISO 8601 (default: now)")
    plan.add_argument("--current", help="the program running now, to check the size of the change")
    plan.add_argument("--library", help="drug library JSON to use instead of the shipped one")
    plan.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    plan.set_defaults(handler=run_plan)

    schema = commands.add_parser("schema", help="print the JSON Schema of the program document")
    schema.set_defaults(handler=run_schema)

    for group, _ in COMMAND_GROUPS:
        if not narrow or group in named:
            module, function = group.split(":")
            getattr(importlib.import_module(module), function)(commands)

    entry = commands.add_parser("desktop-entry", help="put the application, with its icon, in this user's desktop "
                                "menu (freedesktop.org desktops: GNOME, KDE, Xfce...); exit code 2 if it could not")
    entry.add_argument("--remove", action="store_true", help="take the entry and the icon out again")
    entry.set_defaults(handler=run_desktop_entry)
    _no_abbreviations(parser)
    return parser


def _no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """Every parser, the commands' too, takes options only as spelled in full: argparse's prefix matching would take
    ``--password`` for ``--password-file`` and then print the password as a file name it could not read."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _no_abbreviations(child)


def run_plan(args: argparse.Namespace) -> int:
    # Imported here, as the command runs: inside pydantic_plugins_off (``_main``), and never for another command.
    from programmer.checks import check_program
    from programmer.cli.plan_report import plan_to_json, plan_to_text, refill_by_json
    from programmer.library import load_library
    from programmer.planner import Plan
    from programmer.program import load_program
    from programmer.pump import make_reservoir, pump_model, smallest_model_holding
    from programmer.refill_by import plan_refill_by

    program = load_program(args.program)
    current = load_program(args.current) if args.current else None
    library = load_library(args.library)
    try:
        pump = pump_model(args.pump_model) if args.pump_model else smallest_model_holding(
            args.capacity_ml if args.capacity_ml is not None else args.reservoir_ml
        )
    except InputError as exc:
        raise _as_options(exc, {"reservoir_ml": "--reservoir-ml", "pump_model": "--pump-model"})
    capacity = args.capacity_ml if args.capacity_ml is not None else pump.capacity_ml
    if capacity > pump.capacity_ml:
        raise InputError([("--capacity-ml", f"{capacity:g} mL is more than the {pump.model} reservoir "
                                            f"({pump.capacity_ml:g} mL)")])
    try:
        reservoir = make_reservoir(capacity, args.reservoir_ml, args.low_alarm_ml)
    except InputError as exc:
        raise _as_options(exc, {"volume_ml": "--reservoir-ml", "low_alarm_ml": "--low-alarm-ml",
                                "capacity_ml": "--capacity-ml"})
    start = args.start or datetime.now().astimezone()
    if not EARLIEST_START <= start.replace(tzinfo=None) <= LATEST_START:
        raise InputError([("--start", f"{start.isoformat()} is outside the years {EARLIEST_START.year} to "
                                      f"{LATEST_START.year - 1} that a projection may start in")])
    plan = Plan(program, reservoir, start)
    current_plan = Plan(current, reservoir, start) if current is not None else None
    report = check_program(plan, library, pump, current)
    refill = plan_refill_by(plan, library)
    if args.json:
        print(json.dumps(plan_to_json(plan, report, pump, current_plan) | refill_by_json(refill), indent=2))
    else:
        print(plan_to_text(plan, report, pump, current_plan, refill))
    return EXIT_REFUSED if report.errors else EXIT_OK


def _as_options(exc: InputError, names: dict[str, str]) -> InputError:
    """The same problems, with model field names replaced by the command-line options the user typed."""
    problems = []
    for field, message in exc.problems:
        for model_name, option in names.items():
            field = field.replace(model_name, option)
            message = message.replace(model_name, option)
        problems.append((field, message))
    return InputError(problems, exc.source, step=exc.step)


def run_schema(args: argparse.Namespace) -> int:
    from programmer.program import Program

    print(json.dumps(Program.model_json_schema(), indent=2))
    return EXIT_OK


def run_desktop_entry(args: argparse.Namespace) -> int:
    """Write (or remove) the menu entry under ``$XDG_DATA_HOME``; the entry starts the ``pump-programmer``
    script of this installation, the one beside this interpreter."""
    from ui import desktop_entry  # imports no Qt, like the rest of the command line

    home = desktop_entry.data_home()
    if args.remove:
        removed = desktop_entry.remove(home)
        for path in removed:
            print(f"removed {path}")
        if not removed:
            print(f"no desktop entry to remove under {home}")
        return EXIT_OK
    executable = Path(sys.executable).parent / "pump-programmer"
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        print(f"pump-programmer: no pump-programmer script beside {sys.executable} for the menu to start: "
              "install the package first (bash scripts/bootstrap); nothing was written", file=sys.stderr)
        return EXIT_INVALID
    try:
        written = desktop_entry.install(home, executable)
    except (OSError, ValueError) as exc:
        print(f"pump-programmer: the desktop entry could not be written: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def _close_clinic(args: argparse.Namespace) -> None:
    """End the command's visit and close the clinic database, when the command opened them (``sign_in``)."""
    if getattr(args, "clinic_store", None) is not None:
        from programmer.cli.sign_in import close_clinic

        close_clinic(args)


def main(argv: list[str] | None = None) -> int:
    return quiet_on_closed_pipe(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    """Ctrl-C or SIGTERM at any moment of a command: one line, exit code 130 or 143 (``support.interrupted``)."""
    arguments = sys.argv[1:] if argv is None else argv
    args: argparse.Namespace | None = None
    with pydantic_plugins_off(), sigterm_as_interrupt():
        try:
            args = build_parser(arguments[0] if arguments else None).parse_args(arguments)
            if args.command is not None:
                return _run(args)
        except KeyboardInterrupt as exc:  # Terminated too: SIGTERM
            return interrupted(args, exc)
    assert args is not None, "parsed, or returned above"
    from ui.app import run  # imported here so the command line never loads Qt
    return run(demo=args.demo, allow_insecure_link=args.allow_insecure_link, db_url=getattr(args, "db", None))


def _run(args: argparse.Namespace) -> int:
    try:
        try:
            return args.handler(args)
        finally:
            _close_clinic(args)
    except ProgrammerError as exc:  # the one place a command's failure becomes its line and exit code
        line = failure_line(exc, args.stage)
        if getattr(args, "json", False) and getattr(args, "failure_json", False):  # the bolus family's (docs/cli.md)
            print(json.dumps(failure_json(args, exc, line), indent=2))
        print(f"pump-programmer: {line}", file=sys.stderr)
        return CODE_FOR_KIND[exc.kind]
    except BrokenPipeError:
        raise  # the reader went away: quiet_on_closed_pipe ends quietly
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, never a traceback at the bedside
        print(f"pump-programmer: unexpected failure ({type(exc).__name__}: {exc}); if a pump command was running, "
              "interrogate the pump to see what it runs, and report this", file=sys.stderr)
        return EXIT_UNEXPECTED

