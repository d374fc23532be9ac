""""Confirm the patient" in the window: a pump read that the record binds to a patient is changed only once the
patient in front of the clinician has given the date of birth recorded for them, once a visit. The dialog is typed
into key by key, as a clinician does; each answer is audited through the visit's journal. Most tests read a pump
as an interrogation would (no pump is needed to ask); the one that forces a write past a stop uses the emulator."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from programmer.roles import Permission
from tests.support.clinic_fixtures import PATIENT_ID
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect, edit_the_dose, open_review, wait_for_record
from tests.support.ui_fakes import snapshot
from ui.main_window import MainWindow
from ui.patient_confirm import PatientConfirmDialog

UNCONFIRMED = ("Confirm the patient first (Clinic > Confirm patient\u2026): pump serial E20-000123 is recorded as "
               "implanted in Test Patient (TEST-0001); nothing may be changed on it until the patient in front of you "
               "is confirmed as them.")
NOT_THIS_STOP = ("STOP: pump serial E20-000123 is recorded as implanted in Test Patient (TEST-0001), and the "
                 "clinician said the patient in front of them is not this patient. Nothing may be changed on it from "
                 "this visit: check the pump and the patient's record. The pump can still be read.")


def read_a_pump(qtbot, window: MainWindow) -> PatientConfirmDialog:
    """The test patient's pump read, as after an interrogation; the dialog the window then opens."""
    window._show_snapshot(snapshot())
    wait_for_record(qtbot, window)
    dialog = window.visit_controls.confirm_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def answer(qtbot, dialog: PatientConfirmDialog, typed: str) -> None:
    """Type a date of birth key by key and click Confirm; wait for the answer from the clinic thread."""
    dialog.born.selectAll()
    qtbot.keyClicks(dialog.born, typed)
    qtbot.mouseClick(dialog.confirm_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.idle, timeout=LINK_TIMEOUT_MS)


def identification_records(window: MainWindow) -> list[tuple[str, str, str, str, str]]:
    lines = window.clinic.journal.read_text(encoding="utf-8").splitlines()
    return [(r["action"], r["user"], r["patient"], r["pump_serial"], r["session_id"])
            for r in map(json.loads, lines) if r["event"] == "identification"]


def test_the_dialog_names_the_pump_and_patient_not_the_date_and_the_right_date_confirms_audited(qtbot, window):
    dialog = read_a_pump(qtbot, window)
    texts = " ".join(label.text() for label in dialog.findChildren(type(dialog.status)))
    assert "ITB-20 serial E20-000123" in texts and "Test Patient (TEST-0001)" in texts
    assert "1970" not in texts and "Demo" not in texts  # the record's date of birth is not shown, outside the demo
    assert window.visit_controls.strip.text().startswith(
        "Patient: Test Patient (TEST-0001), not confirmed yet. Confirm the patient first (Clinic > Confirm patient")
    assert "1970" not in window.visit_controls.strip.text()
    assert not dialog.confirm_button.isEnabled()  # nothing typed yet
    answer(qtbot, dialog, "1970-01-01")
    assert window.visit_controls.confirm_dialog is None and window.clinic.identification.confirmed
    assert window.visit_controls.strip.text().startswith("Patient: Test Patient (TEST-0001), born 1970-01-01")
    assert window.clinic.access().refusal(Permission.CHANGE_THERAPY) is None
    session = window.clinic.visit.session_id
    assert identification_records(window) == [("patient_confirmed", "osei", PATIENT_ID, "E20-000123", session)]
    window._show_snapshot(snapshot(volume_ml=13.0))  # the same pump read again in the visit: not asked again
    wait_for_record(qtbot, window)
    assert window.visit_controls.confirm_dialog is None


def test_another_shape_of_date_is_not_a_date_and_is_neither_counted_nor_audited(qtbot, window):
    dialog = read_a_pump(qtbot, window)
    for typed in ("04/12/1961", "1961-13-01"):
        answer(qtbot, dialog, typed)
        assert dialog.problem.text() == (f"Date of birth: '{typed}' is not a date in the form YYYY-MM-DD (the year, "
                                         "then the month 01 to 12, then the day)")
    assert window.clinic.identification.wrong_dates == 0 and identification_records(window) == []
    dialog.reject()


def test_a_wrong_date_is_said_audited_and_another_try_confirms(qtbot, window):
    dialog = read_a_pump(qtbot, window)
    answer(qtbot, dialog, "1970-02-01")
    assert dialog.isVisible() and dialog.born.text() == "1970-02-01"  # kept for another try
    assert dialog.problem.text() == ("The date given does not match the date of birth recorded for Test Patient "
                                     "(TEST-0001): check the patient. 2 tries left before nothing may be changed on "
                                     "this pump in this visit.")
    assert window.clinic.access().refusal(Permission.CHANGE_THERAPY) == UNCONFIRMED
    answer(qtbot, dialog, "1970-01-01")
    assert window.clinic.identification.confirmed
    assert [record[0] for record in identification_records(window)] == ["patient_confirm_mismatch",
                                                                        "patient_confirmed"]


