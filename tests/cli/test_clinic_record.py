"""The clinic record at the command line: patients and their pumps, the hard stop before a change to a pump of
another patient (or of nobody), sessions, the dose history a verified change leaves, and the audit trail's checks.

The real emulator and each test's own clinic store (tests/conftest.py ``clinic_record``), osei signed in.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from programmer.audit import read_audit_log
from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, PATIENT, SYRINGE, event_count, interrogate, program_file, run
from tests.support.clinic_fixtures import ADA, KIM, TESS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baclofen-simple.json"
OTHER = "TEST-0002"


@pytest.fixture
def other_patient(capsys, signed_in) -> str:
    code, out, _ = run(capsys, "patient", "add", "--id", OTHER, "--name", "Other Patient", "--born", "1980-05-17")
    assert (code, out) == (EXIT_OK, "added patient TEST-0002: Other Patient, born 1980-05-17\n")
    return OTHER


@pytest.fixture
def filled(capsys, start_emulator) -> str:
    """A pump of TEST-0001's (bound by its first change) filled with 20 mL of baclofen 500 mcg/mL at 150 mcg/day."""
    url = start_emulator().url
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes")[0] == EXIT_OK
    assert run(capsys, "write", url, EXAMPLE, *DOCTOR, "--previous-daily-dose", 150, "--yes")[0] == EXIT_OK
    return url


def shown(capsys, identifier: str = PATIENT) -> dict:
    code, out, _ = run(capsys, "patient", "show", identifier, "--json")
    assert code == EXIT_OK
    return json.loads(out)


def state(capsys, url: str) -> tuple:
    pump = interrogate(capsys, url)
    return pump["program"]["checksum"], round(pump["reservoir"]["volume_ml"], 2), event_count(capsys, url)


# --- the hard stop -------------------------------------------------------------------------------------------------


def test_a_pump_of_another_patient_is_never_changed_and_the_refusal_is_audited(capsys, filled, other_patient,
                                                                             tmp_path, audit_log):
    before = state(capsys, filled)
    for argv in (("write", filled, program_file(tmp_path, 160), "--patient", OTHER, "--yes"),
                 ("bolus", filled, "--dose", 30, "--duration-min", 30, "--patient", OTHER, "--yes"),
                 ("set-low-alarm", filled, "--ml", 5, "--patient", OTHER, "--yes")):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (EXIT_REFUSED, "")
        assert f"is bound to patient {PATIENT}, not to {OTHER}: nothing may be changed on it" in err
    assert state(capsys, filled) == before
    refused = read_audit_log(audit_log)[-3:]
    assert [(r["action"], r["outcome"], r["user"]) for r in refused] == [
        ("write", "refused", "osei"), ("bolus", "refused", "osei"), ("set_low_alarm", "refused", "osei")]
    serial = interrogate(capsys, filled)["pump"]["serial"]
    assert {r["pump_serial"] for r in refused} == {serial}
    assert [i["pump_serial"] for i in shown(capsys, OTHER)["implants"]] == []


def test_an_unknown_pump_without_patient_is_refused_before_anything_is_sent(capsys, start_emulator, tmp_path,
                                                                           audit_log):
    url = start_emulator().url
    before = state(capsys, url)
    code, _, err = run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, "--yes")
    assert code == EXIT_REFUSED and "is not bound to any patient" in err and "--patient ID" in err
    assert state(capsys, url) == before
    [refused] = [r for r in read_audit_log(audit_log) if r["action"] == "refill"]
    assert (refused["event"], refused["outcome"], refused["patient"]) == ("outcome", "refused", None)


def test_the_first_change_with_patient_binds_the_pump_and_interrogate_names_the_patient(capsys, filled):
    pump = interrogate(capsys, filled)
    assert pump["patient"] == PATIENT and len(pump["session_id"]) == 32
    [implant] = shown(capsys)["implants"]
    assert (implant["pump_serial"], implant["pump_model"], implant["explanted_on"]) == (
        pump["pump"]["serial"], "ITB-20", None)


def test_patient_bind_records_an_implant_with_its_catheter(capsys, start_emulator, other_patient):
    url = start_emulator().url
    code, out, _ = run(capsys, "patient", "bind", url, "--patient", OTHER, "--implanted", "2026-11-30",
                       "--catheter-cm", 60, "--json")
    bound = json.loads(out)
    assert code == EXIT_OK and (bound["implant"]["implanted_on"], bound["implant"]["catheter_cm"]) == ("2026-11-30", 60)
    code, _, err = run(capsys, "patient", "bind", url, "--patient", PATIENT)
    assert code == EXIT_REFUSED and f"bound to patient {OTHER}" in err
    listed = json.loads(run(capsys, "patient", "list", "--json")[1])["patients"]
    assert [p["identifier"] for p in listed] == [PATIENT, OTHER]


# --- sessions and the dose history ---------------------------------------------------------------------------------


