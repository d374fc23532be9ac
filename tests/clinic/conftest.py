"""The clinic store's fixtures: every store test runs on SQLite and on a real PostgreSQL server (``store_url``), with
password hashing at its lowest cost (``low_kdf_cost``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clinic import passwords
from clinic.store import Store, open_store
from tests.support.clinic_fixtures import LOW_KDF_COST, clinic_db, fill_clinic
from tests.support.postgres import PostgresServer, Snapshot, postgres_binaries, start_postgres


@pytest.fixture(autouse=True)
def low_kdf_cost(monkeypatch):
    monkeypatch.setattr(passwords, "COST", LOW_KDF_COST)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """This worker's PostgreSQL server, with an empty store as a template database."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: run bash scripts/bootstrap "
                    "(it installs Debian's postgresql package)")
    server = start_postgres(binaries)
    try:
        open_store(server.create_database("clinic_empty")).close()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_clinic(postgres_server) -> Iterator[Snapshot]:
    """This worker's test clinic on PostgreSQL, put back as it was made before each test that asks for it."""
    url = postgres_server.create_database("clinic")
    fill_clinic(url)
    snapshot = Snapshot(postgres_server, url)
    yield snapshot
    snapshot.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request) -> str:
    return request.param


@pytest.fixture
def store_url(database, request, tmp_path) -> str:
    """A fresh store holding the test clinic (tests/support/clinic_fixtures.py), on each database."""
    if database == "sqlite":
        return clinic_db(tmp_path)
    return request.getfixturevalue("postgres_clinic").reset()


@pytest.fixture
def empty_store_url(database, request, tmp_path) -> str:
    """A fresh store with no users and no patients, on each database; a database of its own, so a test may change
    its schema."""
    if database == "sqlite":
        return clinic_db(tmp_path, filled=False)
    return request.getfixturevalue("postgres_server").create_database(template="clinic_empty")


@pytest.fixture
def store(store_url) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()
