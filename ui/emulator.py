"""The bundled pump emulator, started by the application itself (``--demo`` and the "Bundled emulator"
choice on the Connect screen). No Qt: it runs in the link's worker thread, because starting a process and
waiting for its first line is I/O the GUI thread must not wait on.

The demo patient is set up through the driver, the way a clinic would: fill the reservoir with the drug,
then write the program. So the emulator starts as a pump really would after an implant and first fill.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from programmer.errors import LinkError
from programmer.port import open_driver
from programmer.program import FORMAT, Drug, program_from_data

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
DEMO_DRUG = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)
DEMO_THERAPY = {"mode": "simple_continuous", "daily_dose": 150}
DEMO_RESERVOIR_ML = 14.0
"""A 20 mL ITB-20 holding 14 mL of baclofen 500 mcg/mL at 150 mcg/day: 40 days to the 2 mL low alarm."""


TEMP_PREFIX = "itb-emulator-"
"""Temporary state directories are named ``itb-emulator-<pid of the application>-<random>``."""


class BundledEmulator:
    """One ``pump-emulator`` process on loopback TCP with its state file in a temporary directory.

    It never outlives the application: it runs with ``--exit-on-stdin-close`` and its standard input is a
    pipe whose other end only this process holds, so whatever ends the application (Quit, a signal,
    SIGKILL, a crash) also ends the emulator, which saves its state first. It runs in a process group of
    its own, so a Ctrl+C in the terminal reaches only the application, which then stops it in order.
    """

    def __init__(self, state_dir: Path | None = None, extra_args: tuple[str, ...] = ()):
        if state_dir is None:
            remove_orphaned_state_dirs()
            self._tempdir: tempfile.TemporaryDirectory | None = tempfile.TemporaryDirectory(
                prefix=f"{TEMP_PREFIX}{os.getpid()}-")
            state_dir = Path(self._tempdir.name)
        else:
            self._tempdir = None
        self.state_dir = Path(state_dir)
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self) -> str:
        """Start the emulator and return the URL it printed (``socket://127.0.0.1:PORT``).

        Raises ``LinkError`` when it does not start (a program that cannot be run is one too: the pump that
        was asked for cannot be reached, whatever the OS said).
        """
        command = [*emulator_command(), "--listen", "tcp://127.0.0.1:0", "--state", str(self.state_dir / "pump.json"),
                   "--exit-on-stdin-close", *self.extra_args]
        step = "start the bundled emulator"
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, process_group=0,
                                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        except OSError as exc:
            raise LinkError(f"the bundled emulator did not start ({exc})", step=step) from exc
        first = self._first_line()
        if not first.startswith("listening on "):
            self.stop()
            raise LinkError(f"the bundled emulator did not start (it said {first!r})", step=step)
        self.url = first.removeprefix("listening on ")
        return self.url

    def _first_line(self) -> str:
        assert self.process is not None and self.process.stdout is not None, "start() made it, stdout a pipe"
        deadline = time.monotonic() + START_TIMEOUT_S
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not data.endswith(b"\n"):
                if deadline < time.monotonic() or not selector.select(deadline - time.monotonic()):
                    return data.decode(errors="replace") or "nothing within the time allowed"
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    return data.decode(errors="replace") or "nothing: it exited"
                data += chunk
        return data.decode(errors="replace").strip()

    def stop(self) -> None:
        """Close the emulator's standard input (it saves its state and exits), wait, then remove its files.
        SIGTERM and at last SIGKILL are only for an emulator that does not stop by itself."""
        process, self.process = self.process, None
        if process is not None:
            assert process.stdin is not None and process.stdout is not None, "start() made both pipes"
            process.stdin.close()
            for ask in (None, process.terminate, process.kill):
                if ask is not None:
                    ask()
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
            process.stdout.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def emulator_command() -> list[str]:
    """How to run ``pump-emulator``: the console script beside this interpreter, so the process is called
    ``pump-emulator`` in ``ps`` and ``top``; the module only when the package is not installed."""
    script = Path(sys.executable).with_name("pump-emulator")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "emulator.cli"]


def remove_orphaned_state_dirs() -> None:
    """Delete the temporary state directories left by bundled emulators of applications that were killed
    outright (SIGKILL, a crash: nothing ran to remove them). A directory whose application is still
    running is left alone."""
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        owner = path.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if owner.isdigit() and path.is_dir() and not _alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: theirs to tidy
    return True


def set_up_demo_patient(url: str) -> None:
    """Fill a factory-new emulated pump with baclofen and start 150 mcg/day (a pump with a drug is left
    alone, so a restarted demo keeps whatever was programmed)."""
    with open_driver(url) as driver:
        if driver.read_program().drug is not None:
            return
        driver.refill(uuid.uuid4().hex, 0.0, DEMO_RESERVOIR_ML, DEMO_DRUG)
        program = program_from_data({"format": FORMAT, "drug": DEMO_DRUG.model_dump(mode="json"), "therapy": DEMO_THERAPY})
        outcome = driver.write_program(program)
        if outcome.active is None or outcome.active.checksum != program.checksum():
            raise LinkError(f"the demo program could not be set up on the emulator: {outcome.message}",
                            step="set up the demo patient")