def test_verified_changes_go_to_the_dose_history_and_a_session_continues(capsys, filled, audit_log):
    history = shown(capsys)["dose_history"]
    assert [(e["kind"], e["drug"], e["concentration"], e["volume_ml"], e["daily_dose"]) for e in history] == [
        ("refill", "baclofen", 500.0, 20.0, 0.0), ("program", "baclofen", 500.0, None, 150.0)]
    assert {e["username"] for e in history} == {"osei"}
    first = json.loads(run(capsys, "bolus", filled, "--dose", 30, "--duration-min", 30, "--yes", "--json")[1])
    assert first["outcome"] == "verified"
    code, out, _ = run(capsys, "cancel-bolus", filled, "--yes", "--json", "--session", first["session_id"])
    assert code == EXIT_OK and json.loads(out)["session_id"] == first["session_id"]
    bolus = shown(capsys)["dose_history"][-1]
    assert (bolus["kind"], bolus["dose"], bolus["volume_ml"], bolus["session_id"]) == (
        "bolus", 30.0, 0.06, first["session_id"])
    records = [r for r in read_audit_log(audit_log) if r["session_id"] == first["session_id"]]
    assert [(r["action"], r["event"]) for r in records] == [("bolus", "attempt"), ("bolus", "outcome"),
                                                            ("cancel_bolus", "attempt"), ("cancel_bolus", "outcome")]
    assert bolus["audit_record_id"] == records[1]["record_id"]


def test_a_session_is_continued_only_by_its_user_and_only_when_it_exists(capsys, filled, signed_in):
    session = interrogate(capsys, filled)["session_id"]
    code, _, err = run(capsys, "write", filled, EXAMPLE, "--session", "0" * 32, "--yes")
    assert code == EXIT_INVALID and "no session has the id" in err
    signed_in.sign_in(KIM)
    code, _, err = run(capsys, "cancel-bolus", filled, "--session", session, "--yes")
    assert code == EXIT_REFUSED and f"session {session} is osei's: kim starts a session of their own" in err


def test_a_write_to_a_replacement_pump_takes_the_previous_daily_dose_from_the_history(capsys, filled, start_emulator):
    replacement = start_emulator().url
    code, _, err = run(capsys, "refill", replacement, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR,
                       "--yes")
    assert code == EXIT_OK, err
    code, out, err = run(capsys, "write", replacement, EXAMPLE, "--yes", "--json")
    assert code == EXIT_OK, err
    assert ("the previous daily dose is taken from the dose history of TEST-0001: 150 mcg/day (baclofen, the program "
            "written ") in err
    assert json.loads(out)["prior_therapy"]["previous_daily_dose"] == 150
    implants = shown(capsys)["implants"]
    assert [i["explanted_on"] is None for i in implants] == [False, True]


# --- the audit trail -----------------------------------------------------------------------------------------------


def test_audit_verify_finds_an_edited_record_by_its_seq(capsys, filled, signed_in):
    code, out, _ = run(capsys, "audit", "verify", "--json")
    intact = json.loads(out)
    assert code == EXIT_OK and intact["intact"] is True and intact["records"] == 4
    database = signed_in.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE audit_records SET body = replace(body, '150', '1500') WHERE seq = 4")
    code, out, err = run(capsys, "audit", "verify", "--json")
    broken = json.loads(out)
    assert code == EXIT_REFUSED and (broken["intact"], broken["first_bad_seq"], broken["problem"]) == (
        False, 4, "edited")
    assert "the audit trail is broken at record 4 (edited)" in err


def test_audit_list_filters_and_reconcile_adds_what_the_store_lacks(capsys, filled, signed_in, audit_log):
    code, out, _ = run(capsys, "audit", "list", "--action", "write", "--json")
    records = json.loads(out)["records"]
    assert code == EXIT_OK and [(e["seq"], e["record"]["event"]) for e in records] == [(3, "attempt"), (4, "outcome")]
    assert run(capsys, "audit", "list", "--user", "kim", "--json")[1] == '{\n  "records": []\n}\n'
    out_before = out
    journal = read_audit_log(audit_log)
    audit_log.write_text(audit_log.read_text() + json.dumps(journal[-1] | {"record_id": "f" * 32}) + "\n")
    for user in (None, KIM, TESS):  # osei, a clinician, first: a reconciled record is vouched for by the chain
        if user is not None:
            signed_in.sign_in(user)
        code, out, err = run(capsys, "audit", "reconcile")
        assert (code, out) == (EXIT_REFUSED, "") and "may not manage users" in err
    assert run(capsys, "audit", "list", "--action", "write", "--json")[1] == out_before
    signed_in.sign_in(ADA)
    code, out, _ = run(capsys, "audit", "reconcile")
    assert (code, out) == (EXIT_OK, f"added 1 record(s) of {audit_log} that the clinic database lacked\n")
    assert run(capsys, "audit", "reconcile")[1].startswith("added 0 record(s)")
