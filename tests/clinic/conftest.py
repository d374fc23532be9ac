"""The clinic store's fixtures: every store test runs on SQLite and on a real PostgreSQL server (``store_url``), with
password hashing at its lowest cost (``low_kdf_cost``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clinic import passwords
from clinic.store import Store, open_store
from tests.support.clinic_fixtures import LOW_KDF_COST, clinic_db, fill_clinic
from tests.support.postgres import PostgresServer, postgres_binaries, start_postgres


@pytest.fixture(autouse=True)
def low_kdf_cost(monkeypatch):
    monkeypatch.setattr(passwords, "COST", LOW_KDF_COST)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """This worker's PostgreSQL server, with two template databases: the test clinic, and an empty store."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: run bash scripts/bootstrap "
                    "(it installs Debian's postgresql package)")
    server = start_postgres(binaries)
    try:
        fill_clinic(server.create_database("clinic_filled"))
        open_store(server.create_database("clinic_empty")).close()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> str:
    return request.param


@pytest.fixture
def store_url(database, request, tmp_path) -> str:
    """A fresh store holding the test clinic (tests/support/clinic_fixtures.py), on each database."""
    if database == "sqlite":
        return clinic_db(tmp_path)
    return request.getfixturevalue("postgres_server").create_database(template="clinic_filled")


@pytest.fixture
def empty_store_url(database, request, tmp_path) -> str:
    """A fresh store with no users and no patients, on each database."""
    if database == "sqlite":
        return clinic_db(tmp_path, filled=False)
    return request.getfixturevalue("postgres_server").create_database(template="clinic_empty")


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()
