"""The refill wizard's steps without a window: what each says, and when it lets the clinician go on. The pump is
the hand-made ITB-20 of tests/support/ui_fakes.py: 14 mL of baclofen 500 mcg/mL at 150 mcg/day (0.3 mL/day),
its clock and this computer's both at Mon 02 Mar 2026 00:00."""

from __future__ import annotations

from datetime import timedelta

import pytest

from programmer.library import load_library
from tests.support.ui_fakes import PUMP_TIME, snapshot
from ui.view_models.format import PUMP_CLOCK, dated
from ui.view_models.refill_steps import RefillSteps, parse_volume

LIBRARY = load_library()
BACLOFEN = ("baclofen", "mcg", "500", "BX2291", "2099-12-31")


def steps(withdrawn: str = "13") -> RefillSteps:
    refill = RefillSteps(snapshot(), LIBRARY)
    assert refill.check_withdrawal(withdrawn, "").ready
    return refill


def test_the_expectation_names_the_volume_the_capacity_and_the_tolerance():
    assert RefillSteps(snapshot(), LIBRARY).expectation() == (
        "Expect about 14\u00a0mL back: the volume the pump calculated it holds (reservoir 20\u00a0mL). A difference of "
        "more than 1.4\u00a0mL stops the refill before anything is injected.")


@pytest.mark.parametrize("text, words", [
    ("", "Enter the volume withdrawn in mL"),
    ("1,5", "'1,5': use a decimal point, not a comma"),
    ("-1", "'-1': type the volume with the digits 0-9"),
    ("1e1", "'1e1': type the volume with the digits 0-9"),
])
def test_a_volume_that_is_not_one_is_said_so(text, words):
    with pytest.raises(ValueError, match=words[1:]):
        parse_volume(text, "withdrawn")
    verdict = RefillSteps(snapshot(), LIBRARY).check_withdrawal(text, "")
    assert not verdict.ready and verdict.text.startswith(words[:1].upper())


def test_a_withdrawal_beyond_tolerance_stops_until_a_reason_is_given():
    refill = RefillSteps(snapshot(), LIBRARY)
    within = refill.check_withdrawal("12.6", "")  # 1.4 mL short: exactly the tolerance
    assert within.ready and within.severity == "ok"
    assert within.text == ("12.6\u00a0mL withdrawn, -1.4\u00a0mL against the 14\u00a0mL calculated: within the "
                           "tolerance of 1.4\u00a0mL.")
    stop = refill.check_withdrawal("10", "")
    assert not stop.ready and stop.text.startswith("STOP. The volume withdrawn, 10 mL, is 4 mL less than the 14 mL")
    assert "injecting now would be a pocket fill" in stop.text
    assert stop.asks_reason and stop.text.endswith("Going on needs a reason, recorded in the audit log.")  # said once
    going_on = refill.check_withdrawal("10", "needle placed again, fluid sent to the lab")
    assert going_on.ready and going_on.severity == "warning"
    assert refill.withdrawal_reason == "needle placed again, fluid sent to the lab"
    impossible = refill.check_withdrawal("21", "any reason")
    assert not impossible.ready and impossible.text.startswith("Refused.") and refill.withdrawal is None


def test_the_syringe_is_stated_and_its_own_findings_stop_it():
    refill = steps()
    assert not refill.check_syringe("", "", "", "", "").ready
    same = refill.check_syringe(*BACLOFEN)
    assert same.ready and same.text == "The same drug and concentration as the pump holds."
    expired = refill.check_syringe("baclofen", "mcg", "500", "BX0001", "2026-03-01")
    assert not expired.ready
    assert "lot BX0001 expired before today, 2026-03-02" in expired.text
    assert not refill.check_syringe("baclofen", "mcg", "500", " ", "2099-12-31").ready  # no lot
    assert "year-month-day" in refill.check_syringe("baclofen", "mcg", "500", "BX2291", "31/12/2099").text
    stronger = refill.check_syringe("baclofen", "mcg", "1000", "BX2291", "2099-12-31")
    assert not stronger.ready and "0.15 mL/day instead of 0.3 mL/day" in stronger.text
    assert "bridge bolus" in stronger.text
    morphine = refill.check_syringe("morphine", "mg", "10", "M-77", "2099-12-31")
    assert morphine.ready and morphine.severity == "warning" and "A new drug for this pump" in morphine.text


def test_the_volume_added_is_held_to_what_fits_and_the_dates_are_shown():
    refill = steps("13")  # 1 mL may be left: 19 mL fits
    assert refill.check_syringe(*BACLOFEN).ready
    assert refill.most_that_fits_ml() == pytest.approx(19)
    over, _ = refill.review("19.5", "", "Dr Ng")
    assert not over.ready and over.text.startswith("Refused.") and "make 20.5 mL" in over.text
    unsigned, _ = refill.review("19", "", "")
    assert not unsigned.ready and "Enter your name" in unsigned.text
    ready, review = refill.review("19", "", "Dr Ng")
    # 19 mL at 0.3 mL/day: the 2 mL alarm after 17 / 0.3 = 56 days 16 h, empty after 63 days 8 h; refill by the
    # alarm less a week, 49 days 16 h (before baclofen's 180 days of stability).
    low = dated(PUMP_TIME + timedelta(days=56, hours=16), PUMP_CLOCK)
    empty = dated(PUMP_TIME + timedelta(days=63, hours=8), PUMP_CLOCK)
    by = dated(PUMP_TIME + timedelta(days=49, hours=16), PUMP_CLOCK)
    assert ready.ready and ready.text == (f"Ready to record: Low-reservoir alarm {low}; empty {empty}. Refill by {by}, "
                                          "set by the low-reservoir alarm, less a week's margin.")
    assert review is not None and review.request.syringe.lot == "BX2291"


def test_warnings_need_a_reason_before_the_refill_can_be_recorded():
    refill = steps("14")
    assert refill.check_syringe("morphine", "mg", "10", "M-77", "2099-12-31").ready
    waiting, _ = refill.review("20", "", "Dr Ng")
    assert not waiting.ready and "Give a reason" in waiting.text
    ready, review = refill.review("20", "switching to morphine, agreed with the pain team", "Dr Ng")
    assert ready.ready and "The pump delivers nothing yet" in ready.text
    assert review is not None and review.override_reason == "switching to morphine, agreed with the pain team"


def test_a_reason_that_says_nothing_is_answered_with_the_rule_at_every_keystroke_and_never_goes_on():
    # The wizard asks its steps again at every key typed, so every partial reason must get an answer, not an error.
    refill = RefillSteps(snapshot(), LIBRARY)
    for partial in ("n", "ne", "needle", "needle again"[:9]):
        stop = refill.check_withdrawal("10", partial)
        assert not stop.ready and stop.asks_reason and f"{partial!r} is not a reason" in stop.text
        assert refill.withdrawal is None and refill.withdrawal_reason is None
    assert refill.check_withdrawal("13", "").asks_reason is False  # within tolerance: no reason asked for

    new_drug = steps("14")
    assert new_drug.check_syringe("morphine", "mg", "10", "M-77", "2099-12-31").ready
    short, review = new_drug.review("20", "x", "Dr Ng")
    assert not short.ready and short.asks_reason and "'x' is not a reason" in short.text
    assert review is not None and review.override_reason is None


def test_a_reason_typed_where_there_is_no_warning_is_neither_asked_for_nor_recorded():
    refill = steps("13")
    assert refill.check_syringe(*BACLOFEN).ready
    ready, review = refill.review("19", "x", "Dr Ng")
    assert ready.ready and not ready.asks_reason
    assert review is not None and review.override_reason is None
