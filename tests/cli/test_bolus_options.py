"""The bolus family's options are checked before any pump is contacted (docs/cli.md): exit code 2, nothing opened,
the message quoting what was typed. The port is a closed one: a command that tried to connect would end with exit
code 4 (and an audit record of the unreachable pump), so exit code 2 and an empty audit log show nothing was opened.
With ``--json`` every failure after the arguments parsed is one JSON object too.
"""

from __future__ import annotations

import json

import pytest

from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_LINK_FAILED
from tests.support.cli_runs import DOCTOR, run

CLOSED = "socket://127.0.0.1:1"


@pytest.mark.parametrize(("argv", "option", "quoted"), [
    (("bolus", CLOSED, "--dose", "0", "--duration-min", "30"), "--dose", "'0' is not above 0"),
    (("bolus", CLOSED, "--dose", "-5", "--duration-min", "30"), "--dose", "'-5' is not above 0"),
    (("bolus", CLOSED, "--dose", "-0", "--duration-min", "30"), "--dose", "'-0' is not above 0"),
    (("bolus", CLOSED, "--dose", "1e-400", "--duration-min", "30"), "--dose", "'1e-400' is not above 0"),
    (("bolus", CLOSED, "--dose", "5", "--duration-min", "0"), "--duration-min", "'0' is not above 0"),
    (("bolus", CLOSED, "--dose", "5", "--duration-min", "1441"), "--duration-min", "'1441' is outside 1 to 1440"),
    (("prime", CLOSED, "--catheter-cm=-60", "--reason", "implant"), "--catheter-cm", "'-60' is not above 0"),
    (("prime", CLOSED, "--catheter-cm", "150", "--reason", "implant"), "--catheter-cm",
     "'150' is outside 10 to 110"),
    (("prime", CLOSED, "--catheter-cm", "9.5", "--reason", "implant"), "--catheter-cm", "'9.5' is outside 10 to 110"),
    (("demand-dose", CLOSED, "--dose", "25", "--duration-min", "10", "--lockout-min", "0", "--max-per-day", "6"),
     "--lockout-min", "'0' is not above 0"),
    (("demand-dose", CLOSED, "--dose", "25", "--duration-min", "10", "--lockout-min", "240", "--max-per-day", "0"),
     "--max-per-day", "'0' is not above 0"),
    (("demand-dose", CLOSED, "--dose", "0.0", "--duration-min", "10", "--lockout-min", "240", "--max-per-day", "6"),
     "--dose", "'0.0' is not above 0"),
])
def test_a_figure_that_is_not_one_exits_2_before_any_pump_is_opened(capsys, audit_log, argv, option, quoted):
    code, out, err = run(capsys, *argv, *DOCTOR, "--yes")
    assert code == EXIT_INVALID, err
    assert option in err and quoted in err and "nothing was sent" in err
    assert out == "" and (not audit_log.exists() or audit_log.read_text() == "")


@pytest.mark.parametrize("command", ["bolus-status", "cancel-bolus"])
@pytest.mark.parametrize(("bolus_id", "why"), [("a b/c", "1 to 64 of the characters"), ("x" * 65, "1 to 64"),
                                               ("", "1 to 64"), ("demand-7", "'demand-'")])
def test_a_bolus_id_the_pump_cannot_hold_exits_2_before_any_pump_is_opened(capsys, command, bolus_id, why):
    confirm = ("--yes",) if command == "cancel-bolus" else ()
    code, _, err = run(capsys, command, CLOSED, f"--bolus-id={bolus_id}", *confirm)
    assert code == EXIT_INVALID and f"{bolus_id!r}" in err and why in err


def test_a_number_too_large_says_the_largest(capsys):
    code, _, err = run(capsys, "bolus", CLOSED, "--dose", "1e999", "--duration-min", "30", *DOCTOR, "--yes")
    assert code == EXIT_INVALID and "'1e999' is too large: a number here is at most 1.798e+308" in err


def test_json_says_an_invalid_figure_as_an_object(capsys):
    code, out, err = run(capsys, "bolus", CLOSED, "--dose", "0", "--duration-min", "30", *DOCTOR, "--yes", "--json")
    assert code == EXIT_INVALID
    result = json.loads(out)
    assert (result["action"], result["outcome"], result["bolus_id"], result["status_command"]) == (
        "bolus", "invalid_input", None, None)
    assert "'0' is not above 0" in result["error"]["message"] and result["error"]["kind"] == "input"
    assert result["message"] in err and result["session_id"] is None  # refused before a visit began


@pytest.mark.parametrize("argv", [("bolus", "--dose", "5", "--duration-min", "30"), ("bridge",),
                                  ("prime", "--catheter-cm", "60", "--reason", "implant")])
def test_json_says_a_failed_link_as_an_object(capsys, audit_log, argv):
    command, *options = argv
    code, out, err = run(capsys, command, CLOSED, *options, *DOCTOR, "--yes", "--json")
    assert code == EXIT_LINK_FAILED
    result = json.loads(out)
    assert (result["action"], result["outcome"], result["bolus_id"], result["error"]["kind"]) == (
        command, "unchanged", None, "link")
    assert "nothing was sent" in result["message"] and len(result["session_id"]) == 32  # the visit had begun


def test_json_says_a_failed_status_question_as_an_object(capsys):
    code, out, _ = run(capsys, "bolus-status", CLOSED, "--bolus-id", "b-20261204T101010-abcdef", "--json")
    assert code == EXIT_LINK_FAILED
    result = json.loads(out)
    assert (result["outcome"], result["bolus_id"]) == ("unchanged", "b-20261204T101010-abcdef")
    assert result["status_command"] == f"pump-programmer bolus-status {CLOSED} --bolus-id b-20261204T101010-abcdef"
