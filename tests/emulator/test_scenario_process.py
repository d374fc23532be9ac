"""A scenario played by a running emulator (``--scenario``): the pump starts as the file says, the steps due at once
are done before the first request is served, the link drops as a program is committed (the example scenario
link-drops-during-commit), and the driver still finds out what the pump runs."""

from __future__ import annotations

import json

import pytest
from pathlib import Path

from emulator.control_client import ControlClient, read_token
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.emulator_support import simple
from programmer.outcome import Outcome
from programmer.port import open_driver
from programmer.program import program_from_data

SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "link-drops-during-commit.json"


def test_a_commit_whose_answer_is_cut_is_read_back_by_the_driver(start_emulator):
    emulator = start_emulator("--scenario", str(SCENARIO), "--control")
    url, token_file = emulator.read_control()
    new = program_from_data(simple(170))
    with open_driver(emulator.url, **LOOPBACK_LINK) as driver:
        assert driver.read_status().volume_ml == pytest.approx(20.0, abs=1e-3)  # the scenario's pump, not a factory-new one
        outcome = driver.write_program(new)
    assert outcome.status is Outcome.VERIFIED and outcome.active.checksum == new.checksum(), outcome.message
    assert json.loads(emulator.state.read_text())["program_checksum"] == new.checksum()
    with ControlClient(url, read_token(token_file)) as control:
        state = control.request("state")["state"]
    assert state["faults"]["spec"] == "seed=1,commit_cut=1"
    assert state["scenario"]["steps_done"] == 2 and state["scenario"]["met"] == 1
    assert "scenario link-drops-during-commit: 0 h: expectation met: alarms none; faults seed=1,commit_cut=1" in \
        emulator.stderr.read_text()
