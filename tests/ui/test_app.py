"""The whole application against the real emulator over TCP: connect, overview, commit, a link cut in
the middle of a commit, the event log, and an event loop that keeps turning over a slow link."""

from __future__ import annotations

import csv
import os
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel

from protocol import Command
from tests.support.emulator_fixtures import FrameProxy
from tests.support.ui_actions import LINK_TIMEOUT_MS, commit, confirm_patient, connect, wait_for_record
from programmer.port import open_driver
from ui.editor import DOSE, START
from ui.emulator import set_up_demo_patient
from ui.app import create_window
from ui.main_window import HISTORY_TAB, OVERVIEW_TAB, MainWindow


def change_to_flex(window: MainWindow) -> None:
    """150 mcg/day continuous -> flex 00:00 6 mcg/h, 08:00 7 mcg/h, 20:00 6 mcg/h: 6*12 + 7*12 = 156 mcg/day."""
    editor = window.editor
    editor.mode.setCurrentIndex(editor.mode.findData("flex"))
    editor.table.item(0, DOSE).setText("6")
    editor.table.setCurrentCell(0, DOSE)
    editor.add_button.click()
    editor.table.item(1, START).setText("08:00")
    editor.table.item(1, DOSE).setText("7")
    editor.add_button.click()
    editor.table.item(2, START).setText("20:00")
    editor.table.item(2, DOSE).setText("6")


