"""The Bolus page's logic without a window, on a hand-made pump: an ITB-20 with baclofen 500 mcg/mL at 150 mcg/day
(0.3 mL/day), 14 mL in it, 0.15 mL of tubing and a 60 cm catheter (0.306 mL of line in all). Every figure is computed
here by hand. ``~`` in an expectation is the no-break space between a figure and its unit."""

from __future__ import annotations

import pytest

from programmer.commit import SessionResult
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import BolusOutcome, BolusState
from tests.support.ui_fakes import dead_volume_snapshot, implant_snapshot, snapshot
from ui.view_models.bolus import BolusEntry, ended_text, outcome_text, parse_figure, progress

LIBRARY = load_library()


def nb(text: str) -> str:
    return text.replace("~", "\u00a0")


ENTRY = BolusEntry(dead_volume_snapshot(), LIBRARY)


def test_a_bolus_is_said_as_total_per_hour_in_ml_and_with_the_next_24_h():
    # 50 mcg over 30 min: 100 mcg/h; 50 / 500 = 0.1 mL at 0.2 mL/h; next 24 h: 150 basal + 50 = 200 mcg.
    evaluation = ENTRY.therapeutic("50", "30", "")
    assert evaluation.verdict.ready and evaluation.review is not None
    assert evaluation.figures == nb("50~mcg in total over 30~min = 100~mcg/h; 0.1~mL at 0.2~mL/h. In the next 24~h "
                                    "with the basal program: 200~mcg (boluses in the last 24~h: 0~mcg).")


def test_a_daily_dose_typed_as_a_bolus_is_refused_and_half_of_it_asks_a_reason():
    slip = ENTRY.therapeutic("150", "60", "")  # the whole daily dose as one bolus
    assert not slip.verdict.ready and slip.verdict.text.startswith("Refused.") and slip.review is None
    large = ENTRY.therapeutic("80", "60", "")  # above half the 150 mcg/day
    assert not large.verdict.ready and large.verdict.asks_reason and large.verdict.severity == "warning"
    given = ENTRY.therapeutic("80", "60", "spasm crisis seen in clinic today")
    assert given.verdict.ready and given.review is not None
    assert given.review.override_reason is not None and "spasm crisis" in given.review.override_reason


@pytest.mark.parametrize(("text", "says"), [("", "Enter the dose in mcg."),
                                            ("1,5", "The dose '1,5': use a decimal point, not a comma."),
                                            ("-2", "The dose '-2': type a number above 0 in mcg")])
def test_what_is_typed_is_said_wrong_in_words(text, says):
    with pytest.raises(ValueError):
        parse_figure(text, "the dose", "mcg")
    assert ENTRY.therapeutic(text, "30", "").verdict.text.startswith(says)


def test_a_prime_takes_its_volume_from_the_catheter_never_typed():
    # After an implant (the new pump's tubing holds no drug): 0.15 mL tubing + 60 cm x 0.0026 mL/cm = 0.306 mL at
    # 1 mL/h: 18.36 min = 18 min 22 s (rounded); 153 mcg moved into the line, none to the patient during the prime.
    evaluation = BolusEntry(implant_snapshot(), LIBRARY).prime("60", "", "implant", "")
    assert evaluation.verdict.ready and evaluation.review is not None
    assert abs(evaluation.review.volume_ml - 0.306) < 1e-12
    assert evaluation.figures.startswith(nb("Fills the tubing and the 60~cm catheter: 0.306~mL (computed, not typed) "
                                            "at 1~mL/h, 18~min 22~s with the basal program paused"))
    assert nb("153~mcg of drug into the line") in evaluation.figures
    assert "the line holds no drug (spinal fluid only): none reaches the patient during the prime" in evaluation.figures


def test_a_prime_of_a_line_full_of_drug_says_the_drug_it_pushes_to_the_patient():
    # The line the pump reports holds 0.306 mL of 500 mcg/mL: the prime pushes 153 mcg to the patient (a warning).
    evaluation = ENTRY.prime("60", "", "implant", "")
    assert not evaluation.verdict.ready and evaluation.verdict.asks_reason
    assert "153 mcg of drug already in the line reach the patient during the prime" in evaluation.figures
    assert "none reaches" not in evaluation.figures
    assert not ENTRY.prime("120", "", "implant", "").verdict.ready  # beyond the 110 cm catheter
    assert ENTRY.prime("60", "", None, "").verdict.text.startswith("Choose why the line is primed")


def test_a_short_lockout_warns_minutes_typed_for_hours():
    evaluation = ENTRY.demand(True, "25", "10", "2", "4", "")
    assert not evaluation.verdict.ready
    short = ENTRY.demand(True, "25", "10", "30", "4", "")
    assert short.verdict.asks_reason and "lockout" in short.verdict.text.lower()
    off = ENTRY.demand(False, "", "", "", "", "")
    assert off.verdict.ready and off.figures.startswith("The demand dose is switched off")


def test_a_pump_without_dead_volume_figures_offers_only_a_therapeutic_bolus():
    old = BolusEntry(snapshot(), LIBRARY)
    assert old.unavailable("therapeutic") is None
    assert old.unavailable("prime").startswith("This pump does not report its dead volume")


def test_progress_and_how_a_bolus_ended():
    # 12.5 of 50 mcg is 25 %; 1350 s left is 22 min 30 s.
    assert progress(BolusState("b-1", 50.0, 12.5, 1350.0), "mcg") == (25, nb(
        "Therapeutic bolus b-1: 12.5~mcg of 50~mcg delivered, 22~min 30~s left. Stopping it keeps what was delivered."))
    stopped = BolusOutcome("b-1", 12.5, 0.025, "cancelled", False, delivered=12.5)
    assert ended_text(stopped, "mcg", 50.0) == nb("Therapeutic bolus b-1 stopped: 12.5~mcg of 50~mcg delivered; the rest "
                                            "will not be.")


def test_an_uncertain_bolus_is_said_uncertain_and_never_to_give_it_again():
    review = ENTRY.therapeutic("50", "30", "").review
    result = SessionResult(review, Outcome.UNCERTAIN, "the link failed: bolus b-20261204T100000-a1b2c3 may have "
                           "started; the pump reports 5 mcg delivered", None)
    verdict = outcome_text(result)
    assert not verdict.ready and verdict.text.startswith("UNCERTAIN: The link failed: bolus b-20261204T100000-a1b2c3")
    assert "Do not give it again" in verdict.text
