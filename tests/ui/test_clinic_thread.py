"""The clinic's store is opened and used off the GUI thread (issue 11's "no stall over 50 ms" with issue 14's store):
the window shows, builds its plots and takes input while the store is still opening, and says so; a store that
cannot be opened is said, and nothing can reach a pump; and through a whole visit (sign-in, reading, the patient's
confirmation with a wrong date then the right one, write, dose history), and through one that asks "Which patient?"
(the search, the replaced pump's question, the binding), not one SQL statement runs on the GUI thread. The thread is
asserted where the store meets the database (SQLAlchemy's ``before_cursor_execute`` event on the store's own
engine), not by replacing the store."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import event

import ui.app

from clinic.store import Store, open_store
from programmer.library import load_library
from programmer.roles import User
from tests.support.clinic_fixtures import ADA, PASSWORD, PATIENT_ID, clinic_db
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.ui_actions import (LINK_TIMEOUT_MS, clinic_session, confirm_patient, connect, edit_the_dose,
                                      find_patient, open_review, sign, wait_for_plots, wait_for_record, which_patient,
                                      write_and_wait)
from ui.app import create_window
from ui.clinic_session import ClinicSession
from ui.main_window import HISTORY_TAB, LIBRARY_PAGES, PAGE_TABS, MainWindow
from ui.visit_controls import OPEN_FAILED_NOTE

LIBRARY = load_library()
HELD_S = 30.0
"""Bound on how long an opening is held back: the test lets it go long before."""


def held_opening(tmp_path: Path, go_on: threading.Event):
    """An opener that waits for ``go_on`` (set by the test), then opens a test store with nobody signed in."""
    def opener() -> tuple[Store, User | None]:
        assert go_on.wait(HELD_S), "the test never let the opening go on"
        return open_store(clinic_db(tmp_path)), None
    return opener


def test_the_window_shows_and_builds_its_plots_while_the_store_is_held_back_and_says_it_is_opening(qtbot, tmp_path):
    go_on = threading.Event()
    window = MainWindow(LIBRARY, ClinicSession(None, tmp_path / "audit.jsonl", opener=held_opening(tmp_path, go_on)),
                        LOOPBACK_LINK)
    qtbot.addWidget(window)
    window.show()
    try:
        wait_for_plots(qtbot, window)  # the event loop turns: the plots are built a part per turn meanwhile
        controls = window.visit_controls
        qtbot.waitUntil(lambda: controls.calls.busy, timeout=LINK_TIMEOUT_MS)  # opened once the pages are built
        assert window.clinic.store is None and all(window.built(name) for name in LIBRARY_PAGES)
        assert not any(window.built(name) for name in set(PAGE_TABS) - set(LIBRARY_PAGES))  # built when first shown
        assert window.stack.currentWidget() is controls.lock_page
        assert controls.lock_text.text() == "Opening the clinic record\u2026"
        assert not controls.sign_in_button.isEnabled() and controls.sign_in_dialog is None
        assert not window.connect_page.connect_button.isEnabled() and not window.refill_action.isEnabled()
        assert window.quit_action.isEnabled()
        assert window.visit_controls.visit_for_change() == (None, "nobody is signed in: sign in first")
        go_on.set()
        qtbot.waitUntil(lambda: controls.sign_in_dialog is not None, timeout=LINK_TIMEOUT_MS)
        assert window.clinic.waiting is None and controls.sign_in_button.isEnabled()
        assert controls.lock_text.text() == "Sign in to use the programmer."
    finally:
        go_on.set()
        window.close()


def test_a_store_that_cannot_be_opened_is_said_and_nothing_can_be_sent_to_a_pump(qtbot, tmp_path):
    window = create_window(db_url="mysql://clinic@records.example/itb", audit_path=tmp_path / "audit.jsonl")
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.visit_controls.record_failed, timeout=LINK_TIMEOUT_MS) as failed:
            pass
        error = ("the clinic database mysql://clinic@records.example/itb is neither SQLite nor PostgreSQL: give "
                 "sqlite:///PATH or postgresql://USER@HOST/DATABASE")
        assert str(failed.args[0]) == error
        controls = window.visit_controls
        assert controls.lock_text.text() == OPEN_FAILED_NOTE.format(error=error)
        assert window.stack.currentWidget() is controls.lock_page and window.clinic.store is None
        assert not controls.sign_in_button.isEnabled() and controls.sign_in_dialog is None
        assert not window.connect_page.connect_button.isEnabled() and not window.interrogate_action.isEnabled()
        assert window.link.url is None and not window.link.busy  # no pump was ever reached
        assert controls.visit_for_change()[0] is None
        assert window.quit_action.isEnabled()
    finally:
        window.close()


def test_the_application_says_why_in_a_dialog_and_ends_with_exit_code_2(qtbot):
    seen: list[tuple[str, str]] = []

    def answer_the_dialog() -> None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        if not boxes:
            return  # the store is still being opened: asked again at the next tick
        poll.stop()
        seen.append((boxes[0].windowTitle(), boxes[0].informativeText()))
        boxes[0].button(QMessageBox.StandardButton.Ok).click()

    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(answer_the_dialog)
    poll.start()
    guard = QTimer()  # bound: never a hang
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: QApplication.exit(99))
    guard.start(LINK_TIMEOUT_MS)
    code = ui.app.run(db_url="mysql://clinic@records.example/itb")
    guard.stop()
    assert code == ui.app.EXIT_LIBRARY_REFUSED == 2
    assert seen == [("Clinic record not opened", "the clinic database mysql://clinic@records.example/itb is neither "
                     "SQLite nor PostgreSQL: give sqlite:///PATH or postgresql://USER@HOST/DATABASE")]


def test_no_sql_statement_runs_on_the_gui_thread_through_a_sign_in_a_reading_and_a_write(qtbot, tmp_path, patient):
    clinic = clinic_session(tmp_path, user=None)
    assert clinic.store is not None
    threads: list[str] = []
    event.listen(clinic.store.engine, "before_cursor_execute",
                 lambda *_args: threads.append(threading.current_thread().name))
    window = MainWindow(LIBRARY, clinic, LOOPBACK_LINK)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.visit_controls.sign_in_dialog is not None, timeout=LINK_TIMEOUT_MS)
        dialog = window.visit_controls.sign_in_dialog
        qtbot.keyClicks(dialog.username, "osei")
        qtbot.keyClicks(dialog.password, PASSWORD)
        with qtbot.waitSignal(dialog.signed_in, timeout=LINK_TIMEOUT_MS):
            dialog.sign_in.click()
        wait_for_record(qtbot, window)
        connect(qtbot, window, patient.url, confirm=False)  # the pump matched, bound to the test patient
        assert window.clinic.patient is not None and window.clinic.patient.identifier == "TEST-0001"
        dialog = window.visit_controls.confirm_dialog  # "Confirm the patient": a wrong date, then the right one
        assert dialog is not None
        dialog.born.setText("1970-01-02")
        dialog.confirm_button.click()
        assert not dialog.idle and dialog.status.text() == "Checking the date of birth\u2026"  # in the clinic thread
        qtbot.waitUntil(lambda: dialog.idle, timeout=LINK_TIMEOUT_MS)
        assert window.clinic.identification.wrong_dates == 1
        confirm_patient(qtbot, window)  # audited
        window.show_tab(HISTORY_TAB)  # the History page built, its patient's history read
        wait_for_record(qtbot, window)
        edit_the_dose(qtbot, window, "165")
        sign(qtbot, open_review(qtbot, window))
        write_and_wait(qtbot, window)  # audited in the link's thread; the dose history read again
        assert window.banner.title.text() == "Written and verified."
        assert [entry.daily_dose for entry in window.history.entries] == [165.0]
    finally:
        window.close()  # the visit ends and the store closes in the clinic thread too
    assert threads and threading.main_thread().name not in threads
    assert {"sign-in", "clinic record"} <= set(threads), set(threads)  # the password's check; the clinic's calls


def test_no_sql_statement_runs_on_the_gui_thread_through_which_patient_search_replacement_and_bind(
        qtbot, tmp_path, patient):
    clinic = clinic_session(tmp_path, bound=False)
    assert clinic.store is not None
    clinic.store.patients.bind_pump(ADA, PATIENT_ID, "E20-OLD001", "ITB-20", date(2024, 1, 2), 55.0)
    threads: list[str] = []
    engine = clinic.store.engine

    def listener(*_args) -> None:
        threads.append(threading.current_thread().name)
    event.listen(engine, "before_cursor_execute", listener)
    window = MainWindow(LIBRARY, clinic, LOOPBACK_LINK)
    qtbot.addWidget(window)
    window.show()
    try:
        connect(qtbot, window, patient.url)
        serial = window.snapshot.identity.serial
        dialog = which_patient(qtbot, window)
        shown: list[int] = []  # the rows each answer shown put in the list
        dialog.results.model().rowsInserted.connect(lambda _parent, first, last: shown.append(last - first + 1))
        find_patient(qtbot, dialog, "TEST-0001")  # typed fast: a search per key (9), only the latest one's answer shown
        assert shown == [1]
        assert [dialog.results.item(i).text() for i in range(dialog.results.count())] == [
            "Test Patient  (TEST-0001, born 1970-01-01)"]
        assert dialog.replacement.isVisible() and dialog.replaces.text().replace("&", "") == (
            f"Pump serial {serial} replaces pump serial E20-OLD001 (explanted today)")
        assert not dialog.this_patient.isEnabled() and not dialog.status.isVisible()
        dialog.replaces.setChecked(True)
        dialog.this_patient.click()
        # the binding is in the clinic thread: said, and every control off until it answers (no second binding)
        assert dialog.status.text() == "Binding the pump\u2026" and not dialog.idle
        assert not any(control.isEnabled() for control in (dialog.this_patient, dialog.search, dialog.results,
                                                            dialog.replaces, dialog.record_new, dialog.later))
        qtbot.waitUntil(lambda: window.visit_controls.patient_dialog is None, timeout=LINK_TIMEOUT_MS)
        assert window.clinic.patient is not None and window.clinic.patient.identifier == PATIENT_ID
        assert window.banner.text.text().endswith("It replaces pump serial E20-OLD001, recorded as explanted today.")
    finally:
        window.close()
    event.remove(engine, "before_cursor_execute", listener)
    assert threads and threading.main_thread().name not in threads, set(threads)
    assert "clinic record" in threads
