"""The clock and the low-reservoir alarm set and audited by ``programmer.settings_commit`` (what both the command line
and the application call), in process on the fake pump (an ITB-20 of 20 mL: thresholds of 1 to 10 mL, 2 mL now):
the records before and after with their figures, a threshold outside the range refused unsent, a technician
refused, and a pump's refusal recorded and raised."""

from __future__ import annotations

from dataclasses import replace

import pytest

from programmer.audit import AuditLog, read_audit_log
from programmer.errors import PermissionRefused, PumpRefused
from programmer.outcome import Outcome
from programmer.settings_commit import set_clock, set_low_alarm
from tests.support.fake_pump import PUMP_TIME, FakePump
from tests.support.people import DR_NG, TECHNICIAN


def low_alarm(pump: FakePump, tmp_path, asked_ml: float, user=DR_NG):
    log = tmp_path / "audit.jsonl"
    result = set_low_alarm(pump, user, AuditLog(log), asked_ml, pump.identify(), pump.read_status().low_alarm_ml)
    return result, read_audit_log(log)


def test_a_threshold_set_has_its_attempt_and_verified_outcome_with_the_figures(tmp_path):
    pump = FakePump()
    result, (attempt, outcome) = low_alarm(pump, tmp_path, 3.0)
    assert (result.outcome, result.before_ml, result.read_back_ml, pump.low_alarm_ml) == (Outcome.VERIFIED, 2.0, 3.0,
                                                                                           3.0)
    assert [attempt["event"], outcome["event"], outcome["outcome"]] == ["attempt", "outcome", "verified"]
    assert (outcome["user"], outcome["pump_serial"], outcome["low_alarm_ml_before"], outcome["low_alarm_ml_asked"],
            outcome["low_alarm_ml"]) == ("ng", pump.identify().serial, 2.0, 3.0, 3.0)
    assert outcome["message"] == "low-reservoir alarm set: it was at 2 mL, now 3 mL (read back)"


def test_a_threshold_outside_the_range_is_refused_and_nothing_sent(tmp_path):
    pump = FakePump()
    result, [refused] = low_alarm(pump, tmp_path, 12.0)  # above half of 20 mL
    assert (result.outcome, result.read_back_ml, pump.low_alarm_ml) == (Outcome.REFUSED, None, 2.0)
    assert refused["outcome"] == "refused" and refused["message"] == (
        "low_alarm_ml 12 mL is outside this ITB-20's range of 1 to 10 mL; nothing was sent to the pump")


def test_a_technician_is_refused_on_record(tmp_path):
    pump = FakePump()
    with pytest.raises(PermissionRefused):
        low_alarm(pump, tmp_path, 3.0, TECHNICIAN)
    [refused] = read_audit_log(tmp_path / "audit.jsonl")
    assert (refused["outcome"], refused["user"], refused["role"], pump.low_alarm_ml) == (
        "refused", "kim", "technician", 2.0)


def test_the_pumps_refusal_is_recorded_and_raised(tmp_path):
    pump = FakePump()  # takes 1 to 10 mL; read as a 40 mL pump, 15 mL passes the range here and the pump refuses it
    with pytest.raises(PumpRefused):
        set_low_alarm(pump, DR_NG, AuditLog(tmp_path / "audit.jsonl"), 15.0,
                      replace(pump.identify(), capacity_ml=40.0), 2.0)
    attempt, outcome = read_audit_log(tmp_path / "audit.jsonl")
    assert (attempt["event"], outcome["outcome"], pump.low_alarm_ml) == ("attempt", "pump_refused", 2.0)
    assert outcome["message"].startswith("refused: ") and "15 mL is outside" in outcome["message"]


def test_the_clock_set_has_one_outcome_with_the_times(tmp_path):
    pump = FakePump()
    result = set_clock(pump, DR_NG, AuditLog(tmp_path / "audit.jsonl"))
    [outcome] = read_audit_log(tmp_path / "audit.jsonl")
    assert result.outcome is Outcome.VERIFIED and result.before == PUMP_TIME and abs(result.drift_s) < 1
    assert (outcome["event"], outcome["outcome"], outcome["pump_time_before"]) == (
        "outcome", "verified", PUMP_TIME.isoformat(timespec="seconds"))
