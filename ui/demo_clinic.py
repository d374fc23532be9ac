"""The demo's clinic record: a throwaway SQLite store in a temporary directory, with a demo clinician signed in and
the demo patient, to whom the bundled emulator's pump is bound at its first reading (as a replacement of an earlier
pump, whose ten months of titration and refills are the demo's dose history, for the History page to show).

Why a store of its own: ``pump-programmer --demo`` must work on a fresh installation without anybody typing (no
first administrator to create, no sign-in), and must never put a made-up patient into the clinic's real record.
Everything here is deleted when the window closes. The demo clinician's password is printed on the sign-in dialog,
so the demo can be unlocked after the inactivity sign-out.

Why made by an opener: creating the record (the store's schema, two Argon2id password hashes, the history) takes
about half a second, so the window makes it in its clinic thread once it shows (``ui.clinic_session``), and imports
the store's modules there too.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from programmer.roles import Role, User
from ui.clinic_session import ClinicSession

if TYPE_CHECKING:
    from clinic.store import Store

DEMO_ADMIN = "demo-admin"
DEMO_USER = "demo"
DEMO_NAME = "Dr Demo"
DEMO_TESTER = "demo-tester"
"""The demo's tester, who may use the Emulator menu (a clinician may not), with the same password."""
DEMO_PASSWORD = "a trial at the bedside"
"""Not a secret: the demo store holds no real patient and is deleted at the end."""
DEMO_PATIENT = "DEMO-0001"
DEMO_PATIENT_NAME = "Demo Patient"
DEMO_BIRTH = date(1970, 1, 1)
DEMO_CONFIRM_NOTE = f"Demo: the patient's date of birth is {DEMO_BIRTH.isoformat()}."
"""What "Confirm the patient" says in the demo only, where nobody is there to ask, so that a visitor can go on."""
DEMO_SIGN_IN_NOTE = (f"Demo record: sign in as {DEMO_USER} (a clinician), or {DEMO_TESTER} (a tester, for the "
                     f"Emulator menu), password {DEMO_PASSWORD!r}.")
EARLIER_PUMP = "E20-0DEMO1"
"""The demo patient's first pump, replaced by the bundled emulator's at its first reading."""
HISTORY = ((300, "program", 50.0, None, None), (270, "program", 100.0, None, None), (240, "program", 150.0, None, None),
           (200, "refill", 150.0, 18.0, 19.8), (140, "refill", 150.0, 17.6, 19.6), (120, "program", 175.0, None, None),
           (95, "program", 150.0, None, None), (80, "refill", 150.0, 18.2, 19.7), (20, "refill", 150.0, 18.0, 19.5))
"""Days ago, kind, daily dose (mcg/day), mL added and reservoir after (refills): an implant titrated to 150 mcg/day
of baclofen 500 mcg/mL, refilled about every two months, with a step up that was taken back."""


def demo_clinic(journal: Path | None = None) -> ClinicSession:
    """A demo session on a throwaway store made by its ``open`` (``demo_store``), the demo clinician signed in then;
    ``journal``: the audit journal (default: in the store's temporary directory, deleted with it)."""
    directory = tempfile.TemporaryDirectory(prefix="itb-demo-record-")
    return ClinicSession(None, journal or Path(directory.name) / "audit.jsonl", new_pumps_patient=DEMO_PATIENT,
                         demo=True, throwaway=directory, opener=lambda: demo_store(Path(directory.name)))


def demo_store(directory: Path) -> tuple[Store, User]:
    """A new demo store in ``directory``: its administrator, its clinician (returned), its patient and history."""
    from clinic.store import open_store  # in the clinic thread (ui.clinic_session)

    store = open_store(f"sqlite:///{directory / 'clinic.sqlite3'}")
    admin = store.users.create_first_administrator(DEMO_ADMIN, "Demo administrator", DEMO_PASSWORD)
    clinician = store.users.add(admin, DEMO_USER, DEMO_NAME, Role.CLINICIAN, DEMO_PASSWORD)
    store.users.add(admin, DEMO_TESTER, "Demo Tester", Role.TESTER, DEMO_PASSWORD)
    store.patients.add(clinician, DEMO_PATIENT, DEMO_PATIENT_NAME, DEMO_BIRTH)
    _earlier_pump(store, clinician)
    return store, clinician


def _earlier_pump(store: Store, clinician: User) -> None:
    """The demo patient's earlier pump and its dose history (``HISTORY``)."""
    from clinic.patients import DoseEntry

    today = datetime.now(timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0)
    implanted = (today - timedelta(days=HISTORY[0][0])).date()
    store.patients.bind_pump(clinician, DEMO_PATIENT, EARLIER_PUMP, "ITB-20", implanted, 60.0)
    for days, kind, daily, added, reservoir in HISTORY:
        store.patients.record_dose(DoseEntry(DEMO_PATIENT, EARLIER_PUMP, None, today - timedelta(days=days), kind,
                                             "baclofen", "mcg", 500.0, daily, added, None, reservoir, DEMO_USER, None))
