"""``pump-programmer plan``: the table, the ``--json`` contract, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.console_scripts import script
from programmer.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SIMPLE = ROOT / "examples/baclofen-simple.json"
FLEX_DAY = ROOT / "examples/baclofen-flex-day.json"
WEEK = ROOT / "examples/baclofen-flex-week.json"
MORPHINE = ROOT / "examples/morphine-simple.json"
START = "2026-11-28T09:00"

# docs/cli.md: the keys `plan --json` prints (the first set since the first release, then extensions).
DESIGN_KEYS = {"daily_dose", "dose_unit", "rate_ml_per_day", "days_to_low_alarm", "days_to_empty",
               "low_reservoir_alarm_at", "empty_at", "warnings", "errors"}
README_KEYS = DESIGN_KEYS | {"daily_doses", "timeline", "library"}


def call_main(argv: list[str]) -> int:
    """main() returns the exit code; argparse's usage errors leave through SystemExit with the code."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def run(capsys, *args) -> tuple[int, str, str]:
    code = call_main(["plan", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *args) -> tuple[int, dict]:
    code, out, err = run(capsys, *args, "--json")
    assert err == ""
    return code, json.loads(out)


def write(tmp_path: Path, data: object, name="program.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def program(concentration=500, daily_dose=150, name="baclofen", unit="mcg", therapy=None) -> dict:
    return {"format": "itb-program/1",
            "drug": {"name": name, "dose_unit": unit, "concentration_per_ml": concentration},
            "therapy": therapy or {"mode": "simple_continuous", "daily_dose": daily_dose}}


# --- the hand case: 500 mcg/mL at 150 mcg/day, 18 mL, 2 mL alarm ---------------------------------------


def test_json_has_every_contract_key_with_hand_values(capsys):
    code, data = run_json(capsys, SIMPLE, "--reservoir-ml", 18, "--start", START)
    assert code == 0
    assert README_KEYS <= set(data)
    assert data["daily_dose"] == pytest.approx(150, rel=1e-12)
    assert data["dose_unit"] == "mcg"
    assert data["daily_doses"] == pytest.approx([150], rel=1e-12)
    # 150 / 500 = 0.3 mL/day; (18 - 2) / 0.3 = 53.333... days; 18 / 0.3 = 60 days.
    assert data["rate_ml_per_day"] == pytest.approx(0.3, rel=1e-12)
    assert data["days_to_low_alarm"] == pytest.approx(160 / 3, rel=1e-12)
    assert data["days_to_empty"] == pytest.approx(60, rel=1e-12)
    # 2026-11-28 09:00 + 53 d 8 h = 2027-01-20 17:00; + 60 d = 2027-01-27 09:00.
    assert data["low_reservoir_alarm_at"] == "2027-01-20T17:00:00"
    assert data["empty_at"] == "2027-01-27T09:00:00"
    assert datetime.fromisoformat(data["low_reservoir_alarm_at"]) == datetime(2027, 1, 20, 17, 0)
    assert data["warnings"] == [] and data["errors"] == []
    # One step, all day, at 150 / 24 = 6.25 mcg/h = 0.0125 mL/h.
    [step] = data["timeline"]
    assert (step["start_min"], step["end_min"]) == (0, 1440)
    assert step["dose_per_hour"] == pytest.approx(6.25) and step["ml_per_hour"] == pytest.approx(0.0125)
    assert set(data["library"]) == {"name", "version", "sha256", "approved", "signer", "key_id"}
    assert data["library"]["name"] == "ITB default drug library"
    # The offline plan picks the smallest pump that holds 18 mL.
    assert data["reservoir"]["pump_model"] == "ITB-20"
    assert data["reservoir"]["volume_ml"] == 18 and data["reservoir"]["low_alarm_ml"] == 2


def test_json_with_time_zone_and_other_alarm(capsys):
    code, data = run_json(capsys, SIMPLE, "--reservoir-ml", 18, "--low-alarm-ml", 4,
                          "--start", "2026-11-28T09:00:00+01:00")
    assert code == 0
    # (18 - 4) / 0.3 = 46.666... days = 46 d 16 h: 2026-11-28 09:00 + 46 d = 2027-01-13 09:00, + 16 h = 01:00
    # on 2027-01-14.
    assert data["days_to_low_alarm"] == pytest.approx(14 / 0.3, rel=1e-12)
    assert data["low_reservoir_alarm_at"] == "2027-01-14T01:00:00+01:00"
    assert data["empty_at"] == "2027-01-27T09:00:00+01:00"


def test_json_flex_week(capsys):
    code, data = run_json(capsys, WEEK, "--reservoir-ml", 30, "--start", "2026-11-30T00:00")
    assert code == 0
    # Days 1-5: 12*7 + 18*12 + 14*5 = 370 mcg; days 6-7: 12*9 + 15*15 = 333; mean 2516 / 7.
    assert data["daily_doses"] == pytest.approx([370] * 5 + [333] * 2)
    assert data["daily_dose"] == pytest.approx(2516 / 7)
    assert data["rate_ml_per_day"] == pytest.approx(2.516 / 7)
    assert len(data["timeline"]) == 19
    # 30 mL holds more than 20 mL: the ITB-40.
    assert data["reservoir"]["pump_model"] == "ITB-40"


def test_json_stopped_never_empties(capsys, tmp_path):
    path = write(tmp_path, program(therapy={"mode": "stopped"}))
    code, data = run_json(capsys, path, "--reservoir-ml", 10, "--start", START)
    assert code == 0
    assert data["daily_dose"] == 0 and data["rate_ml_per_day"] == 0
    assert data["days_to_low_alarm"] is None and data["days_to_empty"] is None
    assert data["low_reservoir_alarm_at"] is None and data["empty_at"] is None


def test_json_morphine_in_mg(capsys):
    code, data = run_json(capsys, MORPHINE, "--reservoir-ml", 20, "--start", START)
    assert code == 0
    assert data["dose_unit"] == "mg"
    # 2.5 mg/day / 10 mg/mL = 0.25 mL/day; (20 - 2) / 0.25 = 72 days.
    assert data["rate_ml_per_day"] == pytest.approx(0.25)
    assert data["days_to_low_alarm"] == pytest.approx(72)


def test_json_findings_have_code_message_field(capsys):
    # 3.8 mL: (3.8 - 2) / 0.3 = 6 days to the alarm -> LOW_ALARM_SOON (a warning, exit 0).
    code, data = run_json(capsys, SIMPLE, "--reservoir-ml", 3.8, "--start", START)
    assert code == 0
    assert [w["code"] for w in data["warnings"]] == ["LOW_ALARM_SOON"]
    for finding in data["warnings"]:
        assert {"code", "message", "field"} <= set(finding)
        assert finding["message"]


def test_json_with_current_program(capsys, tmp_path):
    current = write(tmp_path, program(daily_dose=100), "current.json")
    code, data = run_json(capsys, SIMPLE, "--reservoir-ml", 18, "--start", START, "--current", current)
    assert code == 0
    # 100 -> 150 is +50 %: beyond the 20 % soft step but not beyond the 50 % hard step.
    assert [w["code"] for w in data["warnings"]] == ["CHANGE_ABOVE_SOFT_LIMIT"]
    assert data["errors"] == []


# --- the table ------------------------------------------------------------------------------------------


def test_table_mentions_units(capsys):
    code, out, err = run(capsys, FLEX_DAY, "--reservoir-ml", 18, "--start", START)
    assert code == 0 and err == ""
    for unit in ("mcg/mL", "mcg/day", "mL/day", "mcg/h", "mL/h", " mL", "days"):
        assert unit in out, unit
    # 156 mcg/day and 0.312 mL/day (computed by hand in test_planner.py).
    assert "156 mcg/day" in out and "0.312 mL/day" in out
    # The alarm at 2027-01-18 14:40 (test_planner.py's hand case).
    assert "2027-01-18T14:40:00" in out
    assert "ITB default drug library" in out


def test_table_morphine_shows_mg(capsys):
    code, out, _ = run(capsys, MORPHINE, "--reservoir-ml", 20, "--start", START)
    assert code == 0
    assert "mg/mL" in out and "mg/day" in out and "mcg" not in out


def test_table_shows_errors(capsys, tmp_path):
    path = write(tmp_path, program(concentration=2000, daily_dose=2100))
    code, out, _ = run(capsys, path, "--reservoir-ml", 18, "--start", START)
    assert code == 3
    assert "DAILY_DOSE_ABOVE_HARD_MAX" in out


# --- exit codes -----------------------------------------------------------------------------------------


def test_exit_3_for_an_error_finding(capsys, tmp_path):
    path = write(tmp_path, program(concentration=2000, daily_dose=2100))
    code, data = run_json(capsys, path, "--reservoir-ml", 18, "--start", START)
    assert code == 3
    assert [e["code"] for e in data["errors"]] == ["DAILY_DOSE_ABOVE_HARD_MAX"]
    assert data["errors"][0]["severity"] == "error"


def test_exit_3_for_a_dose_finer_than_the_library_step(capsys, tmp_path):
    # Baclofen's daily dose is given in steps of 0.1 mcg/day: 187.52 has two decimal places, 187.5 one.
    code, data = run_json(capsys, write(tmp_path, program(daily_dose=187.52)), "--reservoir-ml", 18, "--start", START)
    assert code == 3
    assert data["errors"] == [{"code": "DOSE_FINER_THAN_ENTRY_STEP", "severity": "error", "field": "therapy.daily_dose",
                               "message": "daily dose 187.52 mcg/day is finer than the 0.1 mcg/day this library allows "
                                          "for baclofen: type it in steps of 0.1 mcg/day"}]
    code, out, _ = run(capsys, write(tmp_path, program(daily_dose=187.52)), "--reservoir-ml", 18, "--start", START)
    assert code == 3 and "DOSE_FINER_THAN_ENTRY_STEP" in out
    code, data = run_json(capsys, write(tmp_path, program(daily_dose=187.5)), "--reservoir-ml", 18, "--start", START)
    assert code == 0 and data["errors"] == []


def test_exit_3_for_a_slip_against_current(capsys, tmp_path):
    current = write(tmp_path, program(daily_dose=15), "current.json")
    # 15 -> 150 is 10x.
    code, data = run_json(capsys, SIMPLE, "--reservoir-ml", 18, "--current", current, "--start", START)
    assert code == 3
    assert "PROBABLE_UNIT_OR_DECIMAL_SLIP" in [e["code"] for e in data["errors"]]


def test_exit_0_with_warnings_only(capsys, tmp_path):
    path = write(tmp_path, program(concentration=2000, daily_dose=1100))
    code, data = run_json(capsys, path, "--reservoir-ml", 18, "--start", START)
    assert code == 0
    assert [w["code"] for w in data["warnings"]] == ["DAILY_DOSE_ABOVE_SOFT_MAX"]


def assert_one_line_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])


