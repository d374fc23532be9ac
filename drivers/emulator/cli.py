"""``pump-emulator``: start a simulated pump on loopback TCP or a pty and serve until SIGTERM/SIGINT.

The first line on stdout, flushed before anything is served, is exactly ``listening on socket://HOST:PORT``
or ``listening on /dev/pts/N``: scripts and tests read it to find the pump. Everything else goes to
stderr. Exit codes: 0 stopped cleanly, 2 invalid option or unusable state file.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path

from drivers.emulator.clock import SimClock
from drivers.emulator.faults import FaultInjector, FaultSpec
from drivers.emulator.pump import Pump
from drivers.emulator.server import PtyTransport, Server, TcpTransport, loopback_address
from drivers.emulator.service import Service
from drivers.emulator.spec import MODELS
from drivers.emulator.state import StateFileError
from programmer.cli_support import EXIT_INVALID, OneLineParser, finite


def _positive(text: str) -> float:
    value = finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _baud(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or not 10 <= int(text) <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of baud in 10..10000000")
    return int(text)


def _faults(text: str) -> FaultSpec:
    try:
        return FaultSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="pump-emulator", description="A simulated intrathecal drug pump (docs/emulator.md).")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="tcp://HOST:PORT", help="serve on a loopback TCP port (port 0: any free)")
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    parser.add_argument("--state", required=True, type=Path, metavar="FILE",
                        help="the pump's memory; created as a factory-new pump when absent")
    parser.add_argument("--model", choices=sorted(MODELS), default="ITB-20",
                        help="model of a factory-new pump (ignored when FILE exists)")
    parser.add_argument("--speed", type=_positive, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--faults", type=_faults, default=FaultSpec(), metavar="SPEC",
                        help="e.g. seed=7,drop=0.02,corrupt=0.02,delay=0.05:0.3,duplicate=0.01,busy=0.05,disconnect=0.002")
    parser.add_argument("--baud", type=_baud, help="throttle answers to BAUD/10 bytes per second")
    parser.add_argument("--service", action="store_true", help="accept the emulator-only SERVICE command")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        transport = TcpTransport(*loopback_address(args.listen)) if args.listen else PtyTransport()
    except (ValueError, OSError) as exc:
        print(f"pump-emulator: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        pump = Pump.power_on(args.state.absolute(), args.model, SimClock(args.speed))
    except (StateFileError, OSError) as exc:
        transport.close()
        print(f"pump-emulator: {exc}", file=sys.stderr)
        return EXIT_INVALID
    faults = FaultInjector(args.faults)
    server = Server(pump, Service(pump, service_enabled=args.service), transport, faults, args.baud)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.stop())
    if args.faults != FaultSpec():
        print(f"pump-emulator: faults {args.faults} (seed {faults.seed})", file=sys.stderr, flush=True)
    print(f"listening on {transport.address}", flush=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
