"""The bundled pump emulator, started by the application itself (``--demo`` and the "Bundled emulator"
choice on the Connect screen). No Qt: it runs in the link's worker thread, because starting a process and
waiting for its first line is I/O the GUI thread must not wait on.

The demo patient is set up through the driver, the way a clinic would: fill the reservoir with the drug,
then write the program. So the emulator starts as a pump really would after an implant and first fill.

The demo stays one click although every pump must be paired before it is read: the application started this
emulator itself, with its pairing window open, so it reads the pairing code from the emulator's output (as a
clinician reads it off the pump) and pairs at once. The pair key is kept in memory only (``in_memory_keys``):
it is worth nothing once the application or its emulator ends, and a demo pump must never leave a key in the
user's key store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.control_client import ControlClient, parse_control_line, read_token
from emulator.launch import EmulatorProcess, LaunchError
from programmer.errors import LinkError
from programmer.pairing_keys import PairingKeys, in_memory_keys

if TYPE_CHECKING:
    from programmer.port import PumpDriver

DEMO_DRUG = {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}
DEMO_THERAPY = {"mode": "simple_continuous", "daily_dose": 150}
DEMO_RESERVOIR_ML = 14.0
"""A 20 mL ITB-20 holding 14 mL of baclofen 500 mcg/mL at 150 mcg/day: 40 days to the 2 mL low alarm."""
DEMO_CATHETER_CM = 60.0
"""The demo patient's catheter, implanted and primed long ago: tubing 0.15 mL + 60 cm x 0.0026 mL/cm = 0.306 mL of
line, full of the drug once the pump is filled (so a bridge or a prime has something to show)."""


DEMO_OPTIONS = ("--service", "--control")
"""The bundled emulator is the demo's pump: its tester controls are on (SERVICE, docs/emulator.md, for the Emulator
menu's demand button; the control channel, for the Emulator > Control panel).

(The control channel's URL and token file are printed on the line after the pairing code: ``ControlEndpoint``.)"""

PAIRING_WINDOW_S = 120
"""The bundled emulator's pairing window, opened at its start: the application pairs within a second of reading
the code, and the window closes at the pairing; if the pairing fails the window closes by itself soon after."""

TEMP_PREFIX = "itb-emulator-"
"""Temporary state directories are named ``itb-emulator-<pid of the application>-<random>``."""


@dataclass(frozen=True)
class ControlEndpoint:
    """An emulator's control channel (docs/emulator.md, "The control channel"), for the pump at ``pump_url``: its URL
    and the token file the emulator wrote beside its state file."""

    pump_url: str
    url: str
    token_file: Path

    @classmethod
    def from_line(cls, pump_url: str, line: str) -> "ControlEndpoint":
        """The endpoint of a ``control on ...`` line, typed or pasted by a tester; ValueError quoting anything else."""
        url, token_file = parse_control_line(line.strip())
        return cls(pump_url, url, token_file)

    def client(self) -> ControlClient:
        """A client of the channel; OSError when the token file cannot be read."""
        return ControlClient(self.url, read_token(self.token_file))

    def saved_names(self) -> list[str]:
        """The named states saved beside the state file (``FILE.saved/NAME.json``, the token being
        ``FILE.control-token``), in order; none when the folder is not there."""
        folder = self.token_file.with_name(self.token_file.name.removesuffix(".control-token") + ".saved")
        return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []


class BundledEmulator:
    """One ``pump-emulator`` process on loopback TCP with its state file in a temporary directory.

    It never outlives the application: it runs with ``--exit-on-stdin-close`` and its standard input is a
    pipe whose other end only this process holds (a lifeline), so whatever ends the application (Quit, a
    signal, SIGKILL, a crash) also ends the emulator, which saves its state first. It runs in a process group
    of its own, so a Ctrl+C in the terminal reaches only the application, which then stops it in order.
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
        self.process: EmulatorProcess | None = None
        self.url: str | None = None
        self.keys: PairingKeys = in_memory_keys()
        """This application's pairing with this emulator, in memory only."""
        self._pairing_code: str | None = None
        self.control: ControlEndpoint | None = None
        """Its control channel, read from its output at start."""

    def start(self) -> str:
        """Start the emulator with its pairing window open and return the URL it printed
        (``socket://127.0.0.1:PORT``); its pairing code, the line after, is kept for ``pair``."""
        state = self.state_dir / "pump.json"
        catheter = () if state.exists() else ("--catheter-cm", f"{DEMO_CATHETER_CM:g}")  # a new pump only
        process = EmulatorProcess(["--listen", "tcp://127.0.0.1:0", "--state", str(state),
                                   "--pairing-window", str(PAIRING_WINDOW_S), "--exit-on-stdin-close", *catheter,
                                   *DEMO_OPTIONS, *self.extra_args], lifeline=True, own_process_group=True)
        try:
            self.url = process.start()
            self.process = process
            self._pairing_code, _seconds = process.read_pairing_code()
            self.control = ControlEndpoint(self.url, *process.read_control())
        except LaunchError as exc:
            self.process = process
            self.stop()  # its files too: nothing is left of an emulator that did not start
            raise LinkError(f"the bundled emulator did not start: {exc}", step="start the bundled emulator") from exc
        return self.url

    def pair(self, **driver_options: object) -> None:
        """Pair with the emulator over the code it printed, the key kept in ``keys`` (memory only). Once only: the
        code is spent by it. PairingFailed or LinkError as the driver raises them."""
        assert self.url is not None and self._pairing_code is not None, "start() read the code"
        from programmer.port import open_driver  # in the link's thread, as it starts the emulator

        code, self._pairing_code = self._pairing_code, None
        with open_driver(self.url, **self.driver_options(**driver_options), pairing_code=code):
            pass

    def driver_options(self, **options: object) -> dict[str, object]:
        """``options`` for a link to this emulator: with the in-memory keys of its pairing."""
        return {**options, "keys": self.keys}

    def stop(self) -> None:
        """Let go of the emulator's lifeline (it saves its state and exits), wait, then remove its files.
        SIGTERM and at last SIGKILL are only for an emulator that does not stop by itself."""
        process, self.process, self.control = self.process, None, None
        if process is not None:
            process.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


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


def set_up_demo_patient(url: str, **driver_options: object) -> None:
    """Fill a factory-new emulated pump with baclofen and start 150 mcg/day (a pump with a drug is left
    alone, so a restarted demo keeps whatever was programmed). ``driver_options``: the link's (its keys)."""
    from programmer.port import open_driver
    from programmer.program import FORMAT, Drug, program_from_data  # in the link's thread, as it starts the demo

    with open_driver(url, **driver_options) as driver:
        if driver.read_program().drug is not None:
            return
        driver.refill(uuid.uuid4().hex, 0.0, DEMO_RESERVOIR_ML, Drug.model_validate(DEMO_DRUG))
        program = program_from_data({"format": FORMAT, "drug": DEMO_DRUG, "therapy": DEMO_THERAPY})
        outcome = driver.write_program(program)
        if outcome.active is None or outcome.active.checksum != program.checksum():
            raise LinkError(f"the demo program could not be set up on the emulator: {outcome.message}",
                            step="set up the demo patient")


def press_demand_button(driver: PumpDriver) -> dict:
    """The demo's patient presses the demand button: the emulator's tester control (SERVICE ``press_button``,
    docs/emulator.md), over the application's own link to it. Its answer: ``granted``, and ``reason`` when not."""
    return driver.service("press_button")
