"""Starting ``pump-emulator`` as a process and reading its first line (and its pairing line): the one place that
does it.

The application starts its bundled emulator this way (``ui/emulator.py``), and so do the tests and the
benchmarks. All of them rely on what docs/emulator.md promises of a started emulator: the first line on its
standard output, flushed before anything is served, is exactly ``listening on URL``; SIGTERM or SIGINT
(and, with ``--exit-on-stdin-close``, the end of its standard input) make it save its state and exit 0.
Here that promise is read once: the line with a bounded wait that takes nothing after it from the pipe, and
a stop that asks first and kills only an emulator that does not stop.

Nothing of the emulator is imported but the control channel's client (standard library only), and nothing heavy
(pydantic and the pump's models load in the emulator's own process): so ``ui`` may import this module (an import
contract in pyproject.toml), and a program that starts emulators pays nothing for them itself.
"""

from __future__ import annotations

import os
import re
import select
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

from emulator.control_client import parse_control_line

FIRST_LINE_PREFIX = "listening on "
"""The first line is exactly this followed by the URL to open (docs/emulator.md)."""
T = TypeVar("T")

PAIRING_LINE = re.compile(r"pairing code ([0-9]{6}) for ([0-9]+) s")
"""A line the emulator prints when its pairing window opens: the code and the window's seconds (docs/emulator.md).
With ``--pairing-window`` it is the second line, right after the first."""
PAIRING_TIMEOUT_S = 5.0
"""Longest wait for the pairing line after the first: the emulator prints it right after the first line."""
START_TIMEOUT_S = 20.0
"""Longest wait for the first line; an emulator prints it within about half a second of its start."""
STOP_TIMEOUT_S = 10.0
"""Longest wait after each way of asking the emulator to stop, before the next, harder one."""


def parse_pairing_line(text: str) -> tuple[str, int]:
    """The code and seconds of a pairing line (its newline may be there or not); ValueError quoting anything else."""
    match = PAIRING_LINE.fullmatch(text.removesuffix("\n"))
    if match is None:
        raise ValueError(f"{text!r} is not a pairing line ('pairing code NNNNNN for SECONDS s')")
    return match[1], int(match[2])


class LaunchError(Exception):
    """The emulator did not start: it printed no ``listening on URL`` first line (it exited, printed something
    else, or nothing in time). The message says which, with the end of its standard error when it was kept."""


def emulator_command() -> list[str]:
    """How to run ``pump-emulator``: the console script beside this interpreter, so the process is called
    ``pump-emulator`` in ``ps`` and ``top``; the module only when the package is not installed."""
    script = Path(sys.executable).with_name("pump-emulator")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "emulator.cli"]


