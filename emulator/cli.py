"""``pump-emulator``: start a simulated pump on loopback TCP or a pty and serve until SIGTERM, SIGINT or SIGHUP
(or, with ``--exit-on-stdin-close``, until standard input closes).

The first line on stdout, flushed before anything is served, is exactly ``listening on socket://HOST:PORT``
or ``listening on /dev/pts/N``: scripts and tests read it to find the pump. Everything else goes to
stderr. Exit codes: 0 stopped cleanly, 2 invalid option or unusable state file.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from pathlib import Path

from emulator.clock import SimClock
from emulator.faults import FaultInjector, FaultSpec
from emulator.pump import Pump
from emulator.server import PtyTransport, Server, TcpTransport, loopback_address
from emulator.service import Service
from emulator.spec import MODELS
from emulator.state import StateFileError
from commandline import EXIT_INVALID, OneLineParser, finite, package_version, quiet_on_closed_pipe


MAX_SPEED = 1e7
"""Fastest simulated clock, simulated seconds per real second: 116 days a second, a ten-year soak in half a
minute. Faster would skip more than a month between two runs of the engine (every 0.25 s) and run the clock
to its end (``emulator.clock.CLOCK_END``) within hours."""


def _speed(text: str) -> float:
    value = finite(text)
    if not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number above 0 and at most {MAX_SPEED:g}")
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


def _stop_at_end_of_input(server: Server) -> None:
    """Read standard input to its end, then stop the server.

    Why standard input: the program that started the emulator holds the pipe's other end. However that
    program ends (Quit, a signal, SIGKILL, a crash), the kernel closes its end and this read returns end
    of file, so the emulator saves its state and exits instead of serving a port for nobody.
    """
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass  # no usable standard input is as good as a closed one
    server.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="pump-emulator", description="A simulated intrathecal drug pump (docs/emulator.md).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="tcp://HOST:PORT", help="serve on a loopback TCP port (port 0: any free)")
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    parser.add_argument("--state", required=True, type=Path, metavar="FILE",
                        help="the pump's memory; created as a factory-new pump when absent")
    parser.add_argument("--model", choices=sorted(MODELS), default="ITB-20",
                        help="model of a factory-new pump (ignored when FILE exists)")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help=f"simulated seconds per real second, above 0 and at most {MAX_SPEED:g}")
    parser.add_argument("--faults", type=_faults, default=FaultSpec(), metavar="SPEC",
                        help="e.g. seed=7,drop=0.02,corrupt=0.02,delay=0.05:0.3,duplicate=0.01,busy=0.05,disconnect=0.002")
    parser.add_argument("--baud", type=_baud, help="throttle answers to BAUD/10 bytes per second")
    parser.add_argument("--service", action="store_true", help="accept the emulator-only SERVICE command")
    parser.add_argument("--no-compact", action="store_true",
                        help="act as a pump built before the compact encoding: protocol version 1 with JSON answers "
                             "only, and a HELLO that offers encodings is BAD_ARGUMENT")
    parser.add_argument("--exit-on-stdin-close", action="store_true",
                        help="save the state and exit when standard input reaches end of file (for a program that "
                             "starts the emulator: holding the other end, it can never leave the emulator orphaned)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return quiet_on_closed_pipe(lambda: _serve(argv))


def _serve(argv: list[str] | None) -> int:
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
    service = Service(pump, service_enabled=args.service, compact=not args.no_compact)
    server = Server(pump, service, transport, faults, args.baud)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: server.stop())
    if args.exit_on_stdin_close:
        threading.Thread(target=_stop_at_end_of_input, args=(server,), name="stdin lifeline", daemon=True).start()
    if args.faults != FaultSpec():
        print(f"pump-emulator: faults {args.faults} (seed {faults.seed})", file=sys.stderr, flush=True)
    print(f"listening on {transport.address}", flush=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
