"""The commit of a bolus, a prime, a bridge, a refill with its bridge and a demand dose, without a real pump.

Exactly once: the id is made once, audited before anything is sent, and after a link failure the pump is asked
about that id (``bolus_status``, which never acts) instead of being asked for a bolus again. ``LostAnswer`` is the
edge that fails: a pump whose answers (and, if told, its requests) are lost on the link.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from programmer.audit import read_audit_log
from programmer.bolus import review_bolus, review_bridge, review_demand, review_prime
from programmer.bolus_commit import commit_bolus, commit_bridge, commit_cancel, commit_demand, commit_prime
from programmer.commit import commit_refill
from programmer.errors import AuditError, LinkError
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import BolusOutcome, DemandDose, DemandSettings, LineContent, RefillOutcome
from programmer.program import Drug
from programmer.refill import RefillRequest, Syringe, review_refill
from tests.support.bolus_situations import LINE_ML, demand, pump, snapshot
from tests.support.fake_pump import FakePump, baclofen
from tests.support.people import DR_NG

LIBRARY = load_library()
DOCTOR = DR_NG
REASON = "discussed with the patient and the team"
BACLOFEN_1000 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)


class LostAnswer(FakePump):
    """A pump on a link that fails: ``lose`` names the calls whose next answer is lost after the pump acted, ``drop``
    those whose requests never arrive, ``dead`` those that fail because the link is gone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lose: set[str] = set()
        self.drop: set[str] = set()
        self.dead: set[str] = set()

    def _through(self, name: str, call, *args):
        self.calls.append(name)
        if name in self.drop or name in self.dead:
            raise LinkError(f"{name}: no answer from the pump", step=name)
        answer = call(*args)
        if name in self.lose:
            self.lose.discard(name)
            raise LinkError(f"{name}: the answer was lost", step=name)
        return answer

    def bolus(self, *args) -> BolusOutcome:
        return self._through("bolus", super().bolus, *args)

    def bolus_status(self, *args) -> BolusOutcome | None:
        return self._through("bolus_status", super().bolus_status, *args)

    def refill(self, *args) -> RefillOutcome:
        return self._through("refill", super().refill, *args)

    def cancel_bolus(self, *args) -> BolusOutcome:
        return self._through("cancel_bolus", super().cancel_bolus, *args)

    def write_demand(self, *args) -> DemandSettings:
        return self._through("write_demand", super().write_demand, *args)

    def read_demand(self) -> DemandSettings:
        return self._through("read_demand", super().read_demand)


def lossy(volume_ml: float = 10.0) -> LostAnswer:
    return LostAnswer(baclofen(), volume_ml=volume_ml).implanted(60.0)


def started(source: FakePump) -> list[str]:
    return [event.detail["bolus_id"] for event in source.events if event.kind == "bolus_started"]


# --- the therapeutic bolus --------------------------------------------------------------------------------------


def test_a_bolus_is_audited_with_its_id_before_it_is_sent_and_verified_from_the_pumps_answer(audit):
    source = pump()
    result = commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED
    assert re.fullmatch(r"b-\d{8}T\d{6}-[0-9a-f]{6}", result.bolus_id or "")
    assert started(source) == [result.bolus_id]
    assert result.bolus is not None and (result.bolus.dose, result.bolus.volume_ml) == (30.0, pytest.approx(0.06))
    attempt, outcome = read_audit_log(audit.path)
    assert (attempt["event"], attempt["action"], attempt["bolus"]["bolus_id"]) == ("attempt", "bolus", result.bolus_id)
    assert (attempt["bolus"]["dose"], attempt["bolus"]["duration_min"], attempt["bolus"]["volume_ml"]) == (
        30, 30, pytest.approx(0.06))
    assert outcome["outcome"] == "verified" and outcome["pump_reported"]["bolus"]["bolus_id"] == result.bolus_id
    assert "therapeutic bolus" in result.message and "started" in result.message


