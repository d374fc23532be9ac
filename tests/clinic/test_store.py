"""Opening the store: where it is, who may read it, its URL without the password, and its schema brought up to date
(or refused when newer), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from clinic.errors import StoreError
from clinic.models import Base
from clinic.store import DB_ENV, MIGRATIONS, SCHEMA_REVISION, default_database_url, open_store
from programmer.errors import ErrorKind
from tests.support.clinic_fixtures import ADA, PATIENT_ID, clinic_db
from tests.support.clinic_migrations import alembic_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_is_sqlite_in_the_user_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_database_url() == f"sqlite:///{tmp_path / 'data' / 'itb-programmer' / 'clinic.sqlite3'}"


def test_without_a_url_the_environment_then_the_default_is_opened(tmp_path, monkeypatch):
    monkeypatch.setenv(DB_ENV, f"sqlite:///{tmp_path / 'from-env.sqlite3'}")
    open_store().close()
    assert (tmp_path / "from-env.sqlite3").is_file()
    monkeypatch.delenv(DB_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data" / "itb-programmer").mkdir(parents=True, mode=0o755)  # made by someone else, open to all
    store = open_store()
    store.close()
    assert store.url == default_database_url()
    default = tmp_path / "data" / "itb-programmer"
    assert (mode(default), mode(default / "clinic.sqlite3")) == (0o700, 0o600)


def test_a_new_sqlite_file_is_private_to_its_user_and_so_is_a_new_directory(tmp_path):
    open_store(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'clinic.sqlite3'}").close()
    assert mode(tmp_path / "new") == mode(tmp_path / "new" / "deeper") == 0o700
    assert mode(tmp_path / "new" / "deeper" / "clinic.sqlite3") == 0o600


def test_an_existing_file_readable_by_others_is_made_private(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    open_store(f"sqlite:///{path}").close()
    path.chmod(0o644)
    open_store(f"sqlite:///{path}").close()
    assert mode(path) == 0o600


def test_the_shown_url_hides_the_password():
    with pytest.raises(StoreError) as failed:
        open_store("postgresql://clinic:s3cret@127.0.0.1:1/records?connect_timeout=2")
    assert "s3cret" not in str(failed.value)
    assert str(failed.value).startswith("cannot open the clinic database "
                                        "postgresql+psycopg://clinic:***@127.0.0.1:1/records?connect_timeout=2: ")
    assert (failed.value.kind, failed.value.field) == (ErrorKind.INPUT, "db")


def test_a_url_of_another_kind_or_none_at_all_is_refused_with_what_to_give():
    with pytest.raises(StoreError, match=r"^the clinic database mysql://u:\*\*\*@h/d is neither SQLite nor PostgreSQL"):
        open_store("mysql://u:pw@h/d")
    with pytest.raises(StoreError, match=r"^'clinic\.db' is not a database URL: give sqlite:///PATH"):
        open_store("clinic.db")


def test_a_file_that_is_no_database_is_refused_naming_it(tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are not tables " * 100)
    with pytest.raises(StoreError, match=rf"^cannot open the clinic database sqlite:///{path}: file is not a database"):
        open_store(f"sqlite:///{path}")


def test_the_store_holds_the_schema_its_models_describe(store_url):
    store = open_store(store_url)
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    store.close()


def test_the_newest_revision_the_code_names_is_the_newest_migration_shipped():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_current_head() == SCHEMA_REVISION
    assert {script.revision for script in scripts.walk_revisions()} == {"0001", "0002", "0003", "0004"}


def test_a_database_at_the_first_revision_is_upgraded_with_its_data_kept(empty_store_url):
    engine = create_engine(empty_store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
        connection.execute(text("INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES "
                                "('ada', 'Ada Admin', 'administrator', 'x', '2026-01-02 03:04:05+00:00')"))
        connection.execute(text("INSERT INTO patients (identifier, name, birth_date, created_at, created_by) VALUES "
                                "('P-1', 'Old Patient', '1950-05-06', '2026-01-02 03:04:05+00:00', 'ada')"))
        connection.execute(text("INSERT INTO implants (patient_id, pump_serial, pump_model, implanted_on) "
                                "SELECT id, 'EMU-OLD', 'ITB-20', '2020-01-01' FROM patients"))
        assert MigrationContext.configure(connection).get_current_revision() == "0001"
    engine.dispose()
    store = open_store(empty_store_url)
    assert [user.username for user in store.users.list()] == ["ada"]
    assert store.patients.get("P-1").birth_date == date(1950, 5, 6)
    [implant] = store.patients.implants("P-1")
    assert (implant.pump_serial, implant.revisions) == ("EMU-OLD", ())
    store.patients.revise_catheter(ADA, "EMU-OLD", date(2024, 3, 1), 55.0, "tip moved")  # a 0002 table
    adopted = [entry.record for entry in store.audit.query() if entry.record.get("adopted")]
    assert [record["action"] for record in adopted] == ["user_added", "patient_added", "pump_bound"]  # 0003
    assert store.audit.verify().intact
    assert store.patients.dose_history("P-1") == []
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0004"
    store.close()


def test_a_database_newer_than_the_code_is_refused(store_url):
    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"has schema revision 0099, newer than this programmer knows \(up to 0004\)"):
        open_store(store_url)


def test_the_test_clinic_is_there_on_each_database(store):
    assert [(user.username, user.role.value) for user in store.users.list()] == [
        ("ada", "administrator"), ("kim", "technician"), ("osei", "clinician"), ("tess", "tester")]
    assert store.patients.get(PATIENT_ID).name == "Test Patient"


def test_a_copied_sqlite_clinic_is_private(tmp_path):
    path = Path(clinic_db(tmp_path).removeprefix("sqlite:///"))
    assert mode(path) == 0o600
    assert sqlite3.connect(path).execute("SELECT count(*) FROM users").fetchone() == (4,)
