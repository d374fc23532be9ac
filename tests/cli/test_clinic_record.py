"""The clinic record at the command line: patients and their pumps, the hard stop before a change to a pump of
another patient (or of nobody), sessions, the dose history a verified change leaves, and the audit trail's checks.

The real emulator and each test's own clinic store (tests/conftest.py ``clinic_record``), osei signed in.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from programmer.audit import read_audit_log
from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, PATIENT, SYRINGE, event_count, interrogate, program_file, run
from tests.support.clinic_fixtures import ADA, KIM, OSEI, TESS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baclofen-simple.json"
OTHER = "TEST-0002"


@pytest.fixture
def other_patient(capsys, signed_in) -> str:
    code, out, _ = run(capsys, "patient", "add", "--id", OTHER, "--name", "Other Patient", "--born", "1980-05-17")
    assert (code, out) == (EXIT_OK, "added patient TEST-0002: Other Patient, born 1980-05-17\n")
    return OTHER



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


def test_a_write_to_a_replacement_pump_takes_the_previous_daily_dose_from_the_history(capsys, filled, start_emulator,
                                                                                       signed_in):
    replacement = start_emulator().url
    first = interrogate(capsys, filled)["pump"]["serial"]
    before = state(capsys, replacement)
    code, out, err = run(capsys, "refill", replacement, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR,
                         "--yes")  # a new pump for a patient with one implanted must name the pump it replaces
    assert (code, out) == (EXIT_REFUSED, "")
    assert f"patient {PATIENT} has pump {first} implanted" in err and "--replaces SERIAL" in err
    assert state(capsys, replacement) == before and [i["explanted_on"] for i in shown(capsys)["implants"]] == [None]
    code, _, err = run(capsys, "refill", replacement, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR,
                       "--replaces", first, "--yes")
    assert code == EXIT_OK, err
    edit = "UPDATE dose_history SET daily_dose = {} WHERE kind = 'program'"
    with sqlite3.connect(signed_in.url.removeprefix("sqlite:///")) as connection:
        connection.execute(edit.format(300))  # a previous dose raised by hand would let a larger change through
    before = state(capsys, replacement)
    code, out, err = run(capsys, "write", replacement, EXAMPLE, "--yes", "--json")
    assert (code, out) == (EXIT_REFUSED, "") and state(capsys, replacement) == before
    assert "the clinic record's dose_history table disagrees with its audit trail" in err and "daily_dose" in err
    with sqlite3.connect(signed_in.url.removeprefix("sqlite:///")) as connection:
        connection.execute(edit.format(150))
    code, out, err = run(capsys, "write", replacement, EXAMPLE, "--yes", "--json")
    assert code == EXIT_OK, err
    assert ("the previous daily dose is taken from the dose history of TEST-0001: 150 mcg/day (baclofen, the program "
            "written ") in err
    assert json.loads(out)["prior_therapy"]["previous_daily_dose"] == 150
    implants = shown(capsys)["implants"]
    assert [i["explanted_on"] is None for i in implants] == [False, True]


# --- the audit trail -----------------------------------------------------------------------------------------------


def test_audit_verify_finds_an_edited_record_by_its_seq(capsys, filled, signed_in):
    # the store's own records (users, patients, sessions: event "clinic") are chained with the changes' records
    written = json.loads(run(capsys, "audit", "list", "--action", "write", "--json")[1])["records"][-1]["seq"]
    code, out, _ = run(capsys, "audit", "verify", "--json")
    intact = json.loads(out)
    assert code == EXIT_OK and intact["intact"] is True and intact["records"] > written
    database = signed_in.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute(f"UPDATE audit_records SET body = replace(body, '150', '1500') WHERE seq = {written}")
    code, out, err = run(capsys, "audit", "verify", "--json")
    broken = json.loads(out)
    assert code == EXIT_REFUSED and (broken["intact"], broken["first_bad_seq"], broken["problem"]) == (
        False, written, "edited")
    assert f"the audit trail is broken at record {written} (edited)" in err


def test_audit_list_filters_and_reconcile_adds_what_the_store_lacks(capsys, filled, signed_in, audit_log):
    code, out, _ = run(capsys, "audit", "list", "--action", "write", "--json")
    records = json.loads(out)["records"]
    assert code == EXIT_OK and [e["record"]["event"] for e in records] == ["attempt", "outcome"]
    assert records[1]["seq"] == records[0]["seq"] + 1
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


def test_patient_bind_of_a_replacement_names_the_pump_it_replaces_and_says_it_is_explanted(capsys, start_emulator,
                                                                                         other_patient):
    first, second = start_emulator().url, start_emulator().url
    assert run(capsys, "patient", "bind", first, "--patient", OTHER, "--implanted", "2026-01-05")[0] == EXIT_OK
    serial, new = interrogate(capsys, first)["pump"]["serial"], interrogate(capsys, second)["pump"]["serial"]
    code, out, err = run(capsys, "patient", "bind", second, "--patient", OTHER, "--implanted", "2026-11-30")
    assert (code, out) == (EXIT_REFUSED, "") and f"has pump {serial} implanted" in err and "--replaces SERIAL" in err
    code, out, _ = run(capsys, "patient", "bind", second, "--patient", OTHER, "--implanted", "2026-11-30",
                       "--replaces", serial)
    assert (code, out) == (EXIT_OK, f"the pump ITB-20 serial {new} is {OTHER}'s (Other Patient), implanted 2026-11-30; "
                                    f"pump {serial}, which it replaces, is recorded as explanted on 2026-11-30\n")
    assert [(i["pump_serial"], i["explanted_on"]) for i in shown(capsys, OTHER)["implants"]] == [
        (serial, "2026-11-30"), (new, None)]


def test_set_low_alarm_and_set_clock_are_audited_and_so_are_their_role_refusals(capsys, filled, signed_in,
                                                                              audit_log):
    serial = interrogate(capsys, filled)["pump"]["serial"]
    audited = len(read_audit_log(audit_log))
    code, out, _ = run(capsys, "set-low-alarm", filled, "--ml", 2.5, "--yes")
    assert (code, out) == (EXIT_OK, "low-reservoir alarm set: it was at 2 mL, now 2.5 mL (read back)\n")
    signed_in.sign_in(KIM)
    code, out, err = run(capsys, "set-low-alarm", filled, "--ml", 3, "--yes")
    assert (code, out) == (EXIT_REFUSED, "") and "a technician may not change therapy" in err
    assert run(capsys, "set-clock", filled, "--yes")[0] == EXIT_OK  # a technician keeps the pump's clock
    signed_in.sign_in(TESS)
    code, _, err = run(capsys, "set-clock", filled, "--yes")
    assert code == EXIT_REFUSED and "a tester may not set the pump's clock" in err
    assert interrogate(capsys, filled)["reservoir"]["low_alarm_ml"] == 2.5  # the technician's 3 mL was not sent
    records = read_audit_log(audit_log)[audited:]
    assert [(r["action"], r["event"], r["outcome"], r["user"]) for r in records] == [
        ("set_low_alarm", "attempt", None, "osei"), ("set_low_alarm", "outcome", "verified", "osei"),
        ("set_low_alarm", "outcome", "refused", "kim"), ("set_clock", "outcome", "verified", "kim"),
        ("set_clock", "outcome", "refused", "tess")]
    assert (records[1]["low_alarm_ml_before"], records[1]["low_alarm_ml_asked"], records[1]["low_alarm_ml"]) == (
        2, 2.5, 2.5)
    assert records[0]["attempt_id"] == records[1]["attempt_id"] and records[1]["pump_serial"] == serial
    assert records[1]["patient"] == PATIENT and records[3]["pump_serial"] == serial and "pump_time" in records[3]


def test_a_clinician_name_not_the_signed_in_users_is_refused_and_audited(capsys, filled, tmp_path, audit_log):
    before = state(capsys, filled)
    code, _, err = run(capsys, "write", filled, program_file(tmp_path, 160), "--clinician", "Dr Ng", "--yes")
    assert code == EXIT_REFUSED and "--clinician 'Dr Ng' is not the signed-in user" in err
    assert state(capsys, filled) == before
    refused = read_audit_log(audit_log)[-1]
    assert (refused["action"], refused["event"], refused["outcome"], refused["user"]) == (
        "write", "outcome", "refused", "osei")
    assert "--clinician 'Dr Ng' is not the signed-in user, Dr A. Osei (osei)" in refused["message"]


def test_a_birth_before_1900_and_an_implant_in_the_future_are_refused_naming_the_field(capsys, start_emulator):
    code, out, err = run(capsys, "patient", "add", "--id", "OLD-1", "--name", "Old", "--born", "1899-12-31")
    assert (code, out) == (EXIT_INVALID, "")
    assert err == ("pump-programmer: invalid input: --born: 1899-12-31 is before 1900-01-01, the earliest birth date "
                   "taken: check the year; nothing was recorded\n")
    assert run(capsys, "patient", "add", "--id", "OLD-1", "--name", "Old", "--born", "1900-01-01")[0] == EXIT_OK
    url = start_emulator().url
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    code, out, err = run(capsys, "patient", "bind", url, "--patient", "OLD-1", "--implanted", tomorrow)
    assert (code, out) == (EXIT_INVALID, "") and f"--implanted: {tomorrow} is after today" in err
    assert shown(capsys, "OLD-1")["implants"] == []
    assert run(capsys, "patient", "bind", url, "--patient", "OLD-1", "--implanted", date.today().isoformat())[0] == 0


def test_a_catheter_revision_is_recorded_by_a_clinician_for_the_patient_s_own_pump(capsys, start_emulator,
                                                                                 other_patient, signed_in, audit_log):
    url = start_emulator().url
    code, out, err = run(capsys, "prime", url, "--reason", "implant", "--yes")  # a pump bound to nobody: as before
    assert (code, out) == (EXIT_INVALID, "") and "--catheter-cm: the catheter's whole length, cm, is needed" in err
    assert run(capsys, "patient", "bind", url, "--patient", OTHER, "--catheter-cm", 50)[0] == EXIT_OK
    serial = interrogate(capsys, url)["pump"]["serial"]
    today = date.today().isoformat()
    code, out, err = run(capsys, "patient", "revise-catheter", serial, "--patient", PATIENT, "--catheter-cm", 40,
                         "--date", today)
    assert (code, out) == (EXIT_REFUSED, "")
    assert f"pump {serial} is implanted in patient {OTHER}, not implanted in patient {PATIENT}" in err
    signed_in.sign_in(KIM)
    code, _, err = run(capsys, "patient", "revise-catheter", url, "--patient", OTHER, "--catheter-cm", 40,
                       "--date", today)
    assert code == EXIT_REFUSED and "a technician may not change therapy" in err
    [implant] = shown(capsys, OTHER)["implants"]
    assert (implant["catheter_cm"], implant["revisions"]) == (50, [])

    signed_in.sign_in(OSEI)
    code, out, _ = run(capsys, "patient", "revise-catheter", url, "--patient", OTHER, "--catheter-cm", 40,
                       "--date", today, "--note", "distal 10 cm removed")
    assert (code, out) == (EXIT_OK, f"catheter of pump {serial} ({OTHER}) revised on {today}: 40 cm (it was 50 cm)\n")
    [implant] = shown(capsys, OTHER)["implants"]
    assert (implant["catheter_cm"], implant["revisions"]) == (
        40, [{"revised_on": today, "catheter_cm": 40, "note": "distal 10 cm removed"}])

    # prime takes the recorded length; one typed that differs is refused and audited, with no attempt record: nothing
    # was sent (an attempt is recorded before anything is)
    code, out, err = run(capsys, "prime", url, "--catheter-cm", 50, "--reason", "catheter_revision", "--yes")
    assert (code, out) == (EXIT_REFUSED, "")
    refusal = (f"--catheter-cm 50 cm is not the catheter length recorded for pump {serial} of {OTHER}: 40 cm, from the "
               f"catheter revision of {today}; a catheter revised since is recorded first, with pump-programmer "
               f"patient revise-catheter {serial} --patient {OTHER} --catheter-cm 50 --date YYYY-MM-DD --note TEXT")
    assert refusal in err
    [refused] = [record for record in read_audit_log(audit_log) if record["action"] == "prime"]
    assert (refused["outcome"], refused["pump_serial"]) == ("refused", serial) and refusal in refused["message"]
    assert run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, "--yes")[0] == EXIT_OK
    code, out, err = run(capsys, "prime", url, "--reason", "catheter_revision", "--yes", "--json")
    assert code == EXIT_OK, err
    assert (f"priming with the catheter length recorded for pump {serial} of {OTHER}: 40 cm, from the catheter "
            f"revision of {today}") in err
    assert json.loads(out)["prime"]["catheter_cm"] == 40