def test_the_id_given_is_the_one_sent(audit):
    source = pump()
    result = commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), DOCTOR, audit, "b-given-1")
    assert result.bolus_id == "b-given-1" and started(source) == ["b-given-1"]


def test_a_refused_bolus_sends_nothing_and_keeps_its_id(audit):
    source = pump()
    result = commit_bolus(source, review_bolus(snapshot(source), 500, 30, LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.REFUSED and result.bolus_id is not None
    assert started(source) == [] and "bolus" not in source.calls
    record, = read_audit_log(audit.path)
    assert record["outcome"] == "refused" and record["bolus"]["bolus_id"] == result.bolus_id
    warned = commit_bolus(source, review_bolus(snapshot(source), 80, 30, LIBRARY), DOCTOR, audit)
    assert warned.outcome is Outcome.NEEDS_OVERRIDE and started(source) == []
    overridden = commit_bolus(source, review_bolus(snapshot(source), 80, 30, LIBRARY, REASON), DOCTOR, audit)
    assert overridden.outcome is Outcome.VERIFIED


def test_nothing_is_sent_when_the_attempt_cannot_be_audited(audit):
    source = pump()
    audit.path.unlink(missing_ok=True)
    audit.path.mkdir()  # appending to a directory fails
    with pytest.raises(AuditError):
        commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), DOCTOR, audit)
    assert started(source) == []


def test_the_pump_saying_no_is_a_pump_refusal(audit):
    source = pump()
    review = review_bolus(snapshot(source), 30, 30, LIBRARY)
    source.volume_ml = 0.01  # emptied since the review: the pump refuses
    result = commit_bolus(source, review, DOCTOR, audit)
    assert result.outcome is Outcome.PUMP_REFUSED and started(source) == []


def test_a_bolus_reviewed_before_the_program_changed_is_not_sent(audit):
    source = pump()
    review = review_bolus(snapshot(source), 30, 30, LIBRARY)
    source.write_program(baclofen(160))
    result = commit_bolus(source, review, DOCTOR, audit)
    assert result.outcome is Outcome.REFUSED and "program changed since the review" in result.message
    assert started(source) == []


# --- exactly once under link faults -----------------------------------------------------------------------------


def test_an_answer_lost_after_the_pump_started_the_bolus_is_learnt_from_its_status(audit):
    source = lossy()
    source.lose.add("bolus")
    result = commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED
    assert "the link failed while asking for it" in result.message
    assert started(source) == [result.bolus_id]
    assert source.calls.count("bolus") == 1 and source.calls.count("bolus_status") == 1


def test_a_request_that_never_arrived_is_reported_as_nothing_delivered(audit):
    source = lossy()
    source.drop.add("bolus")
    result = commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.UNCHANGED
    assert "the pump reports it never started it: nothing was delivered" in result.message
    assert started(source) == [] and source.calls.count("bolus") == 1


