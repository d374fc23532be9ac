"""Findings in a clinician's words (``ui.view_models.wording``): every code the checks can emit, produced by the real
checks from a situation that provokes it, reads without field paths, codes or command-line syntax and
keeps every figure of its message; a few sentences checked by hand; the keyboard letters."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from programmer.checks import DoseBaseline, Finding, Increase, PriorTherapy, Stop, check_program
from programmer.library import library_from_data, load_library
from programmer.overrides import clinical_context
from programmer.planner import Plan
from programmer.port import ActiveProgram, Alarm
from programmer.program import NO_PROGRAM_CHECKSUM, Drug
from programmer.pump import Reservoir
from programmer.refill import RefillRequest, Syringe, review_refill
from programmer.review import review_write
from tests.support.library_data import shipped_data
from tests.support.bolus_situations import every_bolus_finding
from tests.support.check_codes import emitted_check_codes
from tests.support.ui_fakes import BACLOFEN, PUMP_TIME, program, snapshot
from ui.view_models.mnemonics import mnemonic, mnemonic_letter
from ui.view_models.wording import finding_text

LIBRARY = load_library()
LIMITS = snapshot().limits  # an ITB-20: 0.048 to 24 mL/day, 13 steps a day, cycles of up to 7 days
MORPHINE = {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 10}
ZICONOTIDE = {"name": "ziconotide", "dose_unit": "mcg", "concentration_per_ml": 25}
FORBIDDEN = ("therapy.", "drug.", "steps[", "pump-programmer", "--", "_ml", "(s)")
CODE_WORD = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def baclofen(concentration: float) -> dict:
    return dict(BACLOFEN, concentration_per_ml=concentration)


def simple(dose: float, drug: dict = BACLOFEN):
    return program({"mode": "simple_continuous", "daily_dose": dose}, drug)


def flex(steps: list[tuple[int, str, float]], cycle_days: int = 1, drug: dict = BACLOFEN):
    return program({"mode": "flex", "cycle_days": cycle_days,
                    "steps": [{"day": d, "start": s, "dose_per_hour": r} for d, s, r in steps]}, drug)


def refilled(withdrawn_ml: float, added_ml: float, drug: Drug = Drug(**BACLOFEN), reason: str | None = None,
             expiry: date = date(2099, 12, 31)) -> list[Finding]:
    """The findings of a refill of the 14 mL pump that runs 150 mcg/day of baclofen 500 mcg/mL."""
    request = RefillRequest(withdrawn_ml, added_ml, Syringe(drug, "BX2291", expiry), reason)
    return review_refill(snapshot(), request, LIBRARY).report.findings


def checked(new, current=None, baseline=None, volume_ml: float = 14.0) -> list[Finding]:
    plan = Plan(new, Reservoir(capacity_ml=20.0, volume_ml=volume_ml, low_alarm_ml=2.0), PUMP_TIME)
    return check_program(plan, LIBRARY, LIMITS, current, baseline).findings


def first(new, current=None, **facts) -> list[Finding]:
    """Findings of a program for a pump that runs nothing to compare with (``facts``: stop, prior, last_increase)."""
    plan = Plan(new, Reservoir(capacity_ml=20.0, volume_ml=14.0, low_alarm_ml=2.0), PUMP_TIME)
    library = facts.pop("library", LIBRARY)
    return check_program(plan, library, LIMITS, current or program({"mode": "stopped"}), **facts).findings


def every_kind_of_finding() -> list[Finding]:
    """Real findings from the real checks, at least one of every code (two messages for some codes)."""
    day_before = PUMP_TIME - timedelta(hours=24)
    no_drug = replace(snapshot(), active=ActiveProgram(None, {}, NO_PROGRAM_CHECKSUM, None))
    eos = replace(snapshot(), status=replace(snapshot().status, battery_status="eos",
                                             alarms=(Alarm("eos", "critical", PUMP_TIME),
                                                     Alarm("motor_stall", "critical", PUMP_TIME))))
    drifting = replace(snapshot(), computer_time=PUMP_TIME - timedelta(hours=2, minutes=5))
    filled = Stop("filled", PUMP_TIME - timedelta(hours=1), 1.0)
    stopped_25_h = Stop("stopped", PUMP_TIME - timedelta(hours=25), 25.0, 200.0)
    data = shipped_data()
    for drug in data["drugs"]:
        drug.pop("starting_dose")
    no_starting_doses = library_from_data(data, "a site library without starting doses")
    findings = [
        *checked(simple(150, {"name": "unknownium", "dose_unit": "mcg", "concentration_per_ml": 500})),
        *checked(simple(150, {"name": "baclofen", "dose_unit": "mg", "concentration_per_ml": 0.5})),
        *checked(simple(150, baclofen(300))),
        *checked(simple(187.52)),                                              # finer than the 0.1 mcg/day step
        *checked(simple(1500, baclofen(50))),                                  # 30 mL/day
        *checked(flex([(1, "00:00", 2), (1, "12:00", 60)], drug=baclofen(50))),  # a step at 28.8 mL/day
        *checked(simple(20, baclofen(2000))),                                  # 0.01 mL/day
        *checked(flex([(1, "00:00", 6.25)], cycle_days=14)),
        *checked(flex([(1, f"{hour:02d}:00", 6.25) for hour in range(14)])),
        *checked(simple(2500)), *checked(simple(5)), *checked(simple(15)),
        *checked(flex([(1, "00:00", 5), (1, "12:00", 30), (1, "13:00", 5)])),   # 4.97 x the mean rate
        *checked(flex([(1, "00:00", 1), (1, "12:00", 60), (1, "13:00", 1)])),   # 17 x
        *checked(simple(1500), simple(150)), *checked(simple(185), simple(150)), *checked(simple(300), simple(150)),
        *checked(flex([(1, "00:00", 6.25), (2, "00:00", 190 / 24)], cycle_days=2), simple(150)),
        *checked(flex([(1, "00:00", 6.25), (2, "00:00", 260 / 24)], cycle_days=2), simple(150)),
        *checked(simple(150), simple(5, MORPHINE)),
        *checked(simple(150, baclofen(1000)), simple(150)), *checked(simple(150, baclofen(50)), simple(150)),
        *checked(program({"mode": "stopped"}), simple(150)),
        *review_write(snapshot(), simple(60), LIBRARY, context=clinical_context("intolerance")).report.findings,
        *checked(simple(150), volume_ml=3.0), *checked(simple(150), volume_ml=2.0),
        *checked(simple(200), simple(180), DoseBaseline(150, "mcg", day_before, 1)),
        *checked(simple(240), simple(180), DoseBaseline(150, "mcg", day_before, 2, whole_window=False)),
        *review_write(no_drug, simple(150), LIBRARY).report.findings,
        *review_write(snapshot(), simple(5, MORPHINE), LIBRARY).report.findings,
        *review_write(snapshot(), simple(150, baclofen(1000)), LIBRARY).report.findings,
        *refilled(25.0, 25.0), *refilled(5.0, 14.0), *refilled(0.0, 20.0, reason="checked the needle and the pocket"),
        *refilled(14.0, 14.0, Drug(**MORPHINE)), *refilled(14.0, 14.0, expiry=date(2020, 1, 31)),
        *refilled(14.0, 14.0, Drug(**baclofen(1000))),
        *review_write(eos, simple(150), LIBRARY).report.findings,
        *review_write(drifting, simple(150), LIBRARY).report.findings,
        *first(simple(960), stop=filled),                                      # no answer
        *first(simple(960), stop=filled, prior=PriorTherapy(new_to_itb=True)),  # starting dose: hard 200
        *first(simple(150), stop=filled, prior=PriorTherapy(new_to_itb=True)),  # soft 100
        *first(simple(150), stop=filled, prior=PriorTherapy(new_to_itb=True), library=no_starting_doses),
        *first(simple(900), stop=stopped_25_h), *first(simple(150), stop=stopped_25_h),  # 450 % and 75 % of 200
        *first(simple(19.2, ZICONOTIDE), simple(9.6, ZICONOTIDE)),            # a step of 9.6
        *first(simple(7.2, ZICONOTIDE), simple(4.8, ZICONOTIDE),
               last_increase=Increase(PUMP_TIME - timedelta(hours=6), 6.0, 2.4, 4.8)),
        *every_bolus_finding(),
    ]
    return list({(f.code, f.message): f for f in findings}.values())


FINDINGS = every_kind_of_finding()


def figures(message: str) -> list[str]:
    """The numbers of a message a reader must still find on screen: all but step indices (shown counted
    from 1) and ISO dates (shown as dates)."""
    message = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+", "", re.sub(r"steps\[\d+\]", "", message))
    return re.findall(r"\d+(?:\.\d+)*", message)


def test_the_situations_provoke_every_code_the_checks_can_emit():
    assert {f.code for f in FINDINGS} == set(emitted_check_codes())


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.code)
def test_every_finding_reads_without_paths_codes_or_command_lines_and_keeps_its_figures(finding):
    text = finding_text(finding)
    assert not [part for part in FORBIDDEN if part in text], text
    assert not CODE_WORD.search(text), text
    assert text[0].isupper(), text
    for figure in figures(finding.message):
        assert re.search(rf"(?<![\d.]){re.escape(figure)}(?![\d])", text), (figure, text)


def test_a_flow_reads_as_the_daily_dose_and_a_volume_per_day():
    finding = Finding("FLOW_ABOVE_PUMP_MAX", "error", "therapy.daily_dose needs 199.998 mL/day, above the ITB-20 "
                      "maximum of 24 mL/day", "therapy.daily_dose")
    assert finding_text(finding) == ("The daily dose needs a volume of 199.998 mL/day of drug solution, above the "
                                     "ITB-20 pump's maximum of 24 mL/day")
    step = Finding("FLOW_BELOW_PUMP_MIN", "error", "therapy.steps[2] needs 0.01 mL/day, below the ITB-20 minimum "
                   "of 0.048 mL/day", "therapy.steps[2]")
    assert finding_text(step) == ("The dose per hour of step 3 needs a volume of 0.01 mL/day of drug solution, "
                                  "below the ITB-20 pump's minimum of 0.048 mL/day")


def test_clock_drift_points_to_the_overview_not_the_command_line():
    drifting = replace(snapshot(), computer_time=PUMP_TIME - timedelta(hours=2, minutes=5))
    finding, = review_write(drifting, simple(150), LIBRARY).report.findings
    assert finding_text(finding) == (
        "The pump clock is 2 h 5 min ahead of this computer's (pump Mon 02 Mar 2026 00:00, this computer Sun 01 Mar "
        "2026 21:55), more than 5 min: flex steps start by the pump's clock and every date shown is on it. Set the "
        "clock first with \"Set the pump clock to this computer's time\" on the Overview, then interrogate again")


def test_the_24_hour_change_says_its_date_and_count_in_words():
    finding, = [f for f in checked(simple(200), simple(180), DoseBaseline(150, "mcg", PUMP_TIME - timedelta(days=1), 1))
                if f.code == "CHANGE_24H_ABOVE_SOFT_LIMIT"]
    assert finding_text(finding) == (
        "Within 24 h the daily dose changes by +33.3 %: 150 mcg/day ran at Sun 01 Mar 2026 00:00 (pump clock) and 1\u00a0"
        "program has been activated since; this change goes from 180 to 200 mcg/day, beyond the soft limit of 20 % "
        "for baclofen")


def test_steps_are_counted_from_one_and_ratios_said_in_words():
    finding, = [f for f in checked(flex([(1, "00:00", 5), (1, "12:00", 30), (1, "13:00", 5)]))
                if f.code == "PEAK_RATE_ABOVE_SOFT_LIMIT"]
    text = finding_text(finding)
    assert text.startswith("Step 2 runs at 30 mcg/h, 4.97 times the mean 6.04 mcg/h of day 1 (145 mcg/day)")
    assert text.endswith("beyond the soft limit of 3 times for baclofen")


def test_a_first_program_without_an_answer_says_what_to_type_or_tick():
    finding, = [f for f in first(simple(960), stop=Stop("filled", PUMP_TIME - timedelta(hours=1), 1.0))
                if f.code == "NO_PROGRAM_TO_COMPARE"]
    assert finding_text(finding) == (
        "The pump runs no program to compare the new daily dose 960 mcg/day with (the pump was filled while it ran "
        "nothing at Sun 01 Mar 2026 23:00, 1 h ago (pump clock): a first fill, or a new drug): type the patient's "
        "daily dose before this program (from the chart or the old pump), or tick that the patient is new to "
        "intrathecal therapy")


def test_a_pump_without_a_drug_is_told_to_be_refilled_in_words():
    no_drug = replace(snapshot(), active=ActiveProgram(None, {}, NO_PROGRAM_CHECKSUM, None))
    finding, = [f for f in review_write(no_drug, simple(150), LIBRARY).report.findings if f.code == "PUMP_HAS_NO_DRUG"]
    assert finding_text(finding) == "The pump holds no drug: name the drug at a refill to fill it"


def test_a_message_no_template_matches_still_loses_its_paths_and_command_line():
    reworded = Finding("CLOCK_DRIFT", "warning", "pump clock off by 7 min; run `pump-programmer set-clock PORT --yes` "
                       "(pump-programmer set-clock PORT --yes) before therapy.steps[0] starts", "clock")
    assert finding_text(reworded) == "Pump clock off by 7 min; run before step 1 starts"
    unknown = Finding("SOMETHING_NEW", "warning", "drug.concentration_per_ml 500 mcg/mL and withdrawn_ml 3 mL")
    assert finding_text(unknown) == "The concentration 500 mcg/mL and the volume withdrawn, 3 mL,"


def test_mnemonics_prefer_word_starts_never_repeat_and_escape_ampersands():
    taken = set("pv12345rncbw")  # the window's letters and the Review page's fixed ones
    texts = [mnemonic(text, taken) for text in ("Acknowledge warning 1", "Reason for warning 1:",
                                                "Acknowledge warning 2", "Reason for warning 2:", "R & P")]
    assert texts == ["&Acknowledge warning 1", "Reason &for warning 1:", "Ac&knowledge warning 2",
                     "R&eason for warning 2:", "R && P"]
    letters = [mnemonic_letter(text) for text in texts]
    assert letters == ["a", "f", "k", "e", None]
    assert mnemonic_letter("Tom && &Jerry") == "j" and mnemonic_letter("&&") is None
