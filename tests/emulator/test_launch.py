"""``emulator.launch``, the one place that starts ``pump-emulator`` and reads its first line: what it costs the
program that imports it, and what it says when the emulator does not start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emulator.launch import EmulatorProcess, LaunchError, parse_pairing_line
from emulator.pairing_window import pairing_line


def test_importing_it_loads_nothing_of_the_emulator_nor_pydantic():
    """Nothing but the control channel's client, which parses the control line and is as light."""
    code = ("import sys, emulator.launch; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('emulator', 'programmer', 'protocol', 'drivers', 'commandline', 'ui', 'pydantic', 'PySide6')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "['emulator', 'emulator.control_client', 'emulator.launch']\n"


def test_an_emulator_that_exits_before_its_first_line_is_a_launch_error_quoting_its_stderr(tmp_path):
    stderr = tmp_path / "stderr.txt"
    emulator = EmulatorProcess(["--listen", "tcp://0.0.0.0:0", "--state", str(tmp_path / "pump.json")], stderr=stderr)
    with pytest.raises(LaunchError, match=r"(?s)exited \(code 2\) before its first line.*stderr:.*--listen"):
        emulator.start()
    assert emulator.process is None and emulator.stop() is None


def test_a_lifeline_is_let_go_first_and_the_emulator_stops_by_itself(tmp_path):
    emulator = EmulatorProcess(["--listen", "tcp://127.0.0.1:0", "--state", str(tmp_path / "pump.json"),
                                "--exit-on-stdin-close"], lifeline=True)
    assert emulator.start().startswith("socket://127.0.0.1:")
    process = emulator.process
    assert emulator.stop(ask=0) == 0  # signal 0 asks nothing: only the closed pipe can have stopped it
    assert process.stdin.closed and process.returncode == 0


def test_the_pairing_line_is_read_after_the_first_and_parsed(start_emulator):
    emulator = start_emulator("--pairing-window", "90")
    code, seconds = emulator.read_pairing_code()
    assert len(code) == 6 and code.isdigit() and seconds == 90


def test_no_pairing_line_in_time_is_a_launch_error(start_emulator):
    emulator = start_emulator()  # no window: nothing follows the first line
    with pytest.raises(LaunchError, match=r"printed no pairing line within 0.3 s"):
        emulator.read_pairing_code(timeout=0.3)


@pytest.mark.parametrize("line, parsed", [("pairing code 012345 for 120 s", ("012345", 120)),
                                          ("pairing code 999999 for 1 s\n", ("999999", 1))])
def test_parse_pairing_line_keeps_leading_zeros(line, parsed):
    assert parse_pairing_line(line) == parsed


@pytest.mark.parametrize("line", ["pairing code 12345 for 120 s", "pairing code 0123456 for 1 s",
                                  "pairing code 012345 for s", "listening on socket://127.0.0.1:1", ""])
def test_parse_pairing_line_refuses_anything_else_quoting_it(line):
    with pytest.raises(ValueError, match="is not a pairing line"):
        parse_pairing_line(line)


def test_the_line_the_emulator_prints_is_the_line_launch_parses():
    assert parse_pairing_line(pairing_line("000042", 600)) == ("000042", 600)
