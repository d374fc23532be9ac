"""The bundled pump emulator, started by the application itself (``--demo`` and the "Bundled emulator"
choice on the Connect screen). No Qt: it runs in the link's worker thread, because starting a process and
waiting for its first line is I/O the GUI thread must not wait on.

The demo patient is set up through the driver, the way a clinic would: fill the reservoir with the drug,
then write the program. So the emulator starts as a pump really would after an implant and first fill.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from programmer.port import LinkError, open_driver
from programmer.program import FORMAT, Drug, program_from_data

START_TIMEOUT_S = 20.0
DEMO_DRUG = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500)
DEMO_THERAPY = {"mode": "simple_continuous", "daily_dose": 150}
DEMO_RESERVOIR_ML = 14.0
"""A 20 mL ITB-20 holding 14 mL of baclofen 500 mcg/mL at 150 mcg/day: 40 days to the 2 mL low alarm."""


class BundledEmulator:
    """One ``pump-emulator`` process on loopback TCP with its state file in a temporary directory."""

    def __init__(self, state_dir: Path | None = None, extra_args: tuple[str, ...] = ()):
        self._tempdir = None if state_dir is not None else tempfile.TemporaryDirectory(prefix="itb-emulator-")
        self.state_dir = Path(state_dir if state_dir is not None else self._tempdir.name)
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self) -> str:
        """Start the emulator and return the URL it printed (``socket://127.0.0.1:PORT``)."""
        command = [sys.executable, "-c", "import sys; from drivers.emulator.cli import main; sys.exit(main())",
                   "--listen", "tcp://127.0.0.1:0", "--state", str(self.state_dir / "pump.json"), *self.extra_args]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        first = self._first_line()
        if not first.startswith("listening on "):
            self.stop()
            raise LinkError(f"the bundled emulator did not start (it said {first!r})")
        self.url = first.removeprefix("listening on ")
        return self.url

    def _first_line(self) -> str:
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
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


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
            raise LinkError(f"the demo program could not be set up on the emulator: {outcome.message}")
