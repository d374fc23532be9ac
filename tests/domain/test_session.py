"""The write and refill workflows without a real pump: decisions, hand-computed refill tolerances, outcomes."""

from datetime import date, timedelta

import pytest

from tests.support.fake_pump import BACLOFEN_500, PUMP_TIME, FakePump, active_for, baclofen
from tests.support.people import DR_NG
from programmer.audit import read_audit_log
from programmer.errors import AuditError, InputError, LinkError, PumpRefused
from programmer.interrogation import read_pump
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import Alarm, WriteOutcome
from programmer.program import FORMAT, Drug, Program, Stopped, program_from_data
from programmer.commit import commit_refill, commit_write
from programmer.refill import RefillRequest, Syringe, refill_tolerance_ml, review_refill
from programmer.review import Decision, review_write

LIBRARY = load_library()
REASON = "volumes checked twice at the bedside"
"""An override reason that says something (programmer/overrides.py): these tests are about what it overrides."""
MORPHINE_10 = Drug(name="morphine", dose_unit="mg", concentration_per_ml=10)


def read(pump):
    """Interrogate the fake pump from a computer whose clock agrees with the pump's (no CLOCK_DRIFT)."""
    return read_pump(pump, clock=lambda: PUMP_TIME)


def codes(review):
    return [finding.code for finding in review.report.findings]


def request(withdrawn_ml, added_ml, drug=BACLOFEN_500, reason=None, expiry=date(2099, 12, 31)):
    """A refill from a syringe labelled with ``drug``, lot BX2291 (the pump's own drug unless said)."""
    return RefillRequest(withdrawn_ml, added_ml, Syringe(drug, "BX2291", expiry), reason)


def write_review(pump, program, reason=None):
    return review_write(read(pump), program, LIBRARY, reason)


# --- write decisions ---------------------------------------------------------------------------------


def test_a_factory_new_pump_refuses_every_write_until_refilled():
    review = write_review(FakePump(None, volume_ml=0.0), baclofen())
    assert review.decision is Decision.REFUSE
    assert codes(review)[0] == "PUMP_HAS_NO_DRUG"
    assert "refill the pump with a drug first" in review.report.errors[0].message


def test_another_drug_is_a_refill_not_a_write():
    morphine = Program(format=FORMAT, drug=MORPHINE_10, therapy={"mode": "simple_continuous", "daily_dose": 5.0})
    review = write_review(FakePump(baclofen()), morphine)
    assert review.decision is Decision.REFUSE
    assert codes(review)[0] == "DRUG_DIFFERS_FROM_PUMP"
    assert "CURRENT_DRUG_DIFFERS" not in codes(review)


def test_another_concentration_is_a_refill_not_a_write():
    review = write_review(FakePump(baclofen()), baclofen(concentration=1000))
    assert review.decision is Decision.REFUSE
    assert codes(review)[0] == "CONCENTRATION_DIFFERS_FROM_PUMP"
    assert "1000 mcg/mL differs from the pump's 500 mcg/mL" in review.report.errors[0].message


def test_a_hard_limit_refuses_even_with_an_override():
    review = write_review(FakePump(baclofen(1900)), baclofen(2500), reason="patient is very tolerant")
    assert "DAILY_DOSE_ABOVE_HARD_MAX" in codes(review)
    assert review.decision is Decision.REFUSE


def test_a_warning_needs_an_override_reason():
    pump = FakePump(baclofen(150))
    assert write_review(pump, baclofen(200)).decision is Decision.NEEDS_OVERRIDE  # +33 %, soft limit 20 %
    assert codes(write_review(pump, baclofen(200))) == ["CHANGE_ABOVE_SOFT_LIMIT"]
    assert write_review(pump, baclofen(200), "titration plan, Dr Ng").decision is Decision.PROCEED


def test_a_small_change_proceeds():
    review = write_review(FakePump(baclofen(150)), baclofen(165))
    assert review.report.findings == []
    assert review.decision is Decision.PROCEED


