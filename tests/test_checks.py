"""Dose-error reduction checks: every code README.md lists is triggered by a minimal case and not by a nearby
case that should pass, with the severity README gives it; the report carries the library identity."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from programmer.checks import check_program
from programmer.library import load_library
from programmer.planner import Plan
from programmer.program import program_from_data
from programmer.pump import PumpLimits, Reservoir, pump_model

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 28, 0, 0)
LIBRARY = load_library()


def readme_codes() -> dict[str, str]:
    """The check codes README.md lists, with the severity its list gives them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Check codes.**"):]
    section = section[:section.index("\n\n")]
    errors_part, warnings_part = section.split("Warnings", 1)
    codes = {code: "error" for code in re.findall(r"`([A-Z_]+)`", errors_part)}
    codes.update({code: "warning" for code in re.findall(r"`([A-Z_]+)`", warnings_part)})
    return codes


README_CODES = readme_codes()


def test_readme_lists_the_codes():
    # 11 errors and 9 warnings in README.md's list.
    assert list(README_CODES.values()).count("error") == 11
    assert list(README_CODES.values()).count("warning") == 9


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


def check(program, current=None, volume=15.0, alarm=2.0, pump="ITB-20", library=LIBRARY):
    limits = pump if isinstance(pump, PumpLimits) else pump_model(pump)
    reservoir = Reservoir(capacity_ml=limits.capacity_ml, volume_ml=volume, low_alarm_ml=alarm)
    return check_program(Plan(program, reservoir, START), library, limits, current)


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