INVALID = {
    "missing --reservoir-ml": ([SIMPLE], ["--reservoir-ml"]),
    "reservoir above the largest capacity": ([SIMPLE, "--reservoir-ml", 50], ["--reservoir-ml", "50", "40"]),
    "underscore digits": ([SIMPLE, "--reservoir-ml", "1_8"], ["--reservoir-ml", "1_8"]),
    "other script's digits": ([SIMPLE, "--reservoir-ml", "\u0661\u0668"], ["--reservoir-ml"]),
    "start near the end of time": ([SIMPLE, "--reservoir-ml", 3, "--start", "9999-12-31T23:59"], ["--start", "9999"]),
    "NaN reservoir": ([SIMPLE, "--reservoir-ml", "nan"], ["--reservoir-ml", "nan"]),
    "infinite alarm": ([SIMPLE, "--reservoir-ml", 18, "--low-alarm-ml", "inf"], ["--low-alarm-ml", "inf"]),
    "text reservoir": ([SIMPLE, "--reservoir-ml", "lots"], ["--reservoir-ml", "lots"]),
    "negative reservoir": ([SIMPLE, "--reservoir-ml", -1], ["--reservoir-ml", "-1"]),
    "alarm above capacity": ([SIMPLE, "--reservoir-ml", 18, "--low-alarm-ml", 25], ["--low-alarm-ml", "25", "20"]),
    "unknown pump model": ([SIMPLE, "--reservoir-ml", 18, "--pump-model", "SynchroMed"],
                           ["--pump-model", "SynchroMed", "ITB-20"]),
    "capacity above the model's": ([SIMPLE, "--reservoir-ml", 18, "--pump-model", "ITB-20", "--capacity-ml", 30],
                                   ["--capacity-ml", "30", "20"]),
    "bad --start": ([SIMPLE, "--reservoir-ml", 18, "--start", "next tuesday"], ["--start", "next tuesday"]),
    "missing program file": (["/nonexistent/program.json", "--reservoir-ml", 18], ["/nonexistent/program.json"]),
    "missing --current file": ([SIMPLE, "--reservoir-ml", 18, "--current", "/nonexistent/current.json"],
                               ["/nonexistent/current.json"]),
    "missing --library file": ([SIMPLE, "--reservoir-ml", 18, "--library", "/nonexistent/lib.json"],
                               ["/nonexistent/lib.json"]),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_input_is_exit_2_with_one_line(capsys, name):
    args, names = INVALID[name]
    code, out, err = run(capsys, *args)
    assert_one_line_error(code, out, err, *names)


@pytest.mark.parametrize("data, field", [
    (program(daily_dose="150"), "therapy.daily_dose"),
    (program(concentration=0), "drug.concentration_per_ml"),
    (dict(program(), extra=1), "extra"),
    (program(therapy={"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 5},
                                                {"start": "7:00", "dose_per_hour": 6}]}),
     "therapy.steps[1].start"),
])
def test_bad_program_file_is_exit_2_naming_the_field(capsys, tmp_path, data, field):
    path = write(tmp_path, data)
    code, out, err = run(capsys, path, "--reservoir-ml", 18)
    assert_one_line_error(code, out, err, field, str(path))