def test_the_pumps_declared_flow_limit_applies_not_the_model_table():
    # 150 mcg/day at 500 mcg/mL is 0.3 mL/day: fine for the built-in ITB-20 (24 mL/day), not for this pump.
    review = write_review(FakePump(baclofen(140), max_rate_ml_per_day=0.25, model="ITB-20"), baclofen(150))
    assert "FLOW_ABOVE_PUMP_MAX" in codes(review)
    assert "maximum of 0.25 mL/day" in review.report.errors[0].message


def test_a_blank_override_reason_is_invalid_input():
    with pytest.raises(InputError, match="override"):
        write_review(FakePump(baclofen()), baclofen(), reason="  ")


# --- write outcomes ----------------------------------------------------------------------------------


def test_a_refused_write_sends_nothing_and_is_audited_once(audit):
    pump = FakePump(None, volume_ml=0.0)
    result = commit_write(pump, write_review(pump, baclofen()), DR_NG, audit)
    assert result.outcome is Outcome.REFUSED
    assert "write_program" not in pump.calls
    [record] = read_audit_log(audit.path)
    assert (record["event"], record["outcome"], record["findings"][0]["code"]) == ("outcome", "refused", "PUMP_HAS_NO_DRUG")


def test_a_verified_write_reports_what_the_pump_now_runs_and_audits_both_ends(audit):
    pump = FakePump(baclofen(150))
    result = commit_write(pump, write_review(pump, baclofen(200), "titration plan"), DR_NG, audit)
    assert result.outcome is Outcome.VERIFIED
    assert result.active.checksum == baclofen(200).checksum()
    assert "simple continuous 200 mcg/day" in result.message
    attempt, outcome = read_audit_log(audit.path)
    assert (attempt["event"], attempt["outcome"], outcome["event"], outcome["outcome"]) == (
        "attempt", None, "outcome", "verified")
    for record in (attempt, outcome):
        assert (record["clinician"], record["user"], record["role"]) == ("Dr Ng", "ng", "clinician")
        assert record["old_program"] == {
            "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0},
            "therapy": {"mode": "simple_continuous", "daily_dose": 150.0}, "checksum": baclofen(150).checksum()}
        assert record["pump_serial"] == "EMU-0001"
        assert record["old_checksum"] == baclofen(150).checksum()
        assert record["new_checksum"] == baclofen(200).checksum()
        assert record["override_reason"] == "titration plan"
        assert record["findings"][0]["code"] == "CHANGE_ABOVE_SOFT_LIMIT"
        assert record["library"] == LIBRARY.identity.model_dump()
        assert record["program"]["therapy"]["daily_dose"] == 200
        assert record["attempt_id"] == attempt["attempt_id"]
    assert outcome["active_checksum"] == baclofen(200).checksum()


def test_a_review_made_before_someone_else_changed_the_pump_is_not_written(audit):
    pump = FakePump(baclofen(150))
    review = write_review(pump, baclofen(165))
    pump.active = active_for(baclofen(100))  # another programmer wrote 100 mcg/day while the review was open
    result = commit_write(pump, review, DR_NG, audit)
    assert result.outcome is Outcome.REFUSED and "program changed since the review" in result.message
    assert "write_program" not in pump.calls
    assert read_audit_log(audit.path)[-1]["outcome"] == "refused"


def week_cycle() -> Program:
    # 7 days, each flat: day 1 at 6.67 mcg/h (160.08 mcg/day), days 2-7 at 6.25 mcg/h (150 mcg/day).
    return program_from_data({"format": FORMAT, "drug": BACLOFEN_500.model_dump(), "therapy": {
        "mode": "flex", "cycle_days": 7, "steps": [{"day": 1, "start": "00:00", "dose_per_hour": 6.67},
                                                   {"day": 2, "start": "00:00", "dose_per_hour": 6.25}]}})


