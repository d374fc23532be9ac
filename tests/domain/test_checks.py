"""Dose-error reduction checks: every code README.md lists is triggered by a minimal case and not by a nearby
case that should pass, with the severity README gives it; the report carries the library identity."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programmer.checks import check_program
from programmer.library import MAX_DECIMAL_PLACES, load_library
from programmer.overrides import clinical_context
from programmer.planner import Plan
from programmer.program import program_from_data
from programmer.pump import PumpLimits, Reservoir, pump_model

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 28, 0, 0)
LIBRARY = load_library()


def readme_codes() -> dict[str, str]:
    """The check codes docs/cli.md lists for the program and change checks (not the pump-side ones),
    with the severity its table gives them."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index("## Check codes"):]
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| (error|warning) \| (program|change|pump) \|", section, re.M)
    return {code: severity for code, severity, source in rows if source != "pump"}


README_CODES = readme_codes()


def test_readme_lists_the_codes():
    # 16 errors and 12 warnings in docs/cli.md's table of program and change checks.
    assert list(README_CODES.values()).count("error") == 16
    assert list(README_CODES.values()).count("warning") == 12


# --- building cases -------------------------------------------------------------------------------------


def prog(concentration=500.0, daily_dose=150.0, name="baclofen", unit="mcg", therapy=None):
    if therapy is None:
        therapy = {"mode": "simple_continuous", "daily_dose": daily_dose}
    return program_from_data({"format": "itb-program/1",
                              "drug": {"name": name, "dose_unit": unit, "concentration_per_ml": concentration},
                              "therapy": therapy})


def flex(concentration, steps, cycle_days=1, name="baclofen"):
    return prog(concentration, name=name, therapy={"mode": "flex", "cycle_days": cycle_days, "steps": [
        {"day": day, "start": start, "dose_per_hour": rate} for day, start, rate in steps]})


def hourly_steps(count: int, rate: float, day: int = 1):
    """``count`` steps starting on the hour from 00:00, all at ``rate`` per hour."""
    return [(day, f"{hour:02d}:00", rate) for hour in range(count)]


def check(program, current=None, volume=15.0, alarm=2.0, pump="ITB-20", library=LIBRARY, context=None):
    limits = pump if isinstance(pump, PumpLimits) else pump_model(pump)
    reservoir = Reservoir(capacity_ml=limits.capacity_ml, volume_ml=volume, low_alarm_ml=alarm)
    return check_program(Plan(program, reservoir, START), library, limits, current,
                         context=clinical_context(context))


