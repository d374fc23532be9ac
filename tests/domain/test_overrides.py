"""The override reason's rule and the clinical contexts (programmer/overrides.py), and what a stated context
does to the checks of a stop and of a drop (programmer/checks.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from programmer.checks import check_program
from programmer.errors import InputError
from programmer.library import load_library
from programmer.overrides import CLINICAL_CONTEXTS, clean_reason, clinical_context, reason_problem
from programmer.planner import Plan
from programmer.program import program_from_data
from programmer.pump import Reservoir, pump_model

LIBRARY = load_library()


@pytest.mark.parametrize("reason, lacks", [
    ("x", "1 character, 0 words of two or more letters, 1 different letter"),
    (".", "1 character, 0 words of two or more letters, 0 different letters"),
    ("...........", "0 words of two or more letters, 0 different letters"),  # 11 characters
    ("1234567890", "0 words of two or more letters, 0 different letters"),
    ("xxxxxxxxxxxx", "1 word of two or more letters, 1 different letter"),
    ("aa aa aa aa", "1 different letter"),  # 11 characters, 4 words, one letter
    ("ab ab ab ab", "2 different letters"),
    ("tolerant", "8 characters, 1 word of two or more letters"),
    ("weaning  x", "9 characters, 1 word of two or more letters"),  # 9 characters once the spaces are one
])
def test_a_reason_that_says_nothing_is_refused_naming_what_it_lacks(reason, lacks):
    assert reason_problem(reason) == (f"{' '.join(reason.split())!r} is not a reason: it has {lacks}; a reason "
                                      "needs at least 10 characters, at least 2 words of two or more letters and at "
                                      "least 4 different letters")
    with pytest.raises(InputError) as raised:
        clean_reason(reason)
    assert raised.value.field == "override_reason"


@pytest.mark.parametrize("reason", ["pump explant", "titration plan", "Überdosis, Pumpe gestoppt",
                                    "5 mL in the pocket"])
def test_a_reason_with_words_is_taken_trimmed(reason):
    assert reason_problem(reason) is None
    assert clean_reason(f"  {reason} ") == reason and clean_reason(None) is None


def test_the_clinical_contexts_are_found_by_key_and_nothing_else_is():
    assert [context.key for context in CLINICAL_CONTEXTS] == [
        "weaning_plan", "pump_explant", "intolerance", "suspected_overdose", "end_of_life"]
    assert clinical_context("pump_explant").label == "Pump explant or replacement"
    assert clinical_context(None) is None
    with pytest.raises(InputError, match="'other' is not a clinical context; it is one of: weaning_plan, "):
        clinical_context("other")


def prog(therapy: dict):
    return program_from_data({"format": "itb-program/1", "therapy": therapy,
                              "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500}})


def check(therapy: dict, context: str | None = None, daily_dose_now: float = 150):
    reservoir = Reservoir(capacity_ml=20, volume_ml=15, low_alarm_ml=2)
    current = prog({"mode": "simple_continuous", "daily_dose": daily_dose_now})
    return check_program(Plan(prog(therapy), reservoir, datetime(2026, 11, 28)), LIBRARY, pump_model("ITB-20"),
                         current, context=clinical_context(context))


def test_a_stop_needs_a_context_and_keeps_its_warning_with_one():
    without = check({"mode": "stopped"})
    assert [(f.code, f.severity) for f in without.findings] == [("THERAPY_STOPPED", "warning"),
                                                                ("CLINICAL_CONTEXT_REQUIRED", "error")]
    assert without.context_needed == ["delivery stops (now 150 mcg/day)"] and without.only_context_missing
    assert without.errors[0].field == "clinical_context"
    stated = check({"mode": "stopped"}, "end_of_life")
    assert [(f.code, f.severity) for f in stated.findings] == [("THERAPY_STOPPED", "warning")]
    assert stated.findings[0].message.endswith("the clinical context stated: end-of-life care")
    assert stated.context_needed == without.context_needed and not stated.only_context_missing


def test_a_drop_beyond_the_hard_limit_needs_a_context_and_is_a_warning_with_one():
    # A flex day of 3 mcg/h for 24 h is 72 mcg/day: 72 / 150 - 1 = -52 %, beyond the hard 50 %.
    flex = {"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 3}]}
    without = check(flex)
    assert [f.code for f in without.errors] == ["CHANGE_ABOVE_HARD_LIMIT", "CLINICAL_CONTEXT_REQUIRED"]
    assert without.only_context_missing
    assert without.context_needed == ["daily dose changes by -52.0 % (150 -> 72 mcg/day)"]
    stated = check(flex, "weaning_plan")
    assert [(f.code, f.severity) for f in stated.findings] == [("DECREASE_ABOVE_HARD_LIMIT", "warning")]


def test_an_increase_beyond_the_hard_limit_is_refused_whatever_the_context():
    # 150 -> 240 mcg/day is +60 %: no context is asked for, none settles it.
    report = check({"mode": "simple_continuous", "daily_dose": 240}, "weaning_plan")
    assert [f.code for f in report.errors] == ["CHANGE_ABOVE_HARD_LIMIT"] and report.context_needed == []
    assert not report.only_context_missing