@pytest.mark.parametrize("hours_later, written", [(1, True), (20, False)])
def test_a_multi_day_cycle_reviewed_yesterday_is_not_written_today(audit, hours_later, written):
    # PUMP_TIME is 09:00: one hour later is the same day; 20 hours later is the next day, when the pump
    # would start day 1 (160 mcg) a day later than the review showed.
    pump = FakePump(baclofen(150))
    review = write_review(pump, week_cycle(), "weekend boost agreed")
    pump.pump_time = PUMP_TIME + timedelta(hours=hours_later)
    result = commit_write(pump, review, DR_NG, audit)
    assert ("write_program" in pump.calls) is written
    if not written:
        assert result.outcome is Outcome.REFUSED and "day changed since the review" in result.message


@pytest.mark.parametrize("driver_status, expected, words", [
    (Outcome.UNCHANGED, Outcome.UNCHANGED, "the pump still runs the previous program"),
    (Outcome.UNCERTAIN, Outcome.UNCERTAIN, "could not confirm which program the pump runs: interrogate it"),
    (Outcome.MISMATCH, Outcome.MISMATCH, "not the requested"),
])
def test_driver_outcomes_map_to_session_outcomes(audit, driver_status, expected, words):
    pump = FakePump(baclofen(150))
    previous = pump.active
    active = None if driver_status is Outcome.UNCERTAIN else previous
    pump.write_answer = WriteOutcome(driver_status, "link lost", active)
    result = commit_write(pump, write_review(pump, baclofen(160)), DR_NG, audit)
    assert result.outcome is expected
    assert words in result.message.replace(" (link lost)", "")
    if expected is Outcome.UNCHANGED:
        assert previous.checksum in result.message and "150 mcg/day" in result.message


def test_a_verified_claim_whose_read_back_differs_is_a_mismatch(audit):
    pump = FakePump(baclofen(150))
    pump.write_answer = WriteOutcome(Outcome.VERIFIED, "verified", pump.active)
    result = commit_write(pump, write_review(pump, baclofen(160)), DR_NG, audit)
    assert result.outcome is Outcome.MISMATCH


def test_a_link_failure_before_staging_leaves_the_previous_program(audit):
    pump = FakePump(baclofen(150))
    pump.write_answer = LinkError("timeout at stage", step="read program")
    result = commit_write(pump, write_review(pump, baclofen(160)), DR_NG, audit)
    assert result.outcome is Outcome.UNCHANGED
    assert f"still runs the previous program {baclofen(150).checksum()}" in result.message


def test_the_pump_saying_no_is_a_refusal(audit):
    pump = FakePump(baclofen(150))
    pump.write_answer = PumpRefused("OUT_OF_RANGE", "rate above 24 mL/day", step="stage program", field="therapy")
    result = commit_write(pump, write_review(pump, baclofen(160)), DR_NG, audit)
    assert result.outcome is Outcome.PUMP_REFUSED
    assert "nothing was written" in result.message


def test_nothing_is_sent_when_the_attempt_cannot_be_audited(audit):
    pump = FakePump(baclofen(150))
    audit.path.unlink()
    audit.path.mkdir()  # appending to a directory fails
    with pytest.raises(AuditError) as failed:
        commit_write(pump, write_review(pump, baclofen(160)), DR_NG, audit)
    assert "write_program" not in pump.calls
    assert (failed.value.step, failed.value.field) == ("append to audit log", None)


# --- refill decisions --------------------------------------------------------------------------------


