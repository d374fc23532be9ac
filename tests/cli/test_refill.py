"""``pump-programmer refill``, staged as at the bedside, against the real emulator: the withdrawal checked before
anything is injected (``--check``), the syringe always stated, the volume added never more than the reservoir
holds counting what was left in it, and a verified refill's lot and expiry in the audit record."""

from __future__ import annotations

import json
from datetime import date

import pytest

from commandline import EXIT_INVALID
from programmer.audit import read_audit_log
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from programmer.refill import REFILL_GUIDANCE
from tests.support.cli_runs import DOCTOR, SYRINGE, event_count, hours_pass, interrogate, program_file, run, syringe

DAILY_150 = ("--previous-daily-dose", 150)
"""The chart's dose for the first program after a fill (tests/cli/test_first_programs.py)."""


def filled_with(capsys, tmp_path, start_emulator, added_ml: float, *emulator_options: str) -> str:
    """A factory-new pump filled with ``added_ml`` of baclofen 500 mcg/mL running 150 mcg/day (0.3 mL/day)."""
    url = start_emulator(*emulator_options).url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", added_ml, *SYRINGE, *DOCTOR,
               "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, program_file(tmp_path, 150), *DOCTOR, *DAILY_150, "--yes")[0] == EXIT_OK
    return url


@pytest.fixture
def pump14(capsys, tmp_path, start_emulator) -> str:
    return filled_with(capsys, tmp_path, start_emulator, 14)


@pytest.fixture
def pump20(capsys, tmp_path, start_emulator) -> str:
    return filled_with(capsys, tmp_path, start_emulator, 20)


def unchanged(capsys, url: str, events: int, volume_ml: float) -> bool:
    """The pump logged nothing new and still holds about what it held (0.3 mL/day: a few seconds move nothing)."""
    return event_count(capsys, url) == events and interrogate(capsys, url)["reservoir"]["volume_ml"] == \
        pytest.approx(volume_ml, abs=0.001)


def test_an_undeclared_syringe_is_invalid_input_and_sends_nothing(capsys, pump14):
    # The reviewer's refill: no drug named, so nothing says what the syringe holds (it might be 2000 mcg/mL).
    events = event_count(capsys, pump14)
    code, _, err = run(capsys, "refill", pump14, "--withdrawn-ml", 14, "--added-ml", 20, *DOCTOR, "--yes")
    assert code == EXIT_INVALID
    assert "--added-ml" not in err.split("missing:")[1]
    assert "missing: --drug, --dose-unit, --concentration, --lot, --expiry" in err and "nothing was sent" in err
    assert unchanged(capsys, pump14, events, 14)