# Each case: code -> (a minimal case that must trigger it, a nearby case that must not). Each case is a
# zero-argument callable returning a CheckReport. Doses are mcg/day for baclofen (soft 20-1000, hard
# 10-2000 in the shipped library; change soft 20 %, hard 50 %), flows are mL/day against the ITB-20
# limits (0.048 to 24 mL/day, 13 steps a day, cycles up to 7 days).
CASES = {
    "DRUG_NOT_IN_LIBRARY": (
        lambda: check(prog(name="clonidine")),
        lambda: check(prog(name="Baclofen")),  # the library matches names regardless of case
    ),
    "DOSE_UNIT_MISMATCH": (
        # baclofen written in mg (0.5 mg/mL, 0.15 mg/day: the same drug amount) is refused ...
        lambda: check(prog(concentration=0.5, daily_dose=0.15, unit="mg")),
        # ... morphine in mg is right.
        lambda: check(prog(concentration=10, daily_dose=2.5, name="morphine", unit="mg")),
    ),
    "CONCENTRATION_NOT_IN_LIBRARY": (
        lambda: check(prog(concentration=750)),
        lambda: check(prog(concentration=1000)),
    ),
    "DOSE_FINER_THAN_ENTRY_STEP": (
        # Baclofen's daily dose is given in steps of 0.1 mcg/day: 187.52 has two decimal places, 187.5 one.
        lambda: check(prog(daily_dose=187.52)),
        lambda: check(prog(daily_dose=187.5)),
    ),
    "DAILY_DOSE_ABOVE_HARD_MAX": (
        # 2100 > 2000 mcg/day; at 2000 mcg/mL that is 1.05 mL/day, a normal flow.
        lambda: check(prog(concentration=2000, daily_dose=2100)),
        # 1900 is above the soft maximum (1000) but below the hard one.
        lambda: check(prog(concentration=2000, daily_dose=1900)),
    ),
    "DAILY_DOSE_BELOW_HARD_MIN": (
        # 8 < 10 mcg/day; at 50 mcg/mL that is 0.16 mL/day (above the 0.048 minimum flow).
        lambda: check(prog(concentration=50, daily_dose=8)),
        lambda: check(prog(concentration=50, daily_dose=12)),
    ),
    "DAILY_DOSE_ABOVE_SOFT_MAX": (
        lambda: check(prog(concentration=2000, daily_dose=1100)),
        lambda: check(prog(concentration=2000, daily_dose=900)),
    ),
    "DAILY_DOSE_BELOW_SOFT_MIN": (
        lambda: check(prog(concentration=50, daily_dose=15)),
        lambda: check(prog(concentration=50, daily_dose=25)),
    ),
    "CHANGE_ABOVE_HARD_LIMIT": (
        # 100 -> 160 mcg/day is +60 %, beyond the hard 50 %.
        lambda: check(prog(daily_dose=160), current=prog(daily_dose=100)),
        # +40 % is beyond the soft limit only.
        lambda: check(prog(daily_dose=140), current=prog(daily_dose=100)),
    ),
    "CHANGE_ABOVE_SOFT_LIMIT": (
        # 100 -> 125 is +25 % (> 20 %); 100 -> 115 is +15 %.
        lambda: check(prog(daily_dose=125), current=prog(daily_dose=100)),
        lambda: check(prog(daily_dose=115), current=prog(daily_dose=100)),
    ),
    "PROBABLE_UNIT_OR_DECIMAL_SLIP": (
        # 50 -> 500 mcg/day is 10x the current dose.
        lambda: check(prog(daily_dose=500), current=prog(daily_dose=50)),
        # 100 -> 300 is 3x: a big change (hard limit) but not a slip.
        lambda: check(prog(daily_dose=300), current=prog(daily_dose=100)),
    ),
    "INCREASE_ABOVE_STEP_LIMIT": (
        # Ziconotide titrates by at most 2.4 mcg/day a step: 9.6 -> 12.1 is +2.5 (only +26 %, inside its 100 %
        # soft change limit) ...
        lambda: check(prog(25, 12.1, name="ziconotide"), current=prog(25, 9.6, name="ziconotide")),
        # ... 9.6 -> 12 is +2.4, one step.
        lambda: check(prog(25, 12, name="ziconotide"), current=prog(25, 9.6, name="ziconotide")),
    ),
    "FLOW_ABOVE_PUMP_MAX": (
        # At 50 mcg/mL a 12:00-13:00 step of 55 mcg/h is 1.1 mL/h = 26.4 mL/day > 24 mL/day.
        lambda: check(flex(50, [(1, "00:00", 10), (1, "12:00", 55), (1, "13:00", 10)])),
        # 45 mcg/h is 0.9 mL/h = 21.6 mL/day.
        lambda: check(flex(50, [(1, "00:00", 10), (1, "12:00", 45), (1, "13:00", 10)])),
    ),
    "FLOW_BELOW_PUMP_MIN": (
        # 72 mcg/day at 2000 mcg/mL is 0.036 mL/day < 0.048.
        lambda: check(prog(concentration=2000, daily_dose=72)),
        # 120 mcg/day is 0.06 mL/day.
        lambda: check(prog(concentration=2000, daily_dose=120)),
    ),
    "TOO_MANY_FLEX_STEPS": (
        # 14 steps at 10 mcg/h: 240 mcg/day at 500 mcg/mL.
        lambda: check(flex(500, hourly_steps(14, 10))),
        lambda: check(flex(500, hourly_steps(13, 10))),
    ),
    "FLEX_CYCLE_TOO_LONG": (
        lambda: check(flex(500, [(1, "00:00", 10)], cycle_days=8)),
        lambda: check(flex(500, [(1, "00:00", 10)], cycle_days=7)),
    ),
    "CONCENTRATION_CHANGED": (
        # 500 -> 1000 mcg/mL is 2x: a real change, not a slip.
        lambda: check(prog(concentration=1000), current=prog(concentration=500)),
        lambda: check(prog(concentration=500), current=prog(concentration=500)),
    ),
    "PROBABLE_CONCENTRATION_SLIP": (
        # 50 -> 500 mcg/mL is 10x.
        lambda: check(prog(concentration=500), current=prog(concentration=50)),
        # 500 -> 2000 mcg/mL is 4x.
        lambda: check(prog(concentration=2000), current=prog(concentration=500)),
    ),
    "CURRENT_DRUG_DIFFERS": (
        lambda: check(prog(), current=prog(concentration=10, daily_dose=2.5, name="morphine", unit="mg")),
        lambda: check(prog(), current=prog(name="Baclofen")),
    ),
    "THERAPY_STOPPED": (
        lambda: check(prog(therapy={"mode": "stopped"}), current=prog(daily_dose=150)),
        lambda: check(prog(therapy={"mode": "stopped"}), current=prog(therapy={"mode": "stopped"})),
    ),
    "CLINICAL_CONTEXT_REQUIRED": (
        # 150 -> 70 mcg/day is -53.3 %, beyond the hard 50 %: a drop, and no clinical context stated ...
        lambda: check(prog(daily_dose=70), current=prog(daily_dose=150)),
        # ... 150 -> 75 is -50 %, at the hard limit, not beyond it.
        lambda: check(prog(daily_dose=75), current=prog(daily_dose=150)),
    ),
    "DECREASE_ABOVE_HARD_LIMIT": (
        # The same -53.3 % drop with a clinical context stated: a warning, which needs the reason ...
        lambda: check(prog(daily_dose=70), current=prog(daily_dose=150), context="weaning_plan"),
        # ... and without one, the error CHANGE_ABOVE_HARD_LIMIT instead.
        lambda: check(prog(daily_dose=70), current=prog(daily_dose=150)),
    ),
    "LOW_ALARM_SOON": (
        # 150 mcg/day at 500 mcg/mL = 0.3 mL/day: 3.8 mL is (3.8 - 2) / 0.3 = 6 days to the alarm ...
        lambda: check(prog(), volume=3.8),
        # ... 4.4 mL is (4.4 - 2) / 0.3 = 8 days.
        lambda: check(prog(), volume=4.4),
    ),
    "RESERVOIR_AT_LOW_ALARM": (
        # 2.0 mL with a 2 mL alarm is at the alarm now ...
        lambda: check(prog(), volume=2.0),
        # ... 2.3 mL is (2.3 - 2) / 0.3 = 1 day away (LOW_ALARM_SOON, not "at").
        lambda: check(prog(), volume=2.3),
    ),
}


def test_every_readme_code_has_a_case():
    assert set(CASES) == set(README_CODES)


@pytest.mark.parametrize("code", list(CASES))
def test_code_is_triggered_with_its_severity(code: str):
    report = CASES[code][0]()
    found = [f for f in report.findings if f.code == code]
    assert found, f"{code} not in {sorted(report.codes())}"
    assert all(f.severity == README_CODES[code] for f in found)
    assert all(f.message for f in found)
    # Errors block, warnings do not: the report sorts them by severity.
    expected_list = report.errors if README_CODES[code] == "error" else report.warnings
    assert all(f in expected_list for f in found)
    assert report.library == LIBRARY.identity


@pytest.mark.parametrize("code", list(CASES))
def test_code_is_not_triggered_by_a_nearby_case(code: str):
    report = CASES[code][1]()
    assert code not in report.codes(), [f.message for f in report.findings]


def test_clean_program_has_no_findings():
    # The README's example: 150 mcg/day at 500 mcg/mL, 15 mL (43 days to the alarm), same as current.
    report = check(prog(), current=prog())
    assert report.findings == []
    assert report.errors == [] and report.warnings == []