@pytest.mark.parametrize("calculated, withdrawn, tolerance, stops", [
    (10.0, 9.0, 1.0, False),    # 10 % of 10 mL = 1 mL; exactly 1 mL short is within it
    (10.0, 8.9, 1.0, True),     # 1.1 mL short
    (10.0, 11.05, 1.0, True),   # 1.05 mL over
    (2.0, 2.5, 0.5, False),     # 10 % is 0.2 mL, so the 0.5 mL floor applies
    (2.0, 2.6, 0.5, True),
    (2.0, 1.4, 0.5, True),
    (18.0, 16.3, 1.8, False),   # 1.7 mL short of 18: within 1.8
    (0.0, 0.0, 0.5, False),     # a factory-new pump
])
def test_withdrawn_volume_against_the_pumps_calculation(calculated, withdrawn, tolerance, stops):
    # 10 mL added: with at most 1.7 mL left in the reservoir that fits its 20 mL.
    assert refill_tolerance_ml(calculated) == pytest.approx(tolerance)
    snapshot = read(FakePump(baclofen(), volume_ml=calculated))
    review = review_refill(snapshot, request(withdrawn, 10.0), LIBRARY)
    assert review.discrepancy_ml == pytest.approx(withdrawn - calculated)
    assert ("REFILL_DISCREPANCY" in codes(review)) is stops
    assert review.decision is (Decision.REFUSE if stops else Decision.PROCEED)
    # Going on beyond tolerance takes a reason for the discrepancy, and the audit record keeps it.
    review = review_refill(snapshot, request(withdrawn, 10.0, reason="pump explanted, fluid sent for analysis"),
                           LIBRARY)
    assert review.decision is Decision.PROCEED
    assert review.audit_details()["withdrawal"]["reason"] == "pump explanted, fluid sent for analysis"


def test_a_discrepancy_says_what_it_may_mean():
    review = review_refill(read(FakePump(baclofen(), volume_ml=10.0)), request(8.0, 10.0), LIBRARY)
    assert review.report.errors[0].message == (
        "withdrawn_ml 8 mL is 2 mL less than the 10 mL the pump calculated, beyond the tolerance of 1 mL. It may "
        "mean: the needle is outside the reservoir, so injecting now would be a pocket fill; over-infusion (the "
        "pump delivered more than programmed); or a pocket fill at the previous refill (less went into the "
        "reservoir than was recorded); do not inject: check the needle's placement (template, needle stop, fluid "
        "comes back freely) and withdraw again; if the volume stays low, examine the pocket and watch the patient "
        "for an overdose. Going on needs a reason, recorded in the audit log")
    review = review_refill(read(FakePump(baclofen(), volume_ml=10.0)), request(12.0, 10.0), LIBRARY)
    assert "under-infusion" in review.report.errors[0].message


def test_more_than_the_capacity_is_refused():
    review = review_refill(read(FakePump(baclofen(), volume_ml=2.0)), request(2.0, 25.0), LIBRARY, REASON)
    assert codes(review)[0] == "ADDED_ABOVE_CAPACITY"
    assert review.report.errors[0].message == "added_ml 25 mL is more than the ITB-20 reservoir's capacity of 20 mL"
    assert review.decision is Decision.REFUSE
    review = review_refill(read(FakePump(baclofen(), volume_ml=2.0)), request(25.0, 20.0), LIBRARY, REASON)
    assert codes(review)[0] == "WITHDRAWN_ABOVE_CAPACITY"


def test_what_was_left_in_the_reservoir_counts_against_its_capacity():
    # 14 mL calculated, 0 withdrawn (a pocket fill's signature), 20 added: 34 mL in a 20 mL reservoir.
    review = review_refill(read(FakePump(baclofen(), volume_ml=14.0)), request(0.0, 20.0, reason="looked into it at the bedside"), LIBRARY)
    assert codes(review)[0] == "ADDED_ABOVE_CAPACITY"
    assert review.report.errors[0].message == (
        "added_ml 20 mL and the 14 mL that may still be in it (calculated 14 mL less 0 mL withdrawn) make 34 mL, "
        "more than the ITB-20 reservoir's capacity of 20 mL")
    # 13 of 14 withdrawn (within 1.4 mL): 1 mL may be left, so 19 mL is the most that fits.
    assert review_refill(read(FakePump(baclofen(), volume_ml=14.0)), request(13.0, 19.0), LIBRARY).decision \
        is Decision.PROCEED
    assert "ADDED_ABOVE_CAPACITY" in codes(review_refill(read(FakePump(baclofen(), volume_ml=14.0)),
                                                        request(13.0, 19.01), LIBRARY))