class EmulatorProcess:
    """One ``pump-emulator`` process started with ``args`` (``--listen`` or ``--pty``, ``--state`` and so on).

    ``lifeline``: its standard input is a pipe whose other end only this process holds, for
    ``--exit-on-stdin-close``: however the starter ends, the emulator then ends too, and ``stop`` lets go of
    the pipe before it signals anything. ``own_process_group``: a Ctrl+C in the terminal reaches the starter
    alone, which then stops the emulator in order. ``stderr``: a file that keeps the emulator's diagnostics
    (appended to), quoted when it does not start; without it they are discarded.
    """

    def __init__(self, args: Sequence[str], *, lifeline: bool = False, own_process_group: bool = False,
                 stderr: Path | None = None) -> None:
        self.args = list(args)
        self.lifeline = lifeline
        self.own_process_group = own_process_group
        self.stderr = stderr
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self) -> str:
        """Start the emulator and return the URL of its first line; LaunchError when it cannot be started, or
        (the emulator stopped again) when there is no such line within START_TIMEOUT_S."""
        try:
            self.process = self._spawn()
        except OSError as exc:  # no such program, not executable, out of processes: nothing was started
            raise LaunchError(f"pump-emulator could not be started ({exc})") from exc
        line = self._next_line(START_TIMEOUT_S, "first line")
        if not line.startswith(FIRST_LINE_PREFIX):
            self.kill()
            raise LaunchError(f"pump-emulator's first line is {line!r}, not 'listening on URL'{self._stderr_tail()}")
        self.url = line.removeprefix(FIRST_LINE_PREFIX)
        return self.url

    def _spawn(self) -> subprocess.Popen:
        """Run ``pump-emulator`` with the arguments, its standard output a pipe to read the first line from.
        (The test suite's emulators override this to fork the same ``main`` from a process that has already
        imported it: tests/support/forked_emulator.py says why.)"""
        with open(self.stderr, "ab") if self.stderr is not None else nullcontext(subprocess.DEVNULL) as stderr:
            return subprocess.Popen(
                [*emulator_command(), *self.args], stdout=subprocess.PIPE, stderr=stderr,
                stdin=subprocess.PIPE if self.lifeline else subprocess.DEVNULL,
                process_group=0 if self.own_process_group else None, env=dict(os.environ, PYTHONUNBUFFERED="1"))

    def read_pairing_code(self, timeout: float = PAIRING_TIMEOUT_S) -> tuple[str, int]:
        """The code and seconds of the next pairing line the emulator prints (started with ``--pairing-window``: the
        line after the first). LaunchError when it prints something else or nothing within ``timeout``; the
        emulator is then stopped."""
        return self._parsed_line(timeout, "pairing line", parse_pairing_line)

    def read_control(self, timeout: float = PAIRING_TIMEOUT_S) -> tuple[str, Path]:
        """The URL and token file of the control line (started with ``--control``: the line after the first, or
        after the pairing line with ``--pairing-window``). LaunchError when another line or nothing comes within
        ``timeout``; the emulator is then stopped."""
        return self._parsed_line(timeout, "control line", parse_control_line)

    def _parsed_line(self, timeout: float, what: str, parse: Callable[[str], T]) -> T:
        """The next line, parsed; LaunchError (the emulator stopped) when ``parse`` refuses it with a ValueError."""
        line = self._next_line(timeout, what)
        try:
            return parse(line)
        except ValueError as exc:
            self.kill()
            raise LaunchError(f"pump-emulator: {exc}{self._stderr_tail()}") from None

    def _next_line(self, timeout: float, what: str) -> str:
        """The next line without its newline, read byte by byte (nothing after it is taken from the pipe)."""
        assert self.process is not None and self.process.stdout is not None, "start() made the pipe"
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while not data.endswith(b"\n"):
                if not selector.select(max(0.0, deadline - time.monotonic())):
                    self.kill()
                    raise LaunchError(f"pump-emulator printed no {what} within {timeout:g} s{self._stderr_tail()}")
                chunk = os.read(fd, 1)
                if not chunk:
                    code = self.stop()
                    raise LaunchError(f"pump-emulator exited (code {code}) before its {what}{self._stderr_tail()}")
                data += chunk
        return data.decode("utf-8", "replace").removesuffix("\n")

    def stop(self, ask: int = signal.SIGTERM) -> int | None:
        """Stop the emulator, wait for it and return its exit code (None when none was running).

        Each way of asking is followed by a wait of at most STOP_TIMEOUT_S: first, with a lifeline, its end is
        closed (the emulator saves its state and exits by itself); then the signal ``ask``; SIGKILL at last,
        for an emulator that did not stop."""
        process, self.process = self.process, None
        if process is None:
            return None
        asks = [process.stdin.close] if process.stdin is not None and not process.stdin.closed else []
        asks += [lambda: process.send_signal(ask), process.kill]
        for next_ask in asks:
            if process.poll() is None:
                next_ask()
                try:
                    wait_for_exit(process, STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    continue
            break
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        return process.wait(STOP_TIMEOUT_S)

    def kill(self) -> int | None:
        """SIGKILL the emulator at once, as a crash would, and reap it (its state file must still be whole)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        return self.stop()

    def _stderr_tail(self) -> str:
        try:
            text = self.stderr.read_text(encoding="utf-8", errors="replace").strip() if self.stderr else ""
        except OSError:
            return ""
        return f"\nstderr:\n{text[-2000:]}" if text else ""


def wait_for_exit(process: subprocess.Popen, timeout: float) -> int:
    """``process.wait(timeout)`` without its polling: with a timeout, Popen.wait sleeps in steps of up to
    50 ms, overshooting a stop by about 40 ms; a pidfd (Linux) is readable the moment the process ends.
    Raises subprocess.TimeoutExpired like Popen.wait."""
    if process.returncode is not None:
        return process.returncode
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, or the process was reaped meanwhile
        return process.wait(timeout)
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(process.args, timeout)
    finally:
        os.close(pidfd)
    return process.wait()