def test_connect_shows_what_the_emulator_holds(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    snapshot = window.snapshot
    assert window.tabs.currentIndex() == OVERVIEW_TAB
    pump, therapy, reservoir = window.overview.pump, window.overview.therapy, window.overview.reservoir
    assert pump.values["identity"].text().startswith(f"ITB-20, serial {snapshot.identity.serial}")
    assert snapshot.identity.serial.startswith("E20")
    assert therapy.values["drug"].text() == "baclofen 500\u00a0mcg/mL"
    assert therapy.values["daily"].text() == "150\u00a0mcg/day"
    assert therapy.values["volume"].text() == "0.3\u00a0mL/day"
    assert reservoir.values["volume"].text().startswith(("14\u00a0mL of 20\u00a0mL", "13.99"))
    assert "(in 40.0\u00a0days)" in reservoir.values["low_alarm"].text()  # 12 mL at 0.3 mL/day
    assert window.overview.alarms.values["critical"].text() == "none"
    assert window.overview.clock.values["drift"].text().startswith("pump")


def test_commit_a_flex_program_and_find_it_in_the_emulator(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    change_to_flex(window)
    assert window.editor.figures.values["daily"].text().startswith("156\u00a0mcg/day")
    asked = window.editor.evaluation.program
    commit(window)
    qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
    assert window.banner.title.text() == "Written and verified."
    assert asked.checksum() in window.banner.text.text()
    assert window.overview.therapy.values["daily"].text() == "156\u00a0mcg/day"
    window.close()  # hand the emulator's link back before reading it directly
    with open_driver(patient.url) as driver:
        assert driver.read_program().program == asked


def test_a_link_cut_during_the_commit_ends_with_a_truthful_banner(qtbot, window, patient):
    broken = {"now": False}

    def cut_after_commit(direction, frame, wire):
        if broken["now"]:
            return None
        if direction == "to_pump" and frame is not None and frame.command == Command.COMMIT_PROGRAM:
            broken["now"] = True  # the commit reaches the pump; its answer and everything after are lost
        return wire

    proxy = FrameProxy(patient.url, cut_after_commit)
    try:
        connect(qtbot, window, proxy.url)
        window.editor.daily_dose.setText("165")
        window.editor.daily_dose.textEdited.emit("165")
        asked = window.editor.evaluation.program
        commit(window)
        qtbot.waitUntil(lambda: not window.link.busy and window.review.gate is None, timeout=LINK_TIMEOUT_MS)
        banner = window.banner
        assert banner.title.text().startswith("UNCERTAIN")
        assert "reconnect" in banner.text.text() and banner.button.isVisible()
        assert "LINK LOST" in window.link_state.text()
        broken["now"] = False  # the link comes back: reconnecting shows what the pump really runs
        banner.button.click()
        qtbot.waitUntil(lambda: not window.link.busy and window.connected, timeout=LINK_TIMEOUT_MS)
        assert window.snapshot.active.checksum == asked.checksum()
        assert window.overview.therapy.values["daily"].text() == "165\u00a0mcg/day"
    finally:
        window.close()
        proxy.close()


def test_events_are_sortable_filterable_and_exported(qtbot, window, patient, tmp_path):
    connect(qtbot, window, patient.url)
    window.read_events()
    qtbot.waitUntil(lambda: not window.link.busy and window.events.model.rowCount() > 0, timeout=LINK_TIMEOUT_MS)
    page = window.events
    kinds = [page.kind.itemData(i) for i in range(page.kind.count())]
    assert {"power_on", "refill", "program_activated"} <= set(kinds)
    page.kind.setCurrentIndex(kinds.index("refill"))
    assert page.proxy.rowCount() == 1
    assert page.proxy.index(0, 3).data() == (  # the demo patient's refill, in words with units
        "added 14\u00a0mL, withdrawn 0\u00a0mL (pump had calculated 0\u00a0mL); drug baclofen 500\u00a0mcg/mL; "
        "therapy kept; action number 1; pumped 0\u00a0mL; to patient 0\u00a0mL")  # its first bolus or refill; the
    # pump's counters of what its motor moved and what left the catheter tip (docs/protocol.md, refill)
    assert page.kind.currentText() == "Refill"
    page.only_shown.setChecked(True)
    page.export_csv(tmp_path / "events.csv")
    rows = list(csv.DictReader(open(tmp_path / "events.csv", encoding="utf-8-sig")))
    assert [row["Kind"] for row in rows] == ["Refill"]
    assert rows[0]["added_ml (mL)"] == "14.0"  # the file keeps the pump's own keys and values
    assert rows[0]["Pump serial"] == window.snapshot.identity.serial
    page.kind.setCurrentIndex(kinds.index("program_activated"))
    assert page.proxy.rowCount() == 1
    page.kind.setCurrentIndex(0)
    shown = lambda: [int(page.proxy.index(row, 0).data()) for row in range(page.proxy.rowCount())]  # noqa: E731
    assert shown() == sorted(shown(), reverse=True)  # newest first by default
    page.table.sortByColumn(0, Qt.AscendingOrder)
    assert shown() == sorted(shown()) and len(shown()) == page.model.rowCount()


def test_the_event_loop_keeps_turning_while_interrogating_a_slow_link(qtbot, window, start_emulator):
    emulator = start_emulator("--baud", "9600")
    set_up_demo_patient(emulator.url)
    ticks = []
    read = []  # when the link's last step ("done") reached the GUI thread: the end of its talking to the pump
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    window.link.progress.connect(lambda _request, step, _fraction: step == "done" and read.append(time.monotonic()))
    timer.start(20)
    started = time.monotonic()
    try:
        connect(qtbot, window, emulator.url)
    finally:
        timer.stop()
    # What counts is the time the link talks to the pump. Showing what it read is the GUI thread's own work, and
    # the window builds its plots meanwhile (a part per turn of the event loop, benchmarks/gui_stalls.py measures
    # those turns), so it is left out.
    took = read[0] - started
    assert took > 0.3, "the link was not slow enough to show anything"
    during = [started, *(tick for tick in ticks if tick < read[0]), read[0]]
    gaps = [b - a for a, b in zip(during, during[1:])]
    # The longest gap alone says whether the loop was held: with no tick at all it is the whole read (> 0.3 s). How
    # many ticks arrive depends on how busy the machine is (a loaded CI runner gives the process a fraction of a
    # core), so their count is not asserted.
    assert max(gaps) < 0.25, f"the event loop stood still for {max(gaps):.3f} s while the link read the pump"


def test_demo_starts_the_bundled_emulator_with_the_demo_patient(qtbot, tmp_path):
    window = create_window(demo=True, audit_path=tmp_path / "audit.jsonl")
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.snapshot is not None and not window.link.busy, timeout=LINK_TIMEOUT_MS)
        wait_for_record(qtbot, window)  # the demo's record made, its pump bound, in the clinic thread
        assert window.banner.text.text().startswith("ITB-20 serial E20")
        assert ("simple continuous: 150\u00a0mcg/day (0.3\u00a0mL/day) of baclofen 500 mcg/mL"
                in window.banner.text.text())
        assert window.snapshot.status.capacity_ml == 20.0 and window.snapshot.status.volume_ml <= 14.0
        # nobody typed anything: the demo clinician is signed in, the emulator's pump is the demo patient's, who is
        # confirmed as a clinician would, by the date of birth the demo's dialog gives (nobody is there to ask)
        dialog = window.visit_controls.confirm_dialog
        assert dialog is not None
        [note] = [label.text() for label in dialog.findChildren(QLabel) if label.accessibleName() == "Demo note"]
        assert note == "Demo: the patient's date of birth is 1970-01-01."
        confirm_patient(qtbot, window, "1970-01-01")
        assert window.visit_controls.strip.text() == (
            "Patient: Demo Patient (DEMO-0001), born 1970-01-01   \u2022   Signed in: Dr Demo (clinician)   \u2022   "
            "DEMO RECORD (throwaway: deleted at quit)")
        implants = window.clinic.store.patients.implants("DEMO-0001")
        assert [(i.pump_serial, i.explanted_on is None) for i in implants] == [
            ("E20-0DEMO1", False), (window.snapshot.identity.serial, True)]  # a replacement of the earlier pump
        window.show_tab(HISTORY_TAB)  # built when first shown, the history read then in the clinic thread
        qtbot.waitUntil(lambda: window.history.table.rowCount() == 9  # the earlier pump's ten months
                        and window.history.isVisible(), timeout=LINK_TIMEOUT_MS)  # (ui.demo_clinic.HISTORY)
        control = window.link.emulator_control  # its control channel, for Emulator > Control panel
        assert control is not None and control.pump_url == window.link.url
        with control.client() as client:
            assert client.request("state")["state"]["serial"] == window.snapshot.identity.serial
        store_folder = window.clinic.throwaway.name
    finally:
        window.close()
    assert window.link._worker.emulator.process is None  # closing the window stopped the emulator
    assert not os.path.exists(store_folder)  # and the demo's record went with it


def test_set_clock_reads_the_clock_back(qtbot, window, patient):
    connect(qtbot, window, patient.url)
    window.overview.set_clock.click()
    window.overview.clock_dialog.set_button.click()  # the confirmation (tests/ui/test_clock.py)
    qtbot.waitUntil(lambda: not window.link.busy and window.banner.title.text() == "Clock set.",
                    timeout=LINK_TIMEOUT_MS)
    assert abs(window.snapshot.drift_s) < 5
    assert "Read back:" in window.banner.text.text()


def test_the_overview_shows_a_pump_that_is_not_delivering_without_dates(qtbot):
    from dataclasses import replace

    from programmer.port import Alarm
    from tests.support.ui_fakes import PUMP_TIME, snapshot
    from ui.overview import OverviewPage

    page = OverviewPage()
    qtbot.addWidget(page)
    taken = snapshot()  # 14 mL, 0.3 mL/day: the alarm in 40 days
    page.show_snapshot(taken)
    assert page.reservoir.values["low_alarm"].text().endswith("(in 40.0\u00a0days) (pump clock)")
    stopped = replace(taken, status=replace(taken.status, battery_status="eos", battery_percent=0.0,
                                            alarms=(Alarm("eos", "critical", PUMP_TIME),)))
    page.show_snapshot(stopped)
    for key in ("low_alarm", "empty"):
        assert page.reservoir.values[key].text() == "none: the pump is NOT DELIVERING (see Alarms)"
    assert "end of service" in page.alarms.values["critical"].text()