def test_a_syringe_names_its_lot_and_an_expired_one_is_refused():
    with pytest.raises(InputError, match="lot: the syringe's lot number is required"):
        Syringe(BACLOFEN_500, "  ", date(2099, 12, 31))
    # PUMP_TIME is this computer's time too (read()); the lot expires the day before.
    day_before = (PUMP_TIME - timedelta(days=1)).date()
    review = review_refill(read(FakePump(baclofen(), volume_ml=2.0)), request(2.0, 20.0, expiry=day_before), LIBRARY)
    assert codes(review) == ["SYRINGE_EXPIRED"]
    assert review.report.errors[0].message == (f"expiry {day_before}: lot BX2291 expired before today, "
                                               f"{PUMP_TIME.date()} (this computer's date): do not use it")
    on_the_day = request(2.0, 20.0, expiry=PUMP_TIME.date())
    assert review_refill(read(FakePump(baclofen(), volume_ml=2.0)), on_the_day, LIBRARY).decision is Decision.PROCEED


def test_first_fill_sets_the_drug_and_stays_stopped():
    review = review_refill(read(FakePump(None, volume_ml=0.0)), request(0.0, 20.0, BACLOFEN_500), LIBRARY)
    assert review.decision is Decision.PROCEED
    assert review.program == Program(format=FORMAT, drug=BACLOFEN_500, therapy=Stopped(mode="stopped"))


def test_the_same_drug_spelled_differently_is_not_a_new_drug():
    pump = FakePump(baclofen(), volume_ml=2.0)
    drug = Drug(name="Baclofen", dose_unit="mcg", concentration_per_ml=500)
    review = review_refill(read(pump), request(2.0, 20.0, drug), LIBRARY)
    assert review.new_drug is None
    assert review.program == baclofen()
    assert review.decision is Decision.PROCEED


def test_a_new_concentration_of_a_delivered_drug_needs_a_bridge_bolus_and_is_refused():
    # 150 mcg/day: 0.3 mL/day at 500 mcg/mL, 0.15 at 1000; the 500 mcg/mL left in the catheter at 0.15 mL/day
    # is 75 mcg/day until it is cleared.
    pump = FakePump(baclofen(150), volume_ml=2.0)
    drug = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)
    review = review_refill(read(pump), request(2.0, 20.0, drug), LIBRARY)
    assert review.program == baclofen(150, concentration=1000)
    assert codes(review) == ["CONCENTRATION_CHANGE_NEEDS_BRIDGE", "CONCENTRATION_CHANGED"]
    assert ("the kept 150 mcg/day would run at 0.15 mL/day instead of 0.3 mL/day, and the old drug still in the "
            "pump's tubing and catheter would reach the patient at 75 mcg/day") in review.report.errors[0].message
    assert review.decision is Decision.REFUSE
    assert review.syringe_dict()["concentration_change"] == {
        "from": 500, "to": 1000, "daily_dose": 150, "ml_per_day_before": 0.3, "ml_per_day_after": 0.15}


def test_a_new_concentration_of_a_stopped_drug_needs_no_bridge():
    stopped = Program(format=FORMAT, drug=BACLOFEN_500, therapy=Stopped(mode="stopped"))
    drug = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)
    review = review_refill(read(FakePump(stopped, volume_ml=2.0)), request(2.0, 20.0, drug), LIBRARY)
    assert "CONCENTRATION_CHANGE_NEEDS_BRIDGE" not in codes(review) and review.concentration_change is None


def test_a_tenfold_lower_concentration_is_flagged_as_a_probable_slip():
    drug = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=50)
    review = review_refill(read(FakePump(baclofen(150), volume_ml=2.0)), request(2.0, 20.0, drug), LIBRARY)
    assert "PROBABLE_CONCENTRATION_SLIP" in codes(review)


