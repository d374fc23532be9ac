"""One visit to the real emulator, recorded in a real clinic store, as the session report's tests make it.

The pump: an emulated ITB-20 bound to the test patient (TEST-0001, a 60 cm catheter) at an earlier visit, filled
with 20 mL of baclofen 500 mcg/mL and running 150 mcg/day (0.3 mL/day, so seconds later it still holds 20 mL to the
thousandth). The visit, by Dr A. Osei at workstation ``ward-3``: 19 mL withdrawn (1 mL less than the pump
calculated: within the tolerance of max(0.5, 10 % of 20) = 2 mL) and 18 mL added; the dose raised to 200 mcg/day
(+33.3 %, beyond the 20 % soft limit: overridden with ``REASON``); a bolus of 50 mcg over 30 min (0.1 mL). Each
change is committed through the visit's audit (the journal, then the store's chain) and recorded as dose history,
as the command line and the application do. tests/clinic/test_session_report.py and test_fhir_bundle.py work out
their figures from these.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from clinic.store import Store, open_store
from clinic.visit import Visit
from programmer.bolus import review_bolus
from programmer.bolus_commit import commit_bolus
from programmer.checks import PriorTherapy
from programmer.commit import SessionResult, commit_refill, commit_write
from programmer.interrogation import read_pump
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import PumpDriver, open_driver
from programmer.refill import RefillRequest, Syringe, review_refill
from programmer.review import review_write
from tests.support.clinic_fixtures import OSEI, PATIENT_ID, clinic_db
from tests.support.emulator_fixtures import LOOPBACK_LINK, EmulatorProcess
from tests.support.fake_pump import BACLOFEN_500, baclofen

LIBRARY = load_library()
REASON = "titration plan agreed with the patient"
SYRINGE = Syringe(BACLOFEN_500, "BX2291", date(2099, 12, 31))
WORKSTATION = "ward-3"


@dataclass
class RecordedVisit:
    store: Store
    session_id: str
    serial: str
    journal: Path


def committed(visit: Visit, result: SessionResult) -> None:
    assert result.outcome is Outcome.VERIFIED, result.message
    visit.record(result)


def refill(driver: PumpDriver, visit: Visit, withdrawn_ml: float, added_ml: float) -> None:
    review = review_refill(read_pump(driver), RefillRequest(withdrawn_ml, added_ml, SYRINGE), LIBRARY)
    committed(visit, commit_refill(driver, review, OSEI, visit.audit))


@contextmanager
def recorded_visit(folder: Path, store_url: str | None = None) -> Iterator[RecordedVisit]:
    """The visit the module docstring describes, in a fresh store (SQLite in ``folder``, or the test clinic at
    ``store_url``), open while the context lasts. Reading it changes nothing, so a test module makes it once (a
    module-scoped fixture) for all its tests."""
    emulator = EmulatorProcess(folder / "pump.json")
    emulator.start()
    try:
        recorded = _visit(emulator.url, folder, store_url or clinic_db(folder))
    finally:
        emulator.stop()
    try:
        yield recorded
    finally:
        recorded.store.close()


def _visit(url: str, folder: Path, store_url: str) -> RecordedVisit:
    store = open_store(store_url)
    journal = folder / "journal.jsonl"
    driver = open_driver(url, **LOOPBACK_LINK)
    try:
        serial = read_pump(driver).identity.serial
        earlier = Visit(store, OSEI, journal, "clinic-desk")
        earlier.choose_patient(PATIENT_ID, serial, "ITB-20", catheter_cm=60.0)
        refill(driver, earlier, 0, 20)
        first = review_write(read_pump(driver), baclofen(150), LIBRARY, prior=PriorTherapy(previous_daily_dose=150))
        committed(earlier, commit_write(driver, first, OSEI, earlier.audit))
        earlier.end()

        visit = Visit(store, OSEI, journal, WORKSTATION)
        visit.match_pump(serial)
        refill(driver, visit, 19, 18)
        raised = review_write(read_pump(driver), baclofen(200), LIBRARY, REASON)
        committed(visit, commit_write(driver, raised, OSEI, visit.audit))
        bolus = review_bolus(read_pump(driver), 50, 30, LIBRARY)
        committed(visit, commit_bolus(driver, bolus, OSEI, visit.audit))
        visit.end()
    finally:
        driver.close()
    return RecordedVisit(store, visit.session_id, serial, journal)
