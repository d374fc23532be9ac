"""Overrides that mean something (issue 10), end to end: ``pump-programmer write`` against the real emulator.

The reviewer's findings: stopping therapy went through with the override reason "x", any non-blank reason
(".") was accepted, and a -60 % drop was refused with no way to say why it was right. Now a reason must carry
words (programmer/overrides.py) and a stop or a drop beyond baclofen's hard change limit (50 %) needs the
clinical context as well. Each pump here holds baclofen 500 mcg/mL and runs 150 mcg/day.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commandline import EXIT_INVALID
from programmer.audit import read_audit_log
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, SYRINGE, event_count, interrogate, program_file, run

STOP_WHY = "delivery stops (now 150 mcg/day)"
DROP_WHY = "daily dose changes by -60.0 % (150 -> 60 mcg/day)"
"""150 -> 60 mcg/day is 60 / 150 - 1 = -60 %, beyond baclofen's hard change limit of 50 %."""


@pytest.fixture
def running(capsys, start_emulator, tmp_path) -> str:
    """A pump filled with 20 mL of baclofen 500 mcg/mL running 150 mcg/day (the chart's dose before)."""
    url = start_emulator().url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, program_file(tmp_path, 150), *DOCTOR, "--previous-daily-dose", 150,
               "--yes")[0] == EXIT_OK
    return url


