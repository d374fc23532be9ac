"""Identifiers and user names that differ only in case, width or spaces around are one record: the key
(``clinic.record_keys``), the lookups and uniqueness on both databases, and migration 0004 upgrading a database with
data (and refusing, changing nothing, one whose rows collide)."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from clinic.errors import StoreError
from clinic.record_keys import collisions, record_key
from clinic.store import open_store
from programmer.errors import InputError
from programmer.roles import Role
from tests.support.clinic_fixtures import ADA, PASSWORD, PATIENT_ID
from tests.support.clinic_migrations import at_revision

NOW = "'2026-01-02 03:04:05+00:00'"


@pytest.mark.parametrize("spelling, key", [
    ("MRN-001", "mrn-001"), (" mrn-001\u3000", "mrn-001"),  # an ideographic space around
    ("ＭＲＮ－００１", "mrn-001"),                           # full-width letters, digits and hyphen (NFKC)
    ("Straße", "strasse"), ("ΟΔΟΣ", "οδοσ"), ("ὀδός", "ὀδόσ"),  # casefold: sharp s, final sigma
    ("e\u0301", "é"),                                         # a combining accent composed
])
def test_the_key_is_nfkc_casefolded_and_stripped(spelling, key):
    assert record_key(spelling) == key


def test_collisions_name_every_row_of_each_group():
    assert collisions("patients", [(1, "MRN-001"), (2, "P-2"), (3, "mrn-001")]) == [
        "'MRN-001' (patients id 1) and 'mrn-001' (patients id 3)"]
    assert collisions("users", [(1, "ada"), (2, "osei")]) == []


def test_a_patient_or_user_is_one_record_whatever_the_case_and_keeps_its_spelling(store):
    store.patients.add(ADA, "MRN-001", "A. Patient", date(1970, 1, 1))
    with pytest.raises(InputError, match=r"a patient with the identifier 'MRN-001' exists already \('mrn-001' is the "
                                         "same identifier"):
        store.patients.add(ADA, "mrn-001", "Another Patient", date(1971, 1, 1))
    assert store.patients.get(" mrn-001 ").identifier == "MRN-001"
    assert [p.identifier for p in store.patients.search("ｍｒｎ")] == ["MRN-001"]
    store.patients.bind_pump(ADA, "mrn-001", "EMU-1", "ITB-20", date(2025, 1, 1), 60.0)
    assert store.patients.patient_for_pump("EMU-1").identifier == "MRN-001"
    session_id = store.sessions.start(ADA, "desk")
    store.sessions.attach(session_id, "Mrn-001", "EMU-1")
    assert [s.id for s in store.sessions.list(patient="mRN-001")] == [session_id]
    assert [e.record["action"] for e in store.audit.query(patient="mrn-001")] == ["pump_bound"]
    store.users.add(ADA, "Lee", "Dr B. Lee", Role.CLINICIAN, PASSWORD)
    with pytest.raises(InputError, match=r"a user named 'Lee' exists already \('LEE' is the same name"):
        store.users.add(ADA, "LEE", "Someone Else", Role.TECHNICIAN, PASSWORD)
    lee = store.users.authenticate("lee", PASSWORD)
    assert lee.username == "Lee" and store.users.user_for_token(store.users.issue_token(lee)) == lee
    assert [e.record["subject"] for e in store.audit.query(username="LEE", action="token_issued")] == ["Lee"]
    store.users.disable(ADA, "LEE")
    assert [u.disabled for u in store.users.list() if u.username == "Lee"] == [True]
    assert store.audit.verify().intact


def user(name: str) -> str:
    return (f"INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES ('{name}', "
            f"'{name} Name', 'clinician', 'x', {NOW})")


def patient(identifier: str) -> str:
    return (f"INSERT INTO patients (identifier, name, birth_date, created_at, created_by) VALUES ('{identifier}', "
            f"'Someone', '1950-05-06', {NOW}, 'ada')")


def test_0003_to_0004_keys_the_rows_and_adopts_the_dose_history(empty_store_url):
    at_revision(empty_store_url, "0003", user("ada"), user("Osei"), patient("MRN-001"), patient("P-2"),
                 "INSERT INTO dose_history (patient_id, pump_serial, time, kind, drug, dose_unit, daily_dose, "
                 f"username) SELECT id, 'EMU-1', {NOW}, 'program', 'baclofen', 'mcg', 150, 'Osei' FROM patients "
                 "WHERE identifier = 'MRN-001'")
    store = open_store(empty_store_url)
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0004"
        assert sorted(connection.execute(text("SELECT username, username_key FROM users"))) == [
            ("Osei", "osei"), ("ada", "ada")]
    assert store.patients.get("mrn-001").identifier == "MRN-001"
    assert [entry.daily_dose for entry in store.patients.dose_history("MRN-001")] == [150.0]
    [adopted] = [e.record for e in store.audit.query(action="dose_recorded")]
    assert adopted["adopted"] is True and adopted["patient"] == "MRN-001"
    with pytest.raises(InputError, match="a patient with the identifier 'MRN-001' exists already"):
        store.patients.add(ADA, "mrn-001", "Another", date(1971, 1, 1))
    assert store.audit.verify().intact
    store.close()


def test_0003_rows_that_collide_stop_the_upgrade_naming_them_and_nothing_changes(empty_store_url):
    at_revision(empty_store_url, "0003", user("ada"), user("Osei"), user("osei"), patient("MRN-001"), patient("P-2"),
                 patient("mrn-001"))
    engine = create_engine(empty_store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        records = connection.execute(text("SELECT COUNT(*) FROM audit_records")).scalar()
    with pytest.raises(StoreError, match="cannot upgrade the clinic database .*: records that differ only in case") \
            as refused:
        open_store(empty_store_url)
    assert ("'Osei' (users id 2) and 'osei' (users id 3); 'MRN-001' (patients id 1) and 'mrn-001' (patients id 3). "
            "Nothing was changed") in str(refused.value)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0003"
        assert "username_key" not in {column["name"] for column in inspect(connection).get_columns("users")}
        assert connection.execute(text("SELECT COUNT(*) FROM audit_records")).scalar() == records
        assert sorted(connection.execute(text("SELECT identifier FROM patients"))) == [
            ("MRN-001",), ("P-2",), ("mrn-001",)]
    engine.dispose()


def test_the_test_clinic_patient_is_found_in_any_case(store):
    assert store.patients.get(PATIENT_ID.lower()).identifier == PATIENT_ID