def test_when_the_pump_cannot_be_asked_the_bolus_is_uncertain_with_its_id_and_never_asked_again(audit):
    source = lossy()
    source.lose.add("bolus")
    source.dead.add("bolus_status")
    result = commit_bolus(source, review_bolus(snapshot(source), 30, 30, LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.UNCERTAIN
    assert f"ask the pump about bolus id {result.bolus_id} (bolus status)" in result.message
    assert "Do not give it again" in result.message
    assert started(source) == [result.bolus_id] and source.calls.count("bolus") == 1
    outcome = read_audit_log(audit.path)[-1]
    assert outcome["outcome"] == "uncertain" and outcome["bolus"]["bolus_id"] == result.bolus_id


# --- prime and bridge -------------------------------------------------------------------------------------------


def test_a_prime_sends_the_computed_volume_and_is_verified(audit):
    source = pump()
    source.line = [LineContent(LINE_ML, 0.0)]  # opened at the implant: spinal fluid only
    result = commit_prime(source, review_prime(snapshot(source), 60, "implant", LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED
    assert result.bolus is not None and result.bolus.kind == "prime"
    assert result.bolus.volume_ml == pytest.approx(LINE_ML) and result.bolus.dose == pytest.approx(153.0)
    assert source.catheter_cm == 60.0
    assert read_audit_log(audit.path)[0]["bolus"]["volume_ml"] == pytest.approx(LINE_ML)


def test_a_bridge_of_the_line_is_verified(audit):
    source = pump()
    source.refill("r-1", 10.0, 18.0, BACLOFEN_1000)  # a new concentration without a bridge: old drug in the line
    result = commit_bridge(source, review_bridge(snapshot(source), LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED, result.message
    assert result.bolus is not None and result.bolus.kind == "bridge"
    assert result.bolus.dose == pytest.approx(153.0)  # 0.306 mL of 500 mcg/mL


# --- a refill at a new concentration ----------------------------------------------------------------------------


def refill_request(bridge: bool) -> RefillRequest:
    return RefillRequest(10.0, 18.0, Syringe(BACLOFEN_1000, "BX2291", date(2099, 12, 31)), bridge=bridge)


def test_a_concentration_change_without_its_bridge_stays_refused():
    review = review_refill(snapshot(), refill_request(bridge=False), LIBRARY, REASON)
    assert "CONCENTRATION_CHANGE_NEEDS_BRIDGE" in {finding.code for finding in review.report.errors}
    assert review.bridge is None


def test_a_refill_with_its_bridge_sends_both_in_one_action(audit):
    source = pump()
    review = review_refill(snapshot(source), refill_request(bridge=True), LIBRARY, REASON)
    assert not review.report.errors
    assert review.bridge is not None and review.bridge.volume_ml == pytest.approx(LINE_ML)
    assert review.bridge.duration_min == pytest.approx(1.02 * 1440)   # 0.306 mL at 150 / 500 = 0.3 mL/day
    result = commit_refill(source, review, DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED, result.message
    assert result.bolus is not None and result.bolus.kind == "bridge" and result.bolus.bolus_id == result.bolus_id
    assert started(source) == [result.bolus_id]
    attempt = read_audit_log(audit.path)[0]
    assert attempt["bridge"]["bolus_id"] == result.bolus_id
    assert attempt["bridge"]["concentration_per_ml"] == 500.0


def test_a_refill_whose_answer_was_lost_is_settled_by_its_bridge_and_recorded_once(audit):
    source = lossy()
    source.lose.add("refill")
    result = commit_refill(source, review_refill(snapshot(source), refill_request(bridge=True), LIBRARY, REASON),
                           DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED, result.message
    assert result.refill is not None and result.refill.repeated  # the first refill's answer, given again
    assert [event.kind for event in source.events].count("refill") == 1 and started(source) == [result.bolus_id]


def test_a_refill_that_never_arrived_is_unchanged_and_one_that_cannot_be_settled_uncertain(audit):
    source = lossy()
    source.drop.add("refill")
    review = review_refill(snapshot(source), refill_request(bridge=True), LIBRARY, REASON)
    result = commit_refill(source, review, DOCTOR, audit)
    assert result.outcome is Outcome.UNCHANGED and "the refill was not recorded" in result.message
    assert started(source) == [] and source.active.drug is not None and source.active.drug.concentration_per_ml == 500
    source.drop.clear()
    source.lose.add("refill")
    source.dead.add("bolus_status")
    uncertain = commit_refill(source, review, DOCTOR, audit)
    assert uncertain.outcome is Outcome.UNCERTAIN
    assert f"ask it about bridge bolus {uncertain.bolus_id}" in uncertain.message


def test_a_refill_bridge_needs_a_recorded_catheter_and_a_change_to_bridge():
    unrecorded = snapshot(FakePump(baclofen()))  # no catheter recorded
    review = review_refill(unrecorded, refill_request(bridge=True), LIBRARY, REASON)
    assert {finding.code for finding in review.report.errors} == {"CATHETER_NOT_RECORDED"}
    same = RefillRequest(10.0, 18.0, Syringe(Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=500),
                                             "BX2291", date(2099, 12, 31)), bridge=True)
    assert {f.code for f in review_refill(snapshot(), same, LIBRARY, REASON).report.errors} == {"NOTHING_TO_BRIDGE"}


# --- the demand dose --------------------------------------------------------------------------------------------


def test_a_demand_dose_is_written_and_verified_from_its_read_back(audit):
    source = pump()
    result = commit_demand(source, review_demand(snapshot(source), demand(), LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED
    assert result.demand is not None and result.demand.demand == demand()
    assert "25 mcg over 10 min, lockout 240 min, at most 6 a day" in result.message
    off = commit_demand(source, review_demand(snapshot(source), DemandDose(False), LIBRARY), DOCTOR, audit)
    assert off.outcome is Outcome.VERIFIED and "demand dose off" in off.message


def test_a_demand_dose_whose_answer_was_lost_is_read_back(audit):
    source = lossy()
    source.lose.add("write_demand")
    result = commit_demand(source, review_demand(snapshot(source), demand(), LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED
    off = review_demand(snapshot(source), DemandDose(False), LIBRARY)
    source.drop.add("write_demand")
    source.dead.add("read_demand")
    uncertain = commit_demand(source, off, DOCTOR, audit)
    assert uncertain.outcome is Outcome.UNCERTAIN and "interrogate the pump" in uncertain.message


def test_a_demand_dose_read_back_otherwise_is_a_mismatch(audit):
    source = lossy()
    source.drop.add("write_demand")  # never arrived: the pump keeps its demand dose off
    result = commit_demand(source, review_demand(snapshot(source), demand(), LIBRARY), DOCTOR, audit)
    assert result.outcome is Outcome.MISMATCH
    assert "the pump reports the demand dose off, not the one asked (25 mcg" in result.message


# --- cancelling a bolus -----------------------------------------------------------------------------------------

BACLOFEN_50 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=50)


def test_a_cancel_is_audited_before_it_is_sent_and_verified_with_the_pumps_figures(audit):
    source = pump()
    source.bolus("b-1", 60.0, 30.0)
    result = commit_cancel(source, None, DOCTOR, audit)  # None: the one running
    assert result.outcome is Outcome.VERIFIED and result.bolus_id == "b-1"
    assert result.message.startswith("therapeutic bolus b-1 cancelled: 0 of 60 mcg delivered (0 mL)")
    assert [event.kind for event in source.events][-1] == "bolus_cancelled"
    attempt, outcome = read_audit_log(audit.path)
    assert (attempt["event"], attempt["action"], attempt["bolus"]["bolus_id"], attempt["bolus"]["kind"]) == (
        "attempt", "cancel_bolus", "b-1", "therapeutic")
    assert attempt["library"] is None and attempt["clinician"] == "Dr Ng"
    assert outcome["outcome"] == "verified" and outcome["pump_reported"]["bolus"]["state"] == "cancelled"


def test_a_cancel_with_nothing_running_sends_nothing_and_one_that_ended_changes_nothing(audit):
    source = pump()
    result = commit_cancel(source, None, DOCTOR, audit)
    assert result.outcome is Outcome.UNCHANGED and "nothing to cancel" in result.message
    assert [record["event"] for record in read_audit_log(audit.path)] == ["outcome"]
    source.bolus("b-2", 60.0, 30.0)
    source.cancel_bolus("b-2")
    again = commit_cancel(source, "b-2", DOCTOR, audit)
    assert again.outcome is Outcome.UNCHANGED and "had already ended (cancelled)" in again.message


def test_a_cancel_that_cannot_be_audited_is_not_sent(audit):
    source = pump()
    source.bolus("b-3", 60.0, 30.0)
    audit.path.unlink(missing_ok=True)
    audit.path.mkdir()  # the log cannot be written
    with pytest.raises(AuditError):
        commit_cancel(source, "b-3", DOCTOR, audit)
    assert source.boluses["b-3"].state == "delivering"


def test_a_cancel_whose_answer_was_lost_is_learnt_from_the_bolus_status(audit):
    source = lossy()
    source.bolus("b-4", 60.0, 30.0)
    source.lose.add("cancel_bolus")
    result = commit_cancel(source, "b-4", DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED and "the link failed while cancelling" in result.message
    source.dead.add("cancel_bolus")
    source.dead.add("bolus_status")
    source.bolus("b-5", 60.0, 30.0)
    assert commit_cancel(source, "b-5", DOCTOR, audit).outcome is Outcome.UNCERTAIN


def test_a_cancelled_bridge_says_what_old_drug_is_left_its_dose_rate_and_to_resume_it(audit):
    source = pump()
    source.refill("r-1", 10.0, 18.0, BACLOFEN_50)  # 500 -> 50 mcg/mL: 0.306 mL of 500 mcg/mL left in the line
    source.bridge("b-6", LINE_ML, 500.0)
    result = commit_cancel(source, "b-6", DOCTOR, audit)
    assert result.outcome is Outcome.VERIFIED and result.bolus is not None and result.bolus.kind == "bridge"
    # By hand: 150 mcg/day at 50 mcg/mL is 3 mL/day, 0.125 mL/h; the old 500 mcg/mL drug at that rate reaches the
    # patient at 62.5 mcg/h, ten times the program's 6.25 mcg/h, for 0.306 / 0.125 h = 2.448 h (2 h 26 min 53 s).
    assert "bridge bolus b-6 cancelled" in result.message
    assert "The line still holds 0.306 mL of the old 500 mcg/mL drug (153 mcg)" in result.message
    assert "up to 62.5 mcg/h for the next 2 h 26 min" in result.message and "6.25 mcg/h" in result.message
    assert "resume it with `bridge`" in result.message


class DrainedLine(FakePump):
    """A pump that bridges its own figure of the old drug, ``drained_ml`` less than the one sent (the line moved)."""

    drained_ml = 0.0

    def bridge(self, bolus_id, volume_ml, concentration_per_ml):
        started = super().bridge(bolus_id, volume_ml, concentration_per_ml)
        volume = volume_ml - self.drained_ml
        return replace(started, volume_ml=volume, dose=volume * concentration_per_ml)


@pytest.mark.parametrize(("drained_ml", "outcome"), [(0.0049, Outcome.VERIFIED), (0.0051, Outcome.MISMATCH)])
def test_a_bridge_of_the_pumps_own_figure_within_the_tolerance_is_verified(audit, drained_ml, outcome):
    source = DrainedLine(baclofen()).implanted(60.0)
    source.drained_ml = drained_ml  # BRIDGE_VOLUME_TOLERANCE_ML = 0.005 mL
    source.refill("r-1", 10.0, 18.0, BACLOFEN_1000)
    result = commit_bridge(source, review_bridge(snapshot(source), LIBRARY), DOCTOR, audit)
    assert result.outcome is outcome, result.message



def test_outcome_messages_give_their_units(audit):
    source = pump()
    result = commit_bolus(source, review_bolus(snapshot(source), 60, 30, LIBRARY), DOCTOR, audit)
    assert f"therapeutic bolus {result.bolus_id} started: 60 mcg (0.12 mL), delivering" in result.message
    source.line = [LineContent(LINE_ML, 0.0)]
    source.cancel_bolus(result.bolus_id or "")
    prime = commit_prime(source, review_prime(snapshot(source), 60, "implant", LIBRARY), DOCTOR, audit)
    assert f"prime bolus {prime.bolus_id} started: 153 mcg (0.306 mL)" in prime.message
