"""No silent first program (issue 10), end to end: ``pump-programmer write`` against the real emulator on a pump
that runs nothing to compare a new program with (after a fill, a stop), and ziconotide's titration.

Each test is one failure mode a clinical-safety reviewer found: the write was "written and verified" with no
word. Every figure in an assertion is worked out by hand beside it. A pump's clock is moved on with the
emulator's SERVICE ``advance`` (the pump runs those hours at once) and then set back to this computer's time
with ``set-clock``, so the pump logged the hours as passed (its event times move with the clock set) and no
``CLOCK_DRIFT`` warning comes with them. The pure checks are in tests/domain/test_first_programs.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from commandline import EXIT_INVALID
from programmer.audit import read_audit_log
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, event_count, hours_pass, interrogate, program_file, run, syringe

STOPPED_CHECKSUM = "56a055acfc58fead"
"""Baclofen 500 mcg/mL, stopped: what a pump runs after its first fill with it (docs/first-session.md)."""


def fill(capsys, url: str, drug: str = "baclofen", concentration: float = 500) -> None:
    """The first fill of a factory-new pump, 20 mL: it then runs ``stopped``."""
    code, out, _ = run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20,
                       *syringe(drug, concentration=concentration), *DOCTOR, "--yes", "--json")
    assert code == EXIT_OK and json.loads(out)["active"]["therapy"] == {"mode": "stopped"}


def flex_40_per_hour(tmp_path: Path) -> Path:
    """The reviewer's program: one flex step of 40 mcg/h all day, meant as 40 mcg/day: 40 x 24 = 960 mcg/day."""
    path = tmp_path / "flex-40-per-hour.json"
    path.write_text(json.dumps({
        "format": "itb-program/1",
        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500},
        "therapy": {"mode": "flex", "cycle_days": 1, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 40}]},
    }))
    return path


def stopped_file(tmp_path: Path, name: str = "baclofen", concentration: float = 500) -> Path:
    path = tmp_path / f"{name}-stopped.json"
    path.write_text(json.dumps({"format": "itb-program/1", "therapy": {"mode": "stopped"},
                                "drug": {"name": name, "dose_unit": "mcg", "concentration_per_ml": concentration}}))
    return path


def write(capsys, url: str, program: Path, *options) -> tuple[int, dict, str]:
    """``write --json``: exit code, the JSON object, standard error."""
    code, out, err = run(capsys, "write", url, program, *DOCTOR, "--yes", "--json", *options)
    return code, json.loads(out), err


def nothing_sent(capsys, url: str, checksum: str, events: int) -> None:
    """The pump still runs ``checksum`` and logged nothing since ``events`` events."""
    assert interrogate(capsys, url)["program"]["checksum"] == checksum
    assert event_count(capsys, url) == events


# --- the 960 mcg/day first program after a fill ----------------------------------------------------------------


def test_a_960_first_program_without_an_answer_exits_2_naming_both_options_and_sends_nothing(
        capsys, start_emulator, tmp_path, audit_log):
    url = start_emulator().url
    fill(capsys, url)
    events = event_count(capsys, url)

    code, result, err = write(capsys, url, flex_40_per_hour(tmp_path))
    assert code == EXIT_INVALID
    assert err.startswith("pump-programmer: invalid input: NO_PROGRAM_TO_COMPARE: the pump runs no program to "
                          "compare the new daily dose 960 mcg/day with (the pump was filled while it ran nothing")
    assert "--previous-daily-dose D" in err and "--new-to-itb" in err and len(err.splitlines()) == 1
    assert result["outcome"] == "refused" and [e["code"] for e in result["errors"]] == ["NO_PROGRAM_TO_COMPARE"]
    assert result["prior_therapy"]["answer_needed"] is True and result["prior_therapy"]["compared_with"] == []
    nothing_sent(capsys, url, STOPPED_CHECKSUM, events)
    record = read_audit_log(audit_log)[-1]  # the refusal is audited, with the question left unanswered
    assert (record["action"], record["event"], record["outcome"]) == ("write", "outcome", "refused")
    assert [f["code"] for f in record["findings"]] == ["NO_PROGRAM_TO_COMPARE"]
    assert record["prior_therapy"] | {"why": None} == {
        "answer_needed": True, "why": None, "previous_daily_dose": None, "new_to_itb": False, "dose_unit": "mcg",
        "compared_with": []}
    assert "filled while it ran nothing" in record["prior_therapy"]["why"]