# --- more cases around the minimal ones -----------------------------------------------------------------


def test_nearby_cases_pass_the_related_error_too():
    # The "soft" nearby cases must not be errors either.
    assert "DAILY_DOSE_ABOVE_HARD_MAX" not in check(prog(concentration=2000, daily_dose=1100)).codes()
    assert "DAILY_DOSE_BELOW_HARD_MIN" not in check(prog(concentration=50, daily_dose=15)).codes()
    assert "CHANGE_ABOVE_HARD_LIMIT" not in check(prog(daily_dose=125), current=prog(daily_dose=100)).codes()
    # +40 % is a soft warning.
    assert "CHANGE_ABOVE_SOFT_LIMIT" in check(prog(daily_dose=140), current=prog(daily_dose=100)).codes()


@pytest.mark.parametrize("new, old", [
    (500, 50),     # 10x
    (50, 500),     # 1/10
    (1, 1000),     # 1/1000
    (0.001, 1),    # 1/1000 again, far outside the library: still named a slip
    (1000, 1),     # 1000x
    (1100, 100),   # 11x: within 15 % of 10x
])
def test_slip_at_10x_and_1000x_either_way(new, old):
    report = check(prog(concentration=50, daily_dose=new), current=prog(concentration=50, daily_dose=old))
    [slip] = [f for f in report.findings if f.code == "PROBABLE_UNIT_OR_DECIMAL_SLIP"]
    assert slip.severity == "error"


@pytest.mark.parametrize("new, old", [(300, 100), (100, 300), (500, 100), (100, 500), (140, 100), (700, 100)])
def test_no_slip_at_3x_5x_or_7x(new, old):
    report = check(prog(concentration=50, daily_dose=new), current=prog(concentration=50, daily_dose=old))
    assert "PROBABLE_UNIT_OR_DECIMAL_SLIP" not in report.codes()


@pytest.mark.parametrize("new, code", [(75, "CHANGE_ABOVE_SOFT_LIMIT"), (40, "CHANGE_ABOVE_HARD_LIMIT")])
def test_decreases_count_too(new, code):
    # 100 -> 75 is -25 % (soft), 100 -> 40 is -60 % (hard).
    assert code in check(prog(daily_dose=new), current=prog(daily_dose=100)).codes()


def test_decrease_within_the_soft_limit_passes():
    # 100 -> 85 is -15 %.
    report = check(prog(daily_dose=85), current=prog(daily_dose=100))
    assert not {"CHANGE_ABOVE_SOFT_LIMIT", "CHANGE_ABOVE_HARD_LIMIT"} & report.codes()


def test_change_compares_mean_daily_doses_of_flex_and_simple():
    # Current 150 mcg/day continuous; new flex day of 156 mcg (+4 %): no change warning.
    day = flex(500, [(1, "00:00", 5), (1, "06:00", 8), (1, "14:00", 6), (1, "22:00", 7)])
    assert not {"CHANGE_ABOVE_SOFT_LIMIT", "CHANGE_ABOVE_HARD_LIMIT"} & check(day, current=prog()).codes()
    # Current 120: 156 / 120 = 1.3, +30 % -> soft warning.
    assert "CHANGE_ABOVE_SOFT_LIMIT" in check(day, current=prog(daily_dose=120)).codes()


def test_daily_limits_apply_to_each_day_of_a_cycle():
    # Day 1 at 87.5 mcg/h = 2100 mcg (above the 2000 hard max); day 2 at 62.5 mcg/h = 1500 mcg.
    # The mean, 1800 mcg/day, is below the hard max, yet day 1 must still be refused.
    program = flex(2000, [(1, "00:00", 87.5), (2, "00:00", 62.5)], cycle_days=2)
    report = check(program)
    [error] = [f for f in report.findings if f.code == "DAILY_DOSE_ABOVE_HARD_MAX"]
    assert "day 1" in error.message
    assert "2100" in error.message and "2000" in error.message and "mcg/day" in error.message


def test_too_many_steps_counts_each_day():
    # Day 1 has 2 steps, day 2 has 14.
    steps = [(1, "00:00", 10), (1, "12:00", 10)] + hourly_steps(14, 10, day=2)
    report = check(flex(500, steps, cycle_days=2))
    [error] = [f for f in report.findings if f.code == "TOO_MANY_FLEX_STEPS"]
    assert "day 2" in error.message and "14" in error.message and "13" in error.message
    # 13 on each of two days (26 in the cycle) is allowed.
    ok = hourly_steps(13, 10, day=1) + hourly_steps(13, 10, day=2)
    assert "TOO_MANY_FLEX_STEPS" not in check(flex(500, ok, cycle_days=2)).codes()


def test_library_step_limit_below_the_pump_limit_applies():
    data = LIBRARY.library.model_dump(mode="json")
    data["drugs"][0]["max_flex_steps_per_day"] = 4
    from programmer.library import library_from_data

    local = library_from_data(data, "local")
    # 5 steps a day: fine for the pump (13) but not for this library (4).
    assert "TOO_MANY_FLEX_STEPS" in check(flex(500, hourly_steps(5, 10)), library=local).codes()
    assert "TOO_MANY_FLEX_STEPS" not in check(flex(500, hourly_steps(4, 10)), library=local).codes()


def test_simple_continuous_flow_limits():
    # 50 mcg/mL: 1250 mcg/day is 25 mL/day (> 24); 1150 mcg/day is 23 mL/day.
    above = check(prog(concentration=50, daily_dose=1250))
    [flow] = [f for f in above.findings if f.code == "FLOW_ABOVE_PUMP_MAX"]
    assert flow.field == "therapy.daily_dose"
    assert "25" in flow.message and "24" in flow.message and "mL/day" in flow.message
    assert "FLOW_ABOVE_PUMP_MAX" not in check(prog(concentration=50, daily_dose=1150)).codes()


def test_flow_finding_names_the_step():
    report = CASES["FLOW_ABOVE_PUMP_MAX"][0]()
    [flow] = [f for f in report.findings if f.code == "FLOW_ABOVE_PUMP_MAX"]
    assert flow.field == "therapy.steps[1]"