def stopped(tmp_path: Path) -> Path:
    path = tmp_path / "baclofen-stopped.json"
    path.write_text(json.dumps({"format": "itb-program/1", "therapy": {"mode": "stopped"},
                                "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}}))
    return path


def write(capsys, url: str, program: Path, *options) -> tuple[int, dict | None, str]:
    """``write --json``: exit code, the JSON object (None when the command ended before the pump), stderr."""
    code, out, err = run(capsys, "write", url, program, *DOCTOR, "--yes", "--json", *options)
    return code, (json.loads(out) if out else None), err


def unchanged(capsys, url: str, events: int) -> None:
    """The pump still runs 150 mcg/day and logged nothing since ``events`` events."""
    assert interrogate(capsys, url)["therapy"] == {"mode": "simple_continuous", "daily_dose": 150.0}
    assert event_count(capsys, url) == events


@pytest.mark.parametrize("reason, lacks", [
    ("x", "it has 1 character, 0 words of two or more letters, 1 different letter"),
    (".", "it has 1 character, 0 words of two or more letters, 0 different letters"),
    ("...........", "it has 0 words of two or more letters, 0 different letters"),
])
def test_a_stop_with_a_reason_that_says_nothing_exits_2_and_the_pump_keeps_delivering(
        capsys, running, tmp_path, audit_log, reason, lacks):
    events, records = event_count(capsys, running), len(read_audit_log(audit_log))
    code, result, err = write(capsys, running, stopped(tmp_path), "--clinical-context", "pump_explant",
                              "--override-soft-limits", reason)
    assert (code, result) == (EXIT_INVALID, None)
    assert err == (f"pump-programmer: invalid input: --override-soft-limits: {reason!r} is not a reason: {lacks}; a "
                   "reason needs at least 10 characters, at least 2 words of two or more letters and at least 4 "
                   "different letters\n")
    assert len(read_audit_log(audit_log)) == records  # checked before the pump was contacted
    unchanged(capsys, running, events)


def test_a_stop_without_a_clinical_context_is_refused_whatever_the_reason(capsys, running, tmp_path, audit_log):
    events = event_count(capsys, running)
    code, result, err = write(capsys, running, stopped(tmp_path), "--override-soft-limits", "planned taper at home")
    assert code == EXIT_REFUSED and result["outcome"] == "refused"
    assert [e["code"] for e in result["errors"]] == ["CLINICAL_CONTEXT_REQUIRED"]
    assert [w["code"] for w in result["warnings"]] == ["THERAPY_STOPPED"]
    assert result["clinical_context"] == {"needed": True, "why": STOP_WHY, "key": None, "label": None}
    assert err.startswith(f"pump-programmer: refused: CLINICAL_CONTEXT_REQUIRED: {STOP_WHY}: a stop or a drop beyond "
                          "the hard change limit is refused unless the clinical context is stated")
    assert "--clinical-context KEY, one of weaning_plan, pump_explant, intolerance, suspected_overdose, " \
           "end_of_life" in err and len(err.splitlines()) == 1
    assert read_audit_log(audit_log)[-1]["clinical_context"]["key"] is None
    code, out, _ = run(capsys, "write", running, stopped(tmp_path), *DOCTOR, "--yes")  # the text report says it too
    assert code == EXIT_REFUSED
    assert f"\nContext       {STOP_WHY}; the clinical context: none stated\n" in out
    unchanged(capsys, running, events)


def test_an_unknown_clinical_context_exits_2_naming_the_list(capsys, running, tmp_path):
    events = event_count(capsys, running)
    code, _, err = write(capsys, running, stopped(tmp_path), "--clinical-context", "other",
                         "--override-soft-limits", "planned taper at home")
    assert code == EXIT_INVALID
    assert err == ("pump-programmer: invalid input: --clinical-context: 'other' is not a clinical context; it is one "
                   "of: weaning_plan, pump_explant, intolerance, suspected_overdose, end_of_life\n")
    unchanged(capsys, running, events)


def test_a_stop_with_a_clinical_context_and_a_real_reason_is_written_and_audited(capsys, running, tmp_path,
                                                                                 audit_log):
    reason = "pump pocket infection, explant booked tomorrow"
    code, result, _ = write(capsys, running, stopped(tmp_path), "--clinical-context", "pump_explant")
    assert (code, result["outcome"]) == (EXIT_REFUSED, "needs_override")  # the context alone is not the reason

    code, result, _ = write(capsys, running, stopped(tmp_path), "--clinical-context", "pump_explant",
                            "--override-soft-limits", reason)
    assert (code, result["outcome"], result["errors"]) == (EXIT_OK, "verified", [])
    assert result["active"]["therapy"] == {"mode": "stopped"}
    assert [w["code"] for w in result["warnings"]] == ["THERAPY_STOPPED"]
    assert result["warnings"][0]["message"].endswith("the clinical context stated: pump explant or replacement")
    expected = {"needed": True, "why": STOP_WHY, "key": "pump_explant", "label": "Pump explant or replacement"}
    assert result["clinical_context"] == expected and result["override_reason"] == reason
    assert interrogate(capsys, running)["therapy"] == {"mode": "stopped"}
    attempt, outcome = read_audit_log(audit_log)[-2:]
    assert (attempt["event"], outcome["event"], outcome["outcome"]) == ("attempt", "outcome", "verified")
    for record in (attempt, outcome):
        assert record["clinical_context"] == expected and record["override_reason"] == reason


def test_a_60_percent_drop_is_refused_without_a_context_and_written_with_one(capsys, running, tmp_path, audit_log):
    events = event_count(capsys, running)
    reason = "sedation and hypotonia since the last increase"
    code, result, err = write(capsys, running, program_file(tmp_path, 60), "--override-soft-limits", reason)
    assert code == EXIT_REFUSED
    assert [e["code"] for e in result["errors"]] == ["CHANGE_ABOVE_HARD_LIMIT", "CLINICAL_CONTEXT_REQUIRED"]
    assert err.startswith(f"pump-programmer: refused: CLINICAL_CONTEXT_REQUIRED: {DROP_WHY}: a stop or a drop")
    unchanged(capsys, running, events)

    code, result, _ = write(capsys, running, program_file(tmp_path, 60), "--clinical-context", "intolerance",
                            "--override-soft-limits", reason)
    assert (code, result["outcome"], result["errors"]) == (EXIT_OK, "verified", [])
    assert result["active"]["therapy"] == {"mode": "simple_continuous", "daily_dose": 60.0}
    [warning] = result["warnings"]
    assert warning["code"] == "DECREASE_ABOVE_HARD_LIMIT"
    assert warning["message"] == (f"{DROP_WHY}, beyond the hard limit of 50 % for baclofen; the clinical context "
                                  "stated: intolerance or side effects")
    expected = {"needed": True, "why": DROP_WHY, "key": "intolerance", "label": "Intolerance or side effects"}
    assert result["clinical_context"] == expected
    record = read_audit_log(audit_log)[-1]
    assert (record["outcome"], record["clinical_context"], record["override_reason"]) == ("verified", expected, reason)


def test_a_slip_is_refused_whatever_the_context(capsys, running, tmp_path):
    # 15 mcg/day is 1/10 of 150 (a decimal point): the context settles the -90 % drop, not the slip. (At
    # 500 mcg/mL it is also 0.03 mL/day, below the ITB-20's 0.048 mL/day.)
    events = event_count(capsys, running)
    code, result, _ = write(capsys, running, program_file(tmp_path, 15), "--clinical-context", "weaning_plan",
                            "--override-soft-limits", "weaning plan agreed in clinic")
    assert code == EXIT_REFUSED
    assert [e["code"] for e in result["errors"]] == ["FLOW_BELOW_PUMP_MIN", "PROBABLE_UNIT_OR_DECIMAL_SLIP"]
    assert "DECREASE_ABOVE_HARD_LIMIT" in [w["code"] for w in result["warnings"]]
    unchanged(capsys, running, events)


def test_a_change_that_needs_no_context_says_so(capsys, running, tmp_path):
    code, result, _ = write(capsys, running, program_file(tmp_path, 160))  # +6.7 %: nothing to override
    assert code == EXIT_OK
    assert result["clinical_context"] == {"needed": False, "why": None, "key": None, "label": None}
