"""Signing in, as a person does at the programmer: the window opens locked behind the sign-in dialog (or, on a store
with nobody in it, the form that creates the first administrator), a wrong password is refused in the store's
words, and the inactivity sign-out locks the window again, keeping an unwritten change for the same person and
discarding it, with a note, for anyone else. A real store (``clinic_db``) and the real emulator."""

from __future__ import annotations

from pathlib import Path

from clinic.store import open_store
from programmer.library import load_library
from tests.support.clinic_fixtures import PASSWORD, clinic_db
from tests.support.emulator_fixtures import LOOPBACK_LINK
from tests.support.ui_actions import (LINK_TIMEOUT_MS, clinic_session, connect, edit_the_dose, new_window,
                                     wait_for_record)
from ui.app import create_window
from ui.clinic_session import ClinicSession
from ui.main_window import AUDIT_TAB, PROGRAM_TAB, MainWindow
from ui.sign_in import FIRST_ADMIN_TITLE, SIGN_IN_TITLE, SignInDialog

SIGN_OUT_MS = 400
"""A short wait without input before the lock, for the tests (the application's default is 10 minutes)."""


def locked_window(qtbot, clinic: ClinicSession) -> MainWindow:
    window = MainWindow(load_library(), clinic, LOOPBACK_LINK)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.visit_controls.sign_in_dialog is not None, timeout=LINK_TIMEOUT_MS)
    return window


def sign_in(qtbot, dialog: SignInDialog, username: str, password: str = PASSWORD) -> None:
    dialog.username.clear()
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, password)
    dialog.sign_in.click()


def test_the_window_opens_locked_and_a_wrong_password_is_refused(qtbot, tmp_path):
    window = locked_window(qtbot, clinic_session(tmp_path, user=None))
    dialog = window.visit_controls.sign_in_dialog
    assert dialog is not None and dialog.windowTitle() == SIGN_IN_TITLE and not dialog.display_name.isVisible()
    assert window.stack.currentWidget() is window.visit_controls.lock_page  # nothing of a patient shows
    assert not window.refill_action.isEnabled() and window.quit_action.isEnabled()
    assert not dialog.sign_in.isEnabled()  # nothing typed

    sign_in(qtbot, dialog, "osei", "not the password")
    qtbot.waitUntil(lambda: dialog.problem.text().startswith("Not signed in: "), timeout=LINK_TIMEOUT_MS)
    assert dialog.password.text() == "" and window.clinic.user is None
    unknown = dialog.problem.text()
    sign_in(qtbot, dialog, "nobody", "not the password")
    qtbot.waitUntil(lambda: dialog.problem.text() == unknown, timeout=LINK_TIMEOUT_MS)  # the same words: no hint

    with qtbot.waitSignal(dialog.signed_in, timeout=LINK_TIMEOUT_MS):
        sign_in(qtbot, dialog, "osei")
    wait_for_record(qtbot, window)  # the visit starts in the clinic thread
    assert window.clinic.user is not None and window.clinic.user.display_name == "Dr A. Osei"
    assert window.stack.currentWidget() is window.work and window.refill_action.isEnabled()
    assert "Signed in: Dr A. Osei (clinician)" in window.visit_controls.strip.text()
    assert window.tabs.isTabEnabled(AUDIT_TAB)
    window.close()


def test_a_store_with_nobody_in_it_creates_the_first_administrator(qtbot, tmp_path):
    store = open_store(clinic_db(tmp_path, filled=False))
    window = locked_window(qtbot, ClinicSession(store, tmp_path / "audit.jsonl"))
    dialog = window.visit_controls.sign_in_dialog
    assert dialog is not None and dialog.windowTitle() == FIRST_ADMIN_TITLE and dialog.display_name.isVisible()
    qtbot.keyClicks(dialog.username, "ada")
    qtbot.keyClicks(dialog.display_name, "Ada Admin")
    qtbot.keyClicks(dialog.password, "short")
    assert dialog.problem.text() == "Password: at least 12 characters (5 typed)."
    qtbot.keyClicks(dialog.password, " but now long")
    qtbot.keyClicks(dialog.repeated, "short but now lon")
    assert dialog.problem.text() == "Repeat the password: not the same as the password."
    assert not dialog.sign_in.isEnabled()
    qtbot.keyClicks(dialog.repeated, "g")
    with qtbot.waitSignal(dialog.signed_in, timeout=LINK_TIMEOUT_MS):
        dialog.sign_in.click()
    wait_for_record(qtbot, window)  # the visit starts in the clinic thread
    assert [(u.username, u.display_name, u.role.value) for u in store.users.list()] == [
        ("ada", "Ada Admin", "administrator")]
    assert "Signed in: Ada Admin (administrator)" in window.visit_controls.strip.text()
    assert not window.refill_action.isEnabled()  # an administrator changes no therapy, and reads no pump
    assert not window.connect_page.connect_button.isEnabled() and not window.interrogate_action.isEnabled()
    assert window.refill_action.toolTip() == ("Ada Admin is signed in as an administrator, and an administrator may "
                                              "not refill: sign in as a clinician to do it.")
    window.close()