def test_itb_limits_are_the_documented_ones():
    # README: ITB-20 and ITB-40, 20 and 40 mL, 0.048 to 24 mL/day, 13 steps a day, cycles up to 7 days.
    for name, capacity in (("ITB-20", 20), ("ITB-40", 40)):
        limits = pump_model(name)
        assert (limits.capacity_ml, limits.min_rate_ml_per_day, limits.max_rate_ml_per_day,
                limits.max_steps_per_day, limits.max_cycle_days) == (capacity, 0.048, 24, 13, 7)


def test_checks_read_the_pump_limits():
    # A pump that runs 0.5 to 10 mL/day, 3 steps a day and 2-day cycles.
    small = PumpLimits(model="TEST", capacity_ml=20, min_rate_ml_per_day=0.5, max_rate_ml_per_day=10,
                       max_steps_per_day=3, max_cycle_days=2)
    # 150 mcg/day at 500 mcg/mL = 0.3 mL/day < 0.5 for this pump (fine for the ITB-20).
    assert "FLOW_BELOW_PUMP_MIN" in check(prog(), pump=small).codes()
    assert "FLOW_BELOW_PUMP_MIN" not in check(prog(), pump="ITB-20").codes()
    # 600 mcg/day at 50 mcg/mL = 12 mL/day > 10.
    assert "FLOW_ABOVE_PUMP_MAX" in check(prog(concentration=50, daily_dose=600), pump=small).codes()
    assert "TOO_MANY_FLEX_STEPS" in check(flex(500, hourly_steps(4, 10)), pump=small).codes()
    assert "FLEX_CYCLE_TOO_LONG" in check(flex(500, [(1, "00:00", 10)], cycle_days=3), pump=small).codes()


def test_unknown_drug_skips_dose_checks_but_not_the_pump():
    # 5000 mcg/day of an unknown drug at 50 mcg/mL is 100 mL/day: the pump cannot do it.
    report = check(prog(concentration=50, daily_dose=5000, name="clonidine"))
    assert {"DRUG_NOT_IN_LIBRARY", "FLOW_ABOVE_PUMP_MAX"} <= report.codes()
    assert not any(code.startswith("DAILY_DOSE") for code in report.codes())


def test_unit_mismatch_skips_the_dose_limits():
    # 0.15 mg/day of baclofen must not be compared with mcg limits (it would look far below 10).
    report = check(prog(concentration=0.5, daily_dose=0.15, unit="mg"))
    assert not any(code.startswith("DAILY_DOSE") for code in report.codes())


def test_stopped_program_has_no_dose_findings():
    report = check(prog(therapy={"mode": "stopped"}))
    assert report.findings == []


def test_low_alarm_soon_message_has_the_days():
    report = CASES["LOW_ALARM_SOON"][0]()
    [warning] = [f for f in report.findings if f.code == "LOW_ALARM_SOON"]
    # (3.8 - 2) / 0.3 = 6.0 days.
    assert "6.0 days" in warning.message
    assert "RESERVOIR_AT_LOW_ALARM" not in report.codes()


def test_at_the_alarm_is_not_also_soon():
    report = check(prog(), volume=1.0)
    assert "RESERVOIR_AT_LOW_ALARM" in report.codes()
    assert "LOW_ALARM_SOON" not in report.codes()


def test_report_carries_the_library_identity():
    report = check(prog())
    assert report.library == LIBRARY.identity
    assert report.library.sha256 == LIBRARY.identity.sha256 and len(report.library.sha256) == 64
    data = LIBRARY.library.model_dump(mode="json")
    data["version"] = "other"
    from programmer.library import library_from_data

    other = library_from_data(data, "other")
    assert check(prog(), library=other).library == other.identity != LIBRARY.identity


def test_finding_as_dict():
    [finding] = CASES["DRUG_NOT_IN_LIBRARY"][0]().findings
    assert finding.as_dict() == {"code": "DRUG_NOT_IN_LIBRARY", "severity": "error", "message": finding.message,
                                 "field": "drug.name"}
    assert "clonidine" in finding.message


# --- limits at their exact value ------------------------------------------------------------------------


def test_daily_dose_at_exact_limits_baclofen():
    # Exactly the limit is inside the band: "above 2000" means more than 2000.
    assert "DAILY_DOSE_ABOVE_HARD_MAX" not in check(prog(concentration=2000, daily_dose=2000)).codes()
    assert "DAILY_DOSE_ABOVE_SOFT_MAX" not in check(prog(concentration=2000, daily_dose=1000)).codes()
    assert "DAILY_DOSE_BELOW_HARD_MIN" not in check(prog(concentration=50, daily_dose=10)).codes()


def test_daily_dose_exactly_at_the_hard_max_is_not_refused_morphine():
    program = prog(concentration=10, daily_dose=20, name="morphine", unit="mg")
    assert "DAILY_DOSE_ABOVE_HARD_MAX" not in check(program, volume=19).codes()


def test_daily_dose_exactly_at_the_hard_max_is_not_refused_ziconotide_flex():
    # Steps on the hour from 00:00 to 11:00 at 0.8 mcg/h; the last runs 11:00-24:00: 11 + 13 = 24 h -> 19.2 mcg.
    program = flex(25, hourly_steps(12, 0.8), name="ziconotide")
    assert "DAILY_DOSE_ABOVE_HARD_MAX" not in check(program, volume=19).codes()


def test_change_of_exactly_the_hard_limit_is_not_refused():
    # (210 - 140) / 140 = 0.5 exactly: +50 %, at (not beyond) the hard limit.
    report = check(prog(daily_dose=210), current=prog(daily_dose=140))
    assert "CHANGE_ABOVE_HARD_LIMIT" not in report.codes()


def test_change_of_exactly_the_soft_limit_does_not_warn():
    report = check(prog(daily_dose=120), current=prog(daily_dose=100))
    assert "CHANGE_ABOVE_SOFT_LIMIT" not in report.codes()