@pytest.mark.parametrize("text", ["{not json", '{"format": NaN}', "[]"])
def test_unparseable_program_file_is_exit_2(capsys, tmp_path, text):
    path = tmp_path / "program.json"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, path, "--reservoir-ml", 18)
    assert_one_line_error(code, out, err, str(path))


def test_multi_problem_file_is_still_one_line(capsys, tmp_path):
    data = program()
    data["drug"] = {"name": "baclofen", "dose_unit": "ug", "concentration_per_ml": -5, "x": 1}
    code, out, err = run(capsys, write(tmp_path, data), "--reservoir-ml", 18)
    assert_one_line_error(code, out, err, "drug.dose_unit", "drug.concentration_per_ml", "drug.x")


def test_reservoir_above_given_capacity_names_the_option(capsys):
    code, out, err = run(capsys, SIMPLE, "--reservoir-ml", 25, "--capacity-ml", 20)
    assert_one_line_error(code, out, err, "--reservoir-ml", "25", "20")


@pytest.mark.parametrize("argv, demo, insecure, db", [([], False, False, None), (["--demo"], True, False, None),
                                                     (["--allow-insecure-link"], False, True, None),
                                                     (["--db", "sqlite:///c.db"], False, False, "sqlite:///c.db")])
def test_no_subcommand_starts_the_gui(monkeypatch, argv, demo, insecure, db):
    # The GUI itself is tested in test_ui_*; here only that the bare command hands over to it, with its options.
    import ui.app

    calls = []
    monkeypatch.setattr(ui.app, "run", lambda demo, allow_insecure_link, db_url: calls.append(
        (demo, allow_insecure_link, db_url)) or 0)
    assert call_main(argv) == 0
    assert calls == [(demo, insecure, db)]


