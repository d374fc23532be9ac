"""The authorising tables mirrored in the audit chain (security review, finding 2): every change to users, tokens,
patients, implants and sessions is a record; a row edited or inserted outside the programmer is refused where it is
read to decide something, and ``verify`` reports it as a ``table mismatch``. Also the review's findings on verify's
coverage (6, 9, 15), one pump per visit (1, 4), reconcile (5), the last administrator (8), passwords (10, 14)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import text

from clinic.audit_trail import canonical_json, chain_hash
from clinic.errors import RecordMismatch, SignInRefused, StoreError, WrongPatient, WrongPump
from clinic.patients import DoseEntry
from clinic.store import Store, open_store
from clinic.users import REFUSED_PASSWORD
from clinic.visit import PumpMatch, Visit
from programmer.errors import ErrorKind, InputError, PermissionRefused
from programmer.roles import Role
from tests.support.clinic_fixtures import ADA, KIM, OSEI, PASSWORD, PATIENT_ID

MISMATCH = r"^the clinic record's {table} table disagrees with its audit trail: "


def sql(store: Store, *statements: str, **values) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), values)


def actions(store: Store) -> list[str]:
    return [entry.record["action"] for entry in store.audit.query() if entry.record.get("event") == "clinic"]


def test_every_change_to_an_authorising_table_is_a_record_in_the_chain(store, tmp_path):
    assert actions(store) == ["user_added"] * 4 + ["patient_added"]
    token = store.users.issue_token(KIM)
    store.users.revoke_token(token)
    store.users.add(ADA, "lee", "Dr B. Lee", Role.CLINICIAN, "a long clinician password")
    store.users.disable(ADA, "lee")
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 6, 1), 60.0)
    store.patients.revise_catheter(OSEI, "EMU-1", date(2025, 7, 1), 55.0, "tip moved")
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-2", "ITB-40", date(2026, 1, 2), None, replaces="EMU-1")
    session_id = store.sessions.start(OSEI, "bedside")
    store.sessions.attach(session_id, PATIENT_ID, "EMU-2")
    store.sessions.end(session_id)
    assert actions(store)[5:] == ["token_issued", "token_revoked", "user_added", "user_disabled", "pump_bound",
                                  "catheter_revised", "pump_explanted", "pump_bound", "session_started",
                                  "session_attached", "session_ended"]
    [issued] = store.audit.query(action="token_issued")
    assert issued.record["user"] == "kim" and len(issued.record["token_hash"]) == 64 and issued.record["expires_at"]
    assert store.audit.verify().intact


def test_a_role_edited_in_the_table_signs_no_one_in_and_verify_reports_it(store):
    token = store.users.issue_token(KIM)
    sql(store, "UPDATE users SET role = 'clinician' WHERE username = 'kim'")
    with pytest.raises(RecordMismatch, match=MISMATCH.format(table="users") + "the user kim's role") as refused:
        store.users.user_for_token(token)
    assert refused.value.kind is ErrorKind.REFUSED and "\n" not in str(refused.value)
    with pytest.raises(RecordMismatch):
        store.users.authenticate("kim", PASSWORD)
    check = store.audit.verify()
    assert (check.intact, check.problem) == (False, "table mismatch")
    assert check.message.startswith("the clinic record's users table disagrees with its audit trail: the user kim's")
    sql(store, "UPDATE users SET role = 'technician' WHERE username = 'kim'")  # set back: trusted again
    assert store.users.user_for_token(token) == KIM and store.audit.verify().intact


def test_a_token_row_inserted_by_hand_or_made_valid_again_is_refused(store):
    import hashlib
    chosen = "a token of my own choosing"
    sql(store, "INSERT INTO tokens (user_id, token_hash, created_at, expires_at) SELECT id, :digest, "
               "'2026-01-01 00:00:00+00:00', '2099-01-01 00:00:00+00:00' FROM users WHERE username = 'osei'",
        digest=hashlib.sha256(chosen.encode()).hexdigest())
    with pytest.raises(RecordMismatch, match=MISMATCH.format(table="tokens") + "no audit record issued the token"):
        store.users.user_for_token(chosen)
    assert store.audit.verify().problem == "table mismatch"
    sql(store, "DELETE FROM tokens")
    token = store.users.issue_token(OSEI)
    sql(store, "UPDATE tokens SET expires_at = '2099-01-01 00:00:00+00:00'")  # made to last longer
    with pytest.raises(RecordMismatch, match="is not for the user or the time the audit trail recorded"):
        store.users.user_for_token(token)
    sql(store, "UPDATE tokens SET expires_at = '2000-01-01 00:00:00+00:00'")  # made to expire sooner: just expired
    with pytest.raises(SignInRefused, match="^the sign-in token expired at 2000-01-01T00:00:00"):
        store.users.user_for_token(token)
    assert store.audit.verify().problem == "table mismatch"  # verify still tells the row was edited
    sql(store, "DELETE FROM tokens")
    token = store.users.issue_token(OSEI)
    store.users.revoke_token(token)
    sql(store, "UPDATE tokens SET revoked_at = NULL")
    with pytest.raises(RecordMismatch, match="is valid in the table, not in the trail"):
        store.users.user_for_token(token)


def test_an_account_enabled_again_in_the_table_is_refused(store):
    store.users.disable(ADA, "osei")
    sql(store, "UPDATE users SET disabled_at = NULL WHERE username = 'osei'")
    with pytest.raises(RecordMismatch, match="the user osei is active in the table, disabled in the audit trail"):
        store.users.authenticate("osei", PASSWORD)


def test_a_pump_moved_to_another_patient_in_the_table_is_not_trusted(store, tmp_path):
    store.patients.add(ADA, "P-2", "Other Patient", date(1960, 1, 1))
    store.patients.bind_pump(OSEI, "P-2", "EMU-1", "ITB-20", date(2025, 1, 1), None)
    sql(store, f"UPDATE implants SET patient_id = (SELECT id FROM patients WHERE identifier = '{PATIENT_ID}')")
    with pytest.raises(RecordMismatch, match=MISMATCH.format(table="implants") + "the pump EMU-1's patient"):
        store.patients.patient_for_pump("EMU-1")
    visit = Visit(store, OSEI, tmp_path / "audit.jsonl")
    with pytest.raises(RecordMismatch):
        visit.match_pump("EMU-1")
    with pytest.raises(RecordMismatch):
        visit.require_change_allowed("EMU-1")
    with pytest.raises(RecordMismatch):
        store.patients.implants(PATIENT_ID)
    check = store.audit.verify()
    assert (check.problem, check.message.split(":")[0]) == (
        "table mismatch", "the clinic record's implants table disagrees with its audit trail")


def test_a_sessions_patient_edited_in_the_table_is_not_trusted(store):
    store.patients.add(ADA, "P-2", "Other Patient", date(1960, 1, 1))
    session_id = store.sessions.start(OSEI, "bedside")
    store.sessions.attach(session_id, "P-2", "EMU-2")
    sql(store, f"UPDATE sessions SET patient_id = (SELECT id FROM patients WHERE identifier = '{PATIENT_ID}')")
    with pytest.raises(RecordMismatch, match=MISMATCH.format(table="sessions")):
        store.sessions.get(session_id)
    assert store.audit.verify().problem == "table mismatch"


def test_a_patients_name_edited_in_the_table_is_not_trusted(store):
    sql(store, "UPDATE patients SET name = 'Someone Else'")
    with pytest.raises(RecordMismatch, match=MISMATCH.format(table="patients")):
        store.patients.get(PATIENT_ID)


@pytest.mark.parametrize("edit, what", [
    ("UPDATE dose_history SET daily_dose = 300 WHERE daily_dose = 150", "daily_dose"),
    ("UPDATE dose_history SET time = '2026-01-03 09:00:00+00:00' WHERE daily_dose = 150", "time"),
    ("UPDATE dose_history SET patient_id = (SELECT MAX(id) FROM patients) WHERE daily_dose = 150", "patient"),
    ("INSERT INTO dose_history (patient_id, pump_serial, time, kind, drug, dose_unit, daily_dose, username) "
     "SELECT id, 'EMU-1', '2026-01-03 09:00:00+00:00', 'program', 'baclofen', 'mcg', 400, 'osei' FROM patients "
     "WHERE identifier = 'TEST-0001'", None),
    ("DELETE FROM dose_history WHERE daily_dose = 150", "deleted"),  # the 300 mcg/day before it would be compared with
])
def test_a_dose_history_row_edited_or_inserted_by_hand_is_not_compared_with(store, edit, what):
    store.patients.add(ADA, "P-2", "Other Patient", date(1960, 1, 1))
    for hour, daily in ((8, 300.0), (9, 150.0)):
        store.patients.record_dose(DoseEntry(PATIENT_ID, "EMU-1", "s1", datetime(2026, 1, 2, hour, tzinfo=timezone.utc),
                                             "program", "baclofen", "mcg", 500.0, daily, None, None, None, "osei",
                                             f"r{hour}"))
    recorded = store.audit.query(action="dose_recorded")[-1]
    assert (recorded.record["daily_dose"], recorded.record["at"], recorded.record["patient"]) == (
        150.0, "2026-01-02T09:00:00+00:00", PATIENT_ID)
    assert store.patients.last_program(PATIENT_ID).daily_dose == 150.0 and store.audit.verify().intact
    sql(store, edit)
    expected = {None: "no audit record recorded the dose history entry",
                "deleted": "the dose history entry recorded by audit record [0-9]+ is not in the table"}.get(
                    what, f"'s {what} is not what")
    with pytest.raises(RecordMismatch, match=MISMATCH.format(table="dose_history") + ".*" + expected):
        store.patients.last_program(PATIENT_ID if what != "patient" else "P-2")
    if what == "patient":  # and the patient it was taken from misses it
        with pytest.raises(RecordMismatch, match="is not in the table"):
            store.patients.dose_history(PATIENT_ID)
    check = store.audit.verify()
    assert (check.intact, check.problem) == (False, "table mismatch") and "dose_history table" in check.message


# --- verify covers the columns audit list filters on, canonical bodies, and a missing head ---------------------------


@pytest.mark.parametrize("column, value", [("username", "clin3"), ("patient_identifier", "P-2"),
                                           ("pump_serial", "EMU-9"), ("action", "refill"), ("event", "outcome"),
                                           ("session_id", "s9"), ("record_id", "forged")])
def test_an_indexed_column_edited_outside_its_body_is_found(store, column, value):
    store.audit.append({"record_id": "r1", "time": "2026-03-01T10:00:00+01:00", "action": "write",
                        "event": "attempt", "user": "osei", "patient": PATIENT_ID, "session_id": "s1",
                        "pump_serial": "EMU-1"})
    seq, _ = store.audit.head()
    sql(store, f"UPDATE audit_records SET {column} = :value WHERE seq = :seq", value=value, seq=seq)
    check = store.audit.verify()
    assert (check.intact, check.first_bad_seq, check.problem) == (False, seq, "edited")
    assert check.message.startswith(f"record {seq}'s {column} column says {value!r}")


def test_an_edited_time_column_is_found(store):
    seq = store.audit.append({"record_id": "r1", "time": "2026-03-01T10:00:00+01:00", "action": "write",
                              "event": "attempt"})
    sql(store, "UPDATE audit_records SET time = '2020-01-01 00:00:00+00:00' WHERE seq = :seq", seq=seq)
    assert (store.audit.verify().first_bad_seq, store.audit.verify().problem) == (seq, "edited")


def test_a_body_rewritten_as_other_json_and_rechained_is_found(store):
    seq = store.audit.append({"record_id": "r1", "action": "write", "event": "attempt"})
    with store.engine.begin() as connection:
        prev = connection.execute(text("SELECT prev_hash FROM audit_records WHERE seq = :s"), {"s": seq}).scalar_one()
        body = json.dumps(json.loads(connection.execute(text("SELECT body FROM audit_records WHERE seq = :s"),
                                                        {"s": seq}).scalar_one()), indent=1)
        digest = chain_hash(prev, seq, body)
        connection.execute(text("UPDATE audit_records SET body = :b, hash = :h WHERE seq = :s"),
                           {"b": body, "h": digest, "s": seq})
        connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": digest})
    assert body != canonical_json(json.loads(body))
    check = store.audit.verify()
    assert (check.first_bad_seq, check.problem, check.message) == (
        seq, "edited", f"record {seq}'s body is not the canonical JSON its hash must cover")


@pytest.mark.parametrize("statements", [["DELETE FROM audit_head"],
                                        ["DELETE FROM audit_records", "DELETE FROM audit_head"]],
                         ids=["head", "everything"])
def test_a_deleted_head_or_an_emptied_trail_is_not_intact(store, statements):
    sql(store, *statements)
    check = store.audit.verify()
    assert (check.intact, check.problem) == (False, "deleted")
    assert check.message.startswith("the chain's head row is missing")
    assert store.audit.head() == (0, "0" * 64)


# --- one pump per visit; explanted pumps; replacements named ----------------------------------------------------------


@pytest.fixture
def bound(store):
    store.patients.add(ADA, "P-2", "Other Patient", date(1960, 1, 1))
    store.patients.bind_pump(OSEI, PATIENT_ID, "EMU-1", "ITB-20", date(2025, 1, 1), None)
    store.patients.bind_pump(OSEI, "P-2", "EMU-2", "ITB-20", date(2025, 1, 1), None)
    return store


def test_a_refused_pump_never_changes_the_visits_pump_or_patient(bound, tmp_path):
    visit = Visit(bound, OSEI, tmp_path / "audit.jsonl")
    visit.match_pump("EMU-2")
    assert visit.match_pump("EMU-1")[0] is PumpMatch.OTHER_PUMP
    with pytest.raises(WrongPump, match="^this visit is with pump EMU-2, not EMU-1") as refused:
        visit.require_change_allowed("EMU-1")
    assert isinstance(refused.value, WrongPatient)  # refused and audited wherever WrongPatient is
    with pytest.raises(WrongPump):
        visit.choose_patient(PATIENT_ID, "EMU-1", "ITB-20")
    info = bound.sessions.get(visit.session_id)
    assert (info.patient_identifier, info.pump_serial) == ("P-2", "EMU-2")
    continued = Visit(bound, OSEI, tmp_path / "audit.jsonl", session_id=visit.session_id)
    with pytest.raises(WrongPump, match="^this visit is with pump EMU-2, not EMU-3") as refused:
        continued.choose_patient("P-2", "EMU-3", "ITB-20", replaces="EMU-2")
    assert refused.value.kind is ErrorKind.REFUSED
    assert [i.pump_serial for i in bound.patients.implants("P-2")] == ["EMU-2"]
    with pytest.raises(WrongPump):
        bound.sessions.attach(visit.session_id, None, "EMU-1")
    with pytest.raises(WrongPatient):
        bound.sessions.attach(visit.session_id, PATIENT_ID, None)


def test_a_new_pump_for_a_patient_with_one_implanted_names_the_one_it_replaces(bound, tmp_path):
    visit = Visit(bound, OSEI, tmp_path / "audit.jsonl")
    for replaces in (None, "EMU-9"):
        with pytest.raises(WrongPump, match=f"^patient {PATIENT_ID} has pump EMU-1 implanted: binding pump EMU-3"):
            visit.choose_patient(PATIENT_ID, "EMU-3", "ITB-20", replaces=replaces)
    assert [i.explanted_on for i in bound.patients.implants(PATIENT_ID)] == [None]
    assert bound.sessions.get(visit.session_id).pump_serial is None
    visit.choose_patient(PATIENT_ID, "EMU-3", "ITB-20", implanted_on=date(2026, 2, 3), replaces="EMU-1")
    assert [i.explanted_on for i in bound.patients.implants(PATIENT_ID)] == [date(2026, 2, 3), None]


def test_an_explanted_pump_refuses_every_change_naming_the_date(bound, tmp_path):
    bound.patients.bind_pump(OSEI, PATIENT_ID, "EMU-3", "ITB-20", date(2026, 2, 3), None, replaces="EMU-1")
    visit = Visit(bound, OSEI, tmp_path / "audit.jsonl")
    visit.match_pump("EMU-1")
    with pytest.raises(WrongPump, match="^pump EMU-1 was recorded as explanted on 2026-02-03: nothing is sent"):
        visit.require_change_allowed("EMU-1")


# --- reconcile, the last administrator, passwords, the URL's password --------------------------------------------


def test_reconciled_records_are_marked_and_followed_by_who_reconciled_them(store, tmp_path):
    from programmer.audit import AuditLog

    journal = AuditLog(tmp_path / "audit.jsonl")
    journal.append({"record_id": "j1", "action": "write", "event": "attempt", "user": "clin3"})
    assert store.audit.reconcile(journal.path, by=ADA) == 1
    [added] = store.audit.query(action="write")
    [summary] = store.audit.query(action="audit_reconciled")
    assert added.record["reconciled"]["by"] == "ada" and summary.seq == added.seq + 1
    assert (summary.record["user"], summary.record["records"], summary.record["journal"]) == (
        "ada", 1, str(journal.path))


def test_the_last_active_administrator_is_not_disabled(store):
    with pytest.raises(PermissionRefused, match="^ada is the last active administrator: add another administrator"):
        store.users.disable(ADA, "ada")
    store.users.add(ADA, "root", "Ruth Root", Role.ADMINISTRATOR, "another long admin password")
    store.users.disable(ADA, "ada")
    assert store.users.authenticate("root", "another long admin password").role is Role.ADMINISTRATOR


@pytest.mark.parametrize("password, rule", [
    (" " * 12, "a password is not only spaces"),
    ("aaaaaaaaaaaa", "a password is not a common one"),
    ("123456789012", "a password is not a common one"),
    ("Password1234", "a password is not a common one"),
    ("xlee-is-my-password", "a password does not contain the user name"),
    ("short", "a password is at least 12 characters long (got 5)"),
])
def test_a_weak_password_is_refused_naming_the_rule(store, password, rule):
    with pytest.raises(InputError) as refused:
        store.users.add(ADA, "LEE", "Dr B. Lee", Role.CLINICIAN, password)
    assert [(field, words.startswith(rule)) for field, words in refused.value.problems] == [("password", True)]


def test_the_fixtures_password_passes_the_policy():
    from clinic.users import password_problem

    assert [password_problem(user, PASSWORD) for user in ("osei", "kim", "tess", "ada")] == [None] * 4


def test_a_password_given_as_a_url_option_is_masked_too():
    with pytest.raises(StoreError) as failed:
        open_store("postgresql://clinic:S3cretPW@127.0.0.1:1/itb?connect_timeout=1&password=S3cretPW2")
    assert "S3cretPW" not in str(failed.value) and "password=***" in str(failed.value)


def test_refused_password_wording_is_unchanged(store):
    with pytest.raises(SignInRefused, match=f"^{REFUSED_PASSWORD}$"):
        store.users.authenticate("osei", "not the password at all")
