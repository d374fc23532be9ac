"""``pump-programmer report SESSION --pdf FILE [--fhir FILE]`` and ``sessions``, on the real visit of
tests/support/session_visits.py (an earlier visit that bound and filled the pump, then this visit's refill of 18 mL,
the dose raised from 150 to 200 mcg/day and a bolus of 50 mcg), in a real clinic database, signed in by token."""

from __future__ import annotations

import json
import shutil
import subprocess
import os
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from clinic.store import open_store
from commandline import EXIT_INVALID
from programmer.cli.support import EXIT_OK, EXIT_REFUSED
from tests.support.cli_runs import DOCTOR, SYRINGE, program_file, run
from tests.support.clinic_fixtures import KIM, OSEI
from tests.support.session_visits import WORKSTATION, RecordedVisit, recorded_visit


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[RecordedVisit]:
    with recorded_visit(tmp_path_factory.mktemp("visit")) as made:
        yield made


@pytest.fixture
def visit(recorded, tmp_path, monkeypatch) -> RecordedVisit:
    """The visit, its database as the command line's (``$ITB_DB``), and Dr Osei signed in (``$ITB_TOKEN_FILE``)."""
    monkeypatch.setenv("ITB_DB", recorded.store.url)
    sign_in(recorded, tmp_path, monkeypatch, OSEI)
    return recorded


def sign_in(visit: RecordedVisit, tmp_path, monkeypatch, user) -> None:
    token = tmp_path / f"{user.username}.token"
    token.write_text(visit.store.users.issue_token(user) + "\n")
    token.chmod(0o600)  # a token others may read is refused (docs/cli.md)
    monkeypatch.setenv("ITB_TOKEN_FILE", str(token))