# --- the installed console script ----------------------------------------------------------------------


def test_installed_console_script():
    exe = script("pump-programmer")
    done = subprocess.run([exe, "plan", str(SIMPLE), "--reservoir-ml", "18", "--start", START, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["rate_ml_per_day"] == pytest.approx(0.3)
    assert data["low_reservoir_alarm_at"] == "2027-01-20T17:00:00"
    bad = subprocess.run([exe, "plan", str(SIMPLE), "--reservoir-ml", "nan"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "--reservoir-ml" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_module_entry_point_matches_console_script():
    done = subprocess.run([sys.executable, "-m", "programmer.cli", "schema"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0
    assert json.loads(done.stdout)["properties"]["therapy"]["discriminator"]["propertyName"] == "mode"


def test_an_unforeseen_failure_is_one_line_and_exit_1(monkeypatch, capsys):
    # A bug deep inside (here: the library loader blowing up) must not show a traceback at the bedside.
    import programmer.library  # plan imports its loader when it runs (start-up: tests/cli/test_cli_startup.py)

    def broken(path=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(programmer.library, "load_library", broken)
    assert call_main(["plan", str(SIMPLE), "--reservoir-ml", "18"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "unexpected failure" in err and "disk on fire" in err and "Traceback" not in err


def test_times_are_rounded_to_the_second_not_truncated(capsys):
    # Start 1 ms before 09:00; the alarm comes 16 mL / 0.3 mL/day = 53 d 8 h later, 1 ms before 17:00:
    # shown as 17:00:00, not 16:59:59.
    code, data = run_json(capsys, SIMPLE, "--reservoir-ml", 18, "--start", "2026-11-28T08:59:59.999")
    assert code == 0
    assert data["low_reservoir_alarm_at"] == "2027-01-20T17:00:00"
    assert data["start"] == "2026-11-28T09:00:00"
