"""``pump-emulator ctl`` against a running emulator started with ``--control``: the control line, the token file,
the exit codes and the printed state, and a fault put in force live reaching the wire. (The actions' effects on the
pump are tested in process, tests/emulator/test_control_actions.py.)"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from emulator.cli import main as emulator_main
from emulator.control_client import ACTIONS, ControlClient, ControlError, read_token
from emulator.ctl import build_parser
from tests.support.emulator_support import WireClient
from protocol.codes import Command, Status


@pytest.fixture
def controlled(start_emulator):
    """An emulator with its control channel: the process, the channel's URL and its token file."""
    emulator = start_emulator("--control", "--speed", "10")
    url, token_file = emulator.read_control()
    return emulator, url, token_file


def ctl(capsys, *argv: str) -> tuple[int, str, str]:
    code = emulator_main(["ctl", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ctl_acts_and_prints_the_state_with_its_exit_codes(controlled, capsys):
    emulator, url, token_file = controlled
    assert url.startswith("tcp://127.0.0.1:") and token_file == emulator.state.with_name("pump-0.json.control-token")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    code, out, _ = ctl(capsys, url, "--token-file", str(token_file), "battery", "3")
    assert code == 0 and "battery 3 % (eri)" in out and "alarms: eri (non_critical, since " in out
    code, out, _ = ctl(capsys, url, "state", "--token-file", str(token_file), "--json")
    state = json.loads(out)["state"]
    assert code == 0 and state["battery"]["status"] == "eri" and state["speed"] == 10.0
    assert state["battery"]["percent"] == pytest.approx(3.0, abs=1e-4)  # drained a little since, at 10x
    assert ctl(capsys, url, "--token-file", str(token_file), "battery", "150")[1:] == (
        "", "pump-emulator ctl: battery: percent 150 is outside 0..100\n")
    assert ctl(capsys, url, "--token-file", str(token_file), "battery", "150")[0] == 2
    code, _, err = ctl(capsys, url, "--token-file", str(token_file), "press-button")
    assert (code, err) == (3, "pump-emulator ctl: press-button: the pump gave no demand dose: off\n")
    code, _, err = ctl(capsys, url, "--token-file", str(token_file), "reset-factory")
    assert code == 2 and "--yes" in err


def test_ctl_cannot_act_without_the_token_or_a_channel(controlled, capsys, tmp_path, closed_port):
    _, url, token_file = controlled
    wrong = tmp_path / "wrong-token"
    wrong.write_text("0" * 32 + "\n")
    code, _, err = ctl(capsys, url, "--token-file", str(wrong), "state")
    assert code == 4 and "token: the token is not this emulator's" in err
    code, _, err = ctl(capsys, closed_port.replace("socket://", "tcp://"), "--token-file", str(token_file), "state")
    assert code == 4 and "Connection refused" in err
    code, _, err = ctl(capsys, url, "--token-file", str(tmp_path / "absent"), "state")
    assert code == 2 and "No such file" in err
    assert ctl(capsys, url, "state")[0] == 2  # no --token-file


def test_faults_set_live_reach_the_wire_and_the_token_file_goes_with_the_emulator(controlled):
    emulator, url, token_file = controlled
    wire = WireClient(emulator.url)
    try:
        with ControlClient(url, read_token(token_file)) as control:
            wire.hello()
            control.request("faults", spec="seed=3,busy=1")
            assert wire.call(Command.READ_STATUS).status == Status.BUSY
            control.request("faults", spec="")
            assert wire.call(Command.READ_STATUS).status == Status.OK
            with pytest.raises(ControlError) as refused:
                control.request("faults", spec="busy=maybe")
            assert (refused.value.code, refused.value.field) == ("bad_value", "spec")
    finally:
        wire.close()
    assert emulator.stop() == 0
    assert not token_file.exists()


def test_every_ctl_option_and_action_is_documented():
    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("### `pump-emulator ctl`", 1)[1].split("\n## ", 1)[0]
    parser = build_parser()
    options = {option for action in parser._actions for option in action.option_strings} - {"-h", "--help"}
    actions = set(next(action for action in parser._actions if action.dest == "action").choices)
    assert actions == set(ACTIONS)  # the client's list is the command line's
    missing = sorted(name for name in options | actions if f"`{name}" not in section)
    assert not missing, f"not in docs/cli.md's pump-emulator ctl section: {missing}"
