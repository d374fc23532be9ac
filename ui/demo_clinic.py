"""The demo's clinic record: a throwaway SQLite store in a temporary directory, with a demo clinician signed in and
the demo patient, to whom the bundled emulator's pump is bound at its first reading.

Why a store of its own: ``pump-programmer --demo`` must work on a fresh installation without anybody typing (no
first administrator to create, no sign-in), and must never put a made-up patient into the clinic's real record.
Everything here is deleted when the window closes. The demo clinician's password is printed on the sign-in dialog,
so the demo can be unlocked after the inactivity sign-out.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from clinic.store import open_store
from programmer.roles import Role
from ui.clinic_session import ClinicSession

DEMO_ADMIN = "demo-admin"
DEMO_USER = "demo"
DEMO_NAME = "Dr Demo"
DEMO_PASSWORD = "demo demo demo"
"""Not a secret: the demo store holds no real patient and is deleted at the end."""
DEMO_PATIENT = "DEMO-0001"
DEMO_PATIENT_NAME = "Demo Patient"
DEMO_BIRTH = date(1970, 1, 1)
DEMO_SIGN_IN_NOTE = f"Demo record: sign in as {DEMO_USER}, password {DEMO_PASSWORD!r}."


def demo_clinic(journal: Path | None = None) -> ClinicSession:
    """A signed-in demo session on a new throwaway store; ``journal``: the audit journal (default: in the store's
    temporary directory, deleted with it)."""
    directory = tempfile.TemporaryDirectory(prefix="itb-demo-record-")
    store = open_store(f"sqlite:///{Path(directory.name) / 'clinic.sqlite3'}")
    admin = store.users.create_first_administrator(DEMO_ADMIN, "Demo administrator", DEMO_PASSWORD)
    clinician = store.users.add(admin, DEMO_USER, DEMO_NAME, Role.CLINICIAN, DEMO_PASSWORD)
    store.patients.add(clinician, DEMO_PATIENT, DEMO_PATIENT_NAME, DEMO_BIRTH)
    clinic = ClinicSession(store, journal or Path(directory.name) / "audit.jsonl", new_pumps_patient=DEMO_PATIENT,
                           demo=True, throwaway=directory)
    clinic.sign_in(clinician)
    return clinic
