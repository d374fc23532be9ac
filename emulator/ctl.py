"""``pump-emulator ctl URL ACTION [ARGS]``: the control channel's command line, for a tester's scripts.

One action per run, through ``emulator.control_client`` (the module the application's panel uses too), so a
script and the panel send the same requests and get the same answers. It prints the pump's state after the action
(``--json``: the channel's whole ``result``). Exit codes: 0 done, 2 bad usage or a value outside its limits (the
field and the limit named), 3 refused by the pump's state, 4 the channel cannot be reached or the token is not its.
docs/emulator.md, "The control channel", and docs/cli.md specify it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from commandline import EXIT_INVALID, OneLineParser, finite, quiet_on_closed_pipe
from emulator.control_client import ControlClient, ControlError, ControlUnreachable, describe, read_token

EXIT_REFUSED = 3
"""The pump's state refused the action (a press in the lockout, a named state that is not there, ...)."""
EXIT_UNREACHABLE = 4
"""Nothing answered at the URL, or the token file holds another emulator's token."""
_EXIT_FOR = {"bad_request": EXIT_INVALID, "bad_value": EXIT_INVALID, "refused": EXIT_REFUSED,
             "internal": EXIT_REFUSED, "unauthorized": EXIT_UNREACHABLE}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="pump-emulator ctl", description="Drive a running pump emulator through its control "
                                                                 "channel (docs/emulator.md, The control channel).")
    parser.add_argument("url", metavar="URL", help="the control channel: tcp://127.0.0.1:PORT from its control line")
    _common_options(parser, argparse.SUPPRESS)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)
    actions = _Actions(parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                             parser_class=OneLineParser), common)
    actions.add_parser("state", help="the pump at a glance")
    actions.add_parser("advance", help="run the pump H simulated hours at once").add_argument(
        "--hours", type=finite, required=True, metavar="H", help="hours, above 0 and at most 87840")
    actions.add_parser("speed", help="simulated seconds per real second").add_argument(
        "speed", type=finite, metavar="X", help="above 0 and at most 1e7")
    actions.add_parser("battery", help="set the battery's charge").add_argument(
        "percent", type=finite, metavar="P", help="percent, 0 to 100")
    actions.add_parser("stall", help="block the motor (a motor stall)")
    actions.add_parser("clear-stall", help="free the motor")
    actions.add_parser("press-button", help="the patient presses the demand button")
    actions.add_parser("open-pairing", help="open the pairing window on a fresh code").add_argument(
        "--seconds", type=int, default=120, metavar="S", help="1 to 600 (default 120)")
    faults = actions.add_parser("faults", help="put link faults in force now, or clear them")
    which = faults.add_mutually_exclusive_group(required=True)
    which.add_argument("spec", nargs="?", metavar="SPEC", help="as --faults: seed=N,drop=P,corrupt=P,...")
    which.add_argument("--clear", action="store_true", help="no link faults from now on")
    actions.add_parser("reset-factory", help="wipe the pump's memory as at the factory").add_argument(
        "--yes", action="store_true", required=True, help="required: the pump's program, drug and log are lost")
    actions.add_parser("save", help="save the pump's state under a name").add_argument("name", metavar="NAME")
    actions.add_parser("load", help="run the pump from a state saved under a name").add_argument("name", metavar="NAME")
    return parser


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--token-file`` and ``--json``, taken before the action or after it (their default is SUPPRESS in both
    places, so the one given is kept; ``_run`` checks ``--token-file`` was)."""
    parser.add_argument("--token-file", type=Path, default=default, metavar="FILE",
                        help="required: the token file the control line names (FILE.control-token beside the state "
                             "file)")
    parser.add_argument("--json", action="store_true", default=default,
                        help="print the channel's answer as one JSON object")


class _Actions:
    """The action subparsers, each given the common options."""

    def __init__(self, subparsers, common: argparse.ArgumentParser):
        self._subparsers = subparsers
        self._common = common

    def add_parser(self, name: str, help: str) -> argparse.ArgumentParser:
        return self._subparsers.add_parser(name, help=help, parents=[self._common])


def request_of(args: argparse.Namespace) -> dict:
    """The channel's request arguments for the parsed command line (without ``token`` and ``action``)."""
    action = args.action
    if action == "advance":
        return {"hours": args.hours}
    if action in ("speed", "battery"):
        return {"speed": args.speed} if action == "speed" else {"percent": args.percent}
    if action == "open-pairing":
        return {"seconds": args.seconds}
    if action == "faults":
        return {"spec": "" if args.clear else args.spec}
    if action == "reset-factory":
        return {"confirm": args.yes}
    if action in ("save", "load"):
        return {"name": args.name}
    return {}


def main(argv: list[str] | None = None) -> int:
    return quiet_on_closed_pipe(lambda: _run(argv))


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "token_file", None) is None:
        parser.error("the following arguments are required: --token-file")
    try:
        token = read_token(args.token_file)
    except OSError as exc:
        print(f"pump-emulator ctl: --token-file {args.token_file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        with ControlClient(args.url, token) as client:
            result = client.request(args.action, **request_of(args))
    except ValueError as exc:
        print(f"pump-emulator ctl: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ControlUnreachable as exc:
        print(f"pump-emulator ctl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except ControlError as exc:
        where = f"{exc.field}: " if exc.field and not exc.message.startswith(exc.field) else ""
        print(f"pump-emulator ctl: {args.action}: {where}{exc.message}", file=sys.stderr)
        return _EXIT_FOR.get(exc.code, EXIT_REFUSED)
    print(json.dumps(result, indent=1) if getattr(args, "json", False) else describe(result))
    return 0
