"""The editor's view model on a pump that runs nothing to compare with (issue 10): when it asks what the patient had
before, how a typed answer is read, where its problems go, and what the Review page says was compared. No Qt.

The hand-made snapshot's event log was not read (``recent_events`` None), so a stopped pump's stop cannot be
explained and a first program needs the answer, as after a fill; tests/ui/test_first_program.py does the same
against the real emulator.
"""

from __future__ import annotations

import pytest

from programmer.checks import NO_ANSWER, PriorTherapy
from programmer.library import load_library
from tests.support.ui_fakes import program, snapshot
from ui.view_models.comparison import compared_with
from ui.view_models.draft import PRIOR, Draft, evaluate, prior_question

LIBRARY = load_library()
STOPPED = snapshot(program({"mode": "stopped"}))


def draft(dose: str = "150", previous: str = "", new_to_itb: bool = False, mode: str = "simple_continuous") -> Draft:
    result = Draft.from_program(program({"mode": "stopped"}))
    result.mode, result.daily_dose = mode, dose  # type: ignore[assignment]
    result.previous_daily_dose, result.new_to_itb = previous, new_to_itb
    return result


def texts(evaluation, key: str) -> list[str]:
    return [problem.text for problem in evaluation.at(key)]


def test_a_stopped_pump_asks_and_nothing_can_be_reviewed_until_it_is_answered():
    result = evaluate(draft(), STOPPED, LIBRARY)
    assert result.question == "its event log does not say when or from which dose delivery stopped"
    assert [problem.code for problem in result.at(PRIOR)] == ["NO_PROGRAM_TO_COMPARE"]
    assert texts(result, PRIOR)[0].startswith("The pump runs no program to compare the new daily dose 150 mcg/day")
    assert not result.can_review


def test_a_pump_that_runs_a_program_does_not_ask_and_ignores_a_stale_answer():
    running = snapshot()  # 150 mcg/day
    assert prior_question(running, LIBRARY) is None
    result = evaluate(draft("150", previous="15"), running, LIBRARY)  # 150 is 10x 15: not looked at
    assert result.question is None and result.can_review and result.review.prior == NO_ANSWER


def test_a_stopped_program_on_a_stopped_pump_asks_nothing():
    assert evaluate(draft(mode="stopped"), STOPPED, LIBRARY).question is None


def test_the_previous_dose_is_compared_with_like_a_change():
    # 150 against 150: no change, reviewable; against 15: 10x, a slip at the daily dose.
    same = evaluate(draft("150", previous="150"), STOPPED, LIBRARY)
    assert same.can_review and same.review.prior == PriorTherapy(previous_daily_dose=150)
    slip = evaluate(draft("150", previous="15"), STOPPED, LIBRARY)
    assert "PROBABLE_UNIT_OR_DECIMAL_SLIP" in [problem.code for problem in slip.at("daily_dose")]
    assert not slip.can_review


def test_new_to_itb_holds_the_dose_to_the_starting_limits():
    # 150 is above baclofen's soft starting maximum of 100: a warning, reviewable; 250 is above the hard 200.
    soft = evaluate(draft("150", new_to_itb=True), STOPPED, LIBRARY)
    assert soft.can_review and [w.code for w in soft.warnings] == ["STARTING_DOSE_ABOVE_SOFT_MAX"]
    hard = evaluate(draft("250", new_to_itb=True), STOPPED, LIBRARY)
    assert [problem.code for problem in hard.at("daily_dose")] == ["STARTING_DOSE_ABOVE_HARD_MAX"]


@pytest.mark.parametrize("previous, new_to_itb, words", [
    ("150", True, "Give either the daily dose the patient had before or that the patient is new to intrathecal "
                  "therapy, not both"),
    ("0", False, "The daily dose before: 0.0 is not a daily dose (a finite number above 0; a patient who had none "
                 "is new to intrathecal therapy)"),
    ("abc", False, "The daily dose before: 'abc' is not a number"),
    ("1,5", False, "The daily dose before: '1,5': use a decimal point, not a comma"),
])
def test_an_answer_that_cannot_be_used_is_said_at_the_answer(previous, new_to_itb, words):
    result = evaluate(draft("150", previous, new_to_itb), STOPPED, LIBRARY)
    assert texts(result, PRIOR)[0] == words
    assert "NO_PROGRAM_TO_COMPARE" in [problem.code for problem in result.at(PRIOR)]  # still unanswered
    assert not result.can_review


def test_the_review_says_what_was_compared_and_the_answer():
    review = evaluate(draft("150", previous="150"), STOPPED, LIBRARY).review
    assert compared_with(review) == (
        "The pump runs no program to compare with (its event log does not say when or from which dose delivery "
        "stopped); the answer: the patient's daily dose before, 150\u00a0mcg/day. Compared with the patient's "
        "previous daily dose, 150 mcg/day.")
    new = evaluate(draft("100", new_to_itb=True), STOPPED, LIBRARY).review
    assert compared_with(new).endswith("the answer: new to intrathecal therapy. Compared with the starting-dose limits "
                                       "for baclofen, a patient new to intrathecal therapy: soft maximum 100 mcg/day, "
                                       "hard maximum 200 mcg/day.")
    running = evaluate(draft("160"), snapshot(), LIBRARY).review
    assert compared_with(running) == "Compared with the pump's current program, 150 mcg/day."