def pdf_text(path) -> str:
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is missing: scripts/bootstrap installs it (Debian's poppler-utils)"
    return " ".join(subprocess.run([tool, str(path), "-"], check=True, capture_output=True, text=True,
                                   timeout=60).stdout.split())


def test_report_writes_the_pdf_and_the_fhir_bundle(capsys, visit, tmp_path, qapp):
    pdf, fhir = tmp_path / "visit.pdf", tmp_path / "visit.fhir.json"
    code, out, err = run(capsys, "report", visit.session_id, "--pdf", pdf, "--fhir", fhir)
    assert code == EXIT_OK, err
    assert f"Session       {visit.session_id} (Test Patient, TEST-0001; pump ITB-20 {visit.serial})" in out
    assert "Actions       3; refill by " in out and f"wrote {pdf}\n" in out
    assert f"wrote {fhir} (FHIR R4B bundle, 6 resources)" in out
    text = pdf_text(pdf)
    assert "Before: 150 mcg/day, simple continuous. After: 200 mcg/day, simple continuous (change +33.3 %)" in text
    assert "Dr A. Osei (clinician, osei)" in text and WORKSTATION in text
    bundle = Bundle.model_validate_json(fhir.read_text())
    assert [entry.resource.get_resource_type() for entry in bundle.entry] == [
        "Patient", "Device", "MedicationStatement", "MedicationAdministration", "MedicationAdministration",
        "Observation"]


def test_the_report_files_are_readable_by_their_owner_only(capsys, visit, tmp_path, qapp):
    # They name the patient and their birth date: 0600 whatever the umask, a file written before included.
    pdf, fhir = tmp_path / "visit.pdf", tmp_path / "visit.fhir.json"
    fhir.write_text("old")
    fhir.chmod(0o644)
    old = os.umask(0o022)
    try:
        code, _, err = run(capsys, "report", visit.session_id, "--pdf", pdf, "--fhir", fhir)
    finally:
        os.umask(old)
    assert code == EXIT_OK, err
    assert [stat.S_IMODE(path.stat().st_mode) for path in (pdf, fhir)] == [0o600, 0o600]
    assert fhir.read_text().startswith("{")


def test_a_technician_may_export_a_report_and_nobody_signed_in_may_not(capsys, visit, tmp_path, monkeypatch, qapp):
    sign_in(visit, tmp_path, monkeypatch, KIM)
    assert run(capsys, "report", visit.session_id, "--pdf", tmp_path / "kim.pdf")[0] == EXIT_OK
    monkeypatch.setenv("ITB_TOKEN_FILE", str(tmp_path / "nobody.token"))
    code, _, err = run(capsys, "report", visit.session_id, "--pdf", tmp_path / "nobody.pdf")
    assert code == EXIT_REFUSED and "nobody is signed in" in err and "login" in err
    assert not (tmp_path / "nobody.pdf").exists()


def test_an_unknown_session_or_an_unwritable_file_is_invalid_input(capsys, visit, tmp_path):
    code, _, err = run(capsys, "report", "0" * 32, "--pdf", tmp_path / "none.pdf")
    assert code == EXIT_INVALID and "0" * 32 in err
    code, _, err = run(capsys, "report", visit.session_id, "--pdf", tmp_path / "no-such-folder" / "r.pdf")
    assert code == EXIT_INVALID and "--pdf" in err and "No such file or directory" in err


def test_sessions_lists_the_visits_of_a_patient(capsys, visit):
    code, out, err = run(capsys, "sessions", "--patient", "TEST-0001", "--json")
    assert code == EXIT_OK, err
    earlier, this = json.loads(out)["sessions"]
    assert (this["session_id"], this["username"], this["workstation"], this["patient"], this["pump_serial"]) == (
        visit.session_id, "osei", WORKSTATION, "TEST-0001", visit.serial)
    assert earlier["workstation"] == "clinic-desk" and earlier["ended_at"] <= this["started_at"]
    code, out, _ = run(capsys, "sessions")
    assert code == EXIT_OK and f"{visit.session_id}  " in out and "osei" in out and "TEST-0001" in out
    # an identifier nobody has is an error naming it, not an empty list that reads as "no visits yet"
    code, out, err = run(capsys, "sessions", "--patient", "NOBODY", "--json")
    assert (code, out) == (EXIT_INVALID, "") and "NOBODY" in err


def test_a_visit_made_at_the_command_line_is_reported(capsys, tmp_path, start_emulator, qapp, signed_in):
    # The command line's own visit (this test's clinic store, Dr Osei signed in): a new pump filled with 20 mL and
    # bound to TEST-0001 by the refill, then its first program, 150 mcg/day, written in the same session. 150 mcg/day
    # of 500 mcg/mL is 0.3 mL/day: from 20 mL the 2 mL alarm comes after 18 / 0.3 = 60 days, the refill 53 days
    # after the fill (baclofen's 180 days of stability come later).
    url = start_emulator().url
    code, out, err = run(capsys, "refill", url, "--withdrawn-ml", 0, "--added-ml", 20, *SYRINGE, *DOCTOR, "--yes",
                         "--json")
    assert code == EXIT_OK, err
    session = json.loads(out)["session_id"]
    code, _, err = run(capsys, "write", url, program_file(tmp_path, 150), *DOCTOR, "--previous-daily-dose", 150,
                       "--yes", "--session", session)
    assert code == EXIT_OK, err
    code, out, err = run(capsys, "report", session, "--pdf", tmp_path / "visit.pdf")
    assert code == EXIT_OK, err
    store = open_store(signed_in.url)
    try:
        [refilled] = [entry.record for entry in store.audit.query(session_id=session, action="refill")
                      if entry.record["event"] == "outcome"]
    finally:
        store.close()
    due = datetime.fromisoformat(refilled["pump_time"]) + timedelta(days=53)
    assert f"Actions       2; refill by {due.isoformat()} (pump clock)" in out
    text = pdf_text(tmp_path / "visit.pdf")
    assert "Before: none (no drug, or not recorded). After: 150 mcg/day, simple continuous" in text
    # the write replaced the program the fill left: the drug, stopped (0 mcg/day)
    assert "withdrew 0 mL (expected 0), added 20 mL" in text and "0 -> 150 mcg/day" in text
    assert f"Refill by {due.strftime('%a %d %b %Y %H:%M')} (pump clock)" in text
