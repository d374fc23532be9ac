"""The reviews of a bolus, a prime, a bridge and a demand dose, on cases computed by hand.

The pump: an ITB-20 (0.15 mL tubing, bolus at most 6 mL/h) with a 60 cm catheter (line 0.306 mL) running baclofen
500 mcg/mL at 150 mcg/day (0.3 mL/day), 10 mL in the reservoir, low alarm 2 mL. The shipped library: baclofen bolus
soft 100 / hard 200 mcg, daily dose soft 1000 / hard 2000 mcg/day; ziconotide never as a bolus.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from programmer.bolus import review_bolus, review_bridge, review_demand, review_prime
from programmer.errors import InputError
from programmer.library import load_library
from programmer.port import BolusState, DemandDose
from programmer.program import Drug, program_from_data
from programmer.review import Decision
from tests.support.bolus_situations import (LINE_ML, demand, every_bolus_finding, line, pump, snapshot,
                                            started, ziconotide)
from tests.support.check_codes import emitted_check_codes
from tests.support.fake_pump import PUMP_TIME, FakePump, baclofen

LIBRARY = load_library()


def codes(review) -> dict[str, str]:
    return {finding.code: finding.severity for finding in review.report.findings}


# --- the therapeutic bolus --------------------------------------------------------------------------------------


def test_a_small_bolus_proceeds_and_states_its_figures():
    review = review_bolus(snapshot(), 30, 30, LIBRARY)
    assert codes(review) == {}
    assert review.decision is Decision.PROCEED
    assert review.volume_ml == pytest.approx(0.06)          # 30 mcg / 500 mcg/mL
    assert review.dose_per_hour == pytest.approx(60.0)      # 30 mcg in half an hour
    assert review.ml_per_hour == pytest.approx(0.12)
    assert review.next_24h_dose == pytest.approx(180.0)     # 150 basal + 30


@pytest.mark.parametrize("dose, found", [
    (150, {"BOLUS_LOOKS_LIKE_DAILY_DOSE": "error", "BOLUS_ABOVE_SOFT_MAX": "warning"}),  # the whole day's dose
    (80, {"BOLUS_LARGE_FOR_DAILY_DOSE": "warning"}),                                     # 53 % of it
    (75, {}),                                                                            # exactly half: no warning
    (250, {"BOLUS_ABOVE_HARD_MAX": "error", "BOLUS_LOOKS_LIKE_DAILY_DOSE": "error"}),   # library hard maximum 200
    (500, {"BOLUS_ABOVE_HARD_MAX": "error", "BOLUS_LOOKS_LIKE_DAILY_DOSE": "error"}),   # 10x, 500 typed for 50
])
def test_a_bolus_against_the_daily_dose_and_the_library(dose, found):
    review = review_bolus(snapshot(), dose, 30, LIBRARY)
    assert codes(review) == found
    assert review.decision is (Decision.REFUSE if "error" in found.values() else
                               Decision.NEEDS_OVERRIDE if found else Decision.PROCEED)


def test_the_daily_dose_messages_give_the_figures():
    findings = review_bolus(snapshot(), 150, 30, LIBRARY).report.findings
    daily = next(f for f in findings if f.code == "BOLUS_LOOKS_LIKE_DAILY_DOSE")
    assert daily.message == ("a bolus of 150 mcg is 1x the program's mean daily dose of 150 mcg/day: a daily figure "
                             "typed as the bolus?")
    large = review_bolus(snapshot(), 80, 30, LIBRARY).report.findings[0]
    assert large.message == ("a bolus of 80 mcg is 53 % of the program's mean daily dose of 150 mcg/day, more than "
                             "50 %")


def test_a_long_bolus_says_its_dose_per_hour_and_what_a_per_hour_figure_would_total():
    review = review_bolus(snapshot(), 50, 180, LIBRARY)
    finding = review.report.findings[0]
    assert finding.code == "BOLUS_LONG_DURATION" and finding.severity == "warning"
    # 50 mcg over 3 h is 16.6667 mcg/h; 50 mcg every hour for 3 h would be 150 mcg.
    assert finding.message == ("a bolus of 50 mcg in total over 3 h is 16.6667 mcg per hour; if 50 mcg was meant per "
                               "hour, the total would be 150 mcg")
    assert "BOLUS_LONG_DURATION" not in codes(review_bolus(snapshot(), 50, 119, LIBRARY))


def test_a_bolus_faster_than_the_pump_is_refused():
    # At 50 mcg/mL, 100 mcg is 2 mL; in 10 min that is 12 mL/h, twice the pump's 6 mL/h.
    review = review_bolus(snapshot(pump(baclofen(150, 50))), 100, 10, LIBRARY)
    assert codes(review)["BOLUS_RATE_ABOVE_PUMP_MAX"] == "error"
    message = review.report.findings[-1].message
    assert message == "the bolus is 2 mL in 10 min, 12 mL/h; the ITB-20 gives a bolus at most at 6 mL/h"


def test_a_bolus_that_would_empty_the_reservoir_is_refused():
    # 50 mcg is 0.1 mL, and the basal program pumps 0.3 mL/day x 30 min = 0.00625 mL meanwhile: 0.10625 > 0.1 mL.
    review = review_bolus(snapshot(pump(volume_ml=0.1)), 50, 30, LIBRARY)
    assert codes(review)["BOLUS_EMPTIES_RESERVOIR"] == "error"
    assert "need 0.1062 mL, but the reservoir holds 0.1 mL" in review.report.findings[0].message


def test_a_bolus_that_takes_the_reservoir_under_the_low_alarm_warns():
    # 2.1 - 0.10625 = 1.99375 mL, under the 2 mL threshold.
    review = review_bolus(snapshot(pump(volume_ml=2.1)), 50, 30, LIBRARY)
    assert codes(review) == {"BOLUS_BELOW_LOW_ALARM": "warning"}
    message = review.report.findings[0].message
    assert "leaving 1.994 mL in the reservoir, under the low-alarm threshold of 2 mL" in message


def test_the_next_24_hours_count_the_boluses_the_pump_logged_in_the_last_24_hours_as_delivered():
    source = pump()
    source.log("bolus_started", PUMP_TIME - timedelta(hours=25), bolus_id="a", dose=30.0, dose_unit="mcg")
    source.log("bolus_started", PUMP_TIME - timedelta(hours=18), bolus_id="b", dose=40.0, dose_unit="mcg")
    started(source, 2, "prime", 153.0)
    started(source, 1, "demand", 10.0)
    review = review_bolus(snapshot(source), 50, 30, LIBRARY)
    # 40 + 153 + 10: the 25 h old one left out; the prime at its logged dose (the most it can have pushed).
    assert review.recent_bolus_dose == pytest.approx(203.0)
    assert review.next_24h_dose == pytest.approx(403.0)          # 150 basal + 50 + 203


def test_a_cancelled_bolus_counts_what_it_delivered_and_a_bridge_nothing_on_top_of_the_program():
    source = pump()
    for index in range(12):  # twelve 150 mcg boluses cancelled at 0.3 mcg: 3.6 mcg, not 1800
        source.log("bolus_started", PUMP_TIME - timedelta(hours=10), bolus_id=f"c{index}", dose=150.0,
                   dose_unit="mcg", kind="therapeutic")
        source.log("bolus_cancelled", PUMP_TIME - timedelta(hours=10), bolus_id=f"c{index}", delivered=0.3,
                   kind="therapeutic", reason="request")
    started(source, 3, "bridge", 153.0)  # the program's own dose, at the old concentration's mL rate
    review = review_bolus(snapshot(source), 20, 30, LIBRARY)
    assert review.recent_bolus_dose == pytest.approx(3.6)
    assert review.next_24h_dose == pytest.approx(173.6)  # 150 + 20 + 3.6


def test_the_next_24_hours_against_the_daily_limits():
    # 950 mcg/day + 60 mcg = 1010 mcg, above the soft 1000.
    review = review_bolus(snapshot(pump(baclofen(950))), 60, 30, LIBRARY)
    assert codes(review) == {"DOSE_24H_ABOVE_SOFT_MAX": "warning"}
    assert review.report.findings[0].message == (
        "the next 24 h would give 1010 mcg (the program 950, this bolus 60, boluses of the last 24 h 0), above the "
        "soft daily maximum of 1000 mcg/day for baclofen")
    source = pump(baclofen(1900, 2000))
    source.log("bolus_started", PUMP_TIME - timedelta(hours=3), bolus_id="b", dose=40.0, dose_unit="mcg")
    # 1900 + 90 + 40 = 2030 mcg, above the hard 2000.
    assert codes(review_bolus(snapshot(source), 90, 30, LIBRARY)) == {"DOSE_24H_ABOVE_HARD_MAX": "error"}


def test_ziconotide_is_never_given_as_a_bolus():
    review = review_bolus(snapshot(pump(ziconotide())), 1, 30, LIBRARY)
    assert codes(review)["BOLUS_NOT_ALLOWED"] == "error"


def test_a_bolus_while_another_runs_is_refused():
    running = BolusState("b-1", 50.0, 20.0, 600.0)
    review = review_bolus(snapshot(bolus=running), 20, 30, LIBRARY)
    assert codes(review) == {"BOLUS_RUNNING": "error"}
    assert "20 of 50 mcg given, 10.0 min left" in review.report.findings[0].message


@pytest.mark.parametrize("dose, minutes, field", [(0, 30, "dose"), (-5, 30, "dose"), (float("nan"), 30, "dose"),
                                                  (10, 0.5, "duration_min"), (10, 1441, "duration_min")])
def test_a_bolus_that_is_not_one_is_an_input_error_naming_the_field(dose, minutes, field):
    with pytest.raises(InputError) as raised:
        review_bolus(snapshot(), dose, minutes, LIBRARY)
    assert raised.value.problems[0][0] == field


def test_the_preview_plan_has_the_bolus_on_top_of_the_basal_rate():
    transit = review_bolus(snapshot(), 50, 60, LIBRARY).plan_with_bolus
    assert transit is not None
    # 0.1 mL/h of bolus on 0.0125 mL/h basal for an hour; the line already holds the drug: 56.25 mcg/h reach the
    # patient at once.
    first = transit.patient_rate_steps(120)[0]
    assert (first.start_min, first.end_min) == (0.0, 60.0)
    assert first.pump_ml_per_hour == pytest.approx(0.1125)
    assert first.patient_dose_per_hour == pytest.approx(56.25)


# --- the prime --------------------------------------------------------------------------------------------------


OPENED = line((LINE_ML, 0.0))
"""A line that was opened (an implant, a revision): spinal fluid only, as the pump reports it after one."""


def test_a_prime_is_the_tubing_and_the_catheter_at_one_ml_per_hour():
    review = review_prime(snapshot(line_state=OPENED), 60, "implant", LIBRARY)
    assert codes(review) == {} and review.pushed_dose == 0.0
    assert "none reaches the patient during the prime" in review.patient_words
    assert review.volume_ml == pytest.approx(0.306)       # 0.15 + 60 x 0.0026
    assert review.duration_min == pytest.approx(18.36)    # 0.306 mL at 1 mL/h
    assert review.dose == pytest.approx(153.0)            # 0.306 mL x 500 mcg/mL moved into the line
    transit = review.transit
    assert transit is not None and transit.to_patient_dose(18.36) == 0.0


def test_a_revised_catheter_keeps_its_segments():
    review = review_prime(snapshot(line_state=OPENED), 60, "catheter_revision", LIBRARY, segments_cm=(35.0, 25.0))
    assert review.segments_cm == (35.0, 25.0)
    assert review.audit_details()["bolus"]["segments_cm"] == [35.0, 25.0]
    with pytest.raises(InputError, match="segments sum to 59"):
        review_prime(snapshot(), 60, "catheter_revision", LIBRARY, segments_cm=(35.0, 24.0))


@pytest.mark.parametrize("length", [9.0, 111.0])
def test_a_catheter_outside_the_range_is_refused(length):
    review = review_prime(snapshot(line_state=line((0.15 + length * 0.0026, 0.0))), length, "implant", LIBRARY)
    assert codes(review) == {"CATHETER_OUT_OF_RANGE": "error"}
    message = review.report.findings[0].message
    assert f"a catheter of {length:g} cm is outside the catheter lengths 10 to 110 cm" in message


def test_a_prime_needs_a_drug_and_enough_of_it():
    assert codes(review_prime(snapshot(pump(volume_ml=0.2), OPENED), 60, "implant", LIBRARY)) == {
        "BOLUS_EMPTIES_RESERVOIR": "error"}
    empty = snapshot(FakePump(None, volume_ml=0.0))
    assert codes(review_prime(empty, 60, "implant", LIBRARY)) == {"PUMP_HAS_NO_DRUG": "error"}


def test_a_prime_needs_a_reason_from_the_list_and_a_pump_that_declares_its_tubing():
    with pytest.raises(InputError, match="'refill' is not a reason to prime"):
        review_prime(snapshot(), 60, "refill", LIBRARY)
    with pytest.raises(InputError, match="does not declare its tubing volume") as raised:
        review_prime(snapshot(FakePump(baclofen(), tubing_ml=None)), 60, "implant", LIBRARY)
    assert raised.value.problems[0][0] == "tubing_ml"


# --- the bridge -------------------------------------------------------------------------------------------------


def test_a_bridge_of_the_old_drug_in_the_line():
    # The reservoir holds 1000 mcg/mL now; the line still 0.306 mL of 500.
    review = review_bridge(snapshot(pump(baclofen(150, 1000)), line((LINE_ML, 500.0))), LIBRARY)
    assert codes(review) == {}
    assert (review.volume_ml, review.old_concentration_per_ml) == (pytest.approx(0.306), 500.0)
    assert review.duration_min == pytest.approx(1.02 * 1440)      # 0.306 mL at 0.3 mL/day
    assert review.dose == pytest.approx(153.0)
    without = review.transit_without
    assert without is not None and without.flushed_at == pytest.approx(2.04 * 1440)   # at 0.15 mL/day


def test_a_bridge_for_a_refill_at_a_new_concentration_takes_the_whole_line():
    new = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)
    review = review_bridge(snapshot(), LIBRARY, new_drug=new, added_ml=18.0)
    assert codes(review) == {}
    assert (review.volume_ml, review.old_concentration_per_ml) == (pytest.approx(0.306), 500.0)
    assert review.plan is not None and review.plan.reservoir.volume_ml == 18.0
    assert review.transit is not None and review.transit.to_patient_dose(3 * 1440) == pytest.approx(450.0)


@pytest.mark.parametrize("line_state, code", [
    (line((LINE_ML, 500.0)), "NOTHING_TO_BRIDGE"),
    (line((LINE_ML, 1000.0), catheter_cm=None), "CATHETER_NOT_RECORDED"),
    (line((0.1, 0.0), (0.206, 1000.0)), "LINE_NEEDS_PRIME"),
    (line((0.1, 1000.0), (0.206, 2000.0)), "LINE_NEEDS_PRIME"),
])
def test_a_bridge_needs_one_old_concentration_in_a_recorded_line(line_state, code):
    review = review_bridge(snapshot(line_state=line_state), LIBRARY)
    assert codes(review) == {code: "error"}


def test_a_bridge_needs_the_therapy_running_and_within_the_pumps_flow():
    stopped = program_from_data({"format": "itb-program/1", "drug": {"name": "baclofen", "dose_unit": "mcg",
                                                                      "concentration_per_ml": 1000},
                                 "therapy": {"mode": "stopped"}})
    assert codes(review_bridge(snapshot(pump(stopped), line((LINE_ML, 500.0))), LIBRARY)) == {
        "BRIDGE_NEEDS_DELIVERY": "error"}
    # 1900 mcg/day at the old 50 mcg/mL is 38 mL/day, beyond the pump's 24.
    review = review_bridge(snapshot(pump(baclofen(1900, 2000)), line((LINE_ML, 50.0))), LIBRARY)
    assert codes(review) == {"FLOW_ABOVE_PUMP_MAX": "error"}


# --- the demand dose --------------------------------------------------------------------------------------------


def test_a_demand_dose_within_the_limits_and_its_daily_most():
    review = review_demand(snapshot(), demand(), LIBRARY)
    assert codes(review) == {}
    assert review.max_daily_dose == pytest.approx(300.0)     # 150 basal + 6 x 25
    assert review.volume_ml == pytest.approx(0.05)
    # 10 mL, alarm at 2 mL: 8 mL at 0.3 mL/day is 26.67 days; every activation used adds 0.3 mL/day: 13.33 days.
    assert review.low_alarm_at == PUMP_TIME + timedelta(days=8 / 0.3)
    assert review.low_alarm_at_full_use is not None
    assert (review.low_alarm_at_full_use - PUMP_TIME).total_seconds() == pytest.approx(8 / 0.6 * 86400)


@pytest.mark.parametrize("settings, found", [
    (demand(lockout_min=30), {"DEMAND_LOCKOUT_SHORT": "warning"}),
    (demand(lockout_min=300), {"DEMAND_LOCKOUT_EXCEEDS_DAY": "warning"}),          # 6 x 5 h = 30 h
    (demand(dose=150, lockout_min=240, max_per_day=2), {"DEMAND_ABOVE_SOFT_MAX": "warning"}),
    (demand(dose=250, max_per_day=1), {"DEMAND_ABOVE_HARD_MAX": "error"}),
    (demand(dose=100, lockout_min=60, max_per_day=9), {"DEMAND_DAILY_ABOVE_SOFT_MAX": "warning"}),   # 150 + 900
    (demand(dose=100, lockout_min=60, max_per_day=19), {"DEMAND_DAILY_ABOVE_HARD_MAX": "error"}),   # 150 + 1900
])
def test_a_demand_dose_against_the_library_and_the_lockout(settings, found):
    assert codes(review_demand(snapshot(), settings, LIBRARY)) == found


def test_ziconotide_has_no_demand_dose_but_off_is_always_allowed():
    source = pump(ziconotide())
    assert codes(review_demand(snapshot(source), demand(dose=0.5), LIBRARY)) == {"DEMAND_NOT_ALLOWED": "error"}
    off = review_demand(snapshot(source), DemandDose(False), LIBRARY)
    assert codes(off) == {} and off.decision is Decision.PROCEED


@pytest.mark.parametrize("settings, field", [(demand(duration_min=0.5), "duration_min"),
                                             (demand(lockout_min=10), "lockout_min"),
                                             (demand(max_per_day=25), "max_per_day"),
                                             (demand(dose=0), "dose")])
def test_a_demand_dose_outside_the_pumps_ranges_is_an_input_error(settings, field):
    with pytest.raises(InputError) as raised:
        review_demand(snapshot(), settings, LIBRARY)
    assert raised.value.problems[0][0] == field


def test_the_situations_provoke_every_code_the_bolus_reviews_emit():
    emitted = {code for code, _ in emitted_check_codes().items()}
    found = {finding.code for finding in every_bolus_finding()}
    ours = {"BOLUS_NOT_ALLOWED", "BOLUS_ABOVE_HARD_MAX", "BOLUS_ABOVE_SOFT_MAX", "BOLUS_LOOKS_LIKE_DAILY_DOSE",
            "BOLUS_LARGE_FOR_DAILY_DOSE", "BOLUS_LONG_DURATION", "BOLUS_RATE_ABOVE_PUMP_MAX", "BOLUS_EMPTIES_RESERVOIR",
            "BOLUS_BELOW_LOW_ALARM", "DOSE_24H_ABOVE_HARD_MAX", "DOSE_24H_ABOVE_SOFT_MAX", "BOLUS_RUNNING",
            "CATHETER_OUT_OF_RANGE", "CATHETER_NOT_RECORDED", "NOTHING_TO_BRIDGE", "LINE_NEEDS_PRIME",
            "BRIDGE_NEEDS_DELIVERY", "DEMAND_NOT_ALLOWED", "DEMAND_ABOVE_HARD_MAX", "DEMAND_ABOVE_SOFT_MAX",
            "DEMAND_DAILY_ABOVE_HARD_MAX", "DEMAND_DAILY_ABOVE_SOFT_MAX", "DEMAND_LOCKOUT_SHORT",
            "DEMAND_LOCKOUT_EXCEEDS_DAY", "PRIME_PUSHES_DRUG", "PRIME_PUSHES_DRUG_ABOVE_HARD_MAX",
            "BOLUS_NO_PROGRAM_TO_COMPARE", "BOLUS_PROBABLE_SLIP"}
    assert ours <= emitted and ours <= found


# --- issue 13 review fixes ---------------------------------------------------------------------------------------


def test_a_prime_of_a_line_full_of_drug_pushes_it_to_the_patient_and_warns():
    # The pump reports its 0.306 mL line full of 500 mcg/mL: the prime pushes 153 mcg in 18.36 min, a bolus under
    # the 200 mcg hard maximum but above the soft 100 (twice in a row: 153 mcg each).
    review = review_prime(snapshot(), 60, "implant", LIBRARY)
    assert codes(review) == {"PRIME_PUSHES_DRUG": "warning"} and review.decision is Decision.NEEDS_OVERRIDE
    assert review.pushed_dose == pytest.approx(153.0)
    message = review.report.findings[0].message
    assert "the prime pushes 153 mcg to the patient in 18.36 min at 1 mL/h" in message
    assert "above the bolus soft maximum of 100 mcg" in message
    assert "153 mcg of drug already in the line reach the patient" in review.patient_words
    assert "none" not in review.patient_words
    transit = review.transit
    assert transit is not None and transit.to_patient_dose(18.36) == pytest.approx(153.0)


def test_a_prime_of_a_ziconotide_line_is_refused():
    # 0.306 mL x 25 mcg/mL = 7.65 mcg in 18 min (about three times the 2.4 mcg/day), and ziconotide is never a bolus.
    review = review_prime(snapshot(pump(ziconotide())), 60, "implant", LIBRARY)
    assert codes(review) == {"PRIME_PUSHES_DRUG_ABOVE_HARD_MAX": "error"}
    assert "pushes 7.65 mcg to the patient in 18.36 min" in review.report.findings[0].message


def test_a_prime_through_a_new_catheter_pushes_only_the_drug_the_pump_reports_in_its_tubing():
    # A new pump's tubing full of its drug (0.15 mL x 500 = 75 mcg), no catheter recorded yet: the 60 cm catheter's
    # 0.156 mL of spinal fluid leaves first, then the tubing's 75 mcg.
    review = review_prime(snapshot(line_state=line((0.15, 500.0), catheter_cm=None)), 60, "implant", LIBRARY)
    assert review.pushed_dose == pytest.approx(75.0) and codes(review) == {"PRIME_PUSHES_DRUG": "warning"}
    assert review.line_before[0].volume_ml == pytest.approx(0.156) and review.line_before[0].concentration_per_ml == 0


def test_the_implant_prime_of_a_new_pump_whose_program_ran_for_seconds_is_not_a_drug_push():
    # A new pump's first fill leaves its 0.15 mL tubing empty of drug; 0.3 mL/day for 0.11 s moves 3.8e-7 mL of
    # 500 mcg/mL into it (0.00019 mcg), under the smallest bolus, 0.0005 mL: no finding. 0.0005 mL (0.25 mcg) is one.
    tiny = review_prime(snapshot(line_state=line((0.15 - 3.8e-7, 0.0), (3.8e-7, 500.0), catheter_cm=None)), 60,
                        "implant", LIBRARY)
    assert "PRIME_PUSHES_DRUG" not in codes(tiny) and tiny.decision is not Decision.NEEDS_OVERRIDE
    some = review_prime(snapshot(line_state=line((0.1495, 0.0), (0.0005, 500.0), catheter_cm=None)), 60, "implant",
                        LIBRARY)
    assert codes(some) == {"PRIME_PUSHES_DRUG": "warning"} and some.pushed_dose == pytest.approx(0.25)


def test_line_needs_prime_says_the_drug_a_prime_would_push():
    # 0.1 mL of spinal fluid at the tip, 0.206 mL of 1000 mcg/mL behind it: a prime pushes 206 mcg in 18.36 min.
    review = review_bridge(snapshot(line_state=line((0.1, 0.0), (0.206, 1000.0))), LIBRARY)
    [finding] = [f for f in review.report.findings if f.code == "LINE_NEEDS_PRIME"]
    assert "a prime pushes the 206 mcg of drug in the line to the patient in 18.36 min" in finding.message


MORPHINE = program_from_data({"format": "itb-program/1",
                              "drug": {"name": "morphine", "dose_unit": "mg", "concentration_per_ml": 25},
                              "therapy": {"mode": "simple_continuous", "daily_dose": 2.5}})


def test_a_bolus_counts_the_enabled_demand_doses_daily_most():
    # The finding's case: morphine 2.5 mg/day, demand 0.9 mg x 18 a day (16.2 mg), a 1.9 mg bolus:
    # 2.5 + 16.2 + 1.9 = 20.6 mg in 24 h, above the 20 mg hard daily maximum.
    source = pump(MORPHINE)
    source.write_demand(DemandDose(True, 0.9, 10.0, 60.0, 18))
    review = review_bolus(snapshot(source), 1.9, 30, LIBRARY)
    assert review.demand_24h_dose == pytest.approx(16.2) and review.next_24h_dose == pytest.approx(20.6)
    assert codes(review)["DOSE_24H_ABOVE_HARD_MAX"] == "error"
    assert "the demand dose up to 16.2" in next(f.message for f in review.report.findings
                                               if f.code == "DOSE_24H_ABOVE_HARD_MAX")


def test_a_demand_dose_counts_the_boluses_of_the_last_24_hours():
    # The same case the other way round: the 1.9 mg bolus given 2 h ago, then the demand dose set.
    source = pump(MORPHINE)
    source.log("bolus_started", PUMP_TIME - timedelta(hours=2), bolus_id="m1", dose=1.9, dose_unit="mg",
               kind="therapeutic")
    review = review_demand(snapshot(source), DemandDose(True, 0.9, 10.0, 60.0, 18), LIBRARY)
    assert review.recent_bolus_dose == pytest.approx(1.9) and review.max_daily_dose == pytest.approx(20.6)
    assert codes(review)["DEMAND_DAILY_ABOVE_HARD_MAX"] == "error"


def test_a_bolus_on_a_pump_that_runs_nothing_says_the_daily_dose_checks_could_not_be_made():
    stopped = program_from_data({"format": "itb-program/1", "drug": {"name": "baclofen", "dose_unit": "mcg",
                                                                      "concentration_per_ml": 500},
                                 "therapy": {"mode": "stopped"}})
    review = review_bolus(snapshot(pump(stopped)), 50, 30, LIBRARY)
    assert codes(review) == {"BOLUS_NO_PROGRAM_TO_COMPARE": "warning"}
    assert "could not be compared with a daily dose" in review.report.findings[0].message


@pytest.mark.parametrize("dose, slip", [(50.0, True), (500.0, True), (0.5, True), (5000.0, True),
                                        (8.0, False), (30.0, False)])
def test_a_bolus_about_10_100_or_1000_times_one_in_the_log_is_a_probable_slip(dose, slip):
    # 5 mcg given 3 h ago; 50 (10x) is within every limit on 150 mcg/day, but looks like a decimal point.
    source = pump()
    started(source, 3, "therapeutic", 5.0)
    found = codes(review_bolus(snapshot(source), dose, 30, LIBRARY))
    assert ("BOLUS_PROBABLE_SLIP" in found) is slip
