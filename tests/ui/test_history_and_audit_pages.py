"""The History and Audit pages against a real store: the patient's dose history over months as the table and the
plots show it (hand-made entries, hand-worked rows), a write made in the window appearing in both, and the audit
filtered by patient, user, action and date."""

from __future__ import annotations

import subprocess
import threading
from datetime import datetime, timezone

from clinic.errors import StoreError
from clinic.patients import DoseEntry
from tests.support.clinic_fixtures import PATIENT_ID
from tests.support.ui_actions import LINK_TIMEOUT_MS, commit, connect, edit_the_dose
from ui.main_window import AUDIT_TAB, HISTORY_TAB

JAN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
MAR = datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)


def table(widget) -> list[list[str]]:
    return [[widget.item(r, c).text() for c in range(widget.columnCount())] for r in range(widget.rowCount())]


def test_the_history_shows_months_of_doses_and_a_write_made_now(qtbot, window, patient):
    patients = window.clinic.store.patients
    for time, kind, daily, volume in ((JAN, "program", 120.0, None), (MAR, "refill", None, 18.0)):
        patients.record_dose(DoseEntry(PATIENT_ID, "E20-OLD001", None, time, kind, "baclofen", "mcg", 500.0, daily,
                                       volume, None, None, "osei", None))
    connect(qtbot, window, patient.url)
    assert window.tabs.isTabEnabled(HISTORY_TAB)
    page = window.history
    qtbot.waitUntil(lambda: page.ready, timeout=LINK_TIMEOUT_MS)
    assert table(page.table) == [
        ["Thu 05 Mar 2026 09:00", "refill", "baclofen", "", "500 mcg/mL", "18 mL", "", "osei"],
        ["Mon 05 Jan 2026 09:00", "program written", "baclofen", "120 mcg/day", "500 mcg/mL", "", "", "osei"]]
    assert page.title.text() == ("Test Patient (TEST-0001): 2 entries, Mon 05 Jan 2026 09:00 to "
                                 "Thu 05 Mar 2026 09:00")
    [dose] = page.dose_plot.getPlotItem().listDataItems()
    xs, ys = dose.getData()
    assert list(ys) == [120.0] and xs[0] == JAN.timestamp()  # held from January until now

    edit_the_dose(qtbot, window, "165")
    commit(window)
    qtbot.waitUntil(lambda: page.table.rowCount() == 3 and page.ready, timeout=LINK_TIMEOUT_MS)  # a plot a turn
    assert table(page.table)[0][1:5] == ["program written", "baclofen", "165 mcg/day", "500 mcg/mL"]
    [dose] = page.dose_plot.getPlotItem().listDataItems()
    assert list(dose.getData()[1]) == [120.0, 165.0]
    window.show_tab(HISTORY_TAB)
    assert window.tabs.currentIndex() == HISTORY_TAB


