"""The fixtures' emulators, forked from a process that has already imported the emulator.

The suite starts about two hundred emulators. Run as ``pump-emulator``, each one spends some 0.3 s of CPU
starting an interpreter and importing pydantic and the emulator before it serves a byte: on two cores that
was a third of the whole suite's time. Forked from a server process that imported ``emulator.cli`` once
(multiprocessing's ``forkserver``, started from a fresh interpreter, never from the test process with its
Qt threads), an emulator starts in a few milliseconds and is still the real thing: the same ``main`` with
the same arguments, in a process of its own, serving TCP or a pty, stopped by its signals, leaving its
state file, with its first line read by ``emulator.launch`` as the application reads it.

What forking leaves out (the console script, the interpreter's start, ``--exit-on-stdin-close``, process
groups) is what tests/emulator/test_cli.py, tests/emulator/test_launch.py and the application's own tests
exercise with the real ``pump-emulator``: ask ``start_emulator(..., console_script=True)`` for one.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["emulator.cli"])


def _run(args: list[str], stdout: Connection, stderr: str | None) -> None:
    """In the forked child: standard output to the pipe the starter reads, standard error to its file (or
    nowhere), then the emulator's ``main``, whose return is the process's exit code."""
    os.dup2(stdout.fileno(), 1)
    stdout.close()
    error = os.open(stderr or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(error, 2)
    os.close(error)
    from emulator import cli

    sys.exit(cli.main(args))


class ForkedProcess:
    """A forked emulator seen through the part of ``subprocess.Popen`` that ``emulator.launch`` uses."""

    def __init__(self, args: list[str], stderr: Path | None) -> None:
        reader, writer = _CONTEXT.Pipe(duplex=False)
        self.args = args
        self._process = _CONTEXT.Process(target=_run, args=(args, writer, str(stderr) if stderr else None),
                                         name="pump-emulator", daemon=False)
        self._process.start()
        writer.close()  # the child's copy is the only writer left: its exit is the end of the pipe
        self.stdout = os.fdopen(os.dup(reader.fileno()), "rb", buffering=0)
        reader.close()
        self.stdin = None
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        """As Popen's: nothing for a process that has ended. The forkserver reaps the child before it reports the
        exit, so a process ``poll`` still calls running may be gone already (then there is nothing to signal)."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
