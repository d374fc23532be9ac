"""A visit is with one pump, as the window runs it against real emulators and a real store: "Which patient?" asks
whether the pump read replaces the chosen patient's implanted pump (and binds it so only when told, naming both
serials); connecting to another pump ends the visit (its session closed in the store) and starts a new one, matched
afresh, after asking when a change is unwritten; a pump recorded as explanted, or another pump read after a change,
stays a hard stop. The Emulator menu's control is a tester's."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QMessageBox

from clinic.visit import PumpMatch
from programmer.interrogation import read_pump
from programmer.port import open_driver
from tests.support.clinic_fixtures import ADA, PASSWORD, PATIENT_ID, TESS
from tests.support.ui_actions import (LINK_TIMEOUT_MS, confirm_patient, connect, edit_the_dose, new_window,
                                      wait_for_record)
from tests.support.ui_actions import choose_and_wait, find_patient, which_patient
from ui.emulator import set_up_demo_patient
from ui.main_window import MainWindow


def serial_of(url: str) -> str:
    with open_driver(url) as driver:
        return driver.identify().serial


def test_a_replacement_pump_is_bound_only_once_the_replaced_pump_is_named(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path, bound=False)
    store = window.clinic.store
    store.patients.bind_pump(ADA, PATIENT_ID, "E20-OLD001", "ITB-20", date(2024, 1, 2), 55.0)
    connect(qtbot, window, patient.url)
    serial = window.snapshot.identity.serial
    dialog = which_patient(qtbot, window)
    find_patient(qtbot, dialog, "TEST-0001")
    assert dialog.replacement.isVisible() and dialog.replacement.text() == (
        f"Test Patient has ITB-20 serial E20-OLD001 implanted since 2024-01-02. Pump serial {serial} can be theirs "
        "only as its replacement: pump serial E20-OLD001 is then recorded as explanted today "
        f"({date.today().isoformat()}), and nothing is sent to it again.")
    assert dialog.replaces.text().replace("&", "") == (
        f"Pump serial {serial} replaces pump serial E20-OLD001 (explanted today)")
    assert not dialog.replaces.isChecked() and not dialog.this_patient.isEnabled()  # never a default
    assert dialog.this_patient.toolTip().startswith(f"Tick \"Pump serial {serial} replaces pump serial E20-OLD001")

    dialog.replaces.setChecked(True)
    choose_and_wait(qtbot, window, dialog.this_patient)
    assert window.visit_controls.strip.text().startswith("Patient: Test Patient (TEST-0001)")
    assert window.banner.text.text().endswith("It replaces pump serial E20-OLD001, recorded as explanted today.")
    old, new = store.patients.implants(PATIENT_ID)
    assert (old.pump_serial, old.explanted_on) == ("E20-OLD001", date.today())
    assert (new.pump_serial, new.implanted_on, new.explanted_on) == (serial, date.today(), None)
    clinic_records = [e.record for e in store.audit.query(patient=PATIENT_ID) if e.record["event"] == "clinic"]
    assert [(r["action"], r.get("pump_serial")) for r in clinic_records][-2:] == [
        ("pump_explanted", "E20-OLD001"), ("pump_bound", serial)]  # as the command line's --replaces records
    assert window.overview.set_low_alarm.isEnabled()
    window.close()


def test_another_pump_is_a_new_visit_matched_afresh_after_asking_about_the_unwritten_change(
        qtbot, tmp_path, patient, start_emulator):
    other_pump = start_emulator("--service")
    set_up_demo_patient(other_pump.url)
    window = new_window(qtbot, tmp_path, bound=False)
    store = window.clinic.store
    first, second = serial_of(patient.url), serial_of(other_pump.url)
    store.patients.add(ADA, "OTHER-9", "Other Person", date(1960, 5, 5))
    store.patients.bind_pump(ADA, PATIENT_ID, first, "ITB-20", date(2025, 1, 2), 60.0)
    store.patients.bind_pump(ADA, "OTHER-9", second, "ITB-20", date(2025, 3, 4), 60.0)
    connect(qtbot, window, patient.url)
    first_visit = window.clinic.visit
    assert first_visit is not None and window.visit_controls.strip.text().startswith("Patient: Test Patient")
    edit_the_dose(qtbot, window, "165")

    def answer(button_text: str) -> None:
        """Answers the question the window asks in its own event loop (``exec``), once it is up."""
        qtbot.waitUntil(lambda: isinstance(window.unwritten_question, QMessageBox), timeout=LINK_TIMEOUT_MS)
        box = window.unwritten_question
        assert box is not None and box.windowTitle() == "Connect to another pump?"
        next(b for b in box.buttons() if b.text().replace("&", "") == button_text).click()

    QTimer.singleShot(0, lambda: answer("Keep editing"))
    window.connect_to(other_pump.url)
    assert window.clinic.visit is first_visit and window.unwritten_change() and not window.link.busy

    QTimer.singleShot(0, lambda: answer("Connect without writing"))
    connect(qtbot, window, other_pump.url, confirm=False)
    dialog = window.visit_controls.confirm_dialog  # a new visit asks again, for the other pump's patient
    assert dialog is not None and dialog.named == "Other Person (OTHER-9)"
    confirm_patient(qtbot, window, "1960-05-05")
    visit = window.clinic.visit
    assert visit is not None and visit is not first_visit and visit.pump_serial == second
    assert window.visit_controls.strip.text().startswith("Patient: Other Person (OTHER-9), born 1960-05-05")
    assert not window.unwritten_change()
    assert window.banner.text.text().endswith(
        f"A new visit, with pump serial {second}: the visit with pump serial {first} ended (its session "
        f"{first_visit.session_id}, whose report is in the clinic's record).")
    ended = store.sessions.get(first_visit.session_id)
    assert ended.ended_at is not None and (ended.pump_serial, ended.patient_identifier) == (first, PATIENT_ID)
    assert store.sessions.get(visit.session_id).ended_at is None
    assert window.overview.set_low_alarm.isEnabled()

    with open_driver(patient.url) as driver:
        reading = read_pump(driver)
    window.visit_controls.pump_read(reading, may_start_visit=False)  # the first pump read after a change: a stop
    wait_for_record(qtbot, window)
    assert window.clinic.visit is visit and window.clinic.pump.match is PumpMatch.OTHER_PUMP
    strip = window.visit_controls.strip
    assert strip.stopped and strip.text().startswith(
        f"STOP: pump serial {first} is implanted in Test Patient (TEST-0001), not in this visit's patient.")
    assert not window.overview.set_low_alarm.isEnabled()
    window.close()


def test_an_explanted_pump_is_a_hard_stop(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path, bound=False)
    store = window.clinic.store
    serial = serial_of(patient.url)
    store.patients.bind_pump(ADA, PATIENT_ID, serial, "ITB-20", date(2024, 1, 2), 60.0)
    store.patients.bind_pump(ADA, PATIENT_ID, "E20-NEW001", "ITB-20", date(2025, 6, 7), 60.0, replaces=serial)
    connect(qtbot, window, patient.url)
    strip = window.visit_controls.strip
    assert strip.stopped and strip.text().startswith(
        f"STOP: pump serial {serial} was recorded as explanted on 2025-06-07, when a new pump replaced it in Test "
        "Patient (TEST-0001).")
    for control in (window.overview.set_low_alarm, window.overview.set_clock, window.refill_action):
        assert not control.isEnabled() and control.toolTip().startswith(f"STOP: pump serial {serial} was recorded")
    window.close()


def test_the_emulator_menu_is_a_testers(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path)
    connect(qtbot, window, patient.url)
    action = window.press_button_action
    assert window.emulator_menu.menuAction().isVisible()  # the pump is an emulator
    assert not action.isEnabled() and action.toolTip() == (
        "Dr A. Osei is signed in as a clinician, and a clinician may not control an emulated pump: sign in as a "
        "tester to do it.")
    window.press_button()  # forced past the disabled action: refused, nothing sent
    assert not window.link.busy and window.banner.title.text() == "Button not pressed."

    window.visit_controls.sign_out()
    window.visit_controls.signed_in(window.clinic.store.users.authenticate(TESS.username, PASSWORD))
    wait_for_record(qtbot, window)
    assert action.isEnabled()
    window.press_button()
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text().startswith("Demand button"),
                    timeout=LINK_TIMEOUT_MS)
    window.close()


def test_which_patient_asked_about_one_pump_closes_when_another_is_read(qtbot, tmp_path, patient, start_emulator):
    other_pump = start_emulator("--service")
    other = serial_of(other_pump.url)
    window = new_window(qtbot, tmp_path, bound=False)
    connect(qtbot, window, patient.url)
    first = which_patient(qtbot, window)
    assert first.serial == window.snapshot.identity.serial != other
    closed: list[int] = []
    first.finished.connect(closed.append)
    connect(qtbot, window, other_pump.url)  # nobody's either: the visit has no pump yet, so it goes on
    assert closed == [QDialog.DialogCode.Rejected]  # its answer would have bound this pump
    second = which_patient(qtbot, window)
    assert second.serial == other
    second.reject()
    window.close()
