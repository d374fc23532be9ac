"""Whose pump, and who may change it, as the window shows and enforces them, against the real emulator and a real
store: an unknown pump asks "Which patient?" and a write goes through once the patient is chosen (or recorded as a
new implant); a technician sees the change controls off, each saying why, and a forced write is refused by the core
and audited. (Another patient's pump, an explanted one and a new visit per pump: test_visit_per_pump.py.)"""

from __future__ import annotations

import json
from datetime import date

from PySide6.QtCore import Qt

from programmer.roles import Permission
from tests.support.clinic_fixtures import KIM, PATIENT_ID
from tests.support.ui_actions import (LINK_TIMEOUT_MS, choose_and_wait, commit, connect, edit_the_dose, find_patient,
                                      new_window, open_review, sign, which_patient, write_and_wait)
from ui.main_window import MainWindow
from ui.patient_match import new_patient_problems


def journal(window: MainWindow) -> list[dict]:
    path = window.clinic.journal
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_an_unknown_pump_asks_which_patient_then_a_write_goes_through(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path, bound=False)
    connect(qtbot, window, patient.url)
    serial = window.snapshot.identity.serial
    dialog = which_patient(qtbot, window)
    assert window.visit_controls.strip.text().startswith(f"Pump serial {serial}: which patient?")
    assert not window.overview.set_low_alarm.isEnabled()
    assert window.overview.set_low_alarm.toolTip().startswith(f"Pump serial {serial} is not recorded for any patient")
    find_patient(qtbot, dialog, "test pat")
    assert [dialog.results.item(i).text() for i in range(dialog.results.count())] == [
        "Test Patient  (TEST-0001, born 1970-01-01)"]
    choose_and_wait(qtbot, window, dialog.this_patient)
    assert window.visit_controls.patient_dialog is None or not dialog.isVisible()
    assert window.visit_controls.confirm_dialog is None  # choosing the patient identified them: not asked twice
    assert window.clinic.identification.confirmed
    assert window.visit_controls.strip.text().startswith("Patient: Test Patient (TEST-0001), born 1970-01-01")
    [implant] = window.clinic.store.patients.implants(PATIENT_ID)
    assert (implant.pump_serial, implant.pump_model, implant.implanted_on, implant.catheter_cm) == (
        serial, "ITB-20", date.today(), None)  # this emulator was given no catheter length to report

    edit_the_dose(qtbot, window, "165")
    sign(qtbot, open_review(qtbot, window))
    write_and_wait(qtbot, window)
    assert window.banner.title.text() == "Written and verified."
    [entry] = window.clinic.store.patients.dose_history(PATIENT_ID)
    assert (entry.kind, entry.daily_dose, entry.dose_unit, entry.concentration, entry.username) == (
        "program", 165.0, "mcg", 500.0, "osei")
    window.close()


def test_a_new_implant_records_a_new_patient(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path, bound=False)
    connect(qtbot, window, patient.url)
    dialog = which_patient(qtbot, window)
    assert new_patient_problems("", "", "1970-02-30") == [
        "Identifier: required (the clinic's record number)", "Name: required", "Date of birth: a date as YYYY-MM-DD"]
    qtbot.keyClicks(dialog.identifier, "MRN-77")
    qtbot.keyClicks(dialog.name, "Mira Example")
    assert not dialog.record_new.isEnabled()
    qtbot.keyClicks(dialog.born, "1984-07-09")
    choose_and_wait(qtbot, window, dialog.record_new)
    assert window.clinic.patient is not None and window.clinic.patient.identifier == "MRN-77"
    assert window.clinic.store.patients.get("MRN-77").birth_date == date(1984, 7, 9)
    assert window.visit_controls.strip.text().startswith("Patient: Mira Example (MRN-77), born 1984-07-09")
    assert window.overview.set_low_alarm.isEnabled()
    window.close()


def test_a_technician_sees_the_change_controls_off_and_a_forced_write_is_refused(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path, user=KIM)
    connect(qtbot, window, patient.url)
    why = ("Kim Tech is signed in as a technician, and a technician may not change therapy: sign in as a clinician "
           "to do it.")
    assert not window.overview.set_low_alarm.isEnabled() and window.overview.set_low_alarm.toolTip() == why
    assert not window.refill_action.isEnabled() and window.refill_action.toolTip().endswith(
        "a technician may not refill: sign in as a clinician to do it.")
    assert window.overview.set_clock.isEnabled()  # a technician keeps the pump's clock
    assert window.clinic.access().refusal(Permission.BOLUS) is not None and not window.bolus.give.isEnabled()

    edit_the_dose(qtbot, window, "165")
    review = open_review(qtbot, window)
    qtbot.keyClicks(review.clinician, "Kim Tech")
    review.confirm.setChecked(True)
    assert not review.write.isEnabled() and review.write.toolTip() == why and review.blockers.text().startswith(why)
    qtbot.mouseClick(review.write, Qt.LeftButton)
    assert not window.link.busy and journal(window) == []  # the disabled button sent nothing
    window._commit(review.gate.review, "Kim Tech")  # forced: the core refuses, audited, nothing sent
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "NOT WRITTEN.",
                    timeout=LINK_TIMEOUT_MS)
    assert "Kim Tech (kim) is signed in as a technician, and a technician may not change therapy" in (
        window.banner.text.text())
    assert window.snapshot.active.program.therapy.daily_dose == 150
    [refused] = journal(window)
    assert (refused["outcome"], refused["user"], refused["role"]) == ("refused", "kim", "technician")
    window.close()


def test_a_clinicians_write_is_audited_in_the_store_with_the_patient(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    edit_the_dose(qtbot, window, "165")
    commit(window)
    qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
    entries = [e for e in window.clinic.store.audit.query(patient=PATIENT_ID)
               if e.record["event"] != "clinic"]  # the store's own records of the patient and the pump bound
    assert [(e.record["event"], e.record["action"], e.record.get("outcome")) for e in entries] == [
        ("identification", "patient_confirmed", None), ("attempt", "write", None), ("outcome", "write", "verified")]
    assert {e.record["session_id"] for e in entries} == {window.clinic.visit.session_id}
    assert window.clinic.store.audit.verify().intact
