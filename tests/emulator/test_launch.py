"""``emulator.launch``, the one place that starts ``pump-emulator`` and reads its first line: what it costs the
program that imports it, and what it says when the emulator does not start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emulator.launch import EmulatorProcess, LaunchError


def test_importing_it_loads_nothing_of_the_emulator_nor_pydantic():
    code = ("import sys, emulator.launch; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('emulator', 'programmer', 'protocol', 'drivers', 'commandline', 'ui', 'pydantic', 'PySide6')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "['emulator', 'emulator.launch']\n"


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