# --- checks added after the tester's report: spikes inside flex programs, escalation over 24 h -------------
# The day and peak codes are in README's list above and so join CASES; the 24 h codes need the pump's event
# history and README lists them under "At the pump". All six are checked here with their severity too.

NEW_CODES = {
    "DAY_CHANGE_ABOVE_HARD_LIMIT": "error", "DAY_CHANGE_ABOVE_SOFT_LIMIT": "warning",
    "PEAK_RATE_ABOVE_HARD_LIMIT": "error", "PEAK_RATE_ABOVE_SOFT_LIMIT": "warning",
    "CHANGE_24H_ABOVE_HARD_LIMIT": "error", "CHANGE_24H_ABOVE_SOFT_LIMIT": "warning",
}
NOW = datetime(2026, 11, 28, 9, 0)


def baseline(daily_dose, activations=2, whole_window=True):
    """The dose that ran 24 h before NOW, with ``activations`` programs activated since."""
    from programmer.checks import DoseBaseline

    return DoseBaseline(daily_dose=daily_dose, dose_unit="mcg", since=datetime(2026, 11, 27, 9, 0),
                        activations=activations, whole_window=whole_window)


def check_24h(new, current, then, **changes):
    limits = pump_model("ITB-20")
    reservoir = Reservoir(capacity_ml=20, volume_ml=15, low_alarm_ml=2)
    return check_program(Plan(prog(daily_dose=new), reservoir, NOW), LIBRARY, limits, prog(daily_dose=current),
                         baseline(then, **changes))


def seven_days(day_1, other_days, concentration=1000):
    """A 7-day cycle: day 1 at ``day_1`` mcg/day, days 2-7 at ``other_days``, each day flat."""
    return flex(concentration, [(1, "00:00", day_1 / 24), (2, "00:00", other_days / 24)], cycle_days=7)


NEW_CASES = {
    "PEAK_RATE_ABOVE_HARD_LIMIT": (
        # (a) 127 mcg/h for 1 h, then 1 mcg/h: the day is 127 + 23 = 150 mcg, 6.25 mcg/h on average;
        # 127 / 6.25 = 20.3x (> 8), 85 % of the day in one hour. 1 mcg/h at 500 mcg/mL is 0.048 mL/day.
        lambda: check(flex(500, [(1, "00:00", 127), (1, "01:00", 1)])),
        # 25 mcg/h for 1 h, then 6: 25 + 138 = 163 mcg, 6.79 mcg/h; 25 / 6.79 = 3.7x: soft only.
        lambda: check(flex(500, [(1, "00:00", 25), (1, "01:00", 6)])),
    ),
    "PEAK_RATE_ABOVE_SOFT_LIMIT": (
        lambda: check(flex(500, [(1, "00:00", 25), (1, "01:00", 6)])),
        # 18 mcg/h for 1 h, then 6: 18 + 138 = 156 mcg, 6.5 mcg/h; 18 / 6.5 = 2.8x (<= 3).
        lambda: check(flex(500, [(1, "00:00", 18), (1, "01:00", 6)])),
    ),
    "DAY_CHANGE_ABOVE_HARD_LIMIT": (
        # (c) current 500 mcg/day; day 1 at 950, days 2-7 at 425: the mean is (950 + 6 x 425) / 7 = 500,
        # no change, but day 1 is 950 / 500 = +90 % (> 50 %); days 2-7 are -15 %.
        lambda: check(seven_days(950, 425), current=prog(concentration=1000, daily_dose=500)),
        # day 1 at 720 is +44 %: soft only (days 2-7 at 480, -4 %).
        lambda: check(seven_days(720, 480), current=prog(concentration=1000, daily_dose=500)),
    ),
    "DAY_CHANGE_ABOVE_SOFT_LIMIT": (
        lambda: check(seven_days(720, 480), current=prog(concentration=1000, daily_dose=500)),
        # day 1 at 600 is +20 %, at (not beyond) the soft limit; days 2-7 at 480 are -4 %.
        lambda: check(seven_days(600, 480), current=prog(concentration=1000, daily_dose=500)),
    ),
    "CHANGE_24H_ABOVE_HARD_LIMIT": (
        # 150 ran 24 h ago, then 180 and 216 were written (+20 % each); 259.2 is +20 % on 216 (at the soft
        # limit) but 259.2 / 150 = 1.728: +72.8 % in 24 h (> 50 %).
        lambda: check_24h(259.2, current=216, then=150),
        # 216 is +20 % on 180 but 216 / 150 = +44 %: soft only.
        lambda: check_24h(216, current=180, then=150),
    ),
    "CHANGE_24H_ABOVE_SOFT_LIMIT": (
        lambda: check_24h(216, current=180, then=150),
        # 180 / 150 = +20 %: at the limit, not beyond it (and 180 / 165 = +9.1 % from the current).
        lambda: check_24h(180, current=165, then=150),
    ),
}
CASES.update({code: case for code, case in NEW_CASES.items() if code in README_CODES})


@pytest.mark.parametrize("code", list(NEW_CASES))
def test_new_code_is_triggered_with_its_documented_severity(code: str):
    report = NEW_CASES[code][0]()
    found = [f for f in report.findings if f.code == code]
    assert found, f"{code} not in {sorted(report.codes())}"
    assert all(f.severity == NEW_CODES[code] for f in found)
    assert code not in README_CODES or README_CODES[code] == NEW_CODES[code]


@pytest.mark.parametrize("code", list(NEW_CASES))
def test_new_code_is_not_triggered_by_a_nearby_case(code: str):
    assert code not in NEW_CASES[code][1]().codes()


def test_a_spike_in_one_hour_passes_every_daily_check_but_the_peak_rate():
    report = NEW_CASES["PEAK_RATE_ABOVE_HARD_LIMIT"][0]()
    [peak] = report.findings  # 150 mcg/day is inside every daily band: nothing else fires
    assert (peak.code, peak.field) == ("PEAK_RATE_ABOVE_HARD_LIMIT", "therapy.steps[0]")
    # 127 / 6.25 = 20.32x; 127 / 150 = 84.7 % of the day in 1 h.
    assert "127 mcg/h, 20.3x the mean 6.25 mcg/h of day 1 (150 mcg/day)" in peak.message
    assert "84.7 % of that day's dose in 1 h" in peak.message and "hard limit of 8x" in peak.message


