"""``pump-emulator``: start a simulated pump on loopback TCP or a pty and serve until SIGTERM, SIGINT or SIGHUP
(or, with ``--exit-on-stdin-close``, until standard input closes).

The first line on stdout, flushed before anything is served, is exactly ``listening on socket://HOST:PORT``
or ``listening on /dev/pts/N``: scripts and tests read it to find the pump. Each time the pairing window
opens (``--pairing-window`` at start, right after the first line; SIGUSR1; SERVICE open_pairing) one more line
follows, ``pairing code NNNNNN for SECONDS s``: the code a person reads off the pump. With ``--control`` one more line, printed right after these
at start, says where the test bench's control channel is: ``control on tcp://127.0.0.1:PORT token-file FILE``.
Everything else goes to stderr. ``pump-emulator ctl URL ACTION`` is that channel's client (emulator/ctl.py). Exit codes: 0 stopped cleanly, 2 invalid option, unusable state file or unusable --paired-with file.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from pathlib import Path

from emulator.clock import MAX_SPEED, SimClock
from emulator.control import ControlEndpoint, token_file_for
from emulator.control_actions import ControlActions
from emulator.faults import FaultInjector, FaultSpec
from emulator.paired_with import PairedWithError, read_key_file
from emulator.pairing_window import MAX_WINDOW_S, SIGNAL_WINDOW_S, PairingWindow, window_seconds
from emulator.pump import Pump
from emulator.server import PtyTransport, Server, TcpTransport, loopback_address
from emulator.service import Service
from emulator.sessions import Sessions
from emulator.spec import CATHETER_CM_MAX, CATHETER_CM_MIN, MODELS
from emulator.scenario import ScenarioError, load_scenario, starting_state
from emulator.state import StateFileError, save_state
from emulator.timeline import ScenarioPlayer
from commandline import EXIT_INVALID, OneLineParser, finite, package_version, quiet_on_closed_pipe
from protocol.codes import SESSION_IDLE_TIMEOUT_S


def _speed(text: str) -> float:
    value = finite(text)
    if not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number above 0 and at most {MAX_SPEED:g}")
    return value


MAX_IDLE_TIMEOUT_S = 3600.0
"""Longest --idle-timeout: a session (or a silent connection) held longer keeps every other programmer out."""


def _idle_timeout(text: str) -> float:
    value = finite(text)
    if not 0 < value <= MAX_IDLE_TIMEOUT_S:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds above 0 and at most "
                                         f"{MAX_IDLE_TIMEOUT_S:g}")
    return value


def _window(text: str) -> int:
    try:
        return window_seconds(int(text) if re.fullmatch(r"[0-9]{1,4}", text) else text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _catheter_cm(text: str) -> float:
    value = finite(text)
    if not CATHETER_CM_MIN <= value <= CATHETER_CM_MAX:
        raise argparse.ArgumentTypeError(f"{text!r} must be a catheter length of {CATHETER_CM_MIN:g} to "
                                         f"{CATHETER_CM_MAX:g} cm")
    return value


def _baud(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or not 10 <= int(text) <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of baud in 10..10000000")
    return int(text)


def _control(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"tcp://127\.0\.0\.1:([0-9]{1,5})", text)
    if match is None or int(match[1]) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} must be tcp://127.0.0.1:PORT (PORT 0: any free port)")
    return "127.0.0.1", int(match[1])


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
    parser = OneLineParser(prog="pump-emulator", description="A simulated intrathecal drug pump (docs/emulator.md).",
                           epilog="pump-emulator ctl URL --token-file FILE ACTION drives a running emulator started with "
                                  "--control (pump-emulator ctl --help).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="tcp://HOST:PORT", help="serve on a loopback TCP port (port 0: any free)")
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    parser.add_argument("--state", required=True, type=Path, metavar="FILE",
                        help="the pump's memory; created as a factory-new pump when absent")
    parser.add_argument("--model", choices=sorted(MODELS), default="ITB-20",
                        help="model of a factory-new pump (ignored when FILE exists)")
    parser.add_argument("--catheter-cm", type=_catheter_cm, metavar="L",
                        help="a new pump's implanted catheter, L cm (10..110), primed long ago: its first fill fills "
                             "tubing and catheter with its drug (without it a first fill leaves the line empty of drug); "
                             "an existing pump must have that catheter recorded already")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help=f"simulated seconds per real second, above 0 and at most {MAX_SPEED:g}")
    parser.add_argument("--faults", type=_faults, default=FaultSpec(), metavar="SPEC",
                        help="e.g. seed=7,drop=0.02,corrupt=0.02,delay=0.05:0.3,duplicate=0.01,busy=0.05,disconnect=0.002")
    parser.add_argument("--baud", type=_baud, help="throttle answers to BAUD/10 bytes per second")
    parser.add_argument("--service", action="store_true", help="accept the emulator-only SERVICE command")
    parser.add_argument("--no-compact", action="store_true",
                        help="act as a pump built before the compact encoding: protocol version 1 with JSON answers "
                             "only, and a HELLO that offers encodings is BAD_ARGUMENT")
    parser.add_argument("--insecure", action="store_true",
                        help="speak protocol version 1 only: frames in clear, no pairing, no sessions' keys (for "
                             "protocol debugging; a programmer changes nothing over it unless told to allow it)")
    parser.add_argument("--idle-timeout", type=_idle_timeout, default=SESSION_IDLE_TIMEOUT_S, metavar="SECONDS",
                        help="a session with no authentic frame for this long ends, and a connection that sends "
                             f"nothing authentic for this long is closed (default {SESSION_IDLE_TIMEOUT_S:g})")
    parser.add_argument("--pairing-window", type=_window, metavar="SECONDS",
                        help=f"open the pairing window at start for SECONDS (1..{MAX_WINDOW_S}); its code is the "
                             "second line on stdout")
    parser.add_argument("--paired-with", type=Path, metavar="FILE",
                        help="pair at start with the programmer of this key file (itb-pairing-keys/1: the key under "
                             "this pump's serial, or under \"*\")")
    parser.add_argument("--control", type=_control, nargs="?", const=("127.0.0.1", 0), metavar="tcp://127.0.0.1:PORT",
                        help="open the test bench's control channel on this loopback port (default any free port); "
                             "its line follows the first ones on stdout, its token is in FILE.control-token")
    parser.add_argument("--scenario", type=Path, metavar="FILE",
                        help="start the pump as this scenario (itb-scenario/1) says, replacing the state file, and play "
                             "its timeline; each expectation is reported on stderr")
    parser.add_argument("--exit-on-stdin-close", action="store_true",
                        help="save the state and exit when standard input reaches end of file (for a program that "
                             "starts the emulator: holding the other end, it can never leave the emulator orphaned)")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["ctl"]:
        from emulator.ctl import main as ctl_main  # the client alone: no pump, no engine, no pydantic to load

        return ctl_main(arguments[1:])
    return quiet_on_closed_pipe(lambda: _serve(argv))


def _serve(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.insecure and (args.pairing_window or args.paired_with):
        parser.error("--pairing-window and --paired-with need protocol version 2: not with --insecure")
    try:
        transport = TcpTransport(*loopback_address(args.listen)) if args.listen else PtyTransport()
    except (ValueError, OSError) as exc:
        print(f"pump-emulator: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        key_file = read_key_file(args.paired_with) if args.paired_with else None
        scenario = None
        if args.scenario is not None:
            scenario = load_scenario(args.scenario)
            save_state(starting_state(scenario, args.scenario.parent), args.state.absolute())
        pump = Pump.power_on(args.state.absolute(), args.model, SimClock(args.speed), args.catheter_cm)
    except (StateFileError, PairedWithError, ScenarioError, OSError) as exc:
        transport.close()
        print(f"pump-emulator: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if key_file is not None:
        try:
            pump.add_paired(key_file.programmer_id, key_file.key_for(pump.state.serial))
            pump.flush()
        except (PairedWithError, OSError) as exc:
            transport.close()
            print(f"pump-emulator: {exc}", file=sys.stderr)
            return EXIT_INVALID
    faults = FaultInjector(args.faults)
    player = None if scenario is None else ScenarioPlayer(scenario, pump, faults)
    service = Service(pump, service_enabled=args.service, compact=not args.no_compact, insecure=args.insecure,
                      sessions=Sessions(pump, args.idle_timeout), window=PairingWindow(pump))
    control = None
    if args.control is not None:
        try:
            host, port = args.control
            control = ControlEndpoint(ControlActions(pump, service, faults, None if player is None else player.report),
                                      host, port,
                                      token_file_for(args.state.absolute()))
        except OSError as exc:
            transport.close()
            pump.save()
            print(f"pump-emulator: --control: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INVALID
    server = Server(pump, service, transport, faults, args.baud, control)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: server.stop())
    # SIGUSR1 is the pump's pairing button; a version 1 pump has none, and the signal must not kill it either.
    signal.signal(signal.SIGUSR1, signal.SIG_IGN if args.insecure else
                  lambda *_: server.ask_pairing_window(SIGNAL_WINDOW_S))
    if args.exit_on_stdin_close:
        threading.Thread(target=_stop_at_end_of_input, args=(server,), name="stdin lifeline", daemon=True).start()
    if args.faults != FaultSpec():
        print(f"pump-emulator: faults {args.faults} (seed {faults.seed})", file=sys.stderr, flush=True)
    print(f"listening on {transport.address}", flush=True)
    if args.pairing_window:
        service.window.open(args.pairing_window)
    if control is not None:
        print(control.line, flush=True)
    if player is not None:
        player.start()
        pump.flush()
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