def test_a_pocket_fill_refill_is_refused_and_sends_nothing(capsys, pump14):
    # 0 mL withdrawn where the pump calculated 14 mL: the needle is probably not in the reservoir. Stopped before
    # anything is injected, and even with a reason, 20 mL on top of the 14 left would make 34 mL in a 20 mL pump.
    events = event_count(capsys, pump14)
    code, _, err = run(capsys, "refill", pump14, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED
    assert "REFILL_DISCREPANCY" in err and "withdrawn_ml 0 mL is 14 mL less than the 14 mL the pump calculated" in err
    assert "injecting now would be a pocket fill" in err and "--withdrawal-reason" in err

    code, out, err = run(capsys, "refill", pump14, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes",
                         "--json", "--withdrawal-reason", "patient says the last refill felt wrong")
    assert code == EXIT_REFUSED
    assert ("added_ml 20 mL and the 14 mL that may still be in it (calculated 14 mL less 0 mL withdrawn) make 34 mL, "
            "more than the ITB-20 reservoir's capacity of 20 mL") in err
    result = json.loads(out)
    assert [e["code"] for e in result["errors"]] == ["ADDED_ABOVE_CAPACITY"]
    assert result["withdrawal"]["left_ml"] == pytest.approx(14, abs=0.001)
    assert result["withdrawal"]["reason"] == "patient says the last refill felt wrong"
    assert unchanged(capsys, pump14, events, 14)


def test_check_within_tolerance_changes_nothing(capsys, pump20):
    # 20 mL calculated: the tolerance is max(0.5, 10 % of 20) = 2 mL; 18.5 mL withdrawn is 1.5 mL short.
    events = event_count(capsys, pump20)
    code, out, _ = run(capsys, "refill", pump20, "--withdrawn-ml", 18.5, "--check", "--json")
    assert code == EXIT_OK
    check = json.loads(out)
    assert check["action"] == "refill_check" and check["guidance"] == REFILL_GUIDANCE
    withdrawal = check["withdrawal"]
    assert withdrawal["tolerance_ml"] == pytest.approx(2, abs=0.001)
    assert withdrawal["discrepancy_ml"] == pytest.approx(-1.5, abs=0.001)
    assert withdrawal["within_tolerance"] is True and withdrawal["meaning"] is None
    code, out, _ = run(capsys, "refill", pump20, "--withdrawn-ml", 18.5, "--check")
    assert code == EXIT_OK and "Expect        20 mL back" in out and "within tolerance" in out
    assert unchanged(capsys, pump20, events, 20)


def test_check_outside_tolerance_says_what_it_may_mean(capsys, pump14):
    # 14 mL calculated: the tolerance is max(0.5, 10 % of 14) = 1.4 mL.
    events = event_count(capsys, pump14)
    code, out, err = run(capsys, "refill", pump14, "--withdrawn-ml", 12.5, "--check", "--json")
    assert code == EXIT_REFUSED  # 1.5 mL short
    withdrawal = json.loads(out)["withdrawal"]
    assert withdrawal["within_tolerance"] is False and withdrawal["possible"] is True
    assert "over-infusion" in withdrawal["meaning"] and "do not inject" in withdrawal["what_to_do"]
    assert "outside tolerance" in err
    code, _, err = run(capsys, "refill", pump14, "--withdrawn-ml", 15.5, "--check")
    assert code == EXIT_REFUSED and "under-infusion" in err  # 1.5 mL more than calculated
    code, out, err = run(capsys, "refill", pump14, "--withdrawn-ml", 21, "--check", "--json")
    assert code == EXIT_REFUSED and json.loads(out)["withdrawal"]["possible"] is False
    assert "21 mL is more than the ITB-20 reservoir holds (20 mL)" in err
    code, _, err = run(capsys, "refill", pump14, "--withdrawn-ml", 14, "--check", *DOCTOR, "--yes")
    assert code == EXIT_INVALID and "changes nothing: it takes no --clinician, --yes" in err
    assert unchanged(capsys, pump14, events, 14)


def test_an_expired_lot_is_refused(capsys, pump20):
    events = event_count(capsys, pump20)
    code, _, err = run(capsys, "refill", pump20, "--withdrawn-ml", 20, "--added-ml", 20,
                       *syringe(lot="BX0001", expiry="2020-01-31"), *DOCTOR, "--yes")
    assert code == EXIT_REFUSED
    assert (f"SYRINGE_EXPIRED: expiry 2020-01-31: lot BX0001 expired before today, {date.today().isoformat()} "
            "(this computer's date)") in err
    assert unchanged(capsys, pump20, events, 20)


def test_a_concentration_change_is_refused_with_the_new_rate(capsys, pump20):
    # 150 mcg/day at 500 mcg/mL is 0.3 mL/day; at 1000 mcg/mL 0.15 mL/day, which pushes the 500 mcg/mL left in
    # the tubing and catheter at 0.15 x 500 = 75 mcg/day: a bridge bolus is needed (refill --bridge).
    events = event_count(capsys, pump20)
    code, out, err = run(capsys, "refill", pump20, "--withdrawn-ml", 20, "--added-ml", 20,
                         *syringe(concentration=1000), *DOCTOR, "--yes", "--json")
    assert code == EXIT_REFUSED
    assert "CONCENTRATION_CHANGE_NEEDS_BRIDGE" in err
    assert "the kept 150 mcg/day would run at 0.15 mL/day instead of 0.3 mL/day" in err
    assert "at 75 mcg/day until it is cleared" in err and "bridge bolus" in err and "refill with --bridge" in err
    change = json.loads(out)["syringe"]["concentration_change"]
    assert change == {"from": 500, "to": 1000, "daily_dose": pytest.approx(150), "ml_per_day_before":
                      pytest.approx(0.3), "ml_per_day_after": pytest.approx(0.15)}
    assert unchanged(capsys, pump20, events, 20)


def test_a_same_drug_refill_is_verified_with_its_lot_and_expiry_audited(capsys, pump20, audit_log):
    # 19.5 mL withdrawn of the 20 calculated (within 2 mL), 20 mL added: 0.5 mL may be left, 20.5 > 20 mL.
    code, _, err = run(capsys, "refill", pump20, "--withdrawn-ml", 19.5, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")
    assert code == EXIT_REFUSED and "20.5 mL, more than the ITB-20 reservoir's capacity of 20 mL" in err
    # 19.5 mL added fits. At 0.3 mL/day the low alarm (2 mL) comes after 17.5 / 0.3 = 58.33 days, empty 65 days.
    code, out, _ = run(capsys, "refill", pump20, "--withdrawn-ml", 19.5, "--added-ml", 19.5,
                       *syringe(lot="BX7340", expiry="2099-06-30"), *DOCTOR, "--yes", "--json")
    assert code == EXIT_OK
    result = json.loads(out)
    assert result["outcome"] == "verified" and result["refill"]["volume_ml"] == 19.5
    assert result["syringe"] | {"compared_with": None} == {
        "drug": {"name": "baclofen", "dose_unit": "mcg", "concentration_per_ml": 500.0}, "lot": "BX7340",
        "expiry": "2099-06-30", "expired": False, "compared_with": None, "same_as_pump": True,
        "concentration_change": None}
    assert result["withdrawal"]["within_tolerance"] is True and result["withdrawal"]["reason"] is None
    assert result["plan"]["days_to_low_alarm"] == pytest.approx(58.333, abs=0.001)
    assert result["plan"]["days_to_empty"] == pytest.approx(65, abs=0.001)
    records = [r for r in read_audit_log(audit_log) if r["action"] == "refill"]
    attempt, outcome = records[-2:]
    assert (attempt["event"], outcome["event"], outcome["outcome"]) == ("attempt", "outcome", "verified")
    for record in (attempt, outcome):
        assert (record["syringe"]["lot"], record["syringe"]["expiry"]) == ("BX7340", "2099-06-30")
        assert record["withdrawal"]["withdrawn_ml"] == 19.5
    code, out, _ = run(capsys, "refill", pump20, "--withdrawn-ml", 19.5, "--added-ml", 19.5, *SYRINGE, *DOCTOR,
                       "--yes")
    assert code == EXIT_OK and "Syringe       baclofen 500 mcg/mL, lot BX2291, expiry 2099-12-31" in out
    assert "New dates     low-reservoir alarm 20" in out and "(low_alarm) (pump clock)" in out


@pytest.mark.parametrize(("empty_hours", "resumes_freely"), [(10, True), (30, False)])
def test_a_pump_empty_beyond_the_restart_window_does_not_resume_its_full_dose_unasked(
        capsys, tmp_path, start_emulator, empty_hours, resumes_freely):
    # 20 mL at 0.3 mL/day (150 mcg/day of 500 mcg/mL) last 20 / 0.3 = 66 2/3 days = 1600 h; then the reservoir is
    # empty for empty_hours. Baclofen's restart window is 24 h: after 30 h without drug, refilling would resume
    # 150 mcg/day at once, 100 % of the last dose, above the restart rule's soft limit of 50 %.
    url = filled_with(capsys, tmp_path, start_emulator, 20, "--service")
    hours_pass(capsys, url, 1600 + empty_hours)
    assert "reservoir_empty" in {alarm["code"] for alarm in interrogate(capsys, url)["alarms"]}
    events = event_count(capsys, url)
    refill = ("refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")
    code, _, err = run(capsys, *refill)
    if resumes_freely:
        assert code == EXIT_OK, err
        assert interrogate(capsys, url)["reservoir"]["volume_ml"] == pytest.approx(20, abs=0.01)
        return
    assert code == EXIT_REFUSED and "RESTART_ABOVE_SOFT_LIMIT" in err
    assert "150 mcg/day is 100.0 % of the last dose on the pump, 150 mcg/day" in err
    assert event_count(capsys, url) == events  # nothing sent
    code, out, _ = run(capsys, *refill, "--override-soft-limits", "restart at full dose agreed with the team",
                       "--json")
    assert code == EXIT_OK and "RESTART_ABOVE_SOFT_LIMIT" in {warning["code"] for warning in json.loads(out)["warnings"]}


def test_a_new_concentration_is_refilled_with_its_bridge_in_one_action(capsys, tmp_path, start_emulator):
    # A 60 cm catheter primed long ago holds 0.15 + 60 x 0.0026 = 0.306 mL of 500 mcg/mL. With the bridge the pump
    # moves them at 0.3 mL/day, the old rate: 0.306 x 500 = 153 mcg reach the patient at the programmed 150 mcg/day,
    # over 0.306 / 0.3 = 1.02 days = 1468.8 min; then 1000 mcg/mL at 0.15 mL/day.
    url = filled_with(capsys, tmp_path, start_emulator, 20, "--catheter-cm", "60")
    refill = ("refill", url, "--withdrawn-ml", 20, "--added-ml", 20, *syringe(concentration=1000), *DOCTOR, "--yes",
              "--json")
    code, _, err = run(capsys, *refill)
    assert code == EXIT_REFUSED and "CONCENTRATION_CHANGE_NEEDS_BRIDGE" in err
    code, out, err = run(capsys, *refill, "--bridge", "--override-soft-limits", "stronger syringe to refill less often")
    assert code == EXIT_OK, err
    assert [warning["code"] for warning in json.loads(out)["warnings"]] == ["CONCENTRATION_CHANGED"]
    result = json.loads(out)
    bridge = result["bridge"]
    assert result["outcome"] == "verified" and bridge["bolus_id"] in result["message"]
    assert (bridge["volume_ml"], bridge["concentration_per_ml"], bridge["dose"]) == (
        pytest.approx(0.306), 500.0, pytest.approx(153.0))
    assert bridge["duration_min"] == pytest.approx(1468.8, abs=0.1)
    reported = bridge["pump_reported"]
    assert (reported["bolus_id"], reported["kind"], reported["state"]) == (bridge["bolus_id"], "bridge", "delivering")
    assert bridge["status_command"] == f"pump-programmer bolus-status {url} --bolus-id {bridge['bolus_id']}"
    assert result["active"]["drug"]["concentration_per_ml"] == 1000.0
    code, out, _ = run(capsys, "events", url, "--json")
    events = [event["detail"] for event in json.loads(out)["events"]]
    assert [detail.get("bridge_id") for detail in events if "refill_id" in detail] == [None, bridge["bolus_id"]]
    assert [detail["kind"] for detail in events if "kind" in detail and "bolus_id" in detail] == ["bridge"]
    code, _, err = run(capsys, "refill", url, "--withdrawn-ml", 20, "--added-ml", 20, *syringe(concentration=1000),
                       *DOCTOR, "--yes", "--bridge")
    assert code == EXIT_REFUSED  # the same concentration again: nothing to bridge (and the bridge still runs)