def test_a_concentration_outside_the_library_is_refused():
    drug = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=700)
    review = review_refill(read(FakePump(baclofen(), volume_ml=2.0)), request(2.0, 20.0, drug), LIBRARY, REASON)
    assert "CONCENTRATION_NOT_IN_LIBRARY" in codes(review)
    assert review.decision is Decision.REFUSE


def test_a_drug_outside_the_library_is_refused():
    drug = Drug(name="clonidine", dose_unit="mcg", concentration_per_ml=100)
    review = review_refill(read(FakePump(None, volume_ml=0.0)), request(0.0, 20.0, drug), LIBRARY, REASON)
    assert codes(review) == ["DRUG_NOT_IN_LIBRARY"]


def test_a_new_drug_stops_delivery_and_warns_of_withdrawal():
    review = review_refill(read(FakePump(baclofen(150), volume_ml=2.0)), request(2.0, 20.0, MORPHINE_10),
                           LIBRARY)
    assert review.program == Program(format=FORMAT, drug=MORPHINE_10, therapy=Stopped(mode="stopped"))
    assert codes(review) == ["THERAPY_STOPS_FOR_NEW_DRUG"]
    assert "150 mcg/day of baclofen" in review.report.warnings[0].message


def test_a_small_fill_warns_that_the_low_alarm_is_near():
    review = review_refill(read(FakePump(baclofen(150), volume_ml=2.0)), request(2.0, 3.0), LIBRARY)
    assert codes(review) == ["LOW_ALARM_SOON"]  # 1 mL above the alarm at 0.3 mL/day: 3.3 days


# --- refill outcomes ---------------------------------------------------------------------------------


def test_a_first_fill_is_recorded_and_verified(audit):
    pump = FakePump(None, volume_ml=0.0)
    review = review_refill(read(pump), request(0.0, 20.0), LIBRARY)
    result = commit_refill(pump, review, DR_NG, audit)
    assert result.outcome is Outcome.VERIFIED
    assert result.active.drug == BACLOFEN_500 and result.refill.volume_ml == 20.0
    attempt, outcome = read_audit_log(audit.path)
    assert attempt["refill"]["new_drug"] == BACLOFEN_500.model_dump(mode="json")
    assert outcome["refill"]["volume_ml"] == 20.0
    assert outcome["old_checksum"] == "0" * 16 and outcome["new_checksum"] == review.program.checksum()


def test_a_refill_read_back_that_differs_is_a_mismatch(audit):
    pump = FakePump(baclofen(), volume_ml=2.0)
    pump.refill_volume_error_ml = -0.5
    result = commit_refill(pump, review_refill(read(pump), request(2.0, 20.0), LIBRARY), DR_NG, audit)
    assert result.outcome is Outcome.MISMATCH


def test_a_refill_whose_link_fails_is_uncertain_but_names_the_unchanged_program(audit):
    pump = FakePump(baclofen(), volume_ml=2.0)
    pump.refill_answer = LinkError("no answer to REFILL", step="refill")
    result = commit_refill(pump, review_refill(read(pump), request(2.0, 20.0), LIBRARY), DR_NG, audit)
    assert result.outcome is Outcome.UNCERTAIN
    assert f"its program is unchanged either way: {baclofen().checksum()}" in result.message


def test_a_refill_needing_an_override_sends_nothing(audit):
    pump = FakePump(baclofen(), volume_ml=10.0)  # a new drug stops the baclofen: a warning
    result = commit_refill(pump, review_refill(read(pump), request(10.0, 10.0, MORPHINE_10), LIBRARY), DR_NG, audit)
    assert result.outcome is Outcome.NEEDS_OVERRIDE
    assert "refill" not in pump.calls


# --- escalation over 24 h, a pump that does not deliver, a clock that drifts ------------------------------



