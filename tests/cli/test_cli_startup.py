"""``plan`` starts without what it does not use (issue 11), which would otherwise regress silently: a new
top-level import in a module ``plan`` reaches changes no output, only the time every script waits for it
(``benchmarks/cli_startup.py``). Each check runs the command line in a fresh interpreter, since the test
process has long imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from programmer.cli.main import COMMAND_GROUPS, OWN_COMMANDS, build_parser
from programmer.cli.support import PYDANTIC_PLUGINS_VARIABLE, pydantic_plugins_off

ROOT = Path(__file__).resolve().parents[2]
SIMPLE = ROOT / "examples/baclofen-simple.json"

NOT_FOR_PLAN = (
    "programmer.cli.pump_commands", "programmer.cli.library_commands", "programmer.cli.interrogation_report",
    "programmer.port", "programmer.interrogation", "programmer.snapshot", "programmer.baseline",
    "programmer.audit", "programmer.commit", "programmer.refill", "programmer.review",
    "drivers", "drivers.serial_driver", "protocol", "serial", "icalendar", "platformdirs",
    "cryptography.hazmat.primitives.serialization", "PySide6", "pyqtgraph", "ui", "numpy",
)
"""The pump's link and its drivers, the audit log, refills, the calendar file, PEM key files, the user's
configuration directory (read only for a key the shipped trust store lacks), Qt, and numpy (the planner's series
for plots needs it; the dates do not)."""

REPORT = """
import json, sys
from programmer.cli.main import main
code = main(sys.argv[1:])
loader = sys.modules.get("pydantic.plugin._loader")
print(json.dumps({"code": code, "modules": sorted(sys.modules),
                  "plugins_scanned": loader is not None and loader._plugins is not None,
                  "variable_after": __import__("os").environ.get("PYDANTIC_DISABLE_PLUGINS")}), file=sys.stderr)
"""
"""Runs ``main`` as the console script does, then reports on stderr what the process loaded: the modules, whether
pydantic looked for plugins (its loader caches what it found in ``_plugins``, None until it looks) and the
variable that turns that off."""


def run_fresh(*argv: str, environment: dict[str, str] | None = None) -> tuple[dict, str]:
    """The command line run in a new interpreter: (its report, its standard output)."""
    env = {name: value for name, value in os.environ.items() if name != PYDANTIC_PLUGINS_VARIABLE}
    done = subprocess.run([sys.executable, "-c", REPORT, *argv], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=env | (environment or {}))
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def test_plan_json_loads_nothing_of_the_pump_the_calendar_or_qt():
    report, out = run_fresh("plan", str(SIMPLE), "--reservoir-ml", "18", "--json")
    assert report["code"] == 0
    # 500 mcg/mL at 150 mcg/day is 0.3 mL/day: 18 mL last 60 days; the alarm at 2 mL comes after 16 / 0.3 days.
    plan = json.loads(out)
    assert plan["days_to_empty"] == pytest.approx(60.0)
    assert plan["days_to_low_alarm"] == pytest.approx(16 / 0.3)
    loaded = set(report["modules"])
    assert [name for name in NOT_FOR_PLAN if name in loaded] == []
    assert "programmer.library_signing" in loaded  # the shipped library's signature was verified all the same


def test_plan_leaves_pydantic_plugins_unscanned_and_the_environment_as_it_was():
    report, _ = run_fresh("plan", str(SIMPLE), "--reservoir-ml", "18", "--json")
    assert report["plugins_scanned"] is False
    assert report["variable_after"] is None


def test_a_user_who_sets_the_variable_gets_pydantic_plugins_looked_for():
    # An empty value is pydantic's "disable none": the command leaves the user's choice alone.
    report, _ = run_fresh("plan", str(SIMPLE), "--reservoir-ml", "18", "--json",
                          environment={PYDANTIC_PLUGINS_VARIABLE: ""})
    assert report["code"] == 0
    assert report["plugins_scanned"] is True
    assert report["variable_after"] == ""


def test_plugins_are_off_only_while_a_command_runs(monkeypatch):
    monkeypatch.delenv(PYDANTIC_PLUGINS_VARIABLE, raising=False)
    with pydantic_plugins_off():
        assert os.environ[PYDANTIC_PLUGINS_VARIABLE] == "__all__"
    assert PYDANTIC_PLUGINS_VARIABLE not in os.environ
    with pytest.raises(RuntimeError), pydantic_plugins_off():
        raise RuntimeError("a command that fails")
    assert PYDANTIC_PLUGINS_VARIABLE not in os.environ


def test_the_users_setting_is_kept(monkeypatch):
    monkeypatch.setenv(PYDANTIC_PLUGINS_VARIABLE, "logfire")
    with pydantic_plugins_off():
        assert os.environ[PYDANTIC_PLUGINS_VARIABLE] == "logfire"
    assert os.environ[PYDANTIC_PLUGINS_VARIABLE] == "logfire"


def commands_of(parser) -> dict:
    """A parser's subcommand parsers by name."""
    return next(action.choices for action in parser._subparsers._group_actions)


def test_every_command_is_in_one_group_or_the_main_modules_own():
    grouped = [name for _, names in COMMAND_GROUPS for name in names]
    assert len(grouped) == len(set(grouped)) and not set(grouped) & OWN_COMMANDS
    assert set(grouped) | OWN_COMMANDS == set(commands_of(build_parser())), \
        "a command is missing from programmer.cli.main.COMMAND_GROUPS (or listed there but not built)"


def test_the_parser_of_each_command_built_alone_is_the_whole_parsers():
    whole = build_parser()
    for name, command in commands_of(whole).items():
        alone = build_parser(name)
        assert commands_of(alone)[name].format_help() == command.format_help(), name
        assert commands_of(alone)[name].get_default("handler") is command.get_default("handler"), name
        if name not in OWN_COMMANDS:  # the options before a command, with the defaults the command reads
            assert vars(alone.parse_args([])) == vars(whole.parse_args([])), name


def test_an_own_command_builds_no_group_and_a_pump_command_only_its_own():
    assert set(commands_of(build_parser("plan"))) == OWN_COMMANDS
    assert set(commands_of(build_parser("interrogate"))) == OWN_COMMANDS | COMMAND_GROUPS[0][1]


def test_a_usage_error_of_plan_is_the_same_one_line():
    done = subprocess.run([sys.executable, "-m", "programmer.cli", "plan", str(SIMPLE)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr == "pump-programmer plan: error: the following arguments are required: --reservoir-ml\n"
