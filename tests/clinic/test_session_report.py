"""The session report from the records a real visit to the emulator left: every figure worked out by hand.

The visit (tests/support/session_visits.py): a pump running 150 mcg/day of baclofen 500 mcg/mL with 20 mL left;
19 mL withdrawn (1 mL less than the pump calculated, within the 2 mL tolerance), 18 mL added; the dose raised to
200 mcg/day, a warning overridden with a reason; a bolus of 50 mcg over 30 min (0.1 mL). From 18 mL at 200 mcg/day
= 0.4 mL/day the low alarm (2 mL) comes after 16 / 0.4 = 40 days, so the refill is due 40 - 7 = 33 days after the
refill (baclofen's stability limit, 180 days from the fill, is later).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

import pytest

from clinic.fhir_bundle import fhir_bundle
from clinic.session_report import (ChainAnchor, PatientFacts, SessionFacts, SessionReport, build_session_report,
                                   low_alarm_threshold, report_from_records)
from clinic.store import Store, open_store
from clinic.visit import PumpMatch, Visit
from programmer.audit_record import record_not_sent
from programmer.bolus import review_prime
from programmer.bolus_commit import commit_prime
from programmer.checks import PriorTherapy
from programmer.commit import commit_refill, commit_write
from programmer.interrogation import read_pump
from programmer.outcome import Outcome
from programmer.port import open_driver
from programmer.program import Drug
from programmer.refill import RefillRequest, Syringe, review_refill
from programmer.review import review_write
from tests.support.clinic_fixtures import ADA, OSEI, PATIENT_ID, clinic_db
from tests.support.emulator_fixtures import LOOPBACK_LINK, EmulatorProcess
from tests.support.fake_pump import BACLOFEN_500, baclofen
from tests.support.session_visits import (LIBRARY, REASON, WORKSTATION, RecordedVisit, committed, recorded_visit,
                                          refill)
from ui.report_pdf import write_report_pdf


@pytest.fixture(scope="module")
def visit(tmp_path_factory) -> Iterator[RecordedVisit]:
    with recorded_visit(tmp_path_factory.mktemp("visit")) as recorded:
        yield recorded


def report_of(visit: RecordedVisit) -> SessionReport:
    """The report made a minute after the visit ended (its 30 min bolus still running)."""
    ended = visit.store.sessions.get(visit.session_id).ended_at
    return build_session_report(visit.store, visit.session_id, made_at=ended + timedelta(minutes=1))


def refill_time(visit: RecordedVisit) -> datetime:
    """The visit's refill on the pump's clock, from its audit record."""
    [record] = [entry.record for entry in visit.store.audit.query(session_id=visit.session_id, action="refill")
                if entry.record["event"] == "outcome"]
    return datetime.fromisoformat(record["pump_time"])


def test_a_visit_is_reported_from_its_store_records(visit):
    report = report_of(visit)
    session = report.session
    assert (session.session_id, session.display_name, session.role, session.workstation) == (
        visit.session_id, OSEI.display_name, "clinician", WORKSTATION)
    assert report.patient == PatientFacts("TEST-0001", "Test Patient", date(1970, 1, 1), 60.0)
    assert (report.pump_serial, report.pump_model, report.drug) == (visit.serial, "ITB-20", BACLOFEN_500)
    assert (report.library["name"], report.library["version"]) == (LIBRARY.identity.name, LIBRARY.identity.version)
    assert [(line.action, line.summary, line.outcome) for line in report.actions] == [
        ("refill", "withdrew 19 mL (expected 20), added 18 mL", "verified"),
        ("write", "150 -> 200 mcg/day", "verified"),
        ("bolus", "therapeutic 50 mcg (0.1 mL)", "verified"),
    ]
    assert (report.program_before, report.program_after) == (baclofen(150), baclofen(200))
    [change] = report.changes
    assert (change.daily_before, change.daily_after, change.override_reason) == (150, 200, REASON)
    # the earlier visit's refill and write, this visit's refill, write and bolus: two records each, among the
    # records mirroring the clinic's tables (clinic.mirror)
    check = visit.store.audit.verify()
    assert report.anchor == ChainAnchor(check.head_hash, check.records, True)
    changes = [entry for entry in visit.store.audit.query() if entry.record.get("event") in ("attempt", "outcome")]
    assert len(changes) == 10 and check.records >= 10


def test_each_database_gives_the_same_report(store_url, tmp_path):
    # store_url (tests/clinic/conftest.py): the test clinic on SQLite, and on a PostgreSQL server the tests start
    with recorded_visit(tmp_path, store_url) as visit:
        report = report_of(visit)
        assert [(line.action, line.summary, line.outcome) for line in report.actions] == [
            ("refill", "withdrew 19 mL (expected 20), added 18 mL", "verified"),
            ("write", "150 -> 200 mcg/day", "verified"),
            ("bolus", "therapeutic 50 mcg (0.1 mL)", "verified"),
        ]
        assert (report.patient.catheter_cm, report.reservoir.volume_ml) == (60.0, 18)
        assert report.anchor.records == visit.store.audit.verify().records
        assert report.refill_by.at == refill_time(visit) + timedelta(days=33)


def test_the_refill_shows_its_volumes_and_discrepancy(visit):
    [line] = report_of(visit).refills
    assert (line.withdrawn_ml, line.added_ml, line.volume_ml) == (19, 18, 18)
    assert line.tolerance_ml == pytest.approx(2, abs=0.0001)
    assert line.calculated_ml == pytest.approx(20, abs=0.001)
    assert line.discrepancy_ml == pytest.approx(-1, abs=0.001) and line.within_tolerance
    assert (line.drug, line.lot, line.expiry) == (BACLOFEN_500, "BX2291", "2099-12-31")


def test_the_bolus_and_the_overridden_warning(visit):
    report = report_of(visit)
    [bolus] = report.boluses
    assert (bolus.kind, bolus.dose, bolus.dose_unit, bolus.volume_ml, bolus.duration_min, bolus.outcome) == (
        "therapeutic", 50, "mcg", pytest.approx(0.1), 30, "verified")
    [override] = report.overrides
    assert (override.code, override.override_reason) == ("CHANGE_ABOVE_SOFT_LIMIT", REASON)
    assert "150 -> 200 mcg/day" in override.message and "+33.3 %" in override.message


def test_the_reservoir_is_projected_from_the_refill_and_the_refill_by_date_follows(visit):
    report = report_of(visit)
    refilled_at = refill_time(visit)
    assert (report.reservoir.volume_ml, report.reservoir.capacity_ml, report.reservoir_at) == (18, 20, refilled_at)
    plan = report.plan(report.program_after)
    assert plan.low_alarm_at == refilled_at + timedelta(days=40)
    assert (report.refill_by.at, report.refill_by.reason) == (refilled_at + timedelta(days=33), "low_alarm")


def test_the_low_alarm_is_the_pumps_own_as_recorded_and_not_assumed_when_not(visit, tmp_path, qapp):
    # The visit's records carry the threshold its pump reported (2 mL, a new pump's). Had it been 4 mL, from 18 mL at
    # 0.4 mL/day the alarm comes after 14 / 0.4 = 35 days, the refill is due 28 days after the refill. Records made
    # before the threshold was recorded give no alarm and no refill-by date.
    report = report_of(visit)
    records = [entry.record for entry in visit.store.audit.query(session_id=visit.session_id)]
    assert report.low_alarm_ml == 2.0 and {r["low_alarm_ml"] for r in records if "pump_time" in r} == {2.0}
    refilled_at = refill_time(visit)

    def remade(change) -> SessionReport:
        return report_from_records([change(record) if "pump_time" in record else record for record in records],
                                   report.session, report.patient, report.anchor, report.made_at,
                                   reading=None, pump_serial=report.pump_serial)

    four = remade(lambda record: record | {"low_alarm_ml": 4.0})
    assert (four.low_alarm_ml, four.reservoir.low_alarm_ml) == (4.0, 4.0)
    assert (four.refill_by.at, four.refill_by.reason) == (refilled_at + timedelta(days=28), "low_alarm")
    old = remade(lambda record: {key: value for key, value in record.items() if key != "low_alarm_ml"})
    assert (old.low_alarm_ml, old.refill_by, old.reservoir.volume_ml) == (None, None, 18)
    write_report_pdf(old, tmp_path / "old.pdf")
    text = " ".join(poppler("pdftotext", str(tmp_path / "old.pdf"), "-").split())
    assert "low alarm not recorded" in text and "The pump's low-alarm threshold is not recorded" in text


@pytest.mark.parametrize("record, threshold", [
    ({"action": "refill", "low_alarm_ml": 2.5}, 2.5),
    ({"action": "bolus"}, 3.0),  # a record made before thresholds were recorded: the one known stays
    ({"action": "set_low_alarm", "outcome": "verified", "low_alarm_ml_before": 3.0, "low_alarm_ml": 5.0}, 5.0),
    ({"action": "set_low_alarm", "outcome": "mismatch", "low_alarm_ml_before": 3.0, "low_alarm_ml": 4.0}, 4.0),
    ({"action": "set_low_alarm", "outcome": "refused", "low_alarm_ml_before": 2.0}, 2.0),
    ({"action": "set_low_alarm", "outcome": "pump_refused", "low_alarm_ml_before": 2.0}, 2.0),
    ({"action": "set_low_alarm", "outcome": "uncertain", "low_alarm_ml_before": 3.0}, None),
    ({"action": "set_low_alarm", "outcome": None, "event": "attempt", "low_alarm_ml_before": 3.0}, None),
])
def test_the_threshold_after_each_kind_of_record(record, threshold):
    assert low_alarm_threshold(record, 3.0) == threshold


def test_an_attempt_without_its_outcome_record_says_so():
    # The program stopped between the attempt record and the outcome record: the report shows the attempt.
    attempt = {"time": "2026-12-04T10:00:00.000+00:00", "attempt_id": "a1", "action": "bolus", "event": "attempt",
               "pump_serial": "E20-1", "pump_model": "ITB-20", "pump_time": "2026-12-04T10:00:00", "findings": [],
               "outcome": None, "override_reason": None, "bolus": {"kind": "therapeutic", "dose": 20.0,
                                                                   "dose_unit": "mcg", "volume_ml": 0.04,
                                                                   "duration_min": 10.0, "bolus_id": "b-1"}}
    made = datetime(2026, 12, 4, 11, tzinfo=timezone.utc)
    session = SessionFacts("5e55", made, None, "ward-3", "osei", OSEI.display_name, "clinician")
    report = report_from_records([attempt], session, None, ChainAnchor("ab" * 32, 1, True), made)
    assert [(line.summary, line.outcome) for line in report.actions] == [
        ("therapeutic 20 mcg (0.04 mL)", "no outcome recorded")]
    assert (report.reservoir, report.refill_by) == (None, None)


def test_a_demand_dose_is_said_in_words():
    made = datetime(2026, 12, 4, 11, tzinfo=timezone.utc)
    demand = {"enabled": True, "dose": 10.0, "dose_unit": "mcg", "duration_min": 5.0, "lockout_min": 60.0,
              "max_per_day": 4, "max_daily_dose": 40.0, "recent_bolus_dose": 0.0}
    records = [{"time": "2026-12-04T10:00:00.000+00:00", "attempt_id": f"a{n}", "action": "demand",
                "event": "outcome", "outcome": "verified", "pump_serial": "E20-1", "pump_model": "ITB-20",
                "pump_time": "2026-12-04T10:00:00", "findings": [], "demand": demand | change}
               for n, change in enumerate(({}, {"enabled": False}))]
    session = SessionFacts("5e55", made, None, "ward-3", "osei", OSEI.display_name, "clinician")
    report = report_from_records(records, session, None, ChainAnchor("ab" * 32, 2, True), made)
    assert [line.summary for line in report.actions] == [
        "demand dose 10 mcg over 5 min, lockout 60 min, up to 4 a day", "demand dose off"]


def test_a_prime_is_shown_by_what_it_pushes_to_the_patient():
    # A prime after a catheter revision, its line full of drug: 0.306 mL moves 153 mcg into the line, and pushes the
    # 0.306 mL already there, 153 mcg of the same drug, to the patient (docs/cli.md, prime).
    made = datetime(2026, 12, 4, 11, tzinfo=timezone.utc)
    prime = {"kind": "prime", "bolus_id": "b-1", "reason": "catheter_revision", "catheter_cm": 60.0,
             "segments_cm": [], "tubing_ml": 0.15, "volume_ml": 0.306, "ml_per_hour": 1.0, "duration_min": 18.36,
             "dose": 153.0, "pushed_dose": 153.0}
    record = {"time": "2026-12-04T10:00:00.000+00:00", "attempt_id": "a1", "action": "prime", "event": "outcome",
              "outcome": "verified", "pump_serial": "E20-1", "pump_model": "ITB-20",
              "pump_time": "2026-12-04T10:00:00", "findings": [], "bolus": prime}
    session = SessionFacts("5e55", made, None, "ward-3", "osei", OSEI.display_name, "clinician")
    first = report_from_records([record], session, None, ChainAnchor("ab" * 32, 1, True), made)
    implant = report_from_records([record | {"bolus": prime | {"pushed_dose": 0.0}}], session, None,
                                  ChainAnchor("ab" * 32, 1, True), made)
    assert [(line.kind, line.dose, line.volume_ml) for line in first.boluses + implant.boluses] == [
        ("prime", 153.0, 0.306), ("prime", 0.0, 0.306)]


def test_a_session_without_a_program_or_a_reading_says_so_on_paper(tmp_path, qapp):
    made = datetime(2026, 12, 4, 11, tzinfo=timezone.utc)
    session = SessionFacts("5e55", made, None, "ward-3", "kim", "Kim Tech", "technician")
    report = report_from_records([], session, None, ChainAnchor("ab" * 32, 1, True), made)
    write_report_pdf(report, tmp_path / "empty.pdf")
    text = " ".join(poppler("pdftotext", str(tmp_path / "empty.pdf"), "-").split())
    for words in ["Unchanged at this visit: none (no drug, or not recorded)",
                  "No program was recorded at this visit: nothing to plot", "Refill by: not known",
                  "Kim Tech (technician, kim)", "no patient recorded | session 5e55", "page 1 of 1"]:
        assert words in text, words


# --- the PDF (ui/report_pdf.py), read back with poppler's tools ---------------------------------------------------


def poppler(tool: str, *args: str) -> str:
    found = shutil.which(tool)
    assert found, f"{tool} is missing: scripts/bootstrap installs it (Debian's poppler-utils)"
    return subprocess.run([found, *args], check=True, capture_output=True, text=True, timeout=60).stdout


def test_the_pdf_is_one_a4_page_with_the_visits_figures(visit, tmp_path, qapp):
    report = report_of(visit)
    pdf = tmp_path / "report.pdf"
    write_report_pdf(report, pdf)
    info = poppler("pdfinfo", str(pdf))
    assert re.search(r"Pages:\s+1\n", info) and "595 x 842 pts (A4)" in info
    text = " ".join(poppler("pdftotext", str(pdf), "-").split())
    refilled_at = refill_time(visit)
    for words in ["Intrathecal pump session report", "Test Patient", "TEST-0001", "1970-01-01",
                  f"ITB-20, serial {report.pump_serial}", "60 cm", "baclofen 500 mcg/mL",
                  f"ITB default drug library {LIBRARY.identity.version}", "Dr A. Osei (clinician, osei)", WORKSTATION,
                  "Before: 150 mcg/day, simple continuous. After: 200 mcg/day, simple continuous (change +33.3 %)",
                  f"Refill by {(refilled_at + timedelta(days=33)).strftime('%a %d %b %Y %H:%M')} (pump clock)",
                  "Set by the low-reservoir alarm, less a week's margin",
                  "Projected from 18 mL in the 20 mL reservoir",
                  "withdrew 19 mL (expected 20), added 18 mL", "-1 mL (±2 mL)", "lot BX2291, exp. 2099-12-31",
                  "therapeutic 50 mcg 0.1 mL 30 min verified", "CHANGE_ABOVE_SOFT_LIMIT (warning, write)", REASON,
                  f"{report.anchor.records} records, intact", report.anchor.head_hash,
                  "Signature: Dr A. Osei (clinician)", "Date",
                  f"Test Patient (TEST-0001) | session {visit.session_id}", "page 1 of 1"]:
        assert words in text, words
    png = tmp_path / "page"
    poppler("pdftoppm", "-png", "-r", "50", "-singlefile", str(pdf), str(png))
    assert (tmp_path / "page.png").stat().st_size > 10_000  # drawn: the plots and the tables, not a blank page


def test_a_long_session_continues_on_numbered_pages_each_naming_the_patient(visit, tmp_path, qapp):
    # The visit's change and bolus tried twelve more times each (their records copied under new attempt ids): the
    # tables run over the page, their headers repeat, and the signature line ends the last page.
    records = [entry.record for entry in visit.store.audit.query(session_id=visit.session_id)]
    repeated = [record | {"attempt_id": f"{record['attempt_id']}-{n}"} for n in range(12) for record in records
                if record["action"] in ("write", "bolus")]
    one = report_of(visit)
    report = report_from_records(records + repeated, one.session, one.patient, one.anchor, one.made_at, LIBRARY)
    assert len(report.actions) == 3 + 24
    pdf = tmp_path / "long.pdf"
    write_report_pdf(report, pdf)
    pages = int(re.search(r"Pages:\s+(\d+)\n", poppler("pdfinfo", str(pdf)))[1])
    assert pages > 1
    for page in range(1, pages + 1):
        text = " ".join(poppler("pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-").split())
        assert f"Test Patient (TEST-0001) | session {visit.session_id}" in text and f"page {page} of {pages}" in text
        assert ("Signature: Dr A. Osei (clinician)" in text) == (page == pages)
    second = " ".join(poppler("pdftotext", "-f", "2", "-l", "2", str(pdf), "-").split())
    assert second.startswith("Time Action What Outcome") or second.startswith("Time Kind Dose")


def test_a_pdf_that_cannot_be_written_is_an_error(visit, tmp_path, qapp):
    with pytest.raises(OSError, match="cannot write the report to .*no-such-folder"):
        write_report_pdf(report_of(visit), tmp_path / "no-such-folder" / "report.pdf")


# --- a refill to a new concentration, and an attempt on another patient's pump (clinic review 0, 1, 3) ------------

BACLOFEN_1000 = Drug(name="baclofen", dose_unit="mcg", concentration_per_ml=1000)
OTHER_PATIENT = "TEST-0002"


@dataclass
class ChangedVisit:
    store: Store
    session_id: str
    serial: str
    other_serial: str


def _refill_review(driver, withdrawn_ml: float, added_ml: float, drug: Drug, bridge: bool):
    request = RefillRequest(withdrawn_ml, added_ml, Syringe(drug, "BX5", date(2099, 12, 31)), bridge=bridge)
    return review_refill(read_pump(driver), request, LIBRARY, REASON)


@pytest.fixture(scope="module")
def changed(tmp_path_factory) -> Iterator[ChangedVisit]:
    """Pump A (TEST-0001's, a 60 cm catheter) filled with 20 mL of baclofen 500 mcg/mL running 150 mcg/day at an
    earlier visit; pump B filled for TEST-0002. This visit, on A: a refill to 1000 mcg/mL without a bridge (refused:
    a new concentration needs one), then with the bridge (verified: 20 mL withdrawn, 18 mL added); then, the head
    over B, a bolus attempt refused by the hard stop (B is TEST-0002's)."""
    folder = tmp_path_factory.mktemp("changed")
    store = open_store(clinic_db(folder))
    store.patients.add(ADA, OTHER_PATIENT, "Other Patient", date(1980, 5, 6))
    journal = folder / "journal.jsonl"
    pumps = [EmulatorProcess(folder / f"pump{n}.json", args=("--catheter-cm", "60")) for n in (1, 2)]
    for pump in pumps:
        pump.start()
    drivers = [open_driver(pump.url, **LOOPBACK_LINK) for pump in pumps]
    try:
        serial, other = (read_pump(driver).identity.serial for driver in drivers)
        earlier = Visit(store, OSEI, journal, "clinic-desk")
        earlier.choose_patient(PATIENT_ID, serial, "ITB-20", catheter_cm=60.0)
        refill(drivers[0], earlier, 0, 20)
        first = review_write(read_pump(drivers[0]), baclofen(150), LIBRARY, prior=PriorTherapy(previous_daily_dose=150))
        committed(earlier, commit_write(drivers[0], first, OSEI, earlier.audit))
        earlier.end()
        theirs = Visit(store, OSEI, journal, "clinic-desk")
        theirs.choose_patient(OTHER_PATIENT, other, "ITB-20", catheter_cm=60.0)
        refill(drivers[1], theirs, 0, 20)
        theirs.end()

        visit = Visit(store, OSEI, journal, WORKSTATION)
        visit.match_pump(serial)
        refused = commit_refill(drivers[0], _refill_review(drivers[0], 20, 18, BACLOFEN_1000, False), OSEI,
                                visit.audit)
        assert refused.outcome is Outcome.REFUSED, refused.message
        committed(visit, commit_refill(drivers[0], _refill_review(drivers[0], 20, 18, BACLOFEN_1000, True), OSEI,
                                       visit.audit))
        match, _ = visit.match_pump(other)
        assert match is not PumpMatch.BOUND
        record_not_sent(visit.audit, "bolus", OSEI, f"pump {other} is bound to patient {OTHER_PATIENT}: nothing was "
                        "sent to the pump", other)
        visit.end()
    finally:
        for driver in drivers:
            driver.close()
        for pump in pumps:
            pump.stop()
    yield ChangedVisit(store, visit.session_id, serial, other)
    store.close()


def test_a_refill_to_a_new_concentration_reports_what_the_pump_runs_after_it(changed):
    # 150 mcg/day of 1000 mcg/mL is 0.15 mL/day (of 500 mcg/mL it was 0.3): from 18 mL the low alarm (2 mL) comes
    # after 16 / 0.15 = 106.67 days, the refill is due a week earlier, 99.67 days after the refill (baclofen's
    # stability limit, 180 days, is later).
    report = build_session_report(changed.store, changed.session_id)
    assert report.drug == BACLOFEN_1000
    assert (report.program_before, report.program_after) == (baclofen(150), baclofen(150, 1000))
    plan = report.plan(report.program_after)
    assert plan.ml_per_day == pytest.approx(0.15)
    assert report.reservoir.volume_ml == pytest.approx(18, abs=0.001)
    refilled_at = report.reservoir_at
    assert report.refill_by.reason == "low_alarm"
    expected = refilled_at + timedelta(days=(report.reservoir.volume_ml - 2) / 0.15 - 7)
    assert abs(report.refill_by.at - expected) < timedelta(minutes=1)
    assert abs(report.refill_by.at - (refilled_at + timedelta(days=99 + 2 / 3))) < timedelta(hours=1)


def test_an_attempt_on_another_patients_pump_is_listed_refused_and_is_not_the_visits_pump(changed):
    report = build_session_report(changed.store, changed.session_id)
    assert report.pump_serial == changed.serial
    assert [(line.action, line.outcome) for line in report.actions] == [
        ("refill", "refused"), ("refill", "verified"), ("bolus", "refused")]
    other = report.actions[-1]
    assert changed.other_serial in other.summary and "not this visit's pump" in other.summary
    assert all(bolus.kind == "bridge" for bolus in report.boluses)


def test_refused_refills_and_boluses_show_their_outcome_on_paper(changed, tmp_path, qapp):
    report = build_session_report(changed.store, changed.session_id)
    assert [line.outcome for line in report.refills] == ["refused", "verified"]
    pdf = tmp_path / "changed.pdf"
    write_report_pdf(report, pdf)
    text = " ".join(poppler("pdftotext", str(pdf), "-").split())
    for words in ["baclofen 1000 mcg/mL", "Before: 150 mcg/day, simple continuous (baclofen 500 mcg/mL)",
                  "After: 150 mcg/day, simple continuous (baclofen 1000",
                  f"ITB-20, serial {changed.serial}", "CONCENTRATION_CHANGE_NEEDS_BRIDGE"]:
        assert words in text, words
    refills = text[text.index("Refills"):text.index("Boluses")]
    assert refills.count("refused: not done") == 1 and refills.count("verified") == 1
    assert "18 mL asked, not added" in refills and "0 mL (±2 mL)" in refills
    boluses = text[text.index("Boluses"):text.index("Warnings")]
    assert "bridge 153 mcg 0.306 mL" in boluses  # 0.306 mL of the line pushed at 500 mcg/mL
    assert "Drug baclofen 500" not in text


@pytest.fixture(scope="module")
def first_fill(tmp_path_factory) -> Iterator[ChangedVisit]:
    """A new pump (a 60 cm catheter) bound to TEST-0001, filled with 20 mL of baclofen 500 mcg/mL and primed for the
    implant, no program written yet."""
    folder = tmp_path_factory.mktemp("first")
    store = open_store(clinic_db(folder))
    pump = EmulatorProcess(folder / "pump.json", args=("--catheter-cm", "60"))
    pump.start()
    driver = open_driver(pump.url, **LOOPBACK_LINK)
    try:
        serial = read_pump(driver).identity.serial
        visit = Visit(store, OSEI, folder / "journal.jsonl", WORKSTATION)
        visit.choose_patient(PATIENT_ID, serial, "ITB-20", catheter_cm=60.0)
        refill(driver, visit, 0, 20)
        primed = review_prime(read_pump(driver), 60.0, "implant", LIBRARY, override_reason=REASON)
        committed(visit, commit_prime(driver, primed, OSEI, visit.audit))
        visit.end()
    finally:
        driver.close()
        pump.stop()
    yield ChangedVisit(store, visit.session_id, serial, "")
    store.close()


def test_a_first_fill_is_due_by_the_drugs_stability_limit(first_fill, tmp_path, qapp):
    # Nothing is delivered yet, so no low alarm comes: the refill is due when baclofen's 180 days of stability in the
    # pump end, counted from the fill, as the refill itself said.
    report = build_session_report(first_fill.store, first_fill.session_id)
    assert (report.drug, report.program_before) == (BACLOFEN_500, None)
    assert (report.refill_by.at, report.refill_by.reason) == (report.reservoir_at + timedelta(days=180),
                                                             "drug_stability")
    pdf = tmp_path / "first.pdf"
    write_report_pdf(report, pdf)
    text = " ".join(poppler("pdftotext", str(pdf), "-").split())
    due = (report.reservoir_at + timedelta(days=180)).strftime("%a %d %b %Y %H:%M")
    assert f"Refill by {due} (pump clock)" in text and "not known" not in text


def test_a_prime_states_what_reaches_the_patient_and_what_goes_into_the_line(first_fill):
    # 0.15 mL of tubing and 60 cm x 0.0026 mL/cm of catheter: 0.306 mL, of 500 mcg/mL 153 mcg moved into the line
    # (the dose history's figure); the emulator started with its catheter recorded holds the drug in that line
    # already, so the prime pushes 0.306 mL of it, 153 mcg, to the patient: both figures are stated, each labelled.
    report = build_session_report(first_fill.store, first_fill.session_id)
    [prime] = report.boluses
    assert (prime.kind, prime.dose, prime.line_dose, prime.volume_ml) == ("prime", 153, 153, pytest.approx(0.306))
    [history] = [entry for entry in first_fill.store.patients.dose_history(PATIENT_ID) if entry.kind == "prime"]
    assert history.dose == prime.line_dose
    words = "153 mcg to the patient; 153 mcg into the line"
    assert prime.dose_words() == words and f"prime {words} (0.306 mL)" in [line.summary for line in report.actions]
    [administration] = [entry["resource"] for entry in fhir_bundle(report)["entry"]
                        if "prime" in entry["resource"].get("dosage", {}).get("text", "")]
    assert words in administration["dosage"]["text"]


def test_the_bundle_names_the_visits_pump_and_nothing_of_the_other_one(changed):
    bundle = fhir_bundle(build_session_report(changed.store, changed.session_id))
    text = json.dumps(bundle)
    [device] = [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Device"]
    assert device["serialNumber"] == changed.serial and changed.other_serial not in text
    administrations = [entry["resource"] for entry in bundle["entry"]
                       if entry["resource"]["resourceType"] == "MedicationAdministration"]
    assert sorted(item["status"] for item in administrations) == ["completed", "in-progress", "not-done"]
    [refused] = [item for item in administrations if item["status"] == "not-done"]
    assert "discrepancy 0 mL, tolerance 2 mL" in refused["dosage"]["text"] and "refused: not done" in refused[
        "dosage"]["text"]


def test_a_name_in_any_script_is_drawn_never_silently_cut(visit, tmp_path, qapp):
    # Cyrillic and Arabic (DejaVu Sans has both; Arabic letters joined, which pdftotext gives as presentation forms:
    # NFKC folds them back), Chinese, Japanese kana and Korean hangul: scripts/bootstrap installs Debian's
    # fonts-noto-cjk, so every character is drawn and none is named by its code point instead.
    one = report_of(visit)
    name = "Zoë Иван Петров محمد 李小龍 さくら 김민준"
    report = replace(one, patient=replace(one.patient, name=name))
    pdf = tmp_path / "names.pdf"
    write_report_pdf(report, pdf)
    text = unicodedata.normalize("NFKC", poppler("pdftotext", str(pdf), "-"))
    assert "Zoë Иван Петров" in text and "محمد" in text
    assert "李小龍" in text and "さくら" in text and "김민준" in text
    assert "[no font here" not in text