def pump_with_history(daily_dose=150):
    """A pump running ``daily_dose`` since well before the last 24 h (its log says so)."""
    pump = FakePump(baclofen(daily_dose))
    pump.log("power_on", time=PUMP_TIME - timedelta(days=40), factory_new=True)
    pump.log("program_activated", time=PUMP_TIME - timedelta(days=30), checksum=baclofen(daily_dose).checksum(),
             previous="0" * 16, daily_dose=daily_dose, dose_unit="mcg", previous_daily_dose=0.0,
             previous_dose_unit="mcg")
    return pump


def test_repeated_small_writes_cannot_add_up_past_the_24_hour_limits(audit):
    # The tester's case: +20 % a write from 150 (each at the 20 % soft limit, so none warns by itself).
    pump = pump_with_history(150)
    first = write_review(pump, baclofen(180))  # 180 / 150 = +20 %: at the limit
    assert first.report.findings == [] and first.decision is Decision.PROCEED
    assert commit_write(pump, first, DR_NG, audit).outcome is Outcome.VERIFIED

    second = write_review(pump, baclofen(216))  # +20 % on 180, but 216 / 150 = +44 % in 24 h: soft
    assert codes(second) == ["CHANGE_24H_ABOVE_SOFT_LIMIT"] and second.decision is Decision.NEEDS_OVERRIDE
    assert "+44.0 % within 24 h: 150 mcg/day ran at 2026-11-27T09:00" in second.report.warnings[0].message
    second = write_review(pump, baclofen(216), "spinal titration plan, Dr Ng")
    assert commit_write(pump, second, DR_NG, audit).outcome is Outcome.VERIFIED

    third = write_review(pump, baclofen(259.2), "spinal titration plan, Dr Ng")  # 259.2 / 150 = +72.8 %: hard
    assert codes(third) == ["CHANGE_24H_ABOVE_HARD_LIMIT"] and third.decision is Decision.REFUSE
    assert "2 program(s) activated since" in third.report.errors[0].message
    assert commit_write(pump, third, DR_NG, audit).outcome is Outcome.REFUSED
    assert pump.active.program == baclofen(216)  # never 929 mcg/day

    # 25 h later on the pump's clock, 216 has run for the whole window: +20 % is a step again.
    pump.pump_time = PUMP_TIME + timedelta(hours=25)
    later = review_write(read_pump(pump, clock=lambda: pump.pump_time), baclofen(259.2), LIBRARY)
    assert later.report.findings == []


def critical(code):
    return (Alarm(code, "critical", PUMP_TIME),)


@pytest.mark.parametrize("code", ["eos", "motor_stall", "reservoir_empty"])
def test_a_write_to_a_pump_that_is_not_delivering_warns(audit, code):
    pump = FakePump(baclofen(150))
    pump.alarms = critical(code)
    review = write_review(pump, baclofen(160))
    assert codes(review) == ["PUMP_NOT_DELIVERING"] and review.decision is Decision.NEEDS_OVERRIDE
    message = review.report.warnings[0].message
    assert f"critical alarm {code}" in message and "the program will not run until that is resolved" in message
    result = commit_write(pump, write_review(pump, baclofen(160), "write now, pump replacement booked"), DR_NG, audit)
    assert result.outcome is Outcome.VERIFIED
    assert f"but the pump is NOT DELIVERING (critical alarm {code}" in result.message


