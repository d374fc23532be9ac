"""A clinic store for tests: the four users (one of each role) and one patient, made once per test worker and copied
for each test, so a test gets a fresh, private database for the cost of a file copy.

Every user's password is ``PASSWORD``, hashed at ``LOW_KDF_COST``: the stored hashes carry their cost, so signing in
to a copied store is fast whatever ``clinic.passwords.COST`` is. Fixtures are in the conftest.py files (this folder
defines none): ``clinic_db(tmp_path)`` gives a URL to use in one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

from clinic import passwords
from clinic.passwords import Argon2Cost
from clinic.store import open_store
from programmer.roles import Role, User

PASSWORD = "correct horse battery staple"
LOW_KDF_COST = Argon2Cost(memory_kib=8, iterations=1, lanes=1)
"""Argon2id's smallest cost: a hash in microseconds (tests only; the shipped cost is ``clinic.passwords.COST``)."""

OSEI = User("osei", "Dr A. Osei", Role.CLINICIAN)
KIM = User("kim", "Kim Tech", Role.TECHNICIAN)
TESS = User("tess", "Tess Tester", Role.TESTER)
ADA = User("ada", "Ada Admin", Role.ADMINISTRATOR)
USERS = (OSEI, KIM, TESS, ADA)
PATIENT_ID, PATIENT_NAME, PATIENT_BORN = "TEST-0001", "Test Patient", date(1970, 1, 1)

_templates: dict[bool, Path] = {}


def fill_clinic(url: str) -> None:
    """Create (or migrate) the store at ``url`` and put the four users and the test patient in it."""
    cost, passwords.COST = passwords.COST, LOW_KDF_COST
    store = open_store(url)
    try:
        store.users.create_first_administrator(ADA.username, ADA.display_name, PASSWORD)
        for user in (OSEI, KIM, TESS):
            store.users.add(ADA, user.username, user.display_name, user.role, PASSWORD)
        store.patients.add(ADA, PATIENT_ID, PATIENT_NAME, PATIENT_BORN)
    finally:
        passwords.COST = cost
        store.close()


def clinic_db(tmp_path: Path, *, filled: bool = True) -> str:
    """The URL of a fresh SQLite store in ``tmp_path`` (0600): the users and the patient, or (``filled=False``) a
    store with no one in it yet."""
    if filled not in _templates:
        folder = Path(tempfile.mkdtemp(prefix="itb-clinic-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "clinic.sqlite3"
        if filled:
            fill_clinic(f"sqlite:///{template}")
        else:
            open_store(f"sqlite:///{template}").close()
        _templates[filled] = template
    target = tmp_path / ("clinic.sqlite3" if filled else "empty-clinic.sqlite3")
    shutil.copyfile(_templates[filled], target)
    os.chmod(target, 0o600)
    return f"sqlite:///{target}"