def test_the_audit_page_filters_by_patient_user_action_and_date(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    commit(window)
    qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
    window.show_tab(AUDIT_TAB)
    page = window.audit
    qtbot.keyClicks(page.patient, PATIENT_ID)
    qtbot.keyClicks(page.username, "osei")
    qtbot.keyClicks(page.action, "write")
    page.show_button.click()
    qtbot.waitUntil(lambda: not page.reads.busy, timeout=LINK_TIMEOUT_MS)  # read in the page's thread
    rows = table(page.table)
    written = window.clinic.store.audit.query(action="write")  # after the store's own records (users, patient...)
    assert len(written) == 2 and written[1].seq == written[0].seq + 1
    assert [row[0] for row in rows] == [str(written[1].seq), str(written[0].seq)]  # the store's sequence, newest first
    assert [row[2:9] for row in rows] == [
        ["Dr A. Osei", "clinician", PATIENT_ID, window.snapshot.identity.serial, "write", "outcome", "verified"],
        ["Dr A. Osei", "clinician", PATIENT_ID, window.snapshot.identity.serial, "write", "attempt", ""]]
    assert page.summary.text() == "2 records, newest first."
    page.table.selectRow(1)
    assert '"event": "attempt"' in page.record.toPlainText()

    page.username.setText("kim")
    page.show_button.click()
    qtbot.waitUntil(lambda: not page.reads.busy, timeout=LINK_TIMEOUT_MS)  # read in the page's thread
    assert page.table.rowCount() == 0 and page.summary.text() == "0 records, newest first."
    page.username.clear()
    page.since.setText("2026-3-1")
    page.show_button.click()
    qtbot.waitUntil(lambda: not page.reads.busy, timeout=LINK_TIMEOUT_MS)  # read in the page's thread
    assert page.summary.text() == "Not shown: From: a date as YYYY-MM-DD, not '2026-3-1'."
    page.since.setText("2000-01-01")
    page.until.setText("2000-12-31")
    page.show_button.click()
    qtbot.waitUntil(lambda: not page.reads.busy, timeout=LINK_TIMEOUT_MS)  # read in the page's thread
    assert page.table.rowCount() == 0  # nothing was done in 2000
    page.check_chain()
    qtbot.waitUntil(lambda: not page.reads.busy, timeout=LINK_TIMEOUT_MS)
    check = window.clinic.store.audit.verify()
    # the write's outcome, then its dose history entry's record (the dose history is mirrored in the chain) are last
    [dose] = window.clinic.store.audit.query(action="dose_recorded")
    assert (check.records, dose.seq) == (written[1].seq + 1, written[1].seq + 1)
    assert dose.record["outcome_record"] == written[1].record["record_id"]
    assert page.chain.text() == f"the audit trail is intact: {check.records} records, head hash {check.head_hash}"


def test_the_session_report_is_saved_as_a_pdf_with_the_visit(qtbot, window, patient, tmp_path):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    commit(window)
    qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
    assert window.visit_controls.report_action.isEnabled()
    path = tmp_path / "report.pdf"
    window.report.save(path)
    qtbot.waitUntil(lambda: window.banner.title.text() == "Session report saved.", timeout=LINK_TIMEOUT_MS)
    assert window.banner.text.text() == f"{path}: print it, or file it in the patient's chart."
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in ("Test Patient", PATIENT_ID, window.snapshot.identity.serial, "Dr A. Osei", "165"):
        assert expected in text, expected


def test_the_history_drawn_again_keeps_its_lines_and_leaves_what_did_not_change(qtbot):
    """The table is filled at once and the plots drawn a plot per turn of the event loop; a write verified draws the
    history again on the lines and the legend it has, given the new figures, and a history read again unchanged
    leaves the table's rows as they were."""
    from ui.history_page import HistoryPage

    page = HistoryPage()
    qtbot.addWidget(page)
    for _ in page.parts:
        pass
    now = datetime(2026, 4, 5, 9, 0, tzinfo=timezone.utc)
    entries = [DoseEntry(PATIENT_ID, "E20-OLD001", None, time, kind, "baclofen", "mcg", 500.0, daily, volume, None,
                         None, "osei", None)
               for time, kind, daily, volume in ((JAN, "program", 120.0, None), (MAR, "refill", None, 18.0))]
    page.show_history("Test Patient", entries, now)
    assert page.table.rowCount() == 2 and not page.ready  # the table at once, the plots a turn at a time after
    qtbot.waitUntil(lambda: page.ready, timeout=1000)
    [dose] = page.dose_plot.getPlotItem().listDataItems()
    first_row = page.table.item(0, 0)
    page.show_history("Test Patient", entries, now)
    qtbot.waitUntil(lambda: page.ready, timeout=1000)
    assert page.dose_plot.getPlotItem().listDataItems() == [dose] and page.table.item(0, 0) is first_row

    written = DoseEntry(PATIENT_ID, "E20-NEW001", None, MAR, "program", "baclofen", "mcg", 500.0, 165.0, None, None,
                        None, "osei", None)
    page.show_history("Test Patient", [*entries, written], now)
    qtbot.waitUntil(lambda: page.ready, timeout=1000)
    assert page.dose_plot.getPlotItem().listDataItems() == [dose]  # the same line, given the new figures
    xs, ys = dose.getData()
    assert list(ys) == [120.0, 165.0] and list(xs) == [JAN.timestamp(), MAR.timestamp(), now.timestamp()]
    assert len(page.dose_plot.getPlotItem().legend.items) == 1
    assert page.table.rowCount() == 3 and page.table.item(0, 1).text() == "program written"
    (left, right), _ = page.dose_plot.getViewBox().viewRange()
    assert left < JAN.timestamp() and right > now.timestamp()  # January to now, whole


def test_a_history_the_record_cannot_give_is_said_and_the_page_still_shows(qtbot, window, patient, monkeypatch):
    """The History page is built at its tab's first showing and shown once its patient's history is drawn; a read that
    fails says so in the banner, and the page shows all the same, empty, not left blank behind its tab."""
    connect(qtbot, window, patient.url)
    built_and_drawn = threading.Event()

    def unreadable(identifier: str):
        assert built_and_drawn.wait(LINK_TIMEOUT_MS / 1000)  # failing late: after the page has drawn what it held
        raise StoreError(f"the clinic's record cannot be read for {identifier}: disk I/O error")

    monkeypatch.setattr(window.clinic.store.patients, "dose_history", unreadable)  # the store failing: a true edge
    window.show_tab(HISTORY_TAB)
    page = window.history
    page.drawn.connect(built_and_drawn.set)  # its plots are built from the next turn on, then drawn
    qtbot.waitUntil(lambda: page.ready and page.isVisible(), timeout=LINK_TIMEOUT_MS)
    assert window.banner.title.text() == "The clinic's record could not be read."
    assert window.banner.text.text() == "the clinic's record cannot be read for TEST-0001: disk I/O error"
    assert page.table.rowCount() == 0