def test_three_wrong_dates_stop_every_change_in_the_visit(qtbot, window):
    dialog = read_a_pump(qtbot, window)
    for typed in ("1970-02-01", "1971-01-01"):
        answer(qtbot, dialog, typed)
    assert dialog.problem.text().endswith("1 try left before nothing may be changed on this pump in this visit.")
    answer(qtbot, dialog, "1907-01-01")
    assert window.visit_controls.confirm_dialog is None
    stop = ("STOP: pump serial E20-000123 is recorded as implanted in Test Patient (TEST-0001), and the date of birth "
            "given did not match theirs 3 times. Nothing may be changed on it from this visit: check the pump and the "
            "patient's record. The pump can still be read.")
    assert window.visit_controls.strip.stopped and window.visit_controls.strip.text().startswith(stop)
    assert window.clinic.access().refusal(Permission.REFILL) == stop
    assert not window.overview.set_low_alarm.isEnabled() and window.overview.set_low_alarm.toolTip() == stop
    assert window.clinic.access().refusal(Permission.INTERROGATE) is None  # it can still be read
    assert [record[0] for record in identification_records(window)] == ["patient_confirm_mismatch"] * 3 + [
        "patient_not_confirmed"]
    assert not window.visit_controls.confirm_action.isVisible()  # nothing more to ask in this visit


def test_closing_unanswered_refuses_every_change_and_the_menu_asks_again(qtbot, window):
    dialog = read_a_pump(qtbot, window)
    qtbot.keyClick(dialog.born, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.visit_controls.confirm_dialog is None, timeout=LINK_TIMEOUT_MS)
    assert window.clinic.access().refusal(Permission.CHANGE_THERAPY) == UNCONFIRMED
    assert window.visit_controls.visit_for_change() == (None, UNCONFIRMED[0].lower() + UNCONFIRMED[1:-1])
    action = window.visit_controls.confirm_action
    assert action.isVisible() and action.text() == "Confirm patient\u2026"
    action.trigger()
    assert window.visit_controls.confirm_dialog is not None
    window.visit_controls.confirm_dialog.reject()
    assert identification_records(window) == []  # nothing was answered


def test_not_this_patient_stops_the_visit_and_a_forced_write_sends_nothing(qtbot, window, patient):
    connect(qtbot, window, patient.url, confirm=False)
    serial = window.snapshot.identity.serial
    dialog = window.visit_controls.confirm_dialog
    assert dialog is not None
    qtbot.mouseClick(dialog.not_this_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.visit_controls.confirm_dialog is None and window.visit_controls.ready,
                    timeout=LINK_TIMEOUT_MS)
    stop = NOT_THIS_STOP.replace("E20-000123", serial)
    assert window.visit_controls.strip.stopped and window.visit_controls.strip.text().startswith(stop)
    assert window.clinic.access().refusal(Permission.CHANGE_THERAPY) == stop
    assert window.interrogate_action.isEnabled()  # reading stays possible
    edit_the_dose(qtbot, window, "165")
    review = open_review(qtbot, window)
    assert not review.write.isEnabled()
    window._commit(review.gate.review, "Dr A. Osei")  # forced past the disabled button: the window's commit path
    assert not window.link.busy and window.review.notice == f"Not written, nothing was sent to the pump: {stop[:-1]}."
    assert [record[0] for record in identification_records(window)] == ["patient_not_confirmed"]
    assert not any(json.loads(line)["event"] in ("attempt", "outcome")
                   for line in window.clinic.journal.read_text().splitlines())
    window.interrogate()
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert window.snapshot.active.program.therapy.daily_dose == 150  # the pump runs what it ran


def test_a_confirmation_that_cannot_be_recorded_confirms_nothing(qtbot, window, tmp_path):
    dialog = read_a_pump(qtbot, window)
    window.clinic.visit.audit.path = tmp_path  # a folder: the journal cannot be appended to
    answer(qtbot, dialog, "1970-01-01")
    assert dialog.isVisible() and not window.clinic.identification.confirmed
    assert dialog.problem.text() == (f"Not recorded, so the patient is not confirmed: cannot write the audit log "
                                     f"{tmp_path}: Is a directory")
    assert window.clinic.access().refusal(Permission.CHANGE_THERAPY) == UNCONFIRMED
    dialog.reject()
