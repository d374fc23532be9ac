"""The clock and the low-reservoir alarm set from the window are audited in the clinic store's chain, like the
command line's set-clock and set-low-alarm (``programmer.settings_commit``): against the real emulator, the store
holds the records with the signed-in user, the pump's serial and the figures; a technician's low-alarm change is
refused before anything is sent, and the refusal is on record.

The pump is the demo patient: an ITB-20 with a threshold of 2 mL (the factory's)."""

from __future__ import annotations

from datetime import datetime

from tests.support.clinic_fixtures import KIM, OSEI, PATIENT_ID
from tests.support.ui_actions import LINK_TIMEOUT_MS, connect, new_window
from ui.main_window import MainWindow


def records(window: MainWindow, action: str) -> list[dict]:
    """The store's records of ``action``, in the chain's order."""
    return [entry.record for entry in window.clinic.store.audit.query(action=action)]


def test_a_low_alarm_set_from_the_window_is_in_the_store_with_its_user_pump_and_figures(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    serial = window.snapshot.identity.serial
    window.set_low_alarm(3.0)
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Low-reservoir alarm set and "
                    "verified.", timeout=LINK_TIMEOUT_MS)
    attempt, outcome = records(window, "set_low_alarm")
    assert [attempt["event"], outcome["event"], outcome["outcome"]] == ["attempt", "outcome", "verified"]
    assert attempt["attempt_id"] == outcome["attempt_id"]
    for record in (attempt, outcome):
        assert (record["user"], record["role"], record["clinician"]) == ("osei", "clinician", OSEI.display_name)
        assert (record["pump_serial"], record["patient"]) == (serial, PATIENT_ID)
        assert (record["low_alarm_ml_before"], record["low_alarm_ml_asked"]) == (2.0, 3.0)
        assert record["session_id"] == window.clinic.visit.session_id
    assert outcome["low_alarm_ml"] == 3.0 and outcome["message"].startswith(
        "low-reservoir alarm set: it was at 2 mL, now 3 mL (read back)")


def test_the_clock_set_from_the_window_is_in_the_store_with_the_times(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    serial = window.snapshot.identity.serial
    window.set_clock()
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Clock set.",
                    timeout=LINK_TIMEOUT_MS)
    [outcome] = records(window, "set_clock")  # no attempt record: the clock is not therapy
    assert (outcome["event"], outcome["outcome"], outcome["user"], outcome["pump_serial"]) == (
        "outcome", "verified", "osei", serial)
    sent, read_back = (datetime.fromisoformat(outcome[key]) for key in ("computer_time", "pump_time"))
    assert abs((read_back - sent).total_seconds()) <= 5  # within the tolerance of a clock set
    assert outcome["message"] == (f"pump clock set: it read {outcome['pump_time_before']}, now {outcome['pump_time']} "
                                  f"(this computer {outcome['computer_time']})")


def test_a_technicians_low_alarm_change_is_refused_and_the_refusal_recorded(qtbot, tmp_path, patient):
    window = new_window(qtbot, tmp_path, user=KIM)
    connect(qtbot, window, patient.url)
    serial = window.snapshot.identity.serial
    window.set_low_alarm(3.0)  # forced: the Overview's button is off for a technician
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Low-reservoir alarm NOT SET.",
                    timeout=LINK_TIMEOUT_MS)
    assert "Kim Tech (kim) is signed in as a technician, and a technician may not change therapy" in (
        window.banner.text.text())
    [refused] = records(window, "set_low_alarm")  # no attempt: nothing was sent
    assert (refused["event"], refused["outcome"], refused["user"], refused["role"]) == (
        "outcome", "refused", "kim", "technician")
    assert refused["message"].endswith("sign in as someone who may; nothing was sent to the pump")
    window.interrogate()
    qtbot.waitUntil(lambda: not window.link.busy, timeout=LINK_TIMEOUT_MS)
    assert window.snapshot.status.low_alarm_ml == 2.0 and window.snapshot.identity.serial == serial
    window.close()
