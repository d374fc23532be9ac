"""One visit to the real emulator, as the session report's tests make it: its audit records, and its report.

The pump: an emulated ITB-20 filled at an earlier visit with 20 mL of baclofen 500 mcg/mL and running 150 mcg/day
(0.3 mL/day, so seconds later it still holds 20 mL to the thousandth). The visit withdraws 19 mL (1 mL less than
the pump calculated: within the tolerance of max(0.5, 10 % of 20) = 2 mL) and adds 18 mL, raises the dose to
200 mcg/day (+33.3 %, beyond the 20 % soft limit: overridden with ``REASON``) and gives a bolus of 50 mcg over
30 min (0.1 mL). tests/clinic/test_session_report.py and test_fhir_bundle.py work out their figures from these.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from clinic.session_report import ChainAnchor, PatientFacts, SessionFacts, SessionReport, report_from_records
from programmer.audit import AuditLog, read_audit_log
from programmer.bolus import review_bolus
from programmer.bolus_commit import commit_bolus
from programmer.checks import PriorTherapy
from programmer.commit import commit_refill, commit_write
from programmer.interrogation import read_pump
from programmer.library import load_library
from programmer.outcome import Outcome
from programmer.port import PumpDriver, open_driver
from programmer.refill import RefillRequest, Syringe, review_refill
from programmer.review import review_write
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.fake_pump import BACLOFEN_500, baclofen

LIBRARY = load_library()
DOCTOR = "Dr Ng"
REASON = "titration plan agreed with the patient"
SYRINGE = Syringe(BACLOFEN_500, "BX2291", date(2099, 12, 31))
PATIENT = PatientFacts("TEST-0001", "Test Patient", date(1970, 1, 1), 60.0)
HEAD = "ab" * 32


def refill(driver: PumpDriver, audit: AuditLog, withdrawn_ml: float, added_ml: float) -> None:
    review = review_refill(read_pump(driver), RefillRequest(withdrawn_ml, added_ml, SYRINGE), LIBRARY)
    assert commit_refill(driver, review, DOCTOR, audit).outcome is Outcome.VERIFIED


def visit_records(start_emulator, tmp_path: Path) -> list[dict]:
    """The records of the visit the module docstring describes, as the core wrote them."""
    driver = open_driver(start_emulator().url, **LOOPBACK_LINK)
    earlier = AuditLog(tmp_path / "earlier-visit.jsonl")
    refill(driver, earlier, 0, 20)
    first = review_write(read_pump(driver), baclofen(150), LIBRARY, prior=PriorTherapy(previous_daily_dose=150))
    assert commit_write(driver, first, DOCTOR, earlier).outcome is Outcome.VERIFIED

    audit = AuditLog(tmp_path / "visit.jsonl")
    refill(driver, audit, 19, 18)
    raised = review_write(read_pump(driver), baclofen(200), LIBRARY, REASON)
    assert commit_write(driver, raised, DOCTOR, audit).outcome is Outcome.VERIFIED
    bolus = review_bolus(read_pump(driver), 50, 30, LIBRARY)
    assert commit_bolus(driver, bolus, DOCTOR, audit).outcome is Outcome.VERIFIED
    driver.close()
    return read_audit_log(audit.path)


def report_of(records: list[dict], made_at: datetime | None = None) -> SessionReport:
    started = datetime.fromisoformat(records[0]["time"])
    session = SessionFacts("5e55", started, started + timedelta(minutes=5), "ward-3", "ng", DOCTOR, "clinician")
    return report_from_records(records, session, PATIENT, ChainAnchor(HEAD, 42, True),
                               made_at or started + timedelta(minutes=6), LIBRARY)