def test_ziconotide_peak_limits_are_tighter():
    # (b) 14 mcg/h for 1 h, then 0.1 mcg/h, at 25 mcg/mL: 14 + 2.3 = 16.3 mcg/day (inside 1.2-16.8, the soft
    # band), 0.679 mcg/h on average; 14 / 0.679 = 20.6x (> 2).
    spike = check(flex(25, [(1, "00:00", 14), (1, "01:00", 0.1)], name="ziconotide"))
    assert [f.code for f in spike.findings] == ["PEAK_RATE_ABOVE_HARD_LIMIT"]
    assert "20.6x" in spike.findings[0].message and "hard limit of 2x" in spike.findings[0].message
    # 1 mcg/h for 6 h, then 0.5: 6 + 9 = 15 mcg (below the soft maximum 16.8), 0.625 mcg/h; 1 / 0.625 = 1.6x:
    # soft (1.5).
    soft = check(flex(25, [(1, "00:00", 1), (1, "06:00", 0.5)], name="ziconotide"))
    assert soft.codes() == {"PEAK_RATE_ABOVE_SOFT_LIMIT"}
    # The same day shape is nothing for baclofen (soft 3): 1.6x.
    assert "PEAK_RATE_ABOVE_SOFT_LIMIT" not in check(flex(500, [(1, "00:00", 12), (1, "06:00", 6)])).codes()


def test_a_step_across_midnight_is_measured_against_each_day_it_runs_on():
    # 2-day cycle: 5 mcg/h, then 40 mcg/h from day 1 23:00 to day 2 01:00, then 20 mcg/h.
    # Day 1: 23 x 5 + 1 x 40 = 155 mcg (6.458 mcg/h): 40 / 6.458 = 6.19x, soft.
    # Day 2: 1 x 40 + 23 x 20 = 500 mcg (20.83 mcg/h): 40 / 20.83 = 1.92x. The worse day counts.
    report = check(flex(500, [(1, "00:00", 5), (1, "23:00", 40), (2, "01:00", 20)], cycle_days=2))
    [peak] = [f for f in report.findings if f.code.startswith("PEAK_RATE")]
    assert (peak.code, peak.field) == ("PEAK_RATE_ABOVE_SOFT_LIMIT", "therapy.steps[1]")
    assert "6.19x" in peak.message and "day 1 (155 mcg/day)" in peak.message
    assert "25.8 % of that day's dose in 1 h" in peak.message  # 40 / 155


def test_shipped_flex_examples_have_no_peak_findings():
    # Day example: (5x6 + 8x8 + 6x8 + 7x2) = 156 mcg, 6.5 mcg/h; 8 / 6.5 = 1.23x.
    # Week example, day 1: 12x7 + 18x12 + 14x5 = 370 mcg, 15.4 mcg/h; 18 / 15.4 = 1.17x.
    for name in ("baclofen-flex-day.json", "baclofen-flex-week.json"):
        from programmer.program import load_program

        assert not {c for c in check(load_program(ROOT / "examples" / name)).codes() if c.startswith("PEAK")}


def test_a_flat_seven_day_cycle_hides_a_day_at_plus_90_percent_no_more():
    report = NEW_CASES["DAY_CHANGE_ABOVE_HARD_LIMIT"][0]()
    assert not {"CHANGE_ABOVE_SOFT_LIMIT", "CHANGE_ABOVE_HARD_LIMIT"} & report.codes()  # the mean is unchanged
    [day] = [f for f in report.findings if f.code.startswith("DAY_CHANGE")]
    assert day.code == "DAY_CHANGE_ABOVE_HARD_LIMIT" and day.severity == "error"
    assert "day 1 dose changes by +90.0 % (500 -> 950 mcg/day, against the current mean daily dose)" in day.message


def test_cycles_of_the_same_length_are_compared_day_by_day():
    # Current 2-day cycle: day 1 480 mcg (20 mcg/h), day 2 240 (10 mcg/h), mean 360. The new one swaps
    # the days: the same mean (no CHANGE_*), but day 1 240 / 480 = -50 % (beyond soft 20, at hard 50: soft)
    # and day 2 480 / 240 = +100 % (hard). Against the mean they would be -33 % and +33 %.
    current = flex(500, [(1, "00:00", 20), (2, "00:00", 10)], cycle_days=2)
    swapped = flex(500, [(1, "00:00", 10), (2, "00:00", 20)], cycle_days=2)
    report = check(swapped, current=current)
    days = [(f.code, f.message.split(" (")[0]) for f in report.findings if f.code.startswith("DAY_CHANGE")]
    assert days == [("DAY_CHANGE_ABOVE_SOFT_LIMIT", "day 1 dose changes by -50.0 %"),
                    ("DAY_CHANGE_ABOVE_HARD_LIMIT", "day 2 dose changes by +100.0 %")]
    assert "against day 1 of the current 2-day cycle" in report.findings[0].message


def test_a_uniform_cycle_is_not_reported_twice():
    # Current 100 mcg/day; new 7-day cycle at 160 every day: +60 % is the mean's finding (CHANGE_ABOVE_HARD),
    # and each day's comparison is that same one, so no DAY_CHANGE repeats it.
    report = check(seven_days(160, 160, concentration=500), current=prog(daily_dose=100))
    assert "CHANGE_ABOVE_HARD_LIMIT" in report.codes()
    assert not any(code.startswith("DAY_CHANGE") for code in report.codes())


def test_one_day_cycles_have_no_day_findings():
    # A 1-day flex day of 156 mcg against 120: +30 % is the mean's finding only.
    day = flex(500, [(1, "00:00", 5), (1, "06:00", 8), (1, "14:00", 6), (1, "22:00", 7)])
    assert not any(code.startswith("DAY_CHANGE") for code in check(day, current=prog(daily_dose=120)).codes())


