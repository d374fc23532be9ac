"""Every command-line tool ends with exit 141 and nothing on stderr when the reader of its output has
gone away (``pump-programmer events PORT --csv | head``), with and without ``PYTHONUNBUFFERED``.

The reader here is a pipe whose read end is closed before the program starts, so its first write (or
the flush of its buffer) fails with EPIPE: the worst case, and the one a buffered stdout used to hide
until interpreter exit ("Exception ignored ... BrokenPipeError", exit 120).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.console_scripts import script
from tests.support.emulator_fixtures import EmulatorProcess

ROOT = Path(__file__).resolve().parents[2]
SIMPLE = str(ROOT / "examples/baclofen-simple.json")
BUFFERING = {"buffered": None, "unbuffered": "1"}


def run_into_closed_pipe(argv: list[str], unbuffered: str | None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered is not None:
        env["PYTHONUNBUFFERED"] = unbuffered
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    try:
        done = subprocess.run(argv, stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                              timeout=60, cwd=ROOT)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr.decode(errors="replace")


@pytest.mark.parametrize("buffering", BUFFERING)
@pytest.mark.parametrize("argv", [
    ["pump-programmer", "schema"],
    ["pump-programmer", "plan", SIMPLE, "--reservoir-ml", "18", "--json"],
    ["pump-programmer", "plan", SIMPLE, "--reservoir-ml", "18"],
    ["pump-programmer", "--help"],
    ["pump-programmer", "plan", "--help"],
    ["pump-programmer", "--version"],
    ["pump-emulator", "--help"],
    ["pump-emulator", "--version"],
], ids=lambda argv: " ".join(Path(a).name for a in argv))
def test_offline_commands_end_quietly(argv, buffering):
    code, err = run_into_closed_pipe([script(argv[0]), *argv[1:]], BUFFERING[buffering])
    assert (code, err) == (141, "")


@pytest.fixture(scope="module")
def pump(tmp_path_factory):
    """One emulated pump for the pump commands here: they only read it, so they share it."""
    emulator = EmulatorProcess(tmp_path_factory.mktemp("pump") / "pump.json")
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.mark.parametrize("buffering", BUFFERING)
@pytest.mark.parametrize("command", [["interrogate", "--json"], ["interrogate"], ["events", "--csv"],
                                     ["events", "--json"]])
def test_pump_commands_end_quietly(pump, command, buffering):
    code, err = run_into_closed_pipe([script("pump-programmer"), command[0], pump.url, *command[1:]],
                                     BUFFERING[buffering])
    assert (code, err) == (141, "")


@pytest.mark.parametrize("buffering", BUFFERING)
def test_the_emulator_whose_first_line_finds_no_reader_ends_quietly(tmp_path, buffering):
    code, err = run_into_closed_pipe([script("pump-emulator"), "--listen", "tcp://127.0.0.1:0", "--state",
                                      str(tmp_path / "pump.json")], BUFFERING[buffering])
    assert (code, err) == (141, "")


def test_output_that_fits_is_unchanged():
    # The guard must not eat output: a reader that stays gets the whole schema and exit 0.
    done = subprocess.run([script("pump-programmer"), "schema"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert '"itb-program/1"' in done.stdout and done.stdout.endswith("}\n")
