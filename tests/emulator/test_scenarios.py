"""Scenarios (docs/emulator.md, Scenarios): every example in examples/scenarios/ plays in process with all its
expectations met; steps land at their exact simulated times however time is cut; a failed expectation is reported
with what was found; the file is validated strictly, errors naming the step and the field; and the control channel's
``state`` shows the scenario's progress."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from emulator.cli import main as emulator_main
from emulator.clock import SimClock
from emulator.control_actions import ControlActions
from emulator.faults import FaultInjector, FaultSpec
from emulator.pump import Pump
from emulator.scenario import ScenarioError, load_scenario, starting_state
from emulator.service import Service
from emulator.timeline import ScenarioPlayer
from tests.support.emulator_support import FakeMonotonic, simple

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "scenarios").glob("*.json"))
BACLOFEN_150 = simple(150)  # 0.3 mL/day of baclofen 500 mcg/mL


def play(path: Path) -> tuple[ScenarioPlayer, Pump, io.StringIO]:
    """The scenario in ``path`` on an in-process pump on a fake clock, started (its 0 h steps done)."""
    scenario = load_scenario(path)
    monotonic = FakeMonotonic()
    pump = Pump(starting_state(scenario, path.parent), SimClock(1.0, monotonic), None, monotonic)
    out = io.StringIO()
    player = ScenarioPlayer(scenario, pump, FaultInjector(FaultSpec()), out)
    player.start()
    return player, pump, out


def write(tmp_path: Path, timeline: list[dict], **pump: object) -> Path:
    path = tmp_path / "scenario.json"
    start = {"model": "ITB-20", "clock": "2026-03-02T08:00:00", "catheter_cm": 60, "volume_ml": 20,
             "program": BACLOFEN_150, **pump}
    path.write_text(json.dumps({"format": "itb-scenario/1", "name": "test", "pump": start, "timeline": timeline}))
    return path


def test_the_library_holds_the_six_field_situations():
    assert [path.stem for path in EXAMPLES] == ["dst-during-flex", "eri-then-eos", "link-drops-during-commit",
                                                "low-reservoir-weekend", "new-implant-first-fill", "pocket-fill"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_scenario_meets_its_expectations(path):
    player, pump, out = play(path)
    pump.advance(player.scenario.timeline[-1].at_hours * 3600.0 + 1.0)
    expectations = sum(step.do == "expect" for step in player.scenario.timeline)
    assert player.finished and player.failed == 0 and player.met == expectations, out.getvalue()
    assert out.getvalue().endswith(f"scenario {player.scenario.name}: finished: {expectations} met, 0 failed\n")


def test_a_step_lands_at_its_own_time_inside_one_long_run(tmp_path):
    path = write(tmp_path, [{"at_hours": 30.5, "do": "battery", "percent": 3},
                            {"at_hours": 48, "do": "expect", "alarms": ["eri"], "reservoir_ml": 19.4}])
    player, pump, _ = play(path)
    pump.advance(100 * 3600.0)  # one run of the engine past both steps
    [alarm] = pump.state.alarms
    assert (alarm.code, alarm.since) == ("eri", datetime(2026, 3, 3, 14, 30))  # 08:00 + 30.5 h
    assert player.met == 1 and player.elapsed_s == 100 * 3600.0


def test_a_failed_expectation_says_what_was_found(tmp_path):
    path = write(tmp_path, [{"at_hours": 24, "do": "expect", "alarms": ["low_reservoir"], "reservoir_ml": 19.0,
                             "tolerance_ml": 0.01}])
    player, pump, out = play(path)
    pump.advance(24 * 3600.0)
    assert player.failed == 1 and player.results == [{
        "at_hours": 24.0, "step": "expect", "met": False,
        "detail": "alarms none, expected low_reservoir; reservoir 19.7000 mL, expected 19 ± 0.01 mL"}]
    assert "scenario test: 24 h: FAILED: alarms none, expected low_reservoir" in out.getvalue()


def test_a_step_the_pump_refuses_is_reported_and_the_scenario_goes_on(tmp_path):
    path = write(tmp_path, [{"at_hours": 1, "do": "refill", "withdrawn_ml": 0, "added_ml": 25},
                            {"at_hours": 2, "do": "expect", "reservoir_ml": 19.975}])
    player, pump, _ = play(path)
    pump.advance(2 * 3600.0)
    assert [(result["step"], result["met"]) for result in player.results] == [("refill", False), ("expect", True)]
    assert "added_ml 25" in player.results[0]["detail"]


def test_the_control_channel_state_shows_the_scenario(tmp_path):
    player, pump, _ = play(write(tmp_path, [{"at_hours": 1, "do": "stall"},
                                            {"at_hours": 2, "do": "expect", "alarms": ["motor_stall"]},
                                            {"at_hours": 3, "do": "clear-stall"}]))
    actions = ControlActions(pump, Service(pump), player.faults, player.report)
    scenario = actions.run({"action": "advance", "hours": 2.5})["state"]["scenario"]
    assert scenario == {"name": "test", "elapsed_hours": 2.5, "steps": 3, "steps_done": 2, "finished": False,
                        "met": 1, "failed": 0, "results": [{"at_hours": 2.0, "step": "expect", "met": True,
                                                            "detail": "alarms motor_stall"}]}


@pytest.mark.parametrize("change, message", [
    ({"timeline": [{"at_hours": 1, "do": "battery", "percent": 3, "volts": 2}]},
     "timeline[0].volts: Extra inputs are not permitted"),
    ({"timeline": [{"at_hours": 1, "do": "battery", "percent": 300}]},
     "timeline[0].percent: Input should be less than or equal to 100"),
    ({"timeline": [{"at_hours": 1, "do": "fly"}]}, "timeline[0]: Input tag 'fly' found using 'do' does not match"),
    ({"timeline": [{"at_hours": 2, "do": "stall"}, {"at_hours": 1, "do": "clear-stall"}]},
     "timeline[1] at_hours 1 comes before the step ahead of it (2)"),
    ({"timeline": [{"at_hours": 0, "do": "faults", "spec": "drop=2"}]},
     "timeline[0].spec: fault drop=2.0 is not a probability in 0..1"),
    ({"timeline": [{"at_hours": 0, "do": "expect"}]}, "timeline[0]: an expectation must expect something"),
    ({"timeline": [{"at_hours": 0, "do": "write", "program": {"format": "itb-program/1"}}]},
     "timeline[0].program: program.drug: "),
    ({"format": "itb-scenario/2"}, "format: Input should be 'itb-scenario/1'"),
    ({"pump": {"clock": "2026-03-02T08:00:00+01:00"}}, "pump.clock: the pump clock is local time"),
    ({"pump": {"clock": "2026-03-02T08:00:00", "volume_ml": 21, "program": BACLOFEN_150}},
     "pump: volume_ml 21 mL is more than the ITB-20's 20 mL"),
])
def test_an_invalid_scenario_is_refused_naming_the_step_and_the_field(tmp_path, change, message):
    document = {"format": "itb-scenario/1", "name": "bad", "pump": {"clock": "2026-03-02T08:00:00"}, "timeline": [],
                **change}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    assert str(refused.value).startswith(f"{path}: not a valid itb-scenario/1 scenario: {message}")


def test_pump_emulator_refuses_an_invalid_scenario_before_touching_the_state_file(tmp_path, capsys):
    scenario = write(tmp_path, [{"at_hours": 1, "do": "battery", "percent": 300}])
    state = tmp_path / "pump.json"
    code = emulator_main(["--listen", "tcp://127.0.0.1:0", "--state", str(state), "--scenario", str(scenario)])
    assert code == 2 and not state.exists()
    assert capsys.readouterr().err == (f"pump-emulator: {scenario}: not a valid itb-scenario/1 scenario: "
                                       "timeline[0].percent: Input should be less than or equal to 100\n")