def test_escalation_over_24_hours_message():
    report = NEW_CASES["CHANGE_24H_ABOVE_HARD_LIMIT"][0]()
    [finding] = [f for f in report.findings if f.code.startswith("CHANGE")]  # +20 % on 216 is not a finding
    assert finding.code == "CHANGE_24H_ABOVE_HARD_LIMIT"
    assert ("daily dose changes by +72.8 % within 24 h: 150 mcg/day ran at 2026-11-27T09:00 (pump clock), "
            "2 program(s) activated since, now 216 -> 259.2 mcg/day") in finding.message


def test_the_24_hour_check_needs_another_program_then():
    # Nothing activated in the window: the current program ran throughout and CHANGE_* already covers it.
    assert not {c for c in check_24h(259.2, current=150, then=150, activations=0).codes() if "24H" in c}
    # 150 -> 200 -> 150 within the window: the baseline equals the current dose, so CHANGE_* says it all.
    report = check_24h(200, current=150, then=150)
    assert "CHANGE_ABOVE_SOFT_LIMIT" in report.codes()
    assert not {c for c in report.codes() if "24H" in c}
    # A stopped pump 24 h ago (0 mcg/day) gives no percentage.
    assert not {c for c in check_24h(150, current=150, then=0).codes() if "24H" in c}


def test_a_decrease_over_24_hours_counts_too():
    # 200 ran 24 h ago, now 170; 140 is -17.6 % on 170 (fine) but 140 / 200 = -30 % in 24 h (soft).
    assert "CHANGE_24H_ABOVE_SOFT_LIMIT" in check_24h(140, current=170, then=200).codes()


def test_a_log_shorter_than_24_hours_says_so():
    report = check_24h(216, current=180, then=150, whole_window=False)
    [finding] = [f for f in report.findings if "24H" in f.code]
    assert "within the pump's retained event log (less than 24 h)" in finding.message


# --- doses finer than the library's entry step ------------------------------------------------------------
# The shipped library: baclofen 0.1 mcg/day and 0.01 mcg/h, morphine 0.01 mg/day and 0.001 mg/h.

STEP_CODE = "DOSE_FINER_THAN_ENTRY_STEP"


def entry_step_findings(report):
    return [f for f in report.findings if f.code == STEP_CODE]


def test_a_daily_dose_finer_than_the_step_names_the_dose_the_step_and_the_unit():
    report = check(prog(daily_dose=187.52))
    [finding] = entry_step_findings(report)
    assert finding.message == ("daily dose 187.52 mcg/day is finer than the 0.1 mcg/day this library allows for "
                               "baclofen: type it in steps of 0.1 mcg/day")
    assert finding.field == "therapy.daily_dose"


def test_a_dose_finer_than_the_step_is_an_error_no_override_lets_through():
    from programmer.review import Decision, decide

    report = check(prog(daily_dose=187.52))
    [finding] = entry_step_findings(report)
    assert finding.severity == "error" and finding in report.errors
    assert decide(report, "planned titration") is Decision.REFUSE
    # 187.5 is the same program one digit shorter: nothing else in it was refused.
    assert decide(check(prog(daily_dose=187.5)), None) is Decision.PROCEED


def test_a_flex_step_finer_than_the_hourly_step_is_named_by_its_step():
    # 6.25 mcg/h (two places) is a whole number of 0.01 mcg/h steps; 6.255 (three) is not.
    report = check(flex(500, [(1, "00:00", 6.25), (1, "08:00", 6.255), (1, "16:00", 6.25)]))
    [finding] = entry_step_findings(report)
    assert finding.field == "therapy.steps[1]"
    assert finding.message == ("therapy.steps[1] dose per hour 6.255 mcg/h is finer than the 0.01 mcg/h this library "
                               "allows for baclofen: type it in steps of 0.01 mcg/h")
    assert not entry_step_findings(check(flex(500, [(1, "00:00", 6.25), (1, "08:00", 6.26)])))


def test_every_flex_step_is_judged_on_its_own():
    # Steps 0 and 2 are finer than 0.01 mcg/h, step 1 is not.
    report = check(flex(500, [(1, "00:00", 6.251), (1, "08:00", 6.25), (1, "16:00", 6.259)]))
    assert [f.field for f in entry_step_findings(report)] == ["therapy.steps[0]", "therapy.steps[2]"]


def test_a_whole_day_of_a_flex_step_may_be_finer_than_the_daily_step():
    # 6.25 mcg/h all day is 150 mcg/day; 6.26 mcg/h is 150.24 mcg/day, finer than 0.1 mcg/day, but a flex
    # program is entered per hour: its daily total is derived, not typed.
    assert not entry_step_findings(check(flex(500, [(1, "00:00", 6.26)])))


def test_morphine_is_judged_in_mg_with_its_own_steps():
    morphine = {"concentration": 10, "name": "morphine", "unit": "mg"}
    # 2.75 mg/day is a whole number of 0.01 mg/day steps; 2.755 is not.
    assert not entry_step_findings(check(prog(daily_dose=2.75, **morphine)))
    [daily] = entry_step_findings(check(prog(daily_dose=2.755, **morphine)))
    assert daily.message == ("daily dose 2.755 mg/day is finer than the 0.01 mg/day this library allows for "
                             "morphine: type it in steps of 0.01 mg/day")
    # Per hour the step is 0.001 mg/h: 0.104 passes, 0.1045 does not.
    steps = {"mode": "flex", "steps": [{"start": "00:00", "dose_per_hour": 0.104},
                                       {"start": "12:00", "dose_per_hour": 0.1045}]}
    [hourly] = entry_step_findings(check(prog(therapy=steps, **morphine)))
    assert hourly.field == "therapy.steps[1]"
    assert "0.1045 mg/h is finer than the 0.001 mg/h this library allows for morphine" in hourly.message