def test_a_960_first_program_for_a_patient_new_to_itb_is_refused_by_the_starting_dose(
        capsys, start_emulator, tmp_path, audit_log):
    url = start_emulator().url
    fill(capsys, url)
    events = event_count(capsys, url)
    # 960 mcg/day against baclofen's hard starting dose of 200 (twice the largest screening bolus, 100 mcg).
    code, result, err = write(capsys, url, flex_40_per_hour(tmp_path), "--new-to-itb",
                              "--override-soft-limits", "warnings only: errors cannot be overridden")
    assert code == EXIT_REFUSED
    assert [e["code"] for e in result["errors"]] == ["STARTING_DOSE_ABOVE_HARD_MAX"]
    assert ("refused: STARTING_DOSE_ABOVE_HARD_MAX: daily dose 960 mcg/day is above the hard maximum starting dose "
            "200 mcg/day for baclofen (a patient new to intrathecal therapy)") in err
    assert result["prior_therapy"]["new_to_itb"] is True
    nothing_sent(capsys, url, STOPPED_CHECKSUM, events)
    assert read_audit_log(audit_log)[-1]["prior_therapy"]["new_to_itb"] is True


def test_a_960_first_program_against_a_previous_40_is_refused_as_a_24x_slip(capsys, start_emulator, tmp_path):
    url = start_emulator().url
    fill(capsys, url)
    events = event_count(capsys, url)
    # 960 / 40 = 24: a dose per hour entered as a dose per day; (960 / 40 - 1) x 100 = +2300 %.
    code, result, err = write(capsys, url, flex_40_per_hour(tmp_path), "--previous-daily-dose", 40)
    assert code == EXIT_REFUSED
    assert [e["code"] for e in result["errors"]] == ["PROBABLE_UNIT_OR_DECIMAL_SLIP", "CHANGE_ABOVE_HARD_LIMIT"]
    assert ("refused: PROBABLE_UNIT_OR_DECIMAL_SLIP: daily dose 960 mcg/day is 24x the patient's previous daily "
            "dose, 40 mcg/day: probably a dose per hour entered as a dose per day") in err
    assert "+2300.0 %" in result["errors"][1]["message"]
    assert result["prior_therapy"]["compared_with"] == ["the patient's previous daily dose, 40 mcg/day"]
    nothing_sent(capsys, url, STOPPED_CHECKSUM, events)

    # What was meant, 40 mcg/day, is written: against 40 it is no change.
    code, result, _ = write(capsys, url, program_file(tmp_path, 40), "--previous-daily-dose", 40)
    assert (code, result["outcome"], result["warnings"], result["errors"]) == (EXIT_OK, "verified", [], [])


def test_both_answers_exit_2_before_the_pump_is_contacted(capsys, start_emulator, tmp_path, audit_log):
    url = start_emulator().url
    fill(capsys, url)
    events, records = event_count(capsys, url), len(read_audit_log(audit_log))
    code, out, err = run(capsys, "write", url, program_file(tmp_path, 40), *DOCTOR, "--yes",
                         "--previous-daily-dose", 40, "--new-to-itb")
    assert (code, out) == (EXIT_INVALID, "")
    assert err == ("pump-programmer: invalid input: --previous-daily-dose: give either the daily dose the patient had "
                   "before or that the patient is new to intrathecal therapy, not both (--previous-daily-dose D or "
                   "--new-to-itb)\n")
    assert len(read_audit_log(audit_log)) == records  # nothing was attempted
    nothing_sent(capsys, url, STOPPED_CHECKSUM, events)


# --- a restart after 25 h stopped ----------------------------------------------------------------------------


def test_a_restart_after_25_hours_stopped_needs_the_answer_and_follows_the_restart_rule(
        capsys, start_emulator, tmp_path):
    url = start_emulator("--service").url
    fill(capsys, url)
    assert write(capsys, url, program_file(tmp_path, 200), "--previous-daily-dose", 200)[0] == EXIT_OK
    code, _, _ = write(capsys, url, stopped_file(tmp_path), "--override-soft-limits", "catheter revision",
                       "--clinical-context", "pump_explant")
    assert code == EXIT_OK  # THERAPY_STOPPED, a warning, overridden, with its clinical context

    # Within baclofen's 24 h restart window the last dose, 200, is the comparison: 900 is +350 %; so it is against
    # the 200 that the event log shows ran within the last 24 h.
    code, result, err = write(capsys, url, program_file(tmp_path, 900))
    assert code == EXIT_REFUSED
    assert [e["code"] for e in result["errors"]] == ["CHANGE_ABOVE_HARD_LIMIT", "CHANGE_24H_ABOVE_HARD_LIMIT"]
    assert "daily dose changes by +350.0 % from the last dose on the pump" in err
    assert result["prior_therapy"]["answer_needed"] is False

    hours_pass(capsys, url, 25)
    stopped = interrogate(capsys, url)["program"]["checksum"]
    events = event_count(capsys, url)
    code, result, err = write(capsys, url, program_file(tmp_path, 900))
    assert code == EXIT_INVALID and "NO_PROGRAM_TO_COMPARE" in err
    assert ("delivery of 200 mcg/day stopped at" in result["prior_therapy"]["why"]
            and "longer than the 24 h restart window for baclofen" in result["prior_therapy"]["why"])
    nothing_sent(capsys, url, stopped, events)

    # With the chart's 200: 900 / 200 = 450 % of the last dose (hard limit 100 %), and +350 % as a change.
    code, result, err = write(capsys, url, program_file(tmp_path, 900), "--previous-daily-dose", 200)
    assert code == EXIT_REFUSED
    assert [e["code"] for e in result["errors"]] == ["CHANGE_ABOVE_HARD_LIMIT", "RESTART_ABOVE_HARD_LIMIT"]
    restart = result["errors"][1]["message"]
    assert restart.startswith("daily dose 900 mcg/day is 450.0 % of the last dose on the pump, 200 mcg/day, "
                              "restarting after 1 day 1 h stopped")
    assert restart.endswith("above the hard limit of 100 % for baclofen")
    nothing_sent(capsys, url, stopped, events)

    # 100 mcg/day is 50 % of 200 (at the soft limit) and -50 % as a change (soft: the hard limit is 50 %).
    code, result, _ = write(capsys, url, program_file(tmp_path, 100), "--previous-daily-dose", 200)
    assert code == EXIT_REFUSED and result["outcome"] == "needs_override"
    assert [w["code"] for w in result["warnings"]] == ["CHANGE_ABOVE_SOFT_LIMIT"]
    code, result, _ = write(capsys, url, program_file(tmp_path, 100), "--previous-daily-dose", 200,
                            "--override-soft-limits", "restarting at half the last dose after a day off")
    assert (code, result["active"]["therapy"]) == (EXIT_OK, {"mode": "simple_continuous", "daily_dose": 100.0})