def lock_after_a_change(qtbot, tmp_path: Path, patient) -> MainWindow:
    window = new_window(qtbot, tmp_path)
    connect(qtbot, window, patient.url)  # the patient confirmed, however long that takes on a busy machine
    edit_the_dose(qtbot, window, "165")
    assert window.unwritten_change()
    window.visit_controls.inactivity.timer.setInterval(SIGN_OUT_MS)  # the short wait, from the edit on
    qtbot.waitUntil(lambda: window.visit_controls.locked, timeout=LINK_TIMEOUT_MS)  # no input for 0.4 s
    assert window.stack.currentWidget() is window.visit_controls.lock_page
    assert window.visit_controls.lock_text.text() == "Signed out after 0.4 seconds without input: sign in to go on."
    return window


def test_the_same_person_signing_in_again_finds_the_change_kept(qtbot, tmp_path, patient):
    window = lock_after_a_change(qtbot, tmp_path, patient)
    session = window.clinic.visit.session_id
    dialog = window.visit_controls.sign_in_dialog
    assert dialog is not None and dialog.username.text() == "osei"  # who was signed in, offered again
    with qtbot.waitSignal(dialog.signed_in, timeout=LINK_TIMEOUT_MS):
        qtbot.keyClicks(dialog.password, PASSWORD)
        dialog.sign_in.click()
    wait_for_record(qtbot, window)  # the visit starts in the clinic thread
    assert window.unwritten_change() and window.editor.daily_dose.text() == "165"
    assert window.clinic.visit.session_id == session  # the same visit goes on
    assert window.clinic.identification.confirmed and window.visit_controls.confirm_dialog is None  # not asked again
    assert window.banner.text.text() == "Signed in again: the change you were editing is kept, not written."
    window.show_tab(PROGRAM_TAB)
    window.close()


def test_another_person_signing_in_finds_the_change_discarded(qtbot, tmp_path, patient):
    window = lock_after_a_change(qtbot, tmp_path, patient)
    session = window.clinic.visit.session_id
    dialog = window.visit_controls.sign_in_dialog
    assert dialog is not None
    with qtbot.waitSignal(dialog.signed_in, timeout=LINK_TIMEOUT_MS):
        sign_in(qtbot, dialog, "kim")
    wait_for_record(qtbot, window)  # the visit starts in the clinic thread
    assert not window.unwritten_change() and window.editor.daily_dose.text() == "150"
    assert window.clinic.visit.session_id != session and window.clinic.user.username == "kim"
    assert window.visit_controls.confirm_dialog is not None  # a visit of Kim's own: the patient confirmed again
    assert not window.clinic.identification.confirmed
    assert window.banner.text.text() == ("The change Dr A. Osei was editing had not been written: it was discarded "
                                         "when Kim Tech signed in. The pump runs what it ran.")
    assert window.clinic.store.sessions.get(session).ended_at is not None  # Dr Osei's visit ended
    window.close()


def test_the_application_opens_the_store_it_is_given_and_asks_for_its_first_administrator(qtbot, tmp_path):
    window = create_window(db_url=clinic_db(tmp_path, filled=False), audit_path=tmp_path / "audit.jsonl")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.visit_controls.sign_in_dialog is not None, timeout=LINK_TIMEOUT_MS)
    assert window.visit_controls.sign_in_dialog.windowTitle() == FIRST_ADMIN_TITLE
    assert window.clinic.store.users.count() == 0 and window.clinic.journal == tmp_path / "audit.jsonl"
    window.close()