@pytest.mark.parametrize("dose, shown", [
    (187.52, "187.52"),
    (187.500000001, "187.500000001"),
    (0.1 + 0.2, "0.30000000000000004"),  # not 0.3 in binary: the pump would be given this number, not 0.3
    (1e-05, "0.00001"),                   # exponent notation is written out
    (0.25, "0.25"),
])
def test_a_dose_is_judged_as_the_shortest_decimal_of_its_float(dose, shown):
    [finding] = entry_step_findings(check(prog(daily_dose=dose)))
    assert finding.message.startswith(f"daily dose {shown} mcg/day is finer than the 0.1 mcg/day")


@pytest.mark.parametrize("dose", [
    187.5,                 # exact in binary
    187.3,                 # not (no float is 187.3), yet its shortest decimal is: one place
    0.3,
    round(0.1 + 0.2, 1),   # what a script that computes doses writes: rounded to the step
    json.loads("187.50"),  # a JSON number's trailing zero is gone once read
    150,
    150.0,
    2e3,
    1e16,
])
def test_a_dose_in_whole_steps_passes_however_it_is_written(dose):
    assert not entry_step_findings(check(prog(daily_dose=dose)))


def library_with_daily_step(places: int):
    """The shipped library with baclofen's daily entry step set to 10**-places mcg/day."""
    from programmer.library import library_from_data

    data = LIBRARY.library.model_dump(mode="json")
    data["drugs"][0]["entry_step"]["daily_dose"] = float(f"1e-{places}")
    return library_from_data(data, f"baclofen in steps of 1e-{places} mcg/day")


def test_a_step_of_one_allows_whole_numbers_only():
    whole = library_with_daily_step(0)
    assert not entry_step_findings(check(prog(daily_dose=150.0), library=whole))
    [finding] = entry_step_findings(check(prog(daily_dose=150.5), library=whole))
    assert finding.message.endswith("type it in steps of 1 mcg/day")


def test_doses_the_pump_runs_now_are_not_judged_again():
    # A program written before the library set its step: the same doses of the same drug are not refused (a
    # refill keeps them, at any concentration), a change of dose or of drug is.
    running = prog(daily_dose=187.52)
    assert not entry_step_findings(check(running, current=running))
    assert not entry_step_findings(check(prog(concentration=1000, daily_dose=187.52), current=running))
    assert entry_step_findings(check(prog(daily_dose=187.53), current=running))
    assert entry_step_findings(check(running, current=prog(concentration=10, daily_dose=187.52, name="morphine",
                                                          unit="mg")))


def test_a_write_is_refused_but_a_refill_of_the_running_program_is_not():
    from datetime import date

    from tests.support.fake_pump import PUMP_TIME, FakePump, baclofen
    from programmer.interrogation import read_pump
    from programmer.refill import RefillRequest, Syringe, review_refill
    from programmer.review import Decision, review_write

    # The pump runs 150 mcg/day; 187.52 is +25 % (a warning the reason settles) and finer than 0.1 mcg/day.
    snapshot = read_pump(FakePump(baclofen(150)), clock=lambda: PUMP_TIME)
    review = review_write(snapshot, baclofen(187.52), LIBRARY, "planned titration")
    assert review.decision is Decision.REFUSE
    assert [f.code for f in review.report.errors] == [STEP_CODE]
    # A pump that already runs 187.52 mcg/day (10 mL in it, as it calculated) is refilled with 20 mL.
    snapshot = read_pump(FakePump(baclofen(187.52)), clock=lambda: PUMP_TIME)
    syringe = Syringe(baclofen(187.52).drug, "BX2291", date(2099, 12, 31))
    review = review_refill(snapshot, RefillRequest(10.0, 20.0, syringe), LIBRARY)
    assert review.decision is Decision.PROCEED and review.report.findings == []


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.name)
def test_shipped_examples_are_in_whole_entry_steps(path):
    from programmer.program import load_program

    assert not entry_step_findings(check(load_program(path)))


def test_the_documented_entry_steps_are_the_shipped_ones():
    text = (ROOT / "docs" / "program-format.md").read_text(encoding="utf-8")
    table = text[text.index("## Dose steps"):text.index("## Strictness")]
    rows = re.findall(r"^\| (\w+) \| ([\d.]+) (\w+)/day [^|]*\| ([\d.]+) (\w+)/h ", table, re.M)
    documented = {name: (float(daily), unit, float(hourly), hourly_unit)
                  for name, daily, unit, hourly, hourly_unit in rows}
    shipped = {rule.name: (rule.entry_step.daily_dose, rule.dose_unit, rule.entry_step.dose_per_hour, rule.dose_unit)
               for rule in LIBRARY.library.drugs}
    assert documented == shipped


def decimal_text(units: int, places: int) -> str:
    """``units`` steps of 10**-places written out: (18752, 2) -> "187.52", (150, 0) -> "150"."""
    whole, part = divmod(units, 10 ** places)
    return f"{whole}.{part:0{places}d}" if places else str(whole)


STEP_LIBRARIES = {places: library_with_daily_step(places) for places in range(MAX_DECIMAL_PLACES + 1)}


# At most 15 significant digits (a float holds every decimal of 15 digits apart from its neighbours), so the
# text is the shortest decimal of its float and the property is about the rule, not about float limits.
@given(places=st.integers(0, MAX_DECIMAL_PLACES), units=st.integers(1, 10 ** 14 - 1))
@settings(max_examples=80, deadline=None)
def test_any_whole_number_of_steps_passes(places, units):
    dose = float(decimal_text(units, places))
    assert not entry_step_findings(check(prog(daily_dose=dose), library=STEP_LIBRARIES[places]))


@given(places=st.integers(0, MAX_DECIMAL_PLACES), units=st.integers(0, 10 ** 13), digit=st.integers(1, 9))
@settings(max_examples=80, deadline=None)
def test_one_more_non_zero_decimal_place_fails_naming_the_dose_as_given(places, units, digit):
    text = decimal_text(units, places) + ("" if places else ".") + str(digit)
    [finding] = entry_step_findings(check(prog(daily_dose=float(text)), library=STEP_LIBRARIES[places]))
    assert finding.message.startswith(f"daily dose {text} mcg/day is finer than the ")
