"""The README and docs/ against the code: what they promise is what the programs do.

Users and outside testers see only this repository, and scripts rely on what docs/cli.md lists (options,
exit codes, JSON keys, check codes). So the documents are parsed here, not copied: every option of both
parsers, every check code the code can emit and every JSON key the commands print must be documented,
and every documented one must exist; docs/first-session.md is run as it stands.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.cli import build_parser as build_emulator_parser
import commandline
from programmer.cli import support as cli_support
from programmer.cli.main import build_parser, main
from tests.support.check_codes import emitted_check_codes
from tests.support.emulator_fixtures import unused_loopback_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
FIRST_SESSION = DOCS / "first-session.md"
BIN = os.path.dirname(sys.executable)
README_COMMANDS = [
    "bash scripts/bootstrap && .venv/bin/pump-programmer --demo",
    "bash scripts/bootstrap && .venv/bin/python -m pytest",
]
FIRST_SESSION_TIMEOUT_S = 180
HELP = {"-h", "--help"}


# --- reading the documents ------------------------------------------------------------------------


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def sections(path: Path) -> list[tuple[str, list[str]]]:
    """(heading text, lines up to the next heading of the same or a higher level), for every heading."""
    lines = path.read_text(encoding="utf-8").splitlines()
    headings = [(i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines)
                if (m := re.match(r"(#{1,6}) (.*)", line))]
    found = []
    for n, (start, level, title) in enumerate(headings):
        end = next((i for i, lv, _ in headings[n + 1:] if lv <= level), len(lines))
        found.append((title, lines[start + 1:end]))
    return found


def section(path: Path, title: str) -> list[str]:
    matches = [body for heading, body in sections(path) if heading == title]
    assert len(matches) == 1, f"{path.name} needs exactly one heading {title!r} (found {len(matches)})"
    return matches[0]


def table_rows(lines: list[str]) -> list[list[str]]:
    """The cells of every table row in ``lines`` (header and separator rows left out)."""
    rows, header_seen = [], False
    for line in lines:
        if not line.startswith("|"):
            header_seen = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: "):
            continue  # the separator
        if not header_seen:
            header_seen = True  # the header row
            continue
        rows.append(cells)
    return rows


def first_code(cell: str) -> str | None:
    match = re.match(r"`([^`]+)`", cell)
    return match.group(1) if match else None


def sh_blocks(path: Path) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", path.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


# --- README and CI ------------------------------------------------------------------------------------


def test_the_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    expected = "# ITB programmer\n\n```sh\n" + "\n".join(README_COMMANDS) + "\n```\n"
    assert text.startswith(expected)


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert README_COMMANDS[1] in ci.splitlines()


# --- links ------------------------------------------------------------------------------------------


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_resolve(path):
    text = path.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        assert not re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE), f"{path.name}: {target} leaves the repository"
        file_part = target.split("#", 1)[0]
        if not file_part:
            continue  # a link to a heading of the same page
        resolved = (path.parent / file_part).resolve()
        assert resolved.is_relative_to(ROOT), f"{path.name}: {target} points outside the repository"
        assert resolved.exists(), f"{path.name}: {target} does not exist"
    for pattern in ("http://", "https://", "../", "shared/", "DESIGN.md"):
        assert pattern not in text, f"{path.name} mentions {pattern!r}: a clone has nothing there"


# --- options ------------------------------------------------------------------------------------------


def subcommands(parser) -> dict:
    groups = [action for action in parser._subparsers._group_actions if hasattr(action, "choices")]
    return {name: sub for group in groups for name, sub in group.choices.items()}


def option_strings(parser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings} - HELP


def choices(parser) -> set[str]:
    return {str(choice) for action in parser._actions if action.option_strings and action.choices
            for choice in action.choices}


def documented_options(lines: list[str]) -> set[str]:
    """The options in the first column of the section's own tables (`--name ARG`, `-x`), not its subsections'."""
    own = lines[:next((i for i, line in enumerate(lines) if line.startswith("#")), len(lines))]
    return {code.split()[0] for row in table_rows(own) if (code := first_code(row[0])) and code.startswith("-")}


def nested_commands(parser) -> dict[str, object]:
    """``library verify`` and its like: the commands of a command that has commands, by their two words."""
    return {f"{name} {inner}": command for name, sub in subcommands(parser).items() if sub._subparsers is not None
            for inner, command in subcommands(sub).items()}


def command_parsers() -> list[tuple[str, object]]:
    parser = build_parser()
    return [("`pump-programmer`: the application", parser),
            *((f"`pump-programmer {name}`", sub) for name, sub in subcommands(parser).items()),
            *((f"`pump-programmer {name}`", sub) for name, sub in nested_commands(parser).items()),
            ("`pump-emulator`", build_emulator_parser())]


@pytest.mark.parametrize("title, parser", command_parsers(), ids=lambda value: value if isinstance(value, str) else None)
def test_every_option_is_documented_under_its_command_and_nothing_else(title, parser):
    lines = section(CLI_DOC, title)
    assert documented_options(lines) == option_strings(parser)
    body = "\n".join(lines)
    missing = sorted(choice for choice in choices(parser) if choice not in body)
    assert not missing, f"{title}: choices not documented: {missing}"


def test_every_subcommand_has_its_section_and_a_synopsis_line():
    text = CLI_DOC.read_text(encoding="utf-8")
    documented = {m.group(1) for m in re.finditer(r"^### `pump-programmer ([a-z-]+)`$", text, re.MULTILINE)}
    assert documented == set(subcommands(build_parser()))
    nested = {m.group(1) for m in re.finditer(r"^#### `pump-programmer ([a-z-]+ [a-z-]+)`$", text, re.MULTILINE)}
    assert nested == set(nested_commands(build_parser()))
    for name in documented | nested:
        assert re.search(rf"^pump-programmer {name}\b", text, re.MULTILINE), f"no synopsis line for {name}"
    assert "`-h`" in text and "`--help`" in text


def test_version_prints_the_documented_line(capsys):
    code = main(["--version"])
    assert code == 0
    assert capsys.readouterr().out == f"pump-programmer {importlib.metadata.version('itb-programmer')}\n"


# --- exit codes ---------------------------------------------------------------------------------------


def test_the_exit_codes_are_those_of_the_code():
    documented = {int(code) for row in table_rows(section(CLI_DOC, "Exit codes")) if (code := first_code(row[0]))}
    defined = {value for module in (cli_support, commandline) for name, value in vars(module).items()
               if name.startswith("EXIT_")}
    assert documented == defined


# --- check codes --------------------------------------------------------------------------------------


def test_the_check_code_collector_finds_the_known_kinds():
    codes = emitted_check_codes()
    for code in ("DRUG_NOT_IN_LIBRARY", "CHANGE_24H_ABOVE_HARD_LIMIT", "PROBABLE_CONCENTRATION_SLIP",
                 "CONCENTRATION_CHANGED", "REFILL_DISCREPANCY", "CLOCK_DRIFT"):
        assert code in codes


def test_every_check_code_is_documented_with_its_severity():
    documented = {code: row[1] for row in table_rows(section(CLI_DOC, "Check codes"))
                  if (code := first_code(row[0]))}
    assert documented == emitted_check_codes()


# --- JSON keys ------------------------------------------------------------------------------------------


def documented_keys(title: str) -> dict[str, bool]:
    """Key path -> optional (its row says "only when"), from the table under the heading ``title``."""
    rows = table_rows(section(CLI_DOC, title))
    keys = {code: "only when" in row[-1] for row in rows if (code := first_code(row[0]))}
    assert keys, f"no key table under {title!r}"
    return keys


def check_keys(documented: dict[str, bool], data: object, title: str) -> None:
    """The output has exactly the documented keys, level by level, wherever the document lists a level.

    ``a.b`` is key b of the object at a; ``a[].b`` key b of every object in the list a. An object whose
    keys are documented must hold exactly those (optional ones may be absent); one whose keys are not
    documented (``library`` in ``write --json``, say) is not looked into. null is not looked into either.
    """
    children: dict[str, dict[str, bool]] = {}
    for path, optional in documented.items():
        parent, _, name = path.rpartition(".")
        children.setdefault(parent, {})[name] = optional

    def walk(value: object, path: str) -> None:
        if isinstance(value, list) and f"{path}[]" in children:
            for item in value:
                walk_object(item, f"{path}[]")
        elif value is not None and path in children:
            walk_object(value, path)

    def walk_object(value: object, path: str) -> None:
        where = path or "the top level"
        assert isinstance(value, dict), f"{title}: {where} is not an object"
        wanted = children[path]
        extra = sorted(set(value) - set(wanted))
        missing = sorted(name for name, optional in wanted.items() if not optional and name not in value)
        assert not extra, f"{title}: undocumented keys at {where}: {extra}"
        assert not missing, f"{title}: documented keys missing at {where}: {missing}"
        for name in wanted:
            if name in value:
                walk(value[name], f"{path}.{name}" if path else name)

    walk_object(data, "")


def run_json(capsys, *argv: str, expect: int = 0) -> object:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == expect, captured.err
    return json.loads(captured.out)


def test_plan_json_keys_are_the_documented_ones(capsys):
    keys = documented_keys("`plan --json`")
    plain = run_json(capsys, "plan", str(ROOT / "examples/baclofen-simple.json"), "--reservoir-ml", "18", "--json")
    check_keys(keys, plain, "plan --json")
    # refill_by and refill_by_reason are "only when" the command is plan: absent from write's and refill's plan.
    plan_only = {"refill_by", "refill_by_reason"}
    assert set(plain) == {key for key, optional in keys.items()
                          if "." not in key and (not optional or key in plan_only)}
    # With --current, and a warning, so the optional keys and the findings' keys are looked at too.
    full = run_json(capsys, "plan", str(ROOT / "examples/baclofen-simple.json"), "--reservoir-ml", "3",
                    "--current", str(ROOT / "examples/baclofen-flex-day.json"), "--json")
    assert full["warnings"], "expected LOW_ALARM_SOON"
    check_keys(keys, full, "plan --json")
    assert set(full) == {key for key in keys if "." not in key}


def test_library_verify_json_keys_are_the_documented_ones(capsys):
    keys = documented_keys("`library verify --json`")
    verified = run_json(capsys, "library", "verify", "--json")
    check_keys(keys, verified, "library verify --json")
    assert set(verified) == set(keys)


def test_the_pump_commands_json_keys_are_the_documented_ones(capsys, start_emulator, tmp_path, clinic_record):
    url = start_emulator().url
    audit = ["--audit-log", str(tmp_path / "audit.jsonl")]
    # 2 mL: at the low-alarm threshold, so there is a warning to override and an alarm to list.
    check = run_json(capsys, "refill", url, "--withdrawn-ml", "0", "--check", "--json")
    check_keys(documented_keys("`refill --check --json`"), check, "refill --check --json")
    refill = run_json(capsys, "refill", url, "--withdrawn-ml", "0", "--added-ml", "2", "--drug", "baclofen",
                      "--dose-unit", "mcg", "--concentration", "500", "--lot", "DOC-1", "--expiry", "2099-12-31",
                      "--patient", "TEST-0001", "--override-soft-limits", "documentation test", "--yes", "--json",
                      *audit)
    assert refill["outcome"] == "verified" and refill["warnings"]
    check_keys(documented_keys("`refill --json`"), refill, "refill --json")
    assert check["withdrawal"].keys() == refill["withdrawal"].keys()  # "as in refill --json"

    # The pump runs nothing after its first fill: the write needs the patient's previous dose (docs/cli.md).
    write = run_json(capsys, "write", url, str(ROOT / "examples/baclofen-simple.json"), "--patient", "TEST-0001",
                     "--override-soft-limits", "documentation test", "--previous-daily-dose", "150", "--yes",
                     "--json", *audit)
    assert write["outcome"] == "verified" and write["prior_therapy"]["answer_needed"] is True
    check_keys(documented_keys("`write --json`"), write, "write --json")
    check_keys(documented_keys("`plan --json`"), write["plan"], "write --json plan")

    interrogation = run_json(capsys, "interrogate", url, "--json")
    assert interrogation["alarms"] and interrogation["dose_24h_ago"] is not None
    check_keys(documented_keys("`interrogate --json`"), interrogation, "interrogate --json")

    clock = run_json(capsys, "set-clock", url, "--yes", "--json")
    check_keys(documented_keys("`set-clock --json`"), clock, "set-clock --json")

    low_alarm = run_json(capsys, "set-low-alarm", url, "--ml", "3", "--yes", "--json")
    check_keys(documented_keys("`set-low-alarm --json`"), low_alarm, "set-low-alarm --json")

    events = run_json(capsys, "events", url, "--json")
    check_keys(documented_keys("`events --json`"), events, "events --json")

    assert main(["events", url, "--csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    columns = [first_code(row[0]) for row in table_rows(section(CLI_DOC, "`events --csv`"))]
    assert header == ",".join(columns)


def test_the_bolus_commands_json_keys_are_the_documented_ones(capsys, start_emulator, tmp_path, clinic_record):
    url = start_emulator().url  # a new pump: its first fill leaves the tubing empty of drug, so the implant's prime is clean
    change = ["--patient", "TEST-0001", "--yes", "--json", "--audit-log", str(tmp_path / "audit.jsonl")]
    run_json(capsys, "refill", url, "--withdrawn-ml", "0", "--added-ml", "20", "--drug", "baclofen", "--dose-unit",
             "mcg", "--concentration", "500", "--lot", "DOC-1", "--expiry", "2099-12-31", *change)
    run_json(capsys, "write", url, str(ROOT / "examples/baclofen-simple.json"), "--previous-daily-dose", "150", *change)
    keys = documented_keys("`bolus --json`, `prime --json`, `bridge --json`, `demand-dose --json`")
    prime = run_json(capsys, "prime", url, "--catheter-cm", "60", "--reason", "implant", *change)  # no finding
    status = run_json(capsys, "bolus-status", url, "--bolus-id", prime["bolus_id"], "--json")
    check_keys(documented_keys("`bolus-status --json`"), status, "bolus-status --json")
    cancel = run_json(capsys, "cancel-bolus", url, "--yes", "--json", "--audit-log",
                      str(tmp_path / "audit.jsonl"))
    check_keys(documented_keys("`cancel-bolus --json`"), cancel, "cancel-bolus --json")
    bolus = run_json(capsys, "bolus", url, "--dose", "50", "--duration-min", "30", *change)
    bridge = run_json(capsys, "bridge", url, *change, expect=3)  # a bolus runs, and nothing is to be bridged
    demand = run_json(capsys, "demand-dose", url, "--dose", "25", "--duration-min", "10", "--lockout-min", "240",
                      "--max-per-day", "4", *change)
    for name, result in (("prime", prime), ("bolus", bolus), ("bridge", bridge), ("demand", demand)):
        check_keys(keys, result, f"{name} --json")
        assert result["action"] == name and name in result


# --- the first session --------------------------------------------------------------------------------


@pytest.mark.system  # the page is run as one script: an emulator and a dozen pump-programmer processes
@pytest.mark.slow
def test_the_first_session_runs_as_written(tmp_path):
    blocks = sh_blocks(FIRST_SESSION)
    assert len(blocks) >= 8
    script = "\n".join(blocks).replace(".venv/bin/", BIN + "/")
    assert not re.search(r"\bsleep [1-9]", script), "wait for the emulator's first line, not a fixed time"
    port = unused_loopback_port()
    env = dict(os.environ, ITB_DEMO_DIR=str(tmp_path / "session"), PORT=str(port))
    env.pop("ITB_AUDIT_LOG", None)
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=FIRST_SESSION_TIMEOUT_S)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the emulator too, should the script have stopped early
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
    assert process.returncode == 0, f"stdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"
    assert f"listening on socket://127.0.0.1:{port}\n" in out
    assert "refilled and verified: reservoir 20 mL" in out
    assert "CONCENTRATION_DIFFERS_FROM_PUMP" in err and "exit status 3" in out
    assert "written and verified: the pump now runs d90bfded48050775" in out
    assert "Delivery      150 mcg/day, 0.3 mL/day" in out
    assert re.search(r"^150\.0 mcg/day, 20\.0 mL, low alarm \d{4}-\d\d-\d\dT", out, re.MULTILINE)
    assert "index,time,kind,detail\n" in out
    assert re.search(r"^\d+,[0-9T:-]+,program_activated,", out, re.MULTILINE)
    assert "Current       150 mcg/day (+4.0 %)" in out
    assert re.search(r" write outcome verified A\. Clinician$", out, re.MULTILINE)
    assert (tmp_path / "session" / "pump.json").exists()