# --- ziconotide: a first program at 19.2, a step of 9.6, an increase too soon ---------------------------------


def test_a_first_ziconotide_program_at_19_2_is_refused(capsys, start_emulator, tmp_path):
    url = start_emulator().url
    fill(capsys, url, "ziconotide", 25)
    stopped = interrogate(capsys, url)["program"]["checksum"]
    events = event_count(capsys, url)
    program = program_file(tmp_path, 19.2, 25, "ziconotide")
    code, _, err = write(capsys, url, program)
    assert code == EXIT_INVALID and "NO_PROGRAM_TO_COMPARE" in err and "new daily dose 19.2 mcg/day" in err
    # The label starts at no more than 2.4 mcg/day: 19.2 is 8 times that.
    code, result, err = write(capsys, url, program, "--new-to-itb")
    assert code == EXIT_REFUSED and [e["code"] for e in result["errors"]] == ["STARTING_DOSE_ABOVE_HARD_MAX"]
    assert ("daily dose 19.2 mcg/day is above the hard maximum starting dose 2.4 mcg/day for ziconotide (a patient "
            "new to intrathecal therapy)") in err
    # 19.2 is also in the new soft band above 16.8 (one label step below the maximum): a warning on top.
    assert [w["code"] for w in result["warnings"]] == ["DAILY_DOSE_ABOVE_SOFT_MAX"]
    nothing_sent(capsys, url, stopped, events)


def test_a_ziconotide_step_of_9_6_and_an_increase_within_24_hours_are_refused(capsys, start_emulator, tmp_path):
    url = start_emulator("--service").url
    fill(capsys, url, "ziconotide", 25)
    # A replacement pump: the old one ran 9.6 mcg/day, so 9.6 is no change.
    assert write(capsys, url, program_file(tmp_path, 9.6, 25, "ziconotide"), "--previous-daily-dose", 9.6)[0] == 0
    hours_pass(capsys, url, 25)  # the increase 0 -> 9.6 is now 25 h old

    # 9.6 -> 19.2 is +100 %, at the soft change limit, and silent before: 9.6 mcg/day in one step, 4 x 2.4.
    running = interrogate(capsys, url)["program"]["checksum"]
    events = event_count(capsys, url)
    code, result, err = write(capsys, url, program_file(tmp_path, 19.2, 25, "ziconotide"),
                              "--override-soft-limits", "warnings only")
    assert code == EXIT_REFUSED and [e["code"] for e in result["errors"]] == ["INCREASE_ABOVE_STEP_LIMIT"]
    assert ("daily dose rises by 9.6 mcg/day (9.6 -> 19.2 mcg/day, against the current program), more than the "
            "2.4 mcg/day one titration step may add for ziconotide") in err
    nothing_sent(capsys, url, running, events)

    # One step, +2.4 (9.6 -> 12), is written ...
    code, result, _ = write(capsys, url, program_file(tmp_path, 12, 25, "ziconotide"))
    assert (code, result["outcome"], result["errors"], result["warnings"]) == (EXIT_OK, "verified", [], [])
    # ... and the next, 12 -> 14.4, minutes later, is too soon: at least 24 h between increases.
    running, events = result["active"]["checksum"], event_count(capsys, url)
    code, result, err = write(capsys, url, program_file(tmp_path, 14.4, 25, "ziconotide"))
    assert code == EXIT_REFUSED and [e["code"] for e in result["errors"]] == ["INCREASE_TOO_SOON"]
    assert "daily dose rises from 12 to 14.4 mcg/day" in err and "(9.6 -> 12 mcg/day at" in err
    assert "ziconotide needs at least 24 h between increases" in err
    nothing_sent(capsys, url, running, events)