def test_a_refill_of_a_pump_that_is_not_delivering_warns_unless_it_resolves_it(audit):
    pump = FakePump(baclofen(150), volume_ml=0.0)
    pump.alarms = critical("motor_stall")
    review = review_refill(read(pump), request(0.0, 20.0), LIBRARY)
    assert codes(review) == ["PUMP_NOT_DELIVERING"] and "motor stall" in review.report.warnings[0].message
    # An empty reservoir is what a refill resolves: adding drug is not warned about ...
    pump.alarms = critical("reservoir_empty")
    assert codes(review_refill(read(pump), request(0.0, 20.0), LIBRARY)) == []
    # ... but withdrawing without adding leaves it empty.
    assert "PUMP_NOT_DELIVERING" in codes(review_refill(read(pump), request(0.0, 0.0), LIBRARY, REASON))
    result = commit_refill(pump, review_refill(read(pump), request(0.0, 20.0), LIBRARY), DR_NG, audit)
    assert result.outcome is Outcome.VERIFIED and "NOT DELIVERING" not in result.message


@pytest.mark.parametrize("drift, warns", [
    (timedelta(days=-30), True),          # the tester's pump, 30 days behind
    (timedelta(minutes=-6), True),
    (timedelta(minutes=4, seconds=59), False),
    (timedelta(minutes=5), False),        # at the 5-minute limit, not beyond it
])
def test_a_pump_clock_far_from_the_computers_warns_before_a_write_or_a_refill(drift, warns):
    pump = FakePump(baclofen(150))
    pump.pump_time = PUMP_TIME + drift  # the computer reads PUMP_TIME
    snapshot = read_pump(pump, clock=lambda: PUMP_TIME)
    write = review_write(snapshot, baclofen(150), LIBRARY)
    refill = review_refill(snapshot, request(10.0, 20.0), LIBRARY)
    assert ("CLOCK_DRIFT" in codes(write)) is warns and ("CLOCK_DRIFT" in codes(refill)) is warns
    if drift == timedelta(days=-30):
        [finding] = write.report.warnings
        assert finding.message.startswith("the pump clock is 30 days behind this computer's (pump "
                                          "2026-10-29T09:00:00, this computer 2026-11-28T09:00:00)")
        assert finding.message.endswith("Set the pump clock to this computer's time first, then interrogate again")
        assert "pump-programmer" not in finding.message and "--" not in finding.message  # the domain names no option


# --- old drug in the line (issue 13 review, C2) ------------------------------------------------------------------------


def test_a_write_that_pushes_old_drug_from_the_line_warns_with_the_dose_rate_and_for_how_long():
    # A 60 cm catheter (0.306 mL line) full of 500 mcg/mL; refilled at 50 mcg/mL without its bridge. The new program,
    # 160 mcg/day at 50 mcg/mL, pumps 3.2 mL/day (0.1333 mL/h): the old drug reaches the patient at 66.67 mcg/h
    # instead of 6.667 mcg/h, for 0.306 / 0.1333 h = 2.295 h (2 h 17 min 42 s).
    pump = FakePump(baclofen()).implanted(60.0)
    pump.refill("r-1", 5.0, 18.0, Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=50))
    review = write_review(pump, baclofen(160, 50))
    assert "LINE_HOLDS_OLD_CONCENTRATION" in codes(review)
    [finding] = [f for f in review.report.findings if f.code == "LINE_HOLDS_OLD_CONCENTRATION"]
    assert finding.severity == "warning"
    assert "holds 0.306 mL of the old 500 mcg/mL drug (153 mcg)" in finding.message
    assert "up to 66.67 mcg/h instead of the program's 6.667 mcg/h for 2 h 17 min" in finding.message
    assert "Give the bridge bolus right after this write (pump-programmer bridge)" in finding.message


def test_a_write_with_the_line_holding_the_reservoirs_drug_or_a_program_that_pumps_nothing_has_no_line_warning():
    assert "LINE_HOLDS_OLD_CONCENTRATION" not in codes(write_review(FakePump(baclofen()).implanted(60.0),
                                                                    baclofen(160)))
    pump = FakePump(baclofen()).implanted(60.0)
    pump.refill("r-1", 5.0, 18.0, Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=50))
    stop = Program(format=FORMAT, drug=Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=50),
                   therapy=Stopped(mode="stopped"))
    assert "LINE_HOLDS_OLD_CONCENTRATION" not in codes(write_review(pump, stop))
